"""Certified problems: heat, Fokker-Planck and porous-medium flows from a Gaussian mixture in
1-3 D, with a finite-volume truth and an error estimate from a coarser companion solve.

The wrapper is thin: :func:`pdeflow.solvers.finite_volume.solve` on the fine grid (``n`` cells
per axis) and on the companion grid (``n // 2``), velocities by
:class:`pdeflow.solvers.GridVelocity` (multilinear in space, cubic Hermite in time by
default), samples by :meth:`pdeflow.grid.Grid.sample_density` of the density interpolated
linearly in time. The error estimate of the truth is ``|v_fine - v_coarse|`` per point (no order is assumed, so
for a second-order scheme it overstates the fine solve's error about three-fold).

The linear equations are pdeflow's Fokker-Planck convention (score, SDE available); the porous
medium has only a velocity (``kinds = ("velocity",)``, no reverse SDE).
"""
from __future__ import annotations

import numpy as np

from ..equations import FokkerPlanck, FokkerPlanckConvention, PorousMedium
from ..grid import Grid
from .base import Problem
from .initial_data import grid_initial_density, three_component_mixture

__all__ = ["CertifiedProblem", "DEFAULT_CELLS"]

#: fine-grid cells per axis by dimension (the companion solve uses half)
DEFAULT_CELLS = {1: 400, 2: 96, 3: 32}


class CertifiedProblem(Problem):
    """A finite-volume truth for ``equation`` from the three-component mixture of
    :func:`~pdeflow.problems.three_component_mixture` at t = 0.

    Parameters
    ----------
    name, description : catalogue entries.
    equation : FokkerPlanck (or Heat) or PorousMedium, dim 1-3.
    half_width : the box [-half_width, half_width]^d.
    n : fine cells per axis (default :data:`DEFAULT_CELLS`); the companion has n // 2.
    t_min, T : the problem's interval; snapshots at 0 and log-spaced in [t_min, T].
    n_snapshots : stored snapshots in [t_min, T].
    progress : tqdm bars during the two solves.
    """

    truth = "certified"

    def __init__(self, name, equation, half_width, t_min, T, description, n=None,
                 n_snapshots=33, progress=False):
        linear = isinstance(equation, FokkerPlanck)
        convention = FokkerPlanckConvention(D=equation.D, kappa=equation.kappa) if linear else None
        super().__init__(name, equation.dim, t_min, T, convention, description)
        if not linear:
            self.kinds = ("velocity",)
        self.equation = equation
        self.n = int(n if n is not None else DEFAULT_CELLS[equation.dim])
        if self.n < 8:
            raise ValueError(f"n must be >= 8 cells per axis, got {self.n}")
        self.half_width = float(half_width)
        self.times = np.concatenate([[0.0], np.geomspace(t_min, T, int(n_snapshots))])
        self.progress = progress
        self._solved = None

    def _solve(self):
        if self._solved is None:
            from ..solvers import GridVelocity
            from ..solvers.finite_volume import solve

            solved = []
            for cells in (self.n, self.n // 2):
                grid = Grid.cube(self.half_width, cells, self.dim)
                rho0 = grid_initial_density(three_component_mixture(self.dim).density, grid,
                                            self.equation)
                solution = solve(self.equation, grid, rho0, self.times, progress=self.progress)
                solved.append((solution, GridVelocity(solution)))
            self._solved = solved
        return self._solved

    @property
    def solution(self):
        """The fine :class:`~pdeflow.solvers.GridSolution`."""
        return self._solve()[0][0]

    def _field(self, which, t, x):
        velocity = self._solve()[which][1]
        x = np.asarray(x, dtype=np.float64)
        t = np.asarray(t, dtype=np.float64)
        if t.ndim == 0:
            return velocity(float(t), x)
        out = np.empty_like(x)
        for value in np.unique(t):
            rows = t == value
            out[rows] = velocity(float(value), x[rows])
        return out

    def velocity(self, t, x):
        return self._field(0, t, x)

    def score(self, t, x):
        if self.convention is None:
            raise ValueError(f"{self.name} is a porous-medium flow: it has a velocity but no "
                             "score (use kind='velocity')")
        x = np.asarray(x, dtype=np.float64)
        return self.equation.score_from_velocity(self.velocity(t, x), x)

    def velocity_truth_error(self, t: float, x):
        """``|v_fine - v_coarse|`` per point, (n,)."""
        return np.linalg.norm(self._field(0, t, x) - self._field(1, t, x), axis=1)

    def solution_error(self, order: float = 2.0):
        """Per-snapshot Richardson estimate of the fine solve's density L1 and velocity L2(rho)
        errors from the companion (:func:`pdeflow.solvers.truth_error.solution_error`; ``order``
        2 for smooth linear flows, about 1 at porous-medium fronts)."""
        from ..solvers.truth_error import solution_error

        (fine, _), (coarse, _) = self._solve()
        return solution_error(fine, coarse, order)

    def density(self, t: float):
        """The fine density at t, shape ``grid.shape``, linear in time between snapshots."""
        solution = self.solution
        t = self.check_time(t)
        k = int(np.clip(np.searchsorted(solution.times, t), 1, len(solution.times) - 1))
        t0, t1 = solution.times[k - 1], solution.times[k]
        w = (t - t0) / (t1 - t0)
        return (1 - w) * solution.density[k - 1] + w * solution.density[k]

    def sample(self, t: float, n: int, seed):
        return self.solution.grid.sample_density(self.density(t), n, seed)


def heat(dim, **options):
    from ..equations import Heat

    return CertifiedProblem(f"heat-mixture-{dim}d", Heat(D=0.5, dim=dim), 5.0, 0.01, 0.5,
                            f"heat (D = 1/2) from the 3-component mixture, {dim}-D, FV truth",
                            **options)


def fokker_planck(dim, **options):
    return CertifiedProblem(f"fp-mixture-{dim}d", FokkerPlanck(D=0.5, kappa=1.0, dim=dim), 4.0,
                            0.01, 2.0, f"Fokker-Planck (D = 1/2, kappa = 1) from the 3-component "
                            f"mixture, {dim}-D, FV truth", **options)


def porous(dim, **options):
    return CertifiedProblem(f"porous-mixture-{dim}d", PorousMedium(m=2.0, D=1.0, kappa=1.0,
                                                                   dim=dim), 4.0, 0.01, 1.0,
                            f"confined porous medium m = 2 from the 3-component mixture, {dim}-D,"
                            " FV truth (velocity only)", **options)


def porous_dimension_aware(dim, a=1.0, **options):
    equation = PorousMedium.dimension_aware(a, dim, D=1.0, kappa=1.0)
    return CertifiedProblem(f"porous-dimaware-{dim}d", equation, 4.0, 0.01, 1.0,
                            f"confined porous medium m = 1 + {a:g}/d = {equation.m:.4g} from the "
                            f"3-component mixture, {dim}-D, FV truth (velocity only)", **options)


#: the certified families by name: ``name -> f(dim, **options) -> CertifiedProblem``
FAMILIES = {"heat-mixture": heat, "fp-mixture": fokker_planck, "porous-mixture": porous,
            "porous-dimaware": porous_dimension_aware}
