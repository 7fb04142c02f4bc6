"""Velocity of a grid solution at arbitrary points and times (second order in space and time).

Rule (documented in docs/flow_maps_and_particles.md and measured in tests/test_flow_map.py):

* space: multilinear interpolation of either the cell-centred velocity (``field="cell"``) or the
  scheme's own face velocities on the staggered grid (``field="face"``: component i is linear
  between the faces along axis i and multilinear between cell centres along the other axes).
  In the half cell next to a wall the centred samples are extrapolated linearly from the
  outermost pair, so the rule stays second order up to the wall for smooth fields.
* time (``time_rule``): ``"cubic"`` (default) is cubic Hermite between the two stored snapshots
  that bracket t, with the time derivative at each snapshot taken from the parabola through it
  and its two neighbours (one-sided at the ends; any spacing): third order in the snapshot
  spacing, for twice the memory. ``"linear"`` is linear between the bracketing snapshots (second
  order). Times outside [times[0], times[-1]] are an error.

Points outside the grid box are not an error here (the value is the linear extrapolation); the
flow-map integrator decides what happens to particles that leave (see :mod:`flow_map`).
"""
from __future__ import annotations

import numpy as np

from ..grid import Grid
from . import _kernels_grid as kernels
from .solution import GridSolution

__all__ = ["GridVelocity", "TIME_RULES", "derivative_weights", "interpolate_field",
           "sample_solution", "snapshot_derivative"]

TIME_RULES = ("cubic", "linear")


def derivative_weights(times) -> tuple[np.ndarray, np.ndarray]:
    """The three-point rule of :func:`snapshot_derivative` as weights.

    Returns ``base`` (nt,) int and ``coef`` (nt, 3): the derivative at snapshot k is
    ``sum_r coef[k, r] values[base[k] + r]``. Needs nt >= 2 (nt = 2: the secant slope).
    """
    times = np.asarray(times, dtype=np.float64)
    nt = len(times)
    base = np.zeros(nt, dtype=np.int64)
    coef = np.zeros((nt, 3))
    if nt == 2:
        slope = 1.0 / (times[1] - times[0])
        coef[:, :2] = [-slope, slope]
        return base, coef
    for k in range(nt):
        j = min(max(k - 1, 0), nt - 3)                   # the three snapshots j, j+1, j+2
        t0, t1, t2 = times[j:j + 3]
        x = times[k]
        # derivative of the Lagrange basis of the three nodes at x
        coef[k] = [(2 * x - t1 - t2) / ((t0 - t1) * (t0 - t2)),
                   (2 * x - t0 - t2) / ((t1 - t0) * (t1 - t2)),
                   (2 * x - t0 - t1) / ((t2 - t0) * (t2 - t1))]
        base[k] = j
    return base, coef


def snapshot_derivative(values, times) -> np.ndarray:
    """Time derivative at every snapshot from the parabola through three neighbouring ones.

    Parameters
    ----------
    values : (nt, ...) array of snapshots.
    times : (nt,) strictly increasing snapshot times, any spacing.

    Returns
    -------
    (nt, ...) array, exact for values quadratic in t (second-order accurate); with
    nt = 2 the secant slope, with nt = 1 zeros. Interior snapshots use the centred three-point
    formula, the end snapshots the one-sided one.
    """
    values = np.asarray(values, dtype=np.float64)
    if len(times) == 1:
        return np.zeros_like(values)
    base, coef = derivative_weights(times)
    terms = min(3, len(times))
    return np.stack([sum(coef[k, r] * values[base[k] + r] for r in range(terms))
                     for k in range(len(times))])


def _pad(array: np.ndarray, target: tuple) -> np.ndarray:
    """Zero-pad the trailing axes of ``array`` ``(..., *spatial)`` to ``target`` (the padded
    lengths of the spatial axes); the padding is never read (it lies beyond ``cnt``)."""
    lead = array.ndim - len(target)
    widths = [(0, 0)] * lead + [(0, t - s) for s, t in zip(array.shape[lead:], target)]
    return np.pad(array, widths)


