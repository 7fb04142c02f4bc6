"""The moving-simplex Lagrangian scheme for the 2-D porous medium (the comparison candidate).

In the spirit of Carrillo, Duering, Matthes & McCormick (J. Sci. Comput. 2018): a triangle mesh
of the initial support whose triangles keep their mass M_T (rho = M_T / area(T)), nodes moving by the
discrete Wasserstein gradient flow of E = sum_T area(T) D F(M_T / area(T)) + sum_i m_i X_i^T K X_i / 2
with lumped node masses m_i = sum_{T ni i} M_T / 3:

    m_i dX_i/dt = -dE/dX_i = D sum_{T ni i} rho_T^m d area(T)/dX_i - m_i K X_i.

Mesh: the nodes of :class:`~pdeflow.solvers.lagrangian_porous.ReferenceGrid` (a square lattice
of spacing h inside the support) plus the support boundary's crossings of the lattice lines
(those closer than h / 2 to another dropped, lattice nodes closer than 0.35 h to one dropped),
Delaunay-triangulated (the support must be convex); M_T by the 3-point edge-midpoint rule
(exact for quadratics). Time stepping: the shared RK4, restarted at every output time with
dt = cfl h_T^2 / ((m - 1) max p), h_T the smallest triangle height. The default
truth is :mod:`lagrangian_porous` (docs/certified_truth.md, section 5: measured orders).
"""
from __future__ import annotations

import math
import time as _time

import numpy as np

from ..equations import PorousMedium
from . import _kernels_lagrangian_simplex as kernels
from .lagrangian_porous import ReferenceGrid, _drift_matrix

__all__ = ["SimplexSolution", "simplex_porous_solve"]


class SimplexSolution:
    """Nodes (N, 2) of the moved triangle mesh at the output times.

    Attributes: ``times`` (nt,), ``xi`` (N, 2) initial nodes, ``positions`` (nt, N, 2),
    ``triangles`` (n_T, 3), ``triangle_mass`` (n_T,), ``node_mass`` (N,), ``diagnostics``.
    """

    def __init__(self, times, xi, positions, triangles, triangle_mass, node_mass, diagnostics):
        self.times, self.xi, self.positions = times, xi, positions
        self.triangles, self.triangle_mass, self.node_mass = triangles, triangle_mass, node_mass
        self.diagnostics = diagnostics


def _mesh(rho0, lower, upper, h):
    from scipy.spatial import Delaunay

    ref = ReferenceGrid.covering(rho0, lower, upper, h)
    # boundary points: the crossings of the lattice lines next to the support boundary
    starts, dirs = [], []
    inside = np.zeros(ref.shape, dtype=bool)
    inside[ref.index[:, 0], ref.index[:, 1]] = True
    for k, (i, j) in enumerate(ref.index):
        for d in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            if not inside[i + d[0], j + d[1]]:
                starts.append(ref.xi[k])
                dirs.append(d)
    starts, dirs = np.array(starts), np.array(dirs, dtype=np.float64)
    span = np.full(len(starts), 2.0)
    s = ref._crossing(starts, dirs, span)
    boundary = starts + h * s[:, None] * dirs
    # a crossing closer than h / 2 to another is dropped (slivers)
    keep = []
    for p in boundary:
        if all(np.hypot(*(p - q)) > h / 2 for q in keep):
            keep.append(p)
    keep = np.array(keep)
    # lattice nodes closer than 0.35 h to a boundary point are dropped (no sliver triangles)
    from scipy.spatial import cKDTree

    far = cKDTree(keep).query(ref.xi)[0] > 0.35 * h
    xi = np.concatenate([ref.xi[far], keep])
    tri = Delaunay(xi).simplices.astype(np.int64)
    a, b, c = xi[tri[:, 0]], xi[tri[:, 1]], xi[tri[:, 2]]
    signed = 0.5 * ((b - a)[:, 0] * (c - a)[:, 1] - (c - a)[:, 0] * (b - a)[:, 1])
    flip = signed < 0
    tri[flip] = tri[flip][:, [0, 2, 1]]
    area = np.abs(signed)
    mids = [0.5 * (a + b), 0.5 * (b + c), 0.5 * (c + a)]
    mass = area * sum(np.asarray(rho0(mid), dtype=np.float64) for mid in mids) / 3.0
    good = mass > 0
    tri, mass = tri[good], mass[good]
    node_mass = np.zeros(len(xi))
    np.add.at(node_mass, tri.ravel(), np.repeat(mass / 3.0, 3))
    used = node_mass > 0
    renumber = -np.ones(len(xi), dtype=np.int64)
    renumber[used] = np.arange(int(used.sum()))
    return xi[used], renumber[tri], mass, node_mass[used]


def simplex_porous_solve(equation: PorousMedium, rho0, lower, upper, h, times, K=None,
                         cfl: float = 0.5) -> SimplexSolution:
    """Solve the 2-D porous medium from ``rho0`` (convex support) on a moving triangle mesh of
    spacing ``h``; arguments as
    :func:`~pdeflow.solvers.lagrangian_porous.lagrangian_porous_solve`."""
    from .flow_map import integrate_flow_map

    if not isinstance(equation, PorousMedium):
        raise TypeError(f"equation must be a PorousMedium, got {type(equation).__name__}")
    if equation.dim != 2:
        raise ValueError(f"equation.dim must be 2, got {equation.dim}")
    if not (math.isfinite(cfl) and cfl > 0):
        raise ValueError(f"cfl must be a finite number > 0, got {cfl}")
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or len(times) < 2 or not np.all(np.diff(times) > 0):
        raise ValueError("times must be a strictly increasing 1-D array of >= 2 times")
    K = np.ascontiguousarray(_drift_matrix(equation, K))
    start = _time.process_time()
    xi, tri, tri_mass, node_mass = _mesh(rho0, lower, upper, h)
    D, m = float(equation.D), float(equation.m)
    area = np.empty(len(tri))

    def velocity(t, x):
        x = np.ascontiguousarray(x)
        v = np.empty_like(x)
        kernels.simplex_velocity(x, tri, tri_mass, node_mass, D, m, K, v, area)
        if not np.all(area > 0):
            raise ValueError("the triangle mesh folded: lower cfl or refine h")
        return v

    def stable_step(x):
        velocity(0.0, x)
        a, b, c = x[tri[:, 0]], x[tri[:, 1]], x[tri[:, 2]]
        longest = np.max([np.hypot(*(b - a).T), np.hypot(*(c - b).T), np.hypot(*(a - c).T)], 0)
        height = 2 * area / longest
        p_max = float((D * equation.pressure(tri_mass / area)).max())
        return cfl / ((m - 1) * p_max / float(height.min()) ** 2 + float(np.abs(K).sum()))

    positions = np.empty((len(times), len(xi), 2))
    positions[0] = x = xi.copy()
    steps = 0
    for k in range(1, len(times)):
        flow = integrate_flow_map(velocity, x, times[k - 1:k + 1], dt=stable_step(x))
        x = flow.final.copy()
        steps += flow.provenance["integrator"]["steps_per_particle"]
        positions[k] = x
    diagnostics = {"steps": steps, "nodes": len(xi), "triangles": len(tri),
                   "cpu_seconds": _time.process_time() - start}
    return SimplexSolution(times, xi, positions, tri, tri_mass, node_mass, diagnostics)
