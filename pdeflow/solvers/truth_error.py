"""Measured error of a ground truth: a grid solution and the flow maps through its velocity.

A truth that is not a closed form carries an estimate of its own error (docs/certified_truth.md):

* :func:`solution_error` compares a solution with a companion solve on a coarser grid (same
  times) and turns the difference into an estimate of the *fine* solution's error by Richardson
  extrapolation: if the error is C h^p, then ``|fine - coarse| ~ C h^p (r^p - 1)`` with
  r = h_coarse / h_fine, so ``error(fine) ~ |fine - coarse| / (r^p - 1)``. Per snapshot: the
  density error in L1 and the velocity error in L2(rho) (the norm eps is measured in).
* :func:`solution_error_exact` is the same pair against a closed form.
* :func:`flow_map_error_estimate` estimates the error of a flow map through a grid velocity
  from three companions: the coarser-grid solution (space), every other snapshot (time
  interpolation) and the doubled integrator step (time integration), each scaled by its own
  Richardson factor; the estimate is the sum of the three terms (each an RMS length over the
  particles, like :func:`pdeflow.validation.metrics.flow_map_error`).

The comparison is done on the coarse grid: the fine fields are interpolated to the coarse cell
centres by cubic splines (grids of any ratio, e.g. 96 and 64 cells).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ..grid import Grid
from .interpolation import GridVelocity
from .solution import GridSolution

__all__ = ["SolutionError", "FlowMapError", "solution_error", "solution_error_exact",
           "flow_map_error_estimate", "richardson_factor", "every_other_snapshot"]


@dataclass
class SolutionError:
    """Per-snapshot error of a grid solution.

    times : (nt,) snapshot times; density_l1 : (nt,) estimate of ``int |rho_h - rho| dx`` (mass
    units); velocity_l2 : (nt,) estimate of ``(int |v_h - v|^2 rho dx)^(1/2)`` (length / time);
    method : ``"exact"`` (against a closed form) or ``"richardson"``; reference : what it was
    compared with (text); factor : the Richardson factor 1 / (r^p - 1) applied (1 for exact).
    """

    times: np.ndarray
    density_l1: np.ndarray
    velocity_l2: np.ndarray
    method: str
    reference: str
    factor: float = 1.0


@dataclass
class FlowMapError:
    """Error estimate of a flow map through a grid velocity (lengths, RMS over particles).

    grid, time_interpolation, integrator : the three terms; total : their sum; details : the
    companion settings (JSON-like).
    """

    grid: float
    time_interpolation: float
    integrator: float
    details: dict = field(default_factory=dict)

    @property
    def total(self) -> float:
        return self.grid + self.time_interpolation + self.integrator

    def as_dict(self) -> dict:
        return {"total": self.total, "grid": self.grid,
                "time_interpolation": self.time_interpolation, "integrator": self.integrator,
                **self.details}


def richardson_factor(ratio: float, order: float) -> float:
    """``1 / (ratio^order - 1)``: turns ``|fine - coarse|`` into the fine error (ratio > 1,
    order > 0)."""
    ratio, order = float(ratio), float(order)
    if not (math.isfinite(ratio) and ratio > 1):
        raise ValueError(f"ratio (coarse / fine spacing) must be a finite number > 1, got {ratio}")
    if not (math.isfinite(order) and order > 0):
        raise ValueError(f"order must be a finite number > 0, got {order}")
    return 1.0 / (ratio ** order - 1.0)


def _spacing_ratio(fine: GridSolution, coarse: GridSolution) -> float:
    if fine.grid.dim != coarse.grid.dim or not (
            np.allclose(fine.grid.lower, coarse.grid.lower)
            and np.allclose(fine.grid.upper, coarse.grid.upper)):
        raise ValueError("fine and coarse must be solutions on the same box")
    ratios = np.array(coarse.grid.spacing) / np.array(fine.grid.spacing)
    if not np.allclose(ratios, ratios[0]) or ratios[0] <= 1:
        raise ValueError(f"coarse must be coarser than fine by the same ratio > 1 on every axis, "
                         f"got spacing ratios {ratios}")
    if len(fine.times) != len(coarse.times) or not np.allclose(fine.times, coarse.times):
        raise ValueError("fine and coarse must have the same snapshot times")
    return float(ratios[0])


def _pair_norms(grid, rho_ref, rho, v_ref, v):
    """``(int |rho - rho_ref|, sqrt(int |v - v_ref|^2 rho_ref))`` on ``grid``; v (d, *shape)."""
    l1 = float(grid.integrate(np.abs(rho - rho_ref)))
    l2 = math.sqrt(max(float(grid.integrate(((v - v_ref) ** 2).sum(0) * rho_ref)), 0.0))
    return l1, l2


def _to_coarse_centres(field, fine: Grid, coarse: Grid) -> np.ndarray:
    """Cubic-spline interpolation of a fine-grid scalar field ``(*fine.shape)`` at the coarse
    cell centres -> ``(*coarse.shape)``.

    Cubic, not multilinear: a multilinear transfer adds its own O(h^2) error, which on the
    test problem of tests/test_truth_error.py (48 / 32 cells) alone was 1.8x the true error of
    the SSP-RK3 solution and 5x that of the (more accurate) forward-Euler default; the cubic
    transfer's error is O(h^4)."""
    axes = [(coarse.axis_centers(a) - fine.lower[a]) / fine.spacing[a] - 0.5
            for a in range(fine.dim)]
    index = np.stack(np.meshgrid(*axes, indexing="ij"))
    return ndimage.map_coordinates(np.asarray(field, dtype=np.float64), index, order=3,
                                   mode="nearest")


