"""A 2-D Lagrangian solver of the porous medium with linear drift: the unknown is the flow map.

Equation (DESIGN.md section 3, with a symmetric drift matrix K; K = kappa I is the confinement
``kappa |x|^2 / 2``)::

    d_t rho = div(rho (grad p + K x)),   p = D m rho^(m-1) / (m-1),   v = -grad p - K x.

Method (a Lagrangian finite-difference scheme on a fixed reference grid). The unknowns are the
positions X(t, xi) of the nodes xi of a square grid of spacing h that lie inside the initial
support {rho_0 > 0}. Mass conservation along the flow gives the density without any deposit:
rho(t, X(t, xi)) = rho_0(xi) / J, J = det grad_xi X, so

* F = grad_xi X by centred differences in xi (second order); the one layer of nodes outside
  the support that these differences reach ("ghosts") takes the value of the least-squares
  quadratic through the inside nodes within 3 cells (third-order extrapolation of the smooth map);
* p = D m (rho_0 / J)^(m-1) / (m-1) at the nodes, and p = 0 on the support boundary, which in
  xi never moves (the free boundary moves with the mesh): its crossing of each grid line next
  to the boundary is found once by bisection, and grad_xi p uses the three-point (quadratic)
  derivative through the two nearest nodes or boundary points on each side - second order up
  to the front;
* v = -F^{-T} grad_xi p - K X + sigma (L_c - L_w) X.

The last term is a filter. Centred differences of centred differences (the wide Laplacian L_w,
spacing 2h) cannot see the node-to-node oscillation X + (-1)^i e: J, p and v are blind to it, so
in the interior it is neither damped nor excited, and the one-sided closures at the boundary
feed it until the mesh folds (measured: at h = 0.0625 on a confined mixture, a node next to the
front collapsed at t = 3.38 after the solution had been steady since t = 2.4). The difference of
the compact Laplacian L_c (spacing h, ghosts folded in) and L_w is -8 / h^2 on that oscillation
and O(h^2) on a smooth map (exactly 0 on an affine one, so the anisotropic porous flows stay
exact); sigma = FILTER (m - 1) max p is the size of the pressure diffusion, so the filter damps
the oscillation at the rate of the physics and changes a smooth solution at second order.

Every stencil is fixed in xi and built once (CSR rows); the velocity of all nodes is one numba
kernel (``_kernels_lagrangian_porous``). Time stepping is the shared RK4 of
:func:`pdeflow.solvers.integrate_flow_map`, restarted every RESTEP steps and at every output
time with a step from the current state (explicit: dt = cfl h_X^2 / ((m - 1) max p), h_X the
smallest current node spacing, plus the filter's share; the RK4 error is far below the spatial
one).

Outputs (:class:`LagrangianSolution`): positions, velocities, densities and pressures of the
nodes at the output times. The flow map of a particle starting at a node is its row of
``positions``; :meth:`LagrangianSolution.node_mass` gives the quadrature weights (rho_0 h^2).
"""
from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..equations import PorousMedium
from . import _kernels_lagrangian_porous as kernels

__all__ = ["ReferenceGrid", "LagrangianSolution", "LagrangianVelocity", "lagrangian_porous_solve",
           "mass_weighted_rms", "common_nodes", "richardson_flow_map_error", "truth_flow_map_error"]

#: Chebyshev radius (cells) of the cloud of inside nodes that extrapolates a ghost value.
GHOST_RADIUS = 3
#: Bisection steps for the boundary crossing along a grid line (2^-52 of a cell).
BISECTION_STEPS = 52
#: Nodes closer than this (cells, along a grid line) to the support boundary are not unknowns.
THETA_MIN = 0.02
#: Strength of the odd-even filter, in units of the pressure diffusion (m - 1) max p.
FILTER = 0.1
#: RK4 steps taken with one step size before the stable step is measured again.
RESTEP = 16
#: Sub-cell points per grid cell and axis of :meth:`LagrangianSolution.deposit_on_grid`.
DEPOSIT_DENSITY = 4


def _csr(rows, n_cols):
    """CSR matrix from ``rows`` (list of dicts column -> weight)."""
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indices, data = [], []
    for r, row in enumerate(rows):
        indptr[r + 1] = indptr[r] + len(row)
        indices.extend(row.keys())
        data.extend(row.values())
    return sp.csr_matrix((np.array(data, dtype=np.float64), np.array(indices, dtype=np.int64),
                          indptr), shape=(len(rows), n_cols))


def _three_point(s_minus, s_plus):
    """Weights (w_minus, w_centre, w_plus) of the derivative at 0 of the parabola through
    s_minus < 0 < s_plus (in cells)."""
    return (-s_plus / (s_minus * (s_minus - s_plus)), -(s_minus + s_plus) / (s_minus * s_plus),
            -s_minus / (s_plus * (s_plus - s_minus)))