def pack_field(values: np.ndarray, times: np.ndarray, cubic: bool) -> np.ndarray:
    """Kernel layout of snapshots ``values`` ``(nt, ncomp, *P)``: C-contiguous float64
    ``(max(nt, 2), *P, L)``, the time derivatives appended on the last axis if ``cubic``
    (L = 2 ncomp), a single snapshot stored twice (see :mod:`_kernels_grid`)."""
    values = np.asarray(values, dtype=np.float64)
    if len(times) == 1:
        values, cubic = np.concatenate([values, values]), False
    nt, ncomp, spatial = values.shape[0], values.shape[1], values.shape[2:]
    base, coef = derivative_weights(times if len(times) > 1 else [0.0, 1.0])
    out = np.empty((nt, int(np.prod(spatial)), 2 * ncomp if cubic else ncomp))
    kernels.pack_snapshots(np.ascontiguousarray(values).reshape(nt, ncomp, -1), base, coef, out)
    return out.reshape((nt,) + spatial + (out.shape[-1],))


class GridVelocity:
    """A time-dependent velocity field stored on a grid at snapshot times, callable as v(t, x).

    Parameters
    ----------
    solution : GridSolution
        Snapshots ``times`` (nt,), ``velocity`` ``(nt, d, *shape)``, ``face_velocity``.
    field : "cell" or "face"
        Which stored velocity to interpolate (see the module docstring).
    time_rule : "cubic" or "linear"
        Interpolation between snapshots (see the module docstring).
    """

    def __init__(self, solution: GridSolution, field: str = "cell", time_rule: str = "cubic"):
        if field not in ("cell", "face"):
            raise ValueError(f"field must be 'cell' or 'face', got {field!r}")
        if time_rule not in TIME_RULES:
            raise ValueError(f"time_rule must be one of {TIME_RULES}, got {time_rule!r}")
        grid, times = solution.grid, np.asarray(solution.times, dtype=np.float64)
        if times.ndim != 1 or len(times) < 1 or np.any(np.diff(times) <= 0):
            raise ValueError("solution.times must be a non-empty strictly increasing (nt,) array")
        d, shape = grid.dim, grid.shape
        self.grid, self.times, self.field_kind = grid, times, field
        self.provenance = {"source": "GridSolution", "field": field,
                           "equation": repr(solution.equation), "grid_lower": grid.lower,
                           "grid_upper": grid.upper, "grid_shape": shape,
                           "time_rule": "cubic Hermite, three-point snapshot derivatives"
                           if time_rule == "cubic" else "linear between snapshots",
                           "space_rule": "multilinear"}
        off = np.full((d, d), 0.5)
        cnt = np.tile(np.array(shape, dtype=np.int64), (d, 1))
        if field == "cell":
            velocity = np.asarray(solution.velocity, dtype=np.float64)
            if velocity.shape != (len(times), d) + shape:
                raise ValueError(f"solution.velocity must have shape {(len(times), d) + shape}, "
                                 f"got {velocity.shape}")
            values = velocity
        else:
            target = tuple(n + 1 for n in shape)
            parts = []
            for i, face in enumerate(solution.face_velocity):
                expected = (len(times),) + tuple(n + (a == i) for a, n in enumerate(shape))
                if np.shape(face) != expected:
                    raise ValueError(f"solution.face_velocity[{i}] must have shape {expected}, "
                                     f"got {np.shape(face)}")
                parts.append(_pad(np.asarray(face, dtype=np.float64), target))
                off[i, i] = 0.0
                cnt[i, i] = shape[i] + 1
            values = np.stack(parts, axis=1)              # (nt, d, *(shape + 1))
        self.time_rule = time_rule
        self.packed = pack_field(values, times, time_rule == "cubic")
        self.off, self.cnt = off, cnt
        self.lower = np.array(grid.lower, dtype=np.float64)
        self.upper = np.array(grid.upper, dtype=np.float64)
        self.inv_h = 1.0 / np.array(grid.spacing, dtype=np.float64)

    @property
    def cubic(self) -> bool:
        """True if the packed field carries snapshot derivatives (cubic Hermite in time)."""
        return self.packed.shape[-1] == 2 * self.dim

    @property
    def dim(self) -> int:
        return self.grid.dim

    def check_time(self, t: float, name: str = "t") -> float:
        t = float(t)
        lo, hi = self.times[0], self.times[-1]
        if not (lo - 1e-12 * max(1, abs(lo)) <= t <= hi + 1e-12 * max(1, abs(hi))):
            raise ValueError(f"{name} = {t} is outside the stored times [{lo}, {hi}]")
        return t

    def __call__(self, t: float, x) -> np.ndarray:
        """v(t, x) for points x (n, d) -> (n, d)."""
        t = self.check_time(t)
        x = _as_points(x, self.dim)
        k, w = kernels.time_segment(self.times, t, self.cubic)
        out = np.empty((len(x), self.dim))
        kernels.GATHER[self.dim](self.packed, self.dim, k, w, self.off, self.cnt, self.lower,
                                 self.inv_h, x, out)
        return out

    velocity = __call__