def solution_error(fine: GridSolution, coarse: GridSolution, order: float) -> SolutionError:
    """Richardson estimate of the error of ``fine`` from ``coarse`` (same box and times).

    ``order`` is the scheme's convergence order p in the grid spacing (2 for the
    Scharfetter-Gummel flux on smooth data; about 1 for porous-medium fronts). Returns a
    :class:`SolutionError` on ``fine.times``.
    """
    ratio = _spacing_ratio(fine, coarse)
    factor = richardson_factor(ratio, order)
    grid = coarse.grid
    l1s, l2s = [], []
    for k in range(len(fine.times)):
        rho_f = _to_coarse_centres(fine.density[k], fine.grid, grid)
        v_f = np.stack([_to_coarse_centres(c, fine.grid, grid) for c in fine.velocity[k]])
        l1, l2 = _pair_norms(grid, rho_f, coarse.density[k], v_f, coarse.velocity[k])
        l1s.append(factor * l1)
        l2s.append(factor * l2)
    shape = "x".join(str(n) for n in coarse.grid.shape)
    return SolutionError(np.array(fine.times), np.array(l1s), np.array(l2s), "richardson",
                         f"companion solve on {shape} (spacing ratio {ratio:g}, order {order:g})",
                         factor)


def solution_error_exact(solution: GridSolution, closed_form) -> SolutionError:
    """The error of ``solution`` against ``closed_form`` (``.density(t, x)``,
    ``.velocity(t, x)``, e.g. :class:`pdeflow.exact.GaussianMixtureFlow`), point values at the
    cell centres."""
    grid = solution.grid
    pts = grid.points()
    l1s, l2s = [], []
    for k, t in enumerate(solution.times):
        rho = closed_form.density(t, pts).reshape(grid.shape)
        v = closed_form.velocity(t, pts).T.reshape((grid.dim,) + grid.shape)
        l1, l2 = _pair_norms(grid, rho, solution.density[k], v, solution.velocity[k])
        l1s.append(l1)
        l2s.append(l2)
    return SolutionError(np.array(solution.times), np.array(l1s), np.array(l2s), "exact",
                         type(closed_form).__name__)


def every_other_snapshot(solution: GridSolution) -> GridSolution:
    """A copy of ``solution`` keeping snapshots 0, 2, 4, ... (and always the last one)."""
    keep = np.arange(0, len(solution.times), 2)
    if keep[-1] != len(solution.times) - 1:
        keep = np.append(keep, len(solution.times) - 1)
    if len(keep) < 2:
        raise ValueError("solution needs >= 3 snapshots to drop every other one")
    return GridSolution(solution.equation, solution.grid, solution.times[keep],
                        solution.density[keep], solution.velocity[keep],
                        tuple(np.asarray(f)[keep] for f in solution.face_velocity),
                        solution.mass[keep], solution.energy[keep] if len(solution.energy)
                        else solution.energy, dict(solution.diagnostics))


def flow_map_error_estimate(flow, solution: GridSolution, coarse: GridSolution | None, x0,
                            times, *, dt: float, grid_order: float = 2.0,
                            time_rule: str = "cubic", integrator_order: float = 4.0,
                            reference=None) -> FlowMapError:
    """Estimate the error of the flow map of ``x0`` through ``solution``'s velocity.

    Parameters
    ----------
    flow : callable ``flow(velocity source, x0, times, dt) -> (n, d)`` final positions (the
        caller's integrator, e.g. a backward sampler with its settings); called four times.
    solution : the truth (a GridSolution); coarse : its companion on a coarser grid (same
        times) or None (then the grid term is 0 and ``details["grid"]`` says so).
    x0 : (n, d) starting points; times : output times passed to ``flow``; dt : the step used.
    grid_order : p of the space error (2 for SG, 1 for porous fronts).
    time_rule : the snapshot interpolation rule (its order: cubic 3, linear 2).
    integrator_order : 4 for RK4.
    reference : optional (n, d) final positions of the truth flow already computed.
    """
    if time_rule not in ("cubic", "linear"):
        raise ValueError(f"time_rule must be 'cubic' or 'linear', got {time_rule!r}")
    if reference is None:
        reference = flow(GridVelocity(solution, time_rule=time_rule), x0, times, dt)

    def rms(a):
        return math.sqrt(float(((a - reference) ** 2).sum(1).mean()))

    details = {"dt": dt, "snapshots": len(solution.times), "time_rule": time_rule}
    grid_term = 0.0
    if coarse is not None:
        ratio = _spacing_ratio(solution, coarse)
        grid_term = richardson_factor(ratio, grid_order) * rms(
            flow(GridVelocity(coarse, time_rule=time_rule), x0, times, dt))
        details["coarse_grid"] = "x".join(str(n) for n in coarse.grid.shape)
    else:
        details["coarse_grid"] = "none (grid term not estimated)"
    half = every_other_snapshot(solution)
    snap_ratio = (solution.times[-1] - solution.times[0]) / (len(solution.times) - 1)
    snap_ratio = ((half.times[-1] - half.times[0]) / (len(half.times) - 1)) / snap_ratio
    time_term = richardson_factor(snap_ratio, 3.0 if time_rule == "cubic" else 2.0) * rms(
        flow(GridVelocity(half, time_rule=time_rule), x0, times, dt))
    step_term = richardson_factor(2.0, integrator_order) * rms(
        flow(GridVelocity(solution, time_rule=time_rule), x0, times, 2 * dt))
    return FlowMapError(grid_term, time_term, step_term, details)