class ReferenceGrid:
    """The reference nodes inside the initial support and the fixed stencils in xi.

    Parameters
    ----------
    rho0 : callable (n, 2) -> (n,), the initial density (mass per area), > 0 exactly on the
        support (0 outside; the support must be a bounded set with a boundary that crosses each
        grid line next to it once between two nodes).
    lower : (2,) corner of the node lattice; nodes are ``lower + (i, j) h``.
    h : node spacing (length).
    shape : (n1, n2) lattice nodes per axis; the support must stay GHOST_RADIUS + 1 nodes away
        from the lattice edge.

    Attributes
    ----------
    xi : (N, 2) reference positions of the inside nodes; ``index`` (N, 2) their lattice indices.
    rho0 : (N,) initial density at the nodes.
    dx, dy : (N, N) CSR, d/dxi_1 and d/dxi_2 of a smooth nodal field (ghosts folded in).
    px, py : (N, N) CSR, the same for a field that vanishes on the support boundary.
    odd_even : (N, N) CSR, L_c - L_w (1 / length^2), the filter's operator; ``odd_even_bound``
        its largest absolute row sum (a bound on its spectral radius, for the stable step).
    """

    def __init__(self, rho0, lower, h, shape):
        lower = np.asarray(lower, dtype=np.float64)
        if lower.shape != (2,) or not np.all(np.isfinite(lower)):
            raise ValueError(f"lower must be a finite (2,) corner, got {lower!r}")
        if not (math.isfinite(h) and h > 0):
            raise ValueError(f"h must be a finite spacing > 0, got {h}")
        n1, n2 = (int(s) for s in shape)
        if min(n1, n2) < 2 * GHOST_RADIUS + 4:
            raise ValueError(f"shape must have >= {2 * GHOST_RADIUS + 4} nodes per axis, got "
                             f"{(n1, n2)}")
        self.lower, self.h, self.shape = lower, float(h), (n1, n2)
        ii, jj = np.meshgrid(np.arange(n1), np.arange(n2), indexing="ij")
        nodes = lower + h * np.stack([ii, jj], -1).reshape(-1, 2).astype(np.float64)
        values = np.asarray(rho0(nodes), dtype=np.float64).reshape(n1, n2)
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError("rho0 must be finite and >= 0 at every node")
        inside = values > 0
        margin = GHOST_RADIUS + 1
        edge = np.ones_like(inside)
        edge[margin:-margin, margin:-margin] = False
        if np.any(inside & edge):
            raise ValueError(f"the support of rho0 reaches within {margin} nodes of the lattice "
                             "edge: enlarge shape or move lower (or the box upper - lower)")
        self._rho0_fn, self._positive = rho0, inside
        inside = self._drop_boundary_nodes(inside, lower, h)
        if inside.sum() < 9:
            raise ValueError(f"only {int(inside.sum())} nodes lie inside the support; refine h")
        number = -np.ones((n1, n2), dtype=np.int64)
        self.index = np.argwhere(inside)
        number[inside] = np.arange(len(self.index))
        self.number = number
        self.xi = lower + h * self.index.astype(np.float64)
        self.rho0 = values[inside]
        self._build_stencils(inside, number)

    # -- construction --------------------------------------------------------------------------
    def _ghost_row(self, i, j, inside, number):
        """Weights over inside nodes of the quadratic least-squares value at lattice (i, j)."""
        for radius in (GHOST_RADIUS, GHOST_RADIUS + 1, GHOST_RADIUS + 2):
            lo_i, lo_j = max(0, i - radius), max(0, j - radius)
            block = inside[lo_i:i + radius + 1, lo_j:j + radius + 1]
            offs = np.argwhere(block) + [lo_i - i, lo_j - j]
            if len(offs) >= 10:
                break
        else:
            raise ValueError(f"too few inside nodes near the boundary node {(i, j)}: the support "
                             "is thinner than a few cells; refine h")
        a, b = offs[:, 0].astype(float), offs[:, 1].astype(float)
        basis = np.stack([np.ones_like(a), a, b, a * a, a * b, b * b], 1)
        weight = 1.0 / (a * a + b * b)
        coef = np.linalg.pinv(basis * np.sqrt(weight)[:, None])[0] * np.sqrt(weight)
        return {int(number[i + di, j + dj]): float(c) for (di, dj), c in zip(offs, coef)}

    def _drop_boundary_nodes(self, inside, lower, h):
        """``inside`` without the nodes closer than THETA_MIN cells (along a grid line) to the
        support boundary: their pressure is a difference of two nearly equal numbers; they
        become ghosts, and their neighbours' crossings lie up to 1 + THETA_MIN cells away."""
        self.lower, self.h = lower, h
        index = np.argwhere(inside)
        starts = lower + h * index.astype(np.float64)
        near = np.zeros(len(index), dtype=bool)
        for direction in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            nb = index + direction
            outside = ~inside[nb[:, 0], nb[:, 1]]
            if outside.any():
                s = self._crossing(starts[outside], np.array([direction] * int(outside.sum()),
                                                              dtype=np.float64), span=1.0)
                near[np.flatnonzero(outside)[s < THETA_MIN]] = True
        inside = inside.copy()
        inside[index[near, 0], index[near, 1]] = False
        return inside

    def _crossing(self, starts, directions, span=1.0):
        """Distance s in (0, span] (cells) from each start along each direction to where
        rho0 vanishes (bisection on the predicate rho0 > 0; rho0 = 0 at start + span)."""
        lo = np.zeros(len(starts))
        hi = np.broadcast_to(np.asarray(span, dtype=np.float64), (len(starts),)).copy()
        for _ in range(BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            pos = starts + self.h * mid[:, None] * directions
            inside = np.asarray(self._rho0_fn(pos), dtype=np.float64) > 0
            lo = np.where(inside, mid, lo)
            hi = np.where(inside, hi, mid)
        return hi

    def _line_points(self, inside, positive, number):
        """For every (node, axis, sign): the nearest point along that grid line at which the
        pressure is known: the first unknown node (distance k cells, skipping nodes dropped near
        the boundary) or the boundary crossing (p = 0). Returns {(k, axis, sign): (s, column or
        -1)} with s the signed distance in cells."""
        out, pending = {}, []
        for k, (i, j) in enumerate(self.index):
            for axis in (0, 1):
                for sign in (-1, 1):
                    for step in range(1, GHOST_RADIUS + 1):
                        a, b = (i + sign * step, j) if axis == 0 else (i, j + sign * step)
                        if inside[a, b]:
                            out[(k, axis, sign)] = (float(sign * step), int(number[a, b]))
                            break
                        if not positive[a, b]:
                            pending.append((k, axis, sign, step))
                            break
                    else:
                        raise ValueError(f"more than {GHOST_RADIUS} nodes near the boundary in a "
                                         "row: the support is too thin for h; refine h")
        if pending:
            starts = self.xi[[p[0] for p in pending]]
            dirs = np.array([[p[2], 0] if p[1] == 0 else [0, p[2]] for p in pending], float)
            s = self._crossing(starts, dirs, np.array([p[3] for p in pending], float))
            for (k, axis, sign, _), dist in zip(pending, s):
                out[(k, axis, sign)] = (sign * float(dist), -1)
        return out

    def _build_stencils(self, inside, number):
        n = len(self.index)
        h = self.h
        ghosts = {}
        points = self._line_points(inside, self._positive, number)
        smooth = ([], [])
        vanishing = ([], [])
        for k, (i, j) in enumerate(self.index):
            for axis in (0, 1):
                row_s = {}
                # smooth field: centred difference, ghosts extrapolated
                for sign in (-1, 1):
                    a, b = (i + sign, j) if axis == 0 else (i, j + sign)
                    if inside[a, b]:
                        terms = {int(number[a, b]): 1.0}
                    else:
                        if (a, b) not in ghosts:
                            ghosts[(a, b)] = self._ghost_row(a, b, inside, number)
                        terms = ghosts[(a, b)]
                    for col, w in terms.items():
                        row_s[col] = row_s.get(col, 0.0) + sign * w / (2 * h)
                # vanishing field: three-point derivative through nodes or boundary zeros
                (s_minus, c_minus), (s_plus, c_plus) = (points[(k, axis, -1)],
                                                        points[(k, axis, 1)])
                w_minus, w_centre, w_plus = _three_point(s_minus, s_plus)
                row_v = {k: w_centre / h}
                for col, w in ((c_minus, w_minus), (c_plus, w_plus)):
                    if col >= 0:
                        row_v[col] = w / h
                smooth[axis].append(row_s)
                vanishing[axis].append(row_v)
        self.dx, self.dy = (_csr(rows, n) for rows in smooth)
        self.px, self.py = (_csr(rows, n) for rows in vanishing)
        self.ghost_index = np.array(sorted(ghosts), dtype=np.int64).reshape(-1, 2)
        self.ghost = _csr([ghosts[tuple(g)] for g in self.ghost_index], n)
        self._build_odd_even()

    def _build_odd_even(self):
        """``odd_even`` = L_c - L_w from the stored stencils (lattice numbers, ghost rows, dx,
        dy), so that a grid read back from a file gets the same operator."""
        ghost_row = {tuple(g): r for r, g in enumerate(self.ghost_index)}
        ghost = self.ghost.tocsr()
        rows = []
        for k, (i, j) in enumerate(self.index):
            row = {k: -4.0}
            for a, b in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)):
                col = self.number[a, b]
                if col >= 0:
                    row[int(col)] = row.get(int(col), 0.0) + 1.0
                    continue
                r = ghost_row[(a, b)]
                for c, w in zip(ghost.indices[ghost.indptr[r]:ghost.indptr[r + 1]],
                                ghost.data[ghost.indptr[r]:ghost.indptr[r + 1]]):
                    row[int(c)] = row.get(int(c), 0.0) + float(w)
            rows.append(row)
        compact = _csr(rows, len(self.index)) / self.h ** 2
        wide = self.dx @ self.dx + self.dy @ self.dy
        self.odd_even = (compact - wide).tocsr()
        self.odd_even_bound = float(np.abs(self.odd_even).sum(axis=1).max())

    @property
    def n_ghosts(self) -> int:
        return len(self.ghost_index)

    #: the arrays that define a reference grid (HDF5 storage, :meth:`from_arrays`)
    ARRAYS = ("lower", "h", "shape", "index", "rho0", "ghost_index")
    MATRICES = ("dx", "dy", "px", "py", "ghost")

    @classmethod
    def from_arrays(cls, arrays: dict, matrices: dict) -> "ReferenceGrid":
        """A reference grid from stored arrays (ARRAYS) and CSR matrices (MATRICES); it has
        no rho0 callable (nothing is recomputed)."""
        self = cls.__new__(cls)
        self.lower = np.asarray(arrays["lower"], dtype=np.float64)
        self.h = float(arrays["h"])
        self.shape = tuple(int(v) for v in arrays["shape"])
        self.index = np.asarray(arrays["index"], dtype=np.int64).reshape(-1, 2)
        self.rho0 = np.asarray(arrays["rho0"], dtype=np.float64)
        self.ghost_index = np.asarray(arrays["ghost_index"], dtype=np.int64).reshape(-1, 2)
        self.xi = self.lower + self.h * self.index.astype(np.float64)
        self.number = -np.ones(self.shape, dtype=np.int64)
        self.number[self.index[:, 0], self.index[:, 1]] = np.arange(len(self.index))
        for name in cls.MATRICES:
            setattr(self, name, matrices[name])
        self._rho0_fn = None
        self._build_odd_even()
        return self

    def with_ghosts(self, values: np.ndarray, ghost_value=None) -> np.ndarray:
        """Node values (N, ...) followed by the ghosts' (quadratic extrapolation, or the
        constant ``ghost_value``)."""
        values = np.asarray(values, dtype=np.float64)
        if ghost_value is None:
            extra = self.ghost @ values.reshape(len(values), -1)
            extra = extra.reshape((self.n_ghosts,) + values.shape[1:])
        else:
            extra = np.full((self.n_ghosts,) + values.shape[1:], float(ghost_value))
        return np.concatenate([values, extra])

    # -- use -----------------------------------------------------------------------------------
    @classmethod
    def covering(cls, rho0, lower, upper, h):
        """The lattice of spacing h from ``lower`` that covers the box [lower, upper] (which
        must contain the support) with GHOST_RADIUS + 1 spare nodes on every side."""
        lower = np.asarray(lower, dtype=np.float64)
        upper = np.asarray(upper, dtype=np.float64)
        if lower.shape != (2,) or upper.shape != (2,) or not np.all(upper > lower):
            raise ValueError(f"need lower < upper, (2,) each; got {lower}, {upper}")
        pad = GHOST_RADIUS + 1
        shape = tuple(int(math.ceil((u - lo) / h)) + 1 + 2 * pad for lo, u in zip(lower, upper))
        return cls(rho0, lower - pad * h, h, shape)

    @property
    def n_nodes(self) -> int:
        return len(self.xi)

    def node_mass(self) -> np.ndarray:
        """Mass of each node, rho_0 h^2 (N,): the quadrature weights of node averages."""
        return self.rho0 * self.h ** 2

    def deformation(self, x) -> np.ndarray:
        """F = grad_xi X (N, 2, 2), F[:, i, j] = d X_i / d xi_j, of node positions ``x`` (N, 2)
        by the stencils dx, dy (ghosts folded in)."""
        return np.stack([np.stack([self.dx @ x[:, 0], self.dy @ x[:, 0]], -1),
                         np.stack([self.dx @ x[:, 1], self.dy @ x[:, 1]], -1)], 1)

    def stencil_arrays(self):
        """The CSR arrays (indptr, indices, data) of dx, dy, px, py, odd_even, in that order."""
        out = []
        for mat in (self.dx, self.dy, self.px, self.py, self.odd_even):
            out += [mat.indptr.astype(np.int64), mat.indices.astype(np.int64),
                    mat.data.astype(np.float64)]
        return tuple(out)


