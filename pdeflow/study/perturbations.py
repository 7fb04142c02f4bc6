"""Controlled velocity errors: v_eps = v + eps w with ||w||_{L2(rho_t dx dt, [0, T])} = 1.

The perturbation w is a time-independent grid field ``(d, *shape)``, interpolated multilinearly
exactly like the finite-volume velocity it is added to (so the flow sees the field whose norm is
measured). Kinds (``seed`` picks the random direction; different seeds are different w):

smooth
  * ``fourier-low``: 4 random cosine modes per component with wavenumbers pi k / half_width,
    ``k in {-2..2}^d \\ {0}`` (wavelength >= half the box).
  * ``rotation``: w = A x with a random antisymmetric A (a rigid rotation; dim >= 2).
  * ``gradient``: w = grad phi, phi a sum of 4 Gaussian bumps (width 1, random centres in
    ``[-2, 2]^d``, random signed heights): a smooth potential flow.
rough
  * ``fourier-high``: 4 random cosine modes per component of wavelength 4 cells (the finest a
    multilinear interpolant carries without aliasing), random directions.
  * ``cell-noise``: independent N(0, 1) values per cell and component (cell-scale roughness).
targeted (opt-in; one field per stored snapshot, interpolated in time like the velocity)
  * ``early-time``: the ``fourier-low`` field times exp(-(t - t_0) / tau), tau = (T - t_0) / 10:
    the error sits at the times next to the data, where the backward flow ends.
  * ``front``: the ``fourier-low`` field restricted, at every snapshot, to the low-density rim
    ``0 < rho_t < 0.1 max rho_t`` (the porous front; the tails of a positive density).

The targeted kinds probe where the seed's bound for the deterministic flow could be sharp.

Normalisation: ``eps^2 = int_0^T int |w|^2 rho_t dx dt`` with the time integral taken as
T x (mean over the stored snapshots; per snapshot for the targeted kinds), which is the
quadrature :func:`pdeflow.learn.field_error` uses with :func:`pdeflow.learn.grid_solution_target` - so a perturbation at eps and a network
whose measured error is eps are comparable. The space integral uses the piecewise-constant
finite-volume density and ``q^d`` sub-cell midpoints of the interpolated ``|w|^2`` per cell.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..grid import Grid
from ..solvers.interpolation import interpolate_field

__all__ = ["perturbation_field", "perturbation_history", "l2_rho_norm", "unit_perturbation",
           "perturbed_solution", "KINDS", "TIME_DEPENDENT"]

KINDS = ("fourier-low", "rotation", "gradient", "fourier-high", "cell-noise")
TIME_DEPENDENT = ("early-time", "front")
#: share of the snapshot's maximum density below which a cell belongs to the ``front`` rim
FRONT_LEVEL = 0.1


def _cosine_modes(x, wavevectors, amplitudes, phases):
    """sum_j a_ij cos(k_j . x + phi_ij) for x (d, *shape); returns (d, *shape)."""
    out = np.zeros_like(x)
    for k, a, p in zip(wavevectors, amplitudes, phases):
        arg = np.tensordot(k, x, axes=(0, 0))
        out += np.stack([a[i] * np.cos(arg + p[i]) for i in range(len(x))])
    return out


def perturbation_field(kind: str, grid: Grid, seed: int) -> np.ndarray:
    """The raw (unnormalised) field w of ``kind`` at the cell centres, shape ``(d, *shape)``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    rng = np.random.default_rng([int(seed), KINDS.index(kind)])
    x, d = grid.coordinates(), grid.dim
    half = 0.5 * (np.asarray(grid.upper) - np.asarray(grid.lower)).max()
    if kind == "fourier-low":
        ks = rng.integers(-2, 3, size=(16, d))
        ks = ks[np.any(ks != 0, axis=1)][:4] * (math.pi / half)
        return _cosine_modes(x, ks, rng.standard_normal((4, d)),
                             rng.uniform(0, 2 * math.pi, (4, d)))
    if kind == "fourier-high":
        directions = rng.standard_normal((4, d))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        ks = directions * (2 * math.pi / (4 * min(grid.spacing)))
        return _cosine_modes(x, ks, rng.standard_normal((4, d)),
                             rng.uniform(0, 2 * math.pi, (4, d)))
    if kind == "rotation":
        if d < 2:
            raise ValueError("perturbation 'rotation' needs dim >= 2")
        b = rng.standard_normal((d, d))
        return np.tensordot(b - b.T, x, axes=(1, 0))
    if kind == "gradient":
        centres = rng.uniform(-2.0, 2.0, (4, d))
        heights = rng.standard_normal(4)
        out = np.zeros_like(x)
        for c, a in zip(centres, heights):
            diff = x - c.reshape((d,) + (1,) * d)
            out += -a * diff * np.exp(-0.5 * (diff ** 2).sum(0))
        return out
    return rng.standard_normal(x.shape)   # cell-noise