def _as_points(x, dim: int, name: str = "x") -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"{name} must have shape (n, {dim}), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite")
    return x


def interpolate_field(field, grid: Grid, points) -> np.ndarray:
    """Multilinear interpolation of cell-centred data at points.

    ``field`` is ``(*shape)`` (scalar, returns (n,)) or ``(k, *shape)`` (returns (n, k));
    ``points`` (n, d). Linear extrapolation in the half cell next to the walls and beyond.
    """
    field = np.asarray(field, dtype=np.float64)
    scalar = field.shape == grid.shape
    if scalar:
        field = field[None]
    if field.shape[1:] != grid.shape:
        raise ValueError(f"field must have shape {grid.shape} or (k, *{grid.shape}), "
                         f"got {field.shape}")
    points = _as_points(points, grid.dim, "points")
    k, d = field.shape[0], grid.dim
    packed = pack_field(field[None], np.zeros(1), cubic=False)
    out = np.empty((len(points), k))
    kernels.GATHER[d](packed, k, 0, (1.0, 0.0, 0.0, 0.0), np.full((k, d), 0.5),
                      np.tile(np.array(grid.shape, dtype=np.int64), (k, 1)),
                      np.array(grid.lower, dtype=np.float64),
                      1.0 / np.array(grid.spacing, dtype=np.float64), points, out)
    return out[:, 0] if scalar else out


def sample_solution(closed_form, grid: Grid, times) -> GridSolution:
    """A GridSolution holding a closed form sampled on ``grid`` at ``times`` (nt,).

    ``closed_form`` needs ``.equation``, ``.density(t, x)`` and ``.velocity(t, x)`` (the classes
    of :mod:`pdeflow.exact`). Cell velocities are point values at cell centres, face velocities
    point values at face centres (zero on the walls, as the finite-volume solver stores them);
    density is the point value at cell centres. Used to test interpolation in isolation.
    """
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or len(times) < 1 or np.any(np.diff(times) <= 0):
        raise ValueError("times must be a non-empty strictly increasing (nt,) array")
    d, shape, pts = grid.dim, grid.shape, grid.points()
    density = np.stack([closed_form.density(t, pts).reshape(shape) for t in times])
    velocity = np.stack([closed_form.velocity(t, pts).T.reshape((d,) + shape) for t in times])
    faces = []
    for i in range(d):
        axes = [grid.axis_faces(a) if a == i else grid.axis_centers(a) for a in range(d)]
        mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)
        fshape = mesh.shape[:-1]
        comp = np.stack([closed_form.velocity(t, mesh.reshape(-1, d))[:, i].reshape(fshape)
                         for t in times])
        wall = [slice(None)] * (d + 1)
        for j in (0, -1):
            wall[1 + i] = j
            comp[tuple(wall)] = 0.0
        faces.append(comp)
    equation = closed_form.equation
    mass = grid.integrate(density)
    energy = np.array([equation.energy(rho, grid) for rho in density])
    return GridSolution(equation, grid, times, density, velocity, tuple(faces), mass, energy,
                        {"source": f"sampled {type(closed_form).__name__}"})