def _drift_matrix(equation: PorousMedium, K) -> np.ndarray:
    if K is None:
        return equation.kappa * np.eye(2)
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (2, 2) or not np.all(np.isfinite(K)) or not np.allclose(K, K.T, rtol=0,
                                                                          atol=1e-14):
        raise ValueError(f"K must be a finite symmetric (2, 2) matrix, got {K!r}")
    if equation.kappa != 0:
        raise ValueError(f"give either K or the equation's kappa, not both (kappa = "
                         f"{equation.kappa})")
    return K


class _Velocity:
    """The nodes' velocity v(t, X) (N, 2) of a reference grid (autonomous: t is ignored)."""

    def __init__(self, ref: ReferenceGrid, equation: PorousMedium, K: np.ndarray):
        self.ref, self.K = ref, np.ascontiguousarray(K)
        self.D, self.m = float(equation.D), float(equation.m)
        self.stencils = ref.stencil_arrays()
        n = ref.n_nodes
        self.pressure, self.jacobian = np.empty(n), np.empty(n)
        self.calls = 0

    def __call__(self, t, x):
        x = np.ascontiguousarray(x, dtype=np.float64)
        v = np.empty_like(x)
        kernels.lagrangian_velocity(x, self.ref.rho0, self.D, self.m, self.K, FILTER,
                                    *self.stencils, v, self.pressure, self.jacobian)
        self.calls += 1
        if not np.all(self.jacobian > 0):
            raise ValueError(f"the Lagrangian mesh folded (J <= 0 at {np.sum(self.jacobian <= 0)}"
                             " nodes): lower cfl or refine h")
        return v

    def stable_step(self, x, cfl: float) -> float:
        """cfl / ((m - 1) max p (1 / h_X^2 + FILTER |L_c - L_w|) + |K|), h_X = h x the smallest
        singular value of F, |L_c - L_w| the bound on the filter's spectral radius."""
        self(0.0, x)
        F = self.ref.deformation(x)
        frob = (F ** 2).sum(axis=(1, 2))
        det = F[:, 0, 0] * F[:, 1, 1] - F[:, 0, 1] * F[:, 1, 0]
        smin2 = 0.5 * (frob - np.sqrt(np.maximum(frob ** 2 - 4 * det ** 2, 0.0)))
        hx2 = self.ref.h ** 2 * float(smin2.min())
        diffusion = (self.m - 1) * float(self.pressure.max())
        rate = diffusion * (1.0 / hx2 + FILTER * self.ref.odd_even_bound) + float(
            np.abs(self.K).sum())
        return cfl / rate