def perturbation_history(kind: str, solution, seed: int) -> np.ndarray:
    """The raw field of a time-dependent ``kind`` at every snapshot: ``(nt, d, *shape)``."""
    if kind not in TIME_DEPENDENT:
        raise ValueError(f"kind must be one of {TIME_DEPENDENT}, got {kind!r}")
    base = perturbation_field("fourier-low", solution.grid, seed)[None]
    times = np.asarray(solution.times, dtype=np.float64)
    if kind == "early-time":
        tau = (times[-1] - times[0]) / 10.0
        return base * np.exp(-(times - times[0]) / tau).reshape((-1,) + (1,) * base[0].ndim)
    density = np.asarray(solution.density, dtype=np.float64)
    peak = density.reshape(len(density), -1).max(1).reshape((-1,) + (1,) * (density.ndim - 1))
    rim = (density > 0) & (density < FRONT_LEVEL * peak)
    return base * rim[:, None]


def _subcell_points(grid: Grid, q: int) -> np.ndarray:
    """q^d sub-cell midpoints of every cell: (size * q^d, d), grouped by cell (C order)."""
    offsets = (np.arange(q) + 0.5) / q - 0.5                          # in cell widths
    sub = np.stack(np.meshgrid(*[offsets] * grid.dim, indexing="ij"), -1).reshape(-1, grid.dim)
    sub = sub * np.asarray(grid.spacing)
    return (grid.points()[:, None, :] + sub[None]).reshape(-1, grid.dim)


def _cell_mean_square(w, grid: Grid, points) -> np.ndarray:
    values = interpolate_field(w, grid, points)                         # (size * q^d, d)
    return (values ** 2).sum(1).reshape(grid.size, -1).mean(1).reshape(grid.shape)


def l2_rho_norm(w, solution, q: int | None = None) -> float:
    """``sqrt(T x mean_k int |w_interp|^2 rho_{t_k} dx)`` for a grid field ``w``.

    ``w`` is ``(d, *shape)`` (time independent) or ``(nt, d, *shape)`` (one field per snapshot);
    ``solution`` is a GridSolution (its ``density`` ``(nt, *shape)``, ``times``); ``q`` sub-cell
    points per axis (default 8 in 1-2 D, 3 in 3-D).
    """
    grid = solution.grid
    w = np.asarray(w, dtype=np.float64)
    field_shape = (grid.dim,) + grid.shape
    if w.shape not in (field_shape, (len(solution.times),) + field_shape):
        raise ValueError(f"w must have shape {field_shape} or {(len(solution.times),) + field_shape}"
                         f", got {w.shape}")
    q = q or (8 if grid.dim < 3 else 3)
    points = _subcell_points(grid, q)
    if w.shape == field_shape:
        per_cell = _cell_mean_square(w, grid, points)[None]
    else:
        per_cell = np.stack([_cell_mean_square(wk, grid, points) for wk in w])
    horizon = float(solution.times[-1] - solution.times[0])
    space = grid.integrate(per_cell * np.asarray(solution.density))     # (nt,)
    return math.sqrt(horizon * float(np.mean(space)))


def unit_perturbation(kind: str, solution, seed: int) -> np.ndarray:
    """w / ||w||_{L2(rho)} of ``kind``: a grid field of unit norm (module docstring), ``(d, *shape)``
    or, for the time-dependent kinds, ``(nt, d, *shape)``."""
    if kind in TIME_DEPENDENT:
        w = perturbation_history(kind, solution, seed)
    else:
        w = perturbation_field(kind, solution.grid, seed)
    norm = l2_rho_norm(w, solution)
    if not norm > 0:
        raise ValueError(f"perturbation {kind!r} vanishes on the support of rho")
    return w / norm


def perturbed_solution(solution, w_unit, eps: float):
    """A copy of ``solution`` whose cell velocity is v + eps w (``w_unit`` ``(d, *shape)`` or one
    field per snapshot, ``(nt, d, *shape)``)."""
    if not (math.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps must be a finite number >= 0, got {eps}")
    w_unit = np.asarray(w_unit, dtype=np.float64)
    if w_unit.shape not in (solution.velocity.shape, solution.velocity.shape[1:]):
        raise ValueError(f"w_unit must have shape {solution.velocity.shape[1:]} or "
                         f"{solution.velocity.shape}, got {w_unit.shape}")
    velocity = solution.velocity + eps * (w_unit if w_unit.ndim == solution.velocity.ndim
                                          else w_unit[None])
    return dataclasses.replace(solution, velocity=velocity)
