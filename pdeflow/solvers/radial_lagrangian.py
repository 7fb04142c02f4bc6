"""Lagrangian porous-medium solver in mass coordinates for radial data in any dimension, and for
general data on the line.

The equation is ``d_t rho = D Lap(rho^m) + kappa div(x rho)`` (m > 1,
:class:`~pdeflow.equations.PorousMedium`). For radially symmetric data in R^d the mass inside the
ball of radius r is ``int_0^r rho omega_d s^(d-1) ds``; its inverse, the radius X(t, mu) that
encloses the mass mu, is the flow map: particles keep the mass they enclose because the velocity
``v = -grad(D p(rho)) - kappa x`` (p = m rho^(m-1)/(m-1)) transports mass. So the unknown is the
flow map itself, one 1-D function whatever d is.

Discretisation (docs/radial_lagrangian.md):

* Labels: the nodes are particles started at uniformly spaced initial radii ``r0_i = R0 i / N``
  (i = 0..N; node 0 is the origin, node N the free boundary). In mass this clusters the nodes
  towards the front exactly as the data's mass does (mass outside r0 ~ (R0 - r0)^(m/(m-1)) for
  Barenblatt-like data), so X(t, s) is a smooth function of the label s and every node has the
  same order of accuracy. Each node carries the fixed mass of its two half cells.
* Density: the Jacobian identity of mass conservation, ``rho(t, X) = rho0(r0) / J`` with J the
  volume ratio, evaluated per cell at the label midpoint (``J_j = (X_{j+1}^d - X_j^d) /
  (r0_{j+1}^d - r0_j^d)``). Positive as long as the nodes stay ordered.
* Velocity: ``v_i = -D dp/dr - kappa X_i`` with the centred difference of the cell pressures
  inside, the one-sided second-order derivative at the front (where p = 0) and v = 0 at the origin.
* Time: the 2-stage, L-stable, stiffly accurate SDIRK method of order 2 (Alexander 1977,
  gamma = 1 - 1/sqrt 2), Newton on the banded Jacobian at each stage. The explicit integrators
  of :mod:`pdeflow.solvers.flow_map` would need steps ~ h^2 (measured in
  docs/radial_lagrangian.md); this one takes steps ~ h, so time and space errors both scale as
  N^-2.

Geometry ``"line"`` (d = 1, support [a, b]): both ends are free boundaries, so any 1-D data with
one interval of support (positive inside) is covered, symmetric or not.

Accuracy (measured against the Barenblatt solutions, tests/test_radial_lagrangian.py): second
order in N for the flow map at every node including the front, and for the density, provided
the initial pressure is smooth up to the front (rho0 ~ distance^(1/(m-1)), the generic
behaviour); data with a steeper front or a waiting time lose order near it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.linalg import solve_banded

from ..equations import PorousMedium
from . import _kernels_radial_lagrangian as kernels
from .interpolation import snapshot_derivative

__all__ = ["RadialLagrangianSolution", "RadialError", "solve_radial_lagrangian",
           "radial_error_estimate", "exact_error", "log_sphere_area"]

_GAMMA = 1.0 - math.sqrt(0.5)          # SDIRK2 (Alexander): L-stable, stiffly accurate
_GAUSS = np.polynomial.legendre.leggauss(6)
_SUBCELLS = 8                          # quadrature sub-intervals per cell (masses, sampling)


def log_sphere_area(dim: int) -> float:
    """log omega_d, omega_d = 2 pi^(d/2) / Gamma(d/2) the area of the unit sphere in R^d
    (omega_1 = 2: the two points of the 0-sphere)."""
    return math.log(2.0) + 0.5 * dim * math.log(math.pi) - math.lgamma(0.5 * dim)


@dataclass
class RadialError:
    """Error of a radial Lagrangian solve, per stored time (arrays of shape (nt,)).

    ``method`` is ``"richardson"`` (an estimate from a companion solve with half the cells, see
    :func:`radial_error_estimate`) or ``"exact"`` (against a closed form, :func:`exact_error`).

    Attributes
    ----------
    flow_map_rms, flow_map_max, front : (nt,) arrays
        Mass-weighted RMS over the nodes of ``|X_h - X|`` (length units), its maximum over the
        nodes (the front node included), and the front node's error (on the line the larger of
        the two fronts).
    density_l1, density_max_rel, density_sup : (nt,) arrays
        ``int |rho_h - rho| dx`` (mass units: the mass-weighted relative error times the mass);
        the largest relative error over the nodes (fronts excluded, where both are 0; first
        order only, at the node next to a front, docs/radial_lagrangian.md); and
        ``max |rho_h - rho| / max rho`` over the nodes.
    order, factor, cells, reference : float or None, float, tuple, str
        The order p of the Richardson factor (None for exact), the factor 1 / (2^p - 1) (1 for
        exact), the cell counts compared, what it was compared with.
    measured_order : (nt,) array or None
        A diagnostic: the order seen by three solves (N, N/2, N/4), log2 of the ratio of the max
        flow-map differences at the labels they share (NaN where undefined). Well below p means
        the solve is pre-asymptotic and the estimate less reliable (docs/radial_lagrangian.md).
    """

    times: np.ndarray
    flow_map_rms: np.ndarray
    flow_map_max: np.ndarray
    front: np.ndarray
    density_l1: np.ndarray
    density_max_rel: np.ndarray
    density_sup: np.ndarray
    method: str
    reference: str
    order: float | None = None
    factor: float = 1.0
    cells: tuple = ()
    measured_order: np.ndarray | None = None

    def as_dict(self) -> dict:
        """JSON-like dict (lists for arrays)."""
        out = {k: (v.tolist() if isinstance(v, np.ndarray) else v)
               for k, v in self.__dict__.items()}
        out["cells"] = list(self.cells)
        return out


@dataclass
class RadialLagrangianSolution:
    """Output of :func:`solve_radial_lagrangian`.

    Attributes
    ----------
    equation, geometry : PorousMedium, str
        What was solved (its dimension is that of the radial data) and where: ``"radial"``
        (node 0 is the origin, the data are radial in R^dim) or ``"line"`` (dim = 1, both ends
        free).
    labels, masses : (N+1,) arrays
        Initial node positions r0_i (radii, or positions on the line), and the mass each node
        carries (half of each adjacent cell; they sum to the total mass).
    times, positions : (nt,) and (nt, N+1) arrays
        Output times (increasing, times[0] the start) and the flow map at the nodes,
        X(t_k, r0_i).
    velocity_nodes, density_nodes : (nt, N+1) arrays
        Node velocities (length / time) and densities (0 at a front).
    provenance, error_estimate, companion : dict, RadialError or None, RadialLagrangianSolution
        Cells, steps, timings and method; the Richardson estimate and the coarse solve it was
        made with (set by ``certify=True``).

    Evaluation at arbitrary times in [times[0], times[-1]] is cubic Hermite in time (the node
    velocities are the positions' derivatives; velocity and pressure use the three-snapshot
    derivative of :func:`~pdeflow.solvers.interpolation.snapshot_derivative`) and a cubic spline
    in the label in space. Outside the support the density is 0 and the velocity is the drift
    alone, ``-kappa x`` (the pressure vanishes there).
    """

    equation: PorousMedium
    geometry: str
    labels: np.ndarray
    masses: np.ndarray
    times: np.ndarray
    positions: np.ndarray
    velocity_nodes: np.ndarray
    density_nodes: np.ndarray
    provenance: dict = field(default_factory=dict)
    error_estimate: RadialError | None = None
    companion: "RadialLagrangianSolution | None" = None
    _cumulative: tuple | None = field(default=None, repr=False)

    # -- basic facts ------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return self.equation.dim

    @property
    def cells(self) -> int:
        return len(self.labels) - 1

    @property
    def mass(self) -> float:
        return float(self.masses.sum())

    @property
    def pressure_nodes(self) -> np.ndarray:
        """(nt, N+1) pressure p = m rho^(m-1)/(m-1) at the nodes."""
        return self.equation.pressure(self.density_nodes)

    def support(self, t: float) -> tuple:
        """(inner, outer) edge of the support at t: (0, R(t)) radially, (a(t), b(t)) on the
        line."""
        x = self._nodes_at(t)[0]
        return (0.0 if self.geometry == "radial" else float(x[0])), float(x[-1])

    # -- time interpolation -----------------------------------------------------------------
    def _check_t(self, t) -> float:
        t = float(t)
        lo, hi = self.times[0], self.times[-1]
        tol = 1e-12 * max(1.0, abs(hi))
        if not (math.isfinite(t) and lo - tol <= t <= hi + tol):
            raise ValueError(f"t = {t} is outside the solved interval [{lo}, {hi}]")
        return min(max(t, lo), hi)

    def _nodes_at(self, t):
        """Node positions, velocities and pressures at time t (N+1,) each."""
        t = self._check_t(t)
        k = int(np.searchsorted(self.times, t))
        if k < len(self.times) and abs(self.times[k] - t) <= 1e-14 * max(1.0, abs(t)):
            return self.positions[k], self.velocity_nodes[k], self.pressure_nodes[k]
        k = min(max(k, 1), len(self.times) - 1)
        t0, t1 = self.times[k - 1], self.times[k]
        hstep = t1 - t0
        w = (t - t0) / hstep
        h00, h10 = 2 * w**3 - 3 * w**2 + 1, w**3 - 2 * w**2 + w
        h01, h11 = -2 * w**3 + 3 * w**2, w**3 - w**2
        if self._derivs is None:
            self._derivs = (snapshot_derivative(self.velocity_nodes, self.times),
                            snapshot_derivative(self.pressure_nodes, self.times))
        dv, dp = self._derivs
        x = (h00 * self.positions[k - 1] + h10 * hstep * self.velocity_nodes[k - 1]
             + h01 * self.positions[k] + h11 * hstep * self.velocity_nodes[k])
        v = (h00 * self.velocity_nodes[k - 1] + h10 * hstep * dv[k - 1]
             + h01 * self.velocity_nodes[k] + h11 * hstep * dv[k])
        p = (h00 * self.pressure_nodes[k - 1] + h10 * hstep * dp[k - 1]
             + h01 * self.pressure_nodes[k] + h11 * hstep * dp[k])
        return x, v, p

    _derivs = None

    # -- points <-> radii -------------------------------------------------------------------
    def _radii(self, x, name: str):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"{name} must be an (n, {self.dim}) array of points, got shape "
                             f"{x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{name} must be finite")
        if self.geometry == "line":
            return x, x[:, 0]
        return x, np.sqrt((x ** 2).sum(axis=1))

    def _along(self, x, r, values):
        """Radial magnitude -> vector: ``values * x / |x|`` (0 at the origin); line: as a column."""
        if self.geometry == "line":
            return values[:, None]
        out = np.zeros_like(x)
        nz = r > 0
        out[nz] = x[nz] * (values[nz] / r[nz])[:, None]
        return out

    # -- the fields at arbitrary points -----------------------------------------------------
    def flow_map(self, t: float, x0) -> np.ndarray:
        """X(t; times[0], x0) for starting points ``x0`` (n, dim) in the initial support; radially
        the map acts as ``x0 X(t, |x0|) / |x0|``. Cubic spline in the label between nodes.
        ValueError for points outside the initial support (no particle starts there)."""
        x0, r0 = self._radii(x0, "x0")
        lo, hi = self.labels[0], self.labels[-1]
        tol = 1e-12 * max(abs(lo), abs(hi))
        if np.any(r0 < lo - tol) or np.any(r0 > hi + tol):
            raise ValueError(f"x0: {np.count_nonzero((r0 < lo - tol) | (r0 > hi + tol))} points "
                             f"lie outside the initial support [{lo}, {hi}]")
        nodes = self._nodes_at(t)[0]
        mapped = CubicSpline(self.labels, nodes)(np.clip(r0, lo, hi))
        return self._along(x0, r0, mapped) if self.geometry == "radial" else mapped[:, None]

    def _inside(self, t, x, name):
        x, r = self._radii(x, name)
        nodes, v, p = self._nodes_at(t)
        inside = (r >= nodes[0]) & (r <= nodes[-1]) if self.geometry == "line" else r <= nodes[-1]
        labels = np.empty_like(r)
        labels[inside] = CubicSpline(nodes, self.labels)(r[inside])
        return x, r, inside, labels, v, p

    def density(self, t: float, x) -> np.ndarray:
        """rho(t, x), (n,): the node pressures splined in the label (p >= 0 is kept: the
        spline can dip below 0 by round-off next to a front), then rho = rho(p); 0 outside the
        support."""
        x, r, inside, labels, _, p = self._inside(t, x, "x")
        out = np.zeros(len(r))
        values = CubicSpline(self.labels, p)(labels[inside])
        out[inside] = self.equation.density_from_pressure(np.maximum(values, 0.0))
        return out

    def velocity(self, t: float, x) -> np.ndarray:
        """v(t, x), (n, dim): the node velocities splined in the label inside the support; the
        drift ``-kappa x`` outside (the pressure is 0 there)."""
        x, r, inside, labels, v, _ = self._inside(t, x, "x")
        values = np.empty(len(r))
        values[inside] = CubicSpline(self.labels, v)(labels[inside])
        out = -self.equation.kappa * x
        field = self._along(x, r, values)
        out[inside] = field[inside]
        return out

    # -- sampling ---------------------------------------------------------------------------
    def sample(self, t: float, n: int, seed) -> np.ndarray:
        """``n`` samples (n, dim) of rho_t: the initial radius by inverse cumulative mass (a table
        of 8 quadrature sub-intervals per cell, linear between), pushed by the flow map; on the
        sphere the direction is uniform. ``seed`` int or numpy Generator."""
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        rng = np.random.default_rng(seed)
        radii, cumulative = self._cumulative
        r0 = np.interp(rng.uniform(0.0, cumulative[-1], n), cumulative, radii)
        if self.geometry == "line":
            return self.flow_map(t, r0[:, None])
        direction = rng.standard_normal((n, self.dim))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        nodes = self._nodes_at(t)[0]
        return direction * CubicSpline(self.labels, nodes)(r0)[:, None]

    def node_weights(self) -> np.ndarray:
        """(N+1,) mass fractions of the nodes (sum 1)."""
        return self.masses / self.masses.sum()


# ------------------------------------------------------------------------------------------
# the solve
# ------------------------------------------------------------------------------------------
class _System:
    """The node ODE dX/dt = V(X) and its banded Jacobian (numba kernels)."""

    def __init__(self, equation, labels, log_dv0, log_rho0_mid, left_front, dim):
        self.args = (log_dv0, log_rho0_mid, dim, equation.m, equation.D, equation.kappa,
                     left_front)
        self.n = len(labels)
        self.scale = float(labels[-1] - labels[0])
        self.step = np.full(self.n, 1e-8 * self.scale)
        self.scratch = np.empty(self.n - 1)
        self.fixed_origin = not left_front

    def velocity(self, x):
        out = np.empty(self.n)
        if not kernels.node_velocity(x, *self.args, self.scratch, out):
            return None
        return out

    def jacobian(self, x, v):
        ab = np.empty((2 * kernels.BAND + 1, self.n))
        lg, lr, dim, m, D, kappa, left = self.args
        if not kernels.velocity_jacobian(x, v, lg, lr, dim, m, D, kappa, left, self.step, ab):
            return None
        return ab


def _ordered(x) -> bool:
    return bool(np.all(np.diff(x) > 0))


def _newton_stage(system, base, guess, hg, tol, max_iter=25):
    """Solve Y = base + hg V(Y) by Newton on the banded Jacobian; None if it fails."""
    y = guess.copy()
    for _ in range(max_iter):
        v = system.velocity(y)
        if v is None:
            return None, None
        residual = y - base - hg * v
        ab = system.jacobian(y, v)
        if ab is None:
            return None, None
        ab *= -hg
        ab[kernels.BAND] += 1.0
        try:
            delta = solve_banded((kernels.BAND, kernels.BAND), ab, -residual,
                                 check_finite=False)
        except (np.linalg.LinAlgError, ValueError):
            return None, None
        y = y + delta
        if system.fixed_origin:
            y[0] = 0.0
        if not np.all(np.isfinite(y)) or not _ordered(y):
            return None, None
        if np.max(np.abs(delta)) <= tol:
            v = system.velocity(y)
            return (y, v) if v is not None else (None, None)
    return None, None


def _sdirk_step(system, x, h, tol, depth=0, stats=None):
    """One SDIRK2 step of size h from x; halves the step (up to 12 times) if Newton fails or two
    nodes would cross. Returns the new positions."""
    g = _GAMMA
    y1, v1 = _newton_stage(system, x, x, h * g, tol)
    if y1 is not None:
        base = x + h * (1.0 - g) * v1
        y2, _ = _newton_stage(system, base, y1 + (y1 - x) * (1.0 - 2 * g) / g, h * g, tol)
        if y2 is not None:
            if stats is not None:
                stats["steps"] += 1
            return y2
    if depth >= 12:
        raise ValueError(f"radial Lagrangian solve: the step could not be completed even at "
                         f"h = {h:.3g} (Newton failed or two nodes crossed)")
    if stats is not None:
        stats["halvings"] += 1
    half = _sdirk_step(system, x, h / 2, tol, depth + 1, stats)
    return _sdirk_step(system, half, h / 2, tol, depth + 1, stats)


def _cell_quadrature(density0, labels, dim, radial):
    """Cell masses (N,) and the cumulative-mass table (radii, cumulative) for sampling."""
    nodes, weights = _GAUSS
    sub = np.linspace(0.0, 1.0, _SUBCELLS + 1)
    lo = labels[:-1, None] + (labels[1:] - labels[:-1])[:, None] * sub[None, :-1]
    width = (labels[1:] - labels[:-1])[:, None] / _SUBCELLS
    points = lo[..., None] + width[..., None] * (nodes + 1.0) / 2.0      # (N, S, G)
    values = _evaluate(density0, points.ravel(), "density0").reshape(points.shape)
    if radial:
        log_weight = log_sphere_area(dim) + (dim - 1) * np.log(np.maximum(points, 1e-300))
        values = values * np.exp(log_weight)
    sub_mass = (values * weights).sum(-1) * width / 2.0                   # (N, S)
    cumulative = np.concatenate([[0.0], np.cumsum(sub_mass.ravel())])
    radii = np.concatenate([lo.ravel(), labels[-1:]])
    return sub_mass.sum(1), (radii, cumulative)


def _labels(lo, hi, cells, label_map):
    s = np.arange(cells + 1) / cells
    if label_map is not None:
        if not callable(label_map):
            raise TypeError(f"label_map must be a callable g(s), got {type(label_map).__name__}")
        g = np.asarray(label_map(s), dtype=np.float64)
        if g.shape != s.shape or not np.all(np.isfinite(g)) or not np.all(np.diff(g) > 0) \
                or abs(g[0]) > 1e-12 or abs(g[-1] - 1.0) > 1e-12:
            raise ValueError("label_map must map [0, 1] increasingly onto [0, 1] (g(0) = 0, "
                             "g(1) = 1), vectorised over an array")
        s = g
    labels = lo + (hi - lo) * s
    labels[0], labels[-1] = lo, hi
    return labels


def _evaluate(density0, r, name):
    values = np.asarray(density0(r), dtype=np.float64)
    if values.shape != r.shape:
        raise ValueError(f"{name} must map radii (k,) to densities (k,), returned shape "
                         f"{values.shape} for {r.shape}")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"{name} must return finite densities >= 0")
    return values


def _check_inputs(equation, support, times, cells, dt):
    if not isinstance(equation, PorousMedium):
        raise TypeError(f"equation must be a PorousMedium, got {type(equation).__name__}")
    if isinstance(support, (tuple, list, np.ndarray)):
        if equation.dim != 1:
            raise ValueError(f"support (a, b) selects the line geometry, which needs dim = 1; "
                             f"got dim = {equation.dim} (give a radius for radial data)")
        if len(support) != 2:
            raise ValueError(f"support must be a radius or an interval (a, b), got {support!r}")
        lo, hi = (float(v) for v in support)
        geometry = "line"
    else:
        lo, hi = 0.0, float(support)
        geometry = "radial"
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise ValueError(f"support must be a radius > 0 or an interval (a, b) with a < b, got "
                         f"{support!r}")
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or len(times) < 2 or not np.all(np.isfinite(times)) \
            or not np.all(np.diff(times) > 0):
        raise ValueError("times must be a finite, strictly increasing 1-D array with >= 2 "
                         f"entries, got {times!r}")
    if isinstance(cells, bool) or not isinstance(cells, (int, np.integer)):
        raise TypeError(f"cells must be an int, got {type(cells).__name__}")
    if cells < 8:
        raise ValueError(f"cells must be >= 8, got {cells}")
    if dt is not None and not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a finite number > 0, got {dt}")
    return geometry, lo, hi, times


def solve_radial_lagrangian(equation: PorousMedium, density0, support, times, *, cells: int = 128,
                            dt: float | None = None, label_map=None, certify: bool = False,
                            order: float = 2.0, progress: bool = False
                            ) -> RadialLagrangianSolution:
    """Solve the porous medium for radial data (or any data on the line) in mass coordinates.

    Parameters
    ----------
    equation : PorousMedium
        m > 1, D, kappa; its dimension is that of the radial data (1-128).
    density0 : callable
        ``rho0(r)``, radii (k,) -> densities (k,) at times[0]: > 0 inside the support, 0 at its
        edge; for the line, positions (k,) -> densities (k,).
    support : float or (float, float)
        The initial support radius R0 (radial data), or an interval ``(a, b)`` for general data
        on the line (dimension 1; both ends are free boundaries).
    times : (nt,) array
        Increasing output times; times[0] is the time of ``density0``.
    cells : int
        N, the number of label intervals (N + 1 nodes, node 0 the origin radially).
    dt : float, optional
        Maximum time step (each output interval is split into equal steps); default
        ``(times[-1] - times[0]) / (2 N)``: time and space errors then both scale as N^-2.
    label_map : callable, optional
        A smooth increasing map g of [0, 1] onto [0, 1] (vectorised); the nodes start at
        ``r0_i = R0 g(i / N)`` (``a + (b - a) g(i / N)`` on the line) instead of uniformly.
        Radially g must be odd at 0 (g(s) = s h(s^2)) to keep second order at the origin.
        Uniform labels make the scheme exact in space for the Barenblatt solutions (their flow
        map is linear in the label); a non-linear map is how the order study sees the spatial
        error.
    certify : bool
        Also solve with N/2 and N/4 cells (N divisible by 4) and attach the Richardson estimate
        (``error_estimate``, ``companion`` = the N/2 solve; see :func:`radial_error_estimate`).
    order : float
        The order p assumed by the estimate (2: the measured order of the method).
    progress : bool
        tqdm bar over the output times (on a terminal only).

    Returns
    -------
    RadialLagrangianSolution. ValueError if two nodes would cross (the step is halved first, up
    to 12 times) or the data are not positive inside the support.
    """
    geometry, lo, hi, times = _check_inputs(equation, support, times, cells, dt)
    if certify:
        if cells % 4 or cells < 32:
            raise ValueError(f"certify=True needs cells divisible by 4 and >= 32 (the companions "
                             f"have N/2 and N/4), got {cells}")
        if not (math.isfinite(order) and order > 0):
            raise ValueError(f"order must be a finite number > 0, got {order}")
    import time as _time

    started = _time.perf_counter()
    radial = geometry == "radial"
    dim = equation.dim if radial else 1
    labels = _labels(lo, hi, cells, label_map)
    mid = 0.5 * (labels[:-1] + labels[1:])
    rho_mid = _evaluate(density0, mid, "density0")
    if np.any(rho_mid <= 0):
        raise ValueError(f"density0 must be > 0 inside the support: "
                         f"{np.count_nonzero(rho_mid <= 0)} of {cells} cell midpoints have "
                         "density 0 (the solver needs one interval of support)")
    rho_nodes0 = _evaluate(density0, labels, "density0")
    if radial and dim > 1:
        ratio = np.where(labels[1:] > 0, labels[:-1] / labels[1:], 0.0)
        with np.errstate(divide="ignore"):
            log_dv0 = dim * np.log(labels[1:]) + np.log(-np.expm1(dim * np.log(ratio)))
    else:
        log_dv0 = np.log(labels[1:] - labels[:-1])
    cell_mass, cumulative = _cell_quadrature(density0, labels, dim, radial)
    masses = np.zeros(cells + 1)
    masses[:-1] += cell_mass / 2
    masses[1:] += cell_mass / 2
    system = _System(equation, labels, np.ascontiguousarray(log_dv0), np.log(rho_mid),
                     not radial, dim)
    span = times[-1] - times[0]
    dt = span / (2 * cells) if dt is None else float(dt)
    tol = 1e-12 * system.scale
    positions = np.empty((len(times), cells + 1))
    velocity = np.empty_like(positions)
    positions[0] = x = labels.copy()
    stats = {"steps": 0, "halvings": 0}
    bar = None
    if progress:
        from ..progress import progress_bar
        bar = progress_bar(total=len(times) - 1, desc="radial Lagrangian")
    for k in range(len(times) - 1):
        interval = times[k + 1] - times[k]
        nsub = max(1, math.ceil(interval / dt - 1e-9))
        for _ in range(nsub):
            x = _sdirk_step(system, x, interval / nsub, tol, stats=stats)
        positions[k + 1] = x
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    log_j = np.empty(cells + 1)
    density = np.empty_like(positions)
    for k in range(len(times)):
        v = system.velocity(positions[k])
        if v is None:
            raise ValueError(f"the solution is not finite at times[{k}] = {times[k]}")
        velocity[k] = v
        kernels.node_log_jacobian(positions[k], labels, dim, not radial, log_j)
        with np.errstate(divide="ignore"):
            density[k] = np.where(rho_nodes0 > 0, np.exp(np.log(rho_nodes0) - log_j), 0.0)
    provenance = {"method": "mass-coordinate Lagrangian, SDIRK2", "geometry": geometry,
                  "cells": int(cells), "dt": dt, "steps": stats["steps"],
                  "halvings": stats["halvings"], "seconds": _time.perf_counter() - started}
    solution = RadialLagrangianSolution(equation, geometry, labels, masses, times, positions,
                                        velocity, density, provenance, _cumulative=cumulative)
    if certify:
        coarse, coarser = (
            solve_radial_lagrangian(equation, density0, support, times, cells=cells // k,
                                    dt=k * dt, label_map=label_map, progress=progress)
            for k in (2, 4))
        solution.companion = coarse
        solution.error_estimate = radial_error_estimate(solution, coarse, order, coarser)
    return solution


# ------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------
def exact_error(solution: RadialLagrangianSolution, closed_form) -> RadialError:
    """Errors of ``solution`` against a closed form with ``flow_map(t, x, t0)`` and
    ``density(t, x)`` (:class:`~pdeflow.exact.Barenblatt`,
    :class:`~pdeflow.exact.ConfinedBarenblatt`):
    the exact flow map of every node from times[0], and the exact density at the node's exact
    position (the Lagrangian density error)."""
    direction = np.zeros(solution.dim)
    direction[0] = 1.0
    start = solution.labels[:, None] * direction
    t0 = float(solution.times[0])
    x_ref = np.stack([closed_form.flow_map(float(t), start, t0)[:, 0] for t in solution.times])
    rho_ref = np.stack([closed_form.density(float(t), x[:, None] * direction)
                        for t, x in zip(solution.times, x_ref)])
    err = _errors(solution.positions, solution.density_nodes, x_ref, rho_ref, solution.masses,
                  solution.geometry)
    return RadialError(times=solution.times.copy(), **{**err, "density_l1": err["density_l1"]
                                                       * solution.mass},
                       method="exact", reference=repr(closed_form), cells=(solution.cells,))


def _errors(x, rho, x_ref, rho_ref, weights, geometry):
    weights = weights / weights.sum()
    dx = np.abs(x - x_ref)
    front = dx[:, -1] if geometry == "radial" else np.maximum(dx[:, 0], dx[:, -1])
    interior = slice(0 if geometry == "radial" else 1, -1)      # the fronts have rho = 0
    rel = np.zeros_like(dx)
    rel[:, interior] = np.abs(rho[:, interior] / rho_ref[:, interior] - 1.0)
    return {"flow_map_rms": np.sqrt((dx ** 2 * weights).sum(1)), "flow_map_max": dx.max(1),
            "front": front, "density_l1": (rel * weights).sum(1),
            "density_max_rel": rel.max(1),
            "density_sup": np.abs(rho - rho_ref).max(1) / np.abs(rho_ref).max(1)}


def radial_error_estimate(fine: RadialLagrangianSolution, coarse: RadialLagrangianSolution,
                          order: float = 2.0, coarser: RadialLagrangianSolution | None = None
                          ) -> RadialError:
    """Richardson estimate of ``fine``'s error from ``coarse`` (half the cells, same data and
    times): differences at the shared labels (every other fine node) divided by 2^p - 1.
    Weights: the coarse nodes' masses. The density L1 is the total mass times the mass-weighted
    relative difference.

    With ``coarser`` (a quarter of the cells) the order is also measured per time,
    ``p_obs = log2(max |X_{N/2} - X_{N/4}| / max |X_N - X_{N/2}|)`` at the labels all three
    share, and kept as ``measured_order`` (a diagnostic; the factor keeps the assumed ``order``:
    with p_obs the estimate strayed further from the true error on the Barenblatt tests in
    d <= 32, where the N/4 solve is the least asymptotic)."""
    if fine.cells != 2 * coarse.cells or not np.allclose(fine.labels[::2], coarse.labels,
                                                         rtol=1e-12, atol=0):
        raise ValueError(f"coarse must have half the cells of fine on the same labels, got "
                         f"{coarse.cells} and {fine.cells}")
    if fine.times.shape != coarse.times.shape or not np.allclose(fine.times, coarse.times):
        raise ValueError("fine and coarse must share their output times")
    factor = 1.0 / (2.0 ** order - 1.0)
    measured = None
    if coarser is not None:
        if coarse.cells != 2 * coarser.cells or not np.allclose(coarse.labels[::2], coarser.labels,
                                                                rtol=1e-12, atol=0):
            raise ValueError(f"coarser must have half the cells of coarse on the same labels, "
                             f"got {coarser.cells} and {coarse.cells}")
        near = np.abs(fine.positions[:, ::4] - coarse.positions[:, ::2]).max(1)
        far = np.abs(coarse.positions[:, ::2] - coarser.positions).max(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            measured = np.where((near > 0) & (far > 0), np.log2(far / near), np.nan)
    err = _errors(fine.positions[:, ::2], fine.density_nodes[:, ::2], coarse.positions,
                  coarse.density_nodes, coarse.masses, fine.geometry)
    mass = fine.mass
    err["density_l1"] = err["density_l1"] * mass
    cells = (fine.cells, coarse.cells) + (() if coarser is None else (coarser.cells,))
    return RadialError(times=fine.times.copy(), **{k: factor * v for k, v in err.items()},
                       method="richardson", reference=f"companions with {cells[1:]} cells",
                       order=float(order), factor=factor, cells=cells, measured_order=measured)