@dataclass
class LagrangianSolution:
    """Nodes of a :class:`ReferenceGrid` followed along the flow.

    Attributes
    ----------
    equation : the PorousMedium (dim 2); ``K`` (2, 2) the drift matrix used.
    reference : the ReferenceGrid (xi (N, 2), rho0 (N,), stencils).
    times : (nt,) output times, times[0] the start.
    positions : (nt, N, 2) X(t, xi): the flow map of every node.
    velocity : (nt, N, 2) v(t, X(t, xi)).
    density : (nt, N) rho(t, X(t, xi)) = rho0 / J.
    pressure : (nt, N) D m rho^(m-1) / (m-1).
    diagnostics : steps, velocity evaluations, CPU seconds of the solve.
    """

    equation: PorousMedium
    K: np.ndarray
    reference: ReferenceGrid
    times: np.ndarray
    positions: np.ndarray
    velocity: np.ndarray
    density: np.ndarray
    pressure: np.ndarray
    diagnostics: dict = field(default_factory=dict)

    error_estimate: float | None = None

    @property
    def node_mass(self) -> np.ndarray:
        """(N,) mass carried by each node (rho_0 h^2)."""
        return self.reference.node_mass()

    # -- evaluation at arbitrary points: linear on the Delaunay triangles of the moved nodes ----
    def _mesh(self, k: int):
        cache = self.__dict__.setdefault("_meshes", {})
        if k not in cache:
            from scipy.spatial import Delaunay, cKDTree

            nodes = self.reference.with_ghosts(self.positions[k])
            cache[k] = (Delaunay(nodes), cKDTree(nodes))
        return cache[k]

    def interpolate(self, k: int, x, values, outside="nearest") -> np.ndarray:
        """Values (N + ghosts, ...) at the nodes moved to ``times[k]``, linearly interpolated at
        points ``x`` (n, 2) on the Delaunay triangles of the moved nodes and ghosts; outside
        their hull: the nearest node's value (``outside="nearest"``) or NaN (``"nan"``)."""
        x = np.asarray(x, dtype=np.float64).reshape(-1, 2)
        tri, tree = self._mesh(k)
        simplex = tri.find_simplex(x)
        found = simplex >= 0
        flat = values.reshape(len(values), -1)
        out = np.full((len(x), flat.shape[1]), np.nan)
        if found.any():
            s = simplex[found]
            trans = tri.transform[s]
            bary = np.einsum("nij,nj->ni", trans[:, :2], x[found] - trans[:, 2])
            bary = np.column_stack([bary, 1 - bary.sum(1)])
            out[found] = np.einsum("ni,nij->nj", bary, flat[tri.simplices[s]])
        if outside == "nearest" and not found.all():
            out[~found] = flat[tree.query(x[~found])[1]]
        return out.reshape((len(x),) + values.shape[1:])

    def velocity_at(self, k: int, x) -> np.ndarray:
        """v(times[k], x) (n, 2); outside the moved nodes' hull the nearest node's velocity (no
        mass moves there; as the finite-volume truth's support velocity)."""
        return self.interpolate(k, x, self.reference.with_ghosts(self.velocity[k]))

    def density_at(self, k: int, x) -> np.ndarray:
        """rho(times[k], x) (n,), ghosts at 0 (the front is smeared over one moved cell), 0
        outside the hull."""
        values = self.reference.with_ghosts(self.density[k], ghost_value=0.0)
        out = self.interpolate(k, x, values, outside="nan")
        return np.where(np.isnan(out), 0.0, np.maximum(out, 0.0))

    def pullback(self, k: int, x) -> np.ndarray:
        """Reference positions xi (n, 2) of points x at times[k]: the backward flow map
        X(times[k], .)^{-1}(x) (linear on the moved triangles; NaN outside their hull)."""
        ref = self.reference
        xi = np.concatenate([ref.xi, ref.lower + ref.h * ref.ghost_index.astype(np.float64)])
        return self.interpolate(k, x, xi, outside="nan")

    def outside_support(self, points) -> float:
        """Share of ``points`` (n, 2) where the initial density is 0 (:meth:`density_at` at
        times[0]: the support up to one cell)."""
        return float(np.mean(self.density_at(0, points) <= 0))

    def density_on_grid(self, grid, k: int) -> np.ndarray:
        """rho(times[k]) at the cell centres of a 2-D ``grid``, shape ``grid.shape``."""
        return self.density_at(k, grid.points()).reshape(grid.shape)

    def _sub_cell_masses(self, sub, s: int) -> np.ndarray:
        """(N, s^2) masses of the nodes' sub-cells at offsets ``sub`` (cached per s)."""
        cache = self.__dict__.setdefault("_sub_masses", {})
        if s not in cache:
            ref = self.reference
            if ref._rho0_fn is not None:        # the initial density itself at the sub-cells
                values = np.asarray(ref._rho0_fn((ref.xi[:, None, :] + sub).reshape(-1, 2)),
                                    dtype=np.float64).reshape(len(ref.xi), len(sub))
            else:                               # read from a file: linear in each cell
                grad = np.stack([ref.px @ ref.rho0, ref.py @ ref.rho0], -1)        # (N, 2)
                values = np.maximum(ref.rho0[:, None] + grad @ sub.T, 0.0)
            cache[s] = values * (ref.h / s) ** 2
        return cache[s]

    def deposit_on_grid(self, grid, k: int) -> np.ndarray:
        """rho(times[k]) on a 2-D ``grid`` (``grid.shape``) that carries exactly the nodes' mass.

        Each node's cell [xi - h/2, xi + h/2]^2 is split into s x s sub-cells of mass
        rho_0(xi') (h/s)^2 (the initial density callable; for a grid read from a file, rho_0
        linear in the cell, its gradient by the stencils that know rho_0 = 0 on the support
        boundary, floored at 0 beyond it), moved by the node's affine map X + F (xi' - xi)
        (F = grad_xi X) and deposited by cloud-in-cell
        (:func:`pdeflow.solvers.deposit.cloud_in_cell`). s makes the moved points at most
        1 / DEPOSIT_DENSITY of a grid cell apart at every time (half a cell left a 1.6 %
        aliasing ripple: L1 0.013 against 8e-4 at a quarter cell, h = 0.125 on 256^2 cells of
        [-4, 4]^2). The sub-cells are the same at every time, so the grid integral is too
        (rounding only), unlike :meth:`density_on_grid`, whose linear interpolation gains or
        loses about h^2 of the mass at the front.
        """
        from .deposit import cloud_in_cell

        ref, x = self.reference, self.positions[k]
        if "_stretch" not in self.__dict__:      # largest |F| over all times (one s for all)
            self.__dict__["_stretch"] = max(
                float(np.linalg.norm(ref.deformation(xk), ord=2, axis=(1, 2)).max())
                for xk in self.positions)
        # the same sub-cells at every time: the deposited mass does not change
        s = max(1, math.ceil(DEPOSIT_DENSITY * ref.h * self._stretch / min(grid.spacing) - 1e-9))
        F = ref.deformation(x)
        offsets = ((np.arange(s) + 0.5) / s - 0.5) * ref.h
        sub = np.stack(np.meshgrid(offsets, offsets, indexing="ij"), -1).reshape(-1, 2)
        masses = self._sub_cell_masses(sub, s)
        points = (x[:, None, :] + np.einsum("nij,sj->nsi", F, sub)).reshape(-1, 2)
        return cloud_in_cell(points, grid, masses.ravel())

    def to_grid_solution(self, grid):
        """A :class:`~pdeflow.solvers.solution.GridSolution` on the 2-D ``grid`` (for what
        takes grid truths: GridVelocity, perturbations, network targets): per output time the
        density (:meth:`deposit_on_grid`: its grid integral ``mass`` is the nodes' mass) and
        the velocity at the cell centres (:meth:`velocity_at`; nearest node outside the moved
        mesh). Needs K = kappa I (the grid solution's equation has a scalar kappa)."""
        from .solution import GridSolution

        if grid.dim != 2:
            raise ValueError(f"grid must be 2-D, got dim {grid.dim}")
        kappa = float(self.K[0, 0])
        if not np.allclose(self.K, kappa * np.eye(2), rtol=0, atol=1e-14):
            raise ValueError(f"to_grid_solution needs K = kappa I, got K = {self.K.tolist()}")
        equation = PorousMedium(m=self.equation.m, D=self.equation.D, kappa=kappa, dim=2)
        points = grid.points()
        density = np.stack([self.deposit_on_grid(grid, k) for k in range(len(self.times))])
        velocity = np.stack([np.moveaxis(self.velocity_at(k, points).reshape(grid.shape + (2,)),
                                         -1, 0) for k in range(len(self.times))])
        mass = np.array([grid.integrate(r) for r in density])
        energy = np.array([equation.energy(r, grid) for r in density])
        return GridSolution(equation=equation, grid=grid, times=self.times.copy(),
                            density=density, velocity=velocity, face_velocity=(), mass=mass,
                            energy=energy, diagnostics={
                                "source": "lagrangian", "h": float(self.reference.h),
                                "nodes": self.reference.n_nodes,
                                "steps": int(self.diagnostics.get("steps", 0)),
                                "cpu_seconds": float(self.diagnostics.get("cpu_seconds", 0.0))})


