"""Lagrangian flow maps: integrate dX/dt = v(t, X) for many particles, forward or backward.

Velocity sources (all accepted by :func:`integrate_flow_map`):

* a :class:`~pdeflow.solvers.solution.GridSolution` (or a ready :class:`GridVelocity`):
  interpolated multilinearly in space and, by default, cubic Hermite in time (see
  :mod:`interpolation`);
  RK4 on it runs in one fused numba kernel, parallel over particles;
* anything with a ``.velocity(t, x)`` method (the closed forms of :mod:`pdeflow.exact`);
* any callable ``v(t, x) -> (n, d)`` (numpy in, numpy out; a torch network plugs in through a
  wrapper that converts).

Integrators: classical RK4 with a maximum step ``dt`` (each interval between output times is
split into equal steps), and the adaptive Dormand-Prince 5(4) pair with ``rtol``/``atol``
(one step size shared by all particles, chosen so that every particle's scaled error is <= 1).

Particles leaving a grid (grid sources only): the accepted position after a step is checked
against the grid box. ``outside="raise"`` (default) raises ValueError naming how many particles
left and when; ``outside="stop"`` freezes each such particle at its last position inside the box
and records the first output index it did not reach in ``FlowMap.exit_index`` (-1 = stayed in).
RK stage points may lie slightly outside; there the velocity is the linear extrapolation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import _kernels_grid as kernels
from .interpolation import GridVelocity, _as_points
from .solution import GridSolution

__all__ = ["FlowMap", "integrate_flow_map", "as_velocity"]


@dataclass
class FlowMap:
    """Positions of particles started at ``x0`` at ``times[0]``.

    Attributes
    ----------
    x0 : (n, d) starting points.
    times : (nt,) output times, monotone (decreasing for a backward map); times[0] is the start.
    positions : (nt, n, d) positions; positions[0] == x0.
    provenance : dict describing the velocity source and the integrator (JSON-like values).
    exit_index : (n,) int or None; for grid sources, the first output index a particle did not
        reach because it left the grid (-1: it stayed in).

    HDF5 storage of flow maps is provided by :mod:`pdeflow.io`.
    """

    x0: np.ndarray
    times: np.ndarray
    positions: np.ndarray
    provenance: dict = field(default_factory=dict)
    exit_index: np.ndarray | None = None

    @property
    def final(self) -> np.ndarray:
        """Positions at the last output time, (n, d)."""
        return self.positions[-1]

    def at(self, t: float) -> np.ndarray:
        """Positions (n, d) at the stored output time ``t``."""
        idx = int(np.argmin(np.abs(self.times - t)))
        if abs(self.times[idx] - t) > 1e-12 * max(1.0, abs(t)):
            raise ValueError(f"t = {t} is not an output time; stored: {self.times}")
        return self.positions[idx]


def as_velocity(source, field: str = "cell"):
    """Turn a velocity source into (callable v(t, x), provenance dict, grid velocity or None)."""
    if isinstance(source, GridSolution):
        source = GridVelocity(source, field)
    if isinstance(source, GridVelocity):
        return source, dict(source.provenance), source
    if hasattr(source, "velocity") and callable(source.velocity):
        return source.velocity, {"source": type(source).__name__, "repr": repr(source)}, None
    if callable(source):
        name = getattr(source, "__qualname__", type(source).__name__)
        return source, {"source": "callable", "name": name}, None
    raise ValueError("velocity must be a GridSolution, a GridVelocity, an object with "
                     f".velocity(t, x) or a callable v(t, x); got {type(source).__name__}")


def _check_times(times) -> np.ndarray:
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or len(times) < 2 or not np.all(np.isfinite(times)):
        raise ValueError(f"times must be a finite 1-D array with >= 2 entries, got shape "
                         f"{times.shape}")
    steps = np.diff(times)
    if not (np.all(steps > 0) or np.all(steps < 0)):
        raise ValueError("times must be strictly increasing (forward) or strictly decreasing "
                         "(backward)")
    return times


def integrate_flow_map(velocity, x0, times, *, method: str = "rk4", dt: float | None = None,
                       rtol: float = 1e-6, atol: float = 1e-9, field: str = "cell",
                       outside: str = "raise") -> FlowMap:
    """Flow map X(t; times[0], x0) at every t in ``times``.

    Parameters
    ----------
    velocity : GridSolution, GridVelocity, object with .velocity(t, x), or callable v(t, x).
    x0 : (n, d) starting points at time times[0].
    times : (nt,) output times, strictly monotone; decreasing integrates backward in time.
    method : "rk4" (fixed step, needs ``dt``) or "dopri5" (adaptive, ``rtol``/``atol``;
        ``dt`` optionally sets the first trial step).
    dt : maximum step for RK4 (time units, > 0).
    field : for GridSolution sources, "cell" or "face" velocities (see :class:`GridVelocity`).
    outside : "raise" or "stop": what happens to particles that leave a grid (module docstring).
    """
    if method not in ("rk4", "dopri5"):
        raise ValueError(f"method must be 'rk4' or 'dopri5', got {method!r}")
    if outside not in ("raise", "stop"):
        raise ValueError(f"outside must be 'raise' or 'stop', got {outside!r}")
    if dt is not None and not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a finite number > 0, got {dt}")
    if method == "rk4" and dt is None:
        raise ValueError("dt (the maximum RK4 step) is required for method='rk4'")
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if not (math.isfinite(tol) and tol >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {tol}")
    if rtol == 0 and atol == 0:
        raise ValueError("rtol and atol cannot both be 0")
    times = _check_times(times)
    v, provenance, grid_velocity = as_velocity(velocity, field)
    x0 = _as_points(x0, grid_velocity.dim if grid_velocity else np.shape(x0)[-1], "x0")
    if grid_velocity is not None:
        grid_velocity.check_time(times.min(), "min(times)")
        grid_velocity.check_time(times.max(), "max(times)")
        inside = grid_velocity.grid.contains(x0)
        if not inside.all():
            raise ValueError(f"x0: {np.count_nonzero(~inside)} starting points lie outside the "
                             f"grid box {grid_velocity.grid.lower}..{grid_velocity.grid.upper}")
    if method == "rk4" and grid_velocity is not None:
        positions, exit_index, steps = _rk4_fused(grid_velocity, x0, times, dt)
        stats = {"steps_per_particle": steps}
    else:
        stepper = _rk4_vectorised if method == "rk4" else _dopri5_vectorised
        box = (grid_velocity.lower, grid_velocity.upper) if grid_velocity else None
        positions, exit_index, stats = stepper(v, x0, times, dt=dt, rtol=rtol, atol=atol, box=box)
    provenance["integrator"] = {"method": method, "dt": dt, "rtol": rtol, "atol": atol, **stats}
    if grid_velocity is None:
        exit_index = None
    elif outside == "raise" and np.any(exit_index >= 0):
        left = exit_index >= 0
        raise ValueError(f"{np.count_nonzero(left)} of {len(x0)} particles left the grid box; the "
                         f"first before times[{exit_index[left].min()}] = "
                         f"{times[exit_index[left].min()]}. Enlarge the grid or pass "
                         "outside='stop' to freeze them at their last position inside")
    return FlowMap(x0=x0.copy(), times=times, positions=positions, provenance=provenance,
                   exit_index=exit_index)


def _rk4_fused(gv: GridVelocity, x0, times, dt):
    # Particles are integrated in cell order (neighbours read the same grid values: far fewer
    # cache misses); the kernel reads and writes them in the caller's order.
    keys = kernels.cell_keys(x0, gv.lower, gv.inv_h, np.array(gv.grid.shape, dtype=np.int64))
    order = np.argsort(keys, kind="stable")
    h, target, last, seg, weights = kernels.rk4_schedule(gv.times, times, float(dt), gv.cubic)
    positions = np.empty((len(times),) + x0.shape)
    exit_index = np.full(len(x0), -1, dtype=np.int64)
    kernels.RK4[gv.dim](gv.packed, gv.off, gv.cnt, gv.lower, gv.inv_h, gv.upper, x0, order, h,
                        target, last, seg, weights, positions, exit_index)
    return positions, exit_index, len(h)


class _Freezer:
    """Tracks particles that left a box: they get zero velocity and keep their last position."""

    def __init__(self, v, n, box):
        self.v, self.box = v, box
        self.alive = np.ones(n, dtype=bool)
        self.exit_index = np.full(n, -1, dtype=np.int64)

    def __call__(self, t, x):
        out = np.asarray(self.v(t, x), dtype=np.float64)
        if out.shape != x.shape:
            raise ValueError(f"velocity returned shape {out.shape}, expected {x.shape}")
        if self.box is not None and not self.alive.all():
            out = out * self.alive[:, None]
        return out

    def accept(self, x_old, x_new, index):
        if self.box is not None:
            lower, upper = self.box
            gone = self.alive & ~np.all((x_new >= lower) & (x_new <= upper), axis=1)
            if gone.any():
                x_new[gone] = x_old[gone]
                self.alive[gone] = False
                self.exit_index[gone] = index
        return x_new


def _rk4_vectorised(v, x0, times, *, dt, box, **_):
    f = _Freezer(v, len(x0), box)
    positions = np.empty((len(times),) + x0.shape)
    positions[0] = x = x0.copy()
    steps = 0
    for s in range(len(times) - 1):
        span = times[s + 1] - times[s]
        nsub = max(1, math.ceil(abs(span) / dt - 1e-9))
        h = span / nsub
        for m in range(nsub):
            t = times[s] + m * h
            # the last stage lands exactly on the output time (no round-off past t = 0)
            t_next = times[s + 1] if m == nsub - 1 else t + h
            k1 = f(t, x)
            k2 = f(t + h / 2, x + h / 2 * k1)
            k3 = f(t + h / 2, x + h / 2 * k2)
            k4 = f(t_next, x + h * k3)
            x = f.accept(x, x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4), s + 1)
        steps += nsub
        bad = ~np.all(np.isfinite(x), axis=1)
        if bad.any():   # dopri5 stops on its own (step size underflow); say so here too
            raise ValueError(f"rk4: {np.count_nonzero(bad)} of {len(x)} particles reached NaN or "
                             f"inf positions by times[{s + 1}] = {times[s + 1]}: the velocity is "
                             f"not finite along their paths, or dt = {dt} is too large for it")
        positions[s + 1] = x
    return positions, f.exit_index, {"steps_per_particle": steps}


# Dormand-Prince 5(4) tableau (Hairer, Norsett & Wanner, Table II.5.2).
_C = np.array([0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1])
_A = [[], [1 / 5], [3 / 40, 9 / 40], [44 / 45, -56 / 15, 32 / 9],
      [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
      [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
      [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84]]
_B5 = np.array([35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0])
_B4 = np.array([5179 / 57600, 0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40])


def _dopri5_step(f, t, x, h, k_first):
    k = [k_first]
    for i in range(1, 7):
        xi = x + h * sum(a * kj for a, kj in zip(_A[i], k) if a != 0)
        k.append(f(t + _C[i] * h, xi))
    x5 = x + h * sum(b * kj for b, kj in zip(_B5, k) if b != 0)  # equals the stage-7 point
    err = h * sum((b5 - b4) * kj for b5, b4, kj in zip(_B5, _B4, k))
    return x5, err, k[6]


def _check_finite_velocity(values: np.ndarray, t: float) -> None:
    """ValueError if the velocity ``values`` (n, d) at time ``t`` hold NaN or inf."""
    bad = ~np.all(np.isfinite(values), axis=1)
    if bad.any():
        raise ValueError(f"dopri5: the velocity returned NaN or inf at t = {t} for "
                         f"{np.count_nonzero(bad)} of {len(values)} particles; it must be finite")


def _dopri5_vectorised(v, x0, times, *, dt, rtol, atol, box):
    f = _Freezer(v, len(x0), box)
    positions = np.empty((len(times),) + x0.shape)
    positions[0] = x = x0.copy()
    direction = np.sign(times[-1] - times[0])
    t = times[0]
    h = abs(dt) if dt is not None else abs(times[-1] - times[0]) / 100
    k_first = f(t, x)
    _check_finite_velocity(k_first, t)
    accepted = rejected = 0
    norm = 0.0
    for s in range(len(times) - 1):
        target = times[s + 1]
        while direction * (target - t) > 1e-14 * max(1.0, abs(target)):
            h_try = min(h, abs(target - t))
            x_new, err, k_last = _dopri5_step(f, t, x, direction * h_try, k_first)
            scale = atol + rtol * np.maximum(np.abs(x), np.abs(x_new))
            # every particle must meet the tolerance: max over particles of its RMS error
            norm = float(np.sqrt(np.mean((err / scale) ** 2, axis=1)).max()) if len(x) else 0.0
            if norm <= 1.0:
                t = target if h_try == abs(target - t) else t + direction * h_try
                x = f.accept(x, x_new, s + 1)
                k_first = k_last if f.alive.all() else f(t, x)
                accepted += 1
            else:
                rejected += 1
            factor = 5.0 if norm == 0 else min(5.0, max(0.2, 0.9 * norm ** -0.2))
            h = h_try * factor
            if h < 1e-14 * max(1.0, abs(t)):
                if not math.isfinite(norm):
                    raise ValueError(f"dopri5: the velocity returned NaN or inf near t = {t} "
                                     "(at the trial points of every step tried, down to step "
                                     "size underflow); it must be finite along the paths")
                raise ValueError(f"dopri5: step size underflow at t = {t}; the velocity is not "
                                 "smooth enough for rtol/atol")
        positions[s + 1] = x
    return positions, f.exit_index, {"accepted_steps": accepted, "rejected_steps": rejected}