class LagrangianVelocity:
    """v(t, x) of a :class:`LagrangianSolution` at any points and times in [times[0],
    times[-1]]: linear on the moved triangles at the two bracketing output times (exact for the
    affine porous flows), linear in time between them (error O(dt_out^2))."""

    dim = 2

    def __init__(self, solution: LagrangianSolution):
        self.solution = solution
        self.times = solution.times
        self.provenance = {"source": "LagrangianSolution", "nodes": solution.reference.n_nodes,
                           "h": solution.reference.h, "time_rule": "linear"}

    def check_time(self, t: float, name: str = "t") -> float:
        t = float(t)
        if not (self.times[0] - 1e-12 <= t <= self.times[-1] + 1e-12):
            raise ValueError(f"{name} = {t} is outside the solved interval [{self.times[0]}, "
                             f"{self.times[-1]}]")
        return t

    def __call__(self, t: float, x) -> np.ndarray:
        t = self.check_time(t)
        k = int(np.clip(np.searchsorted(self.times, t), 1, len(self.times) - 1))
        t0, t1 = self.times[k - 1], self.times[k]
        w = (t - t0) / (t1 - t0)
        sol = self.solution
        out = (1 - w) * sol.velocity_at(k - 1, x) if w < 1 else 0.0
        return out + w * sol.velocity_at(k, x) if w > 0 else out


def _advance(v, x, t0, t1, cfl, integrate):
    """x at t1 from x at t0: RK4 in chunks of RESTEP steps, each with the stable step of the
    state it starts from (the mesh compresses as it moves, so one step for a long output
    interval would outgrow the stability limit). Returns (x, steps)."""
    t, steps = t0, 0
    while t < t1:
        dt = v.stable_step(x, cfl)
        end = t1 if t + RESTEP * dt >= t1 else t + RESTEP * dt
        flow = integrate(v, x, [t, end], dt=dt)
        x = flow.final.copy()
        steps += flow.provenance["integrator"]["steps_per_particle"]
        t = end
    return x, steps


def lagrangian_porous_solve(equation: PorousMedium, rho0, lower, upper, h, times, K=None,
                            cfl: float = 0.5, progress: bool = False) -> LagrangianSolution:
    """Solve the 2-D porous medium from ``rho0`` on Lagrangian nodes of spacing ``h``.

    Parameters
    ----------
    equation : PorousMedium with dim = 2 (m, D; kappa the confinement unless ``K`` is given).
    rho0 : callable (n, 2) -> (n,), initial density, > 0 exactly on its (bounded) support.
    lower, upper : (2,) a box containing the support.
    h : reference node spacing (length).
    times : (nt,) increasing output times; times[0] is the time of rho0.
    K : optional symmetric (2, 2) drift matrix (v = -grad p - K x); then equation.kappa must be 0.
    cfl : fraction of the explicit stability limit (> 0; 0.5 is stable in the tests).
    progress : tqdm bar over the output times (only on a terminal).
    """
    if not isinstance(equation, PorousMedium):
        raise TypeError(f"equation must be a PorousMedium, got {type(equation).__name__}")
    if equation.dim != 2:
        raise ValueError(f"the Lagrangian solver is 2-D: equation.dim must be 2, got "
                         f"{equation.dim}")
    if not (math.isfinite(cfl) and cfl > 0):
        raise ValueError(f"cfl must be a finite number > 0, got {cfl}")
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or len(times) < 2 or not np.all(np.diff(times) > 0) or not np.all(
            np.isfinite(times)):
        raise ValueError("times must be a finite, strictly increasing 1-D array of >= 2 times")
    K = _drift_matrix(equation, K)
    from ..progress import progress_bar
    from .flow_map import integrate_flow_map

    start = _time.process_time()
    ref = ReferenceGrid.covering(rho0, lower, upper, h)
    v = _Velocity(ref, equation, K)
    nt, n = len(times), ref.n_nodes
    positions = np.empty((nt, n, 2))
    velocity = np.empty((nt, n, 2))
    density = np.empty((nt, n))
    pressure = np.empty((nt, n))
    x = ref.xi.copy()
    steps = 0
    bar = progress_bar(total=nt - 1, desc="lagrangian porous", progress=progress)
    for k in range(nt):
        if k > 0:
            x, taken = _advance(v, x, times[k - 1], times[k], cfl, integrate_flow_map)
            steps += taken
            bar.update()
        positions[k] = x
        velocity[k] = v(times[k], x)
        density[k] = ref.rho0 / v.jacobian
        pressure[k] = v.pressure
    bar.close()
    diagnostics = {"steps": steps, "velocity_evaluations": v.calls, "nodes": n,
                   "ghosts": ref.n_ghosts, "cpu_seconds": _time.process_time() - start}
    return LagrangianSolution(equation, K, ref, times, positions, velocity, density, pressure,
                              diagnostics)


def truth_flow_map_error(solution: LagrangianSolution, coarse: LagrangianSolution | None = None,
                         exact=None, time_index: int = -1) -> tuple[float, str]:
    """(error, kind) of the nodes' flow map at ``times[time_index]``: the mass-weighted RMS
    distance to ``exact.flow_map(t, xi, t0=times[0])`` (kind "exact") when a closed form is
    given, else :func:`richardson_flow_map_error` against ``coarse`` (kind "estimated")."""
    t = float(solution.times[time_index])
    if exact is not None:
        xi = solution.reference.xi
        target = exact.flow_map(t, xi, t0=float(solution.times[0]))
        return mass_weighted_rms(solution.positions[time_index], target,
                                 solution.node_mass), "exact"
    if coarse is None:
        raise ValueError("give exact (a closed form with .flow_map) or coarse (a companion "
                         "solve on a lattice of spacing 2h)")
    return richardson_flow_map_error(solution, coarse, time_index=time_index), "estimated"


def mass_weighted_rms(a, b, weights) -> float:
    """``sqrt(sum_i w_i |a_i - b_i|^2 / sum_i w_i)`` for points a, b (N, d) and weights (N,) >= 0."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2 or w.shape != (len(a),):
        raise ValueError(f"need a, b (N, d) and weights (N,); got {a.shape}, {b.shape}, {w.shape}")
    if np.any(w < 0) or not w.sum() > 0:
        raise ValueError("weights must be >= 0 with a positive sum")
    return float(np.sqrt(np.sum(w * np.sum((a - b) ** 2, axis=1)) / w.sum()))


def common_nodes(fine: LagrangianSolution, coarse: LagrangianSolution):
    """Row indices (rows_fine, rows_coarse) of the reference nodes the two solutions share
    (the coarse lattice must be the fine one with every other node: same ``lower``, twice h)."""
    rf, rc = fine.reference, coarse.reference
    ratio = rc.h / rf.h
    if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 2:
        raise ValueError(f"coarse.h / fine.h must be an integer >= 2, got {ratio}")
    cells = (rf.xi - rc.lower) / rc.h
    on = np.all(np.abs(cells - np.round(cells)) < 1e-6, axis=1)
    rows_f = np.flatnonzero(on)
    idx = np.round(cells[on]).astype(np.int64)
    shape = rc.shape
    ok = np.all((idx >= 0) & (idx < shape), axis=1)
    rows_f, idx = rows_f[ok], idx[ok]
    rows_c = rc.number[idx[:, 0], idx[:, 1]]
    keep = rows_c >= 0
    return rows_f[keep], rows_c[keep]


def richardson_flow_map_error(fine: LagrangianSolution, coarse: LagrangianSolution,
                              order: float = 2.0, time_index: int = -1) -> float:
    """Richardson estimate of the fine solve's mass-weighted RMS flow-map error at
    ``times[time_index]``: RMS(X_fine - X_coarse) / (r^order - 1) over the shared nodes
    (weights: the fine node masses), r = coarse.h / fine.h. ``order`` 2: the scheme's measured
    order (docs/certified_truth.md)."""
    if not np.allclose(fine.times[time_index], coarse.times[time_index]):
        raise ValueError("fine and coarse must be stored at the same time")
    rows_f, rows_c = common_nodes(fine, coarse)
    if len(rows_f) == 0:
        raise ValueError("the two solutions share no node: coarse must have the same lower "
                         "corner and a multiple of the fine spacing")
    r = coarse.reference.h / fine.reference.h
    diff = mass_weighted_rms(fine.positions[time_index][rows_f],
                             coarse.positions[time_index][rows_c], fine.node_mass[rows_f])
    return diff / (r ** order - 1.0)
