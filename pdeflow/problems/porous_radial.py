"""Certified radial multimodal porous-medium problems in any dimension (d = 1-128).

The data: a radial law in R^d, a core plus shells on a flat-topped envelope,

    rho0(r) = E(u) B(u),  B(u) = eps + sum_k w_k exp(-(u - c_k)^2 / (2 s_k^2)),  u = r / R0 <= 1,
    E(u) = ((m-1) S (1 - u^16) / m)^(1/(m-1))   (the density of the pressure S (1 - u^16)),

so the initial pressure ``S (1 - u^16) B^(m-1)`` is smooth and linear at the front, the density
contrast of the modes is set by B alone (at most 1/eps = 20) whatever m is, and the envelope is
flat where the modes are (a parabolic envelope (1 - u^2)^(1/(m-1)) would be a narrow Gaussian
for m = 1 + 1/d in high d and erase the shells). S is fixed by unit mass and R0 is the radius of
the confined stationary state of the same mass. Under the confined
porous medium ``d_t rho = Lap(rho^m) + div(x rho)`` (D = 1, kappa = 1) the shells spread into
each other and into the core, so the modes merge, and the law relaxes to the stationary state.
The pressure is linear at the front (the Barenblatt behaviour), so the Lagrangian solver of
:mod:`pdeflow.solvers.radial_lagrangian` is second order on it.

The truth is certified: a solve with ``cells`` label intervals and its companions with half and
a quarter as many; ``velocity_truth_error`` is the Richardson estimate ``|v_N - v_{N/2}| / 3``
(order 2, validated against the Barenblatt closed forms within a factor 3 in d <= 32,
tests/test_radial_lagrangian.py); ``solution.error_estimate.measured_order`` shows where the
three solves are not yet asymptotic.

Names: ``porous-radial-{d}d`` (m = 2) and ``porous-radial-dimaware-{d}d`` (m = 1 + 1/d).
"""
from __future__ import annotations

import math

import numpy as np

from ..equations import PorousMedium, porous_stationary_level
from .base import Problem

__all__ = ["RadialPorousProblem", "FAMILIES", "MODES", "DEFAULT_CELLS", "entries"]

#: (centre c_k, width s_k, weight w_k) of the pressure modes, in units of R0: a core and two shells
MODES = ((0.0, 0.12, 1.0), (0.45, 0.06, 1.0), (0.75, 0.05, 2.0))
#: the floor eps of the bracket (the law is positive everywhere inside its support)
FLOOR = 0.05
#: the envelope's exponent 2k in 1 - u^(2k)
ENVELOPE = 16
#: label intervals of the fine solve (the companion has half)
DEFAULT_CELLS = 256
_QUAD = np.polynomial.legendre.leggauss(8)


class RadialPorousProblem(Problem):
    """The confined porous medium (D = 1, kappa = 1) in R^dim from a radial core plus shells.

    Parameters
    ----------
    name, description : str
        Catalogue entries.
    m, dim : float, int
        Exponent > 1; dimension 1-128.
    modes : (k, 3) array
        (c, s, w) triples of the initial bracket B (see the module docstring).
    floor : float
        eps > 0 of the bracket (the density contrast of the modes is at most ~ 1/eps).
    t_min, T : float, optional
        The problem's interval (the data at t = 0 are solved from, as for the grid truths);
        default T = 4 / lambda, lambda = d (m - 1) + 2 the relaxation rate of the confined
        Barenblatt (four e-folds), and t_min = T / 100.
    cells : int
        Fine label intervals (even, >= 16); the companion solve has cells / 2.
    n_snapshots : int
        Stored times, log-spaced in [T / 10^4, T] (plus t = 0): the first intervals are short,
        so the solver's steps (at most T / (2 cells)) resolve the initial transient.
    progress : bool
        tqdm bars during the solves.
    """

    truth = "certified"
    kinds = ("velocity",)

    def __init__(self, name, m, dim, description, modes=MODES, floor=FLOOR, t_min=None, T=None,
                 cells=DEFAULT_CELLS, n_snapshots=97, progress=False):
        T = 4.0 / (dim * (m - 1.0) + 2.0) if T is None else float(T)
        t_min = T / 100.0 if t_min is None else float(t_min)
        super().__init__(name, dim, t_min, T, None, description)
        self.equation = PorousMedium(m=m, D=1.0, kappa=1.0, dim=dim)
        if isinstance(cells, bool) or not isinstance(cells, (int, np.integer)):
            raise TypeError(f"cells must be an int, got {type(cells).__name__}")
        if cells < 16 or cells % 2:
            raise ValueError(f"cells must be an even int >= 16, got {cells}")
        modes = np.asarray(modes, dtype=np.float64)
        if modes.ndim != 2 or modes.shape[1] != 3 or not np.all(np.isfinite(modes)) \
                or np.any(modes[:, 1] <= 0) or np.any(modes[:, 2] < 0):
            raise ValueError("modes must be (c, s, w) triples with s > 0 and w >= 0")
        if not (math.isfinite(floor) and floor > 0):
            raise ValueError(f"floor must be a finite number > 0, got {floor}")
        self.modes, self.floor, self.cells = modes, float(floor), int(cells)
        self.n_snapshots, self.progress = int(n_snapshots), progress
        self.radius = math.sqrt(2.0 * porous_stationary_level(self.equation, 1.0))
        self.log_scale = -(m - 1.0) * self._log_unit_mass()
        self.times = np.concatenate([[0.0], np.geomspace(T * 1e-4, T, self.n_snapshots)])
        self._solution = None

    # -- the initial law --------------------------------------------------------------------
    def _log_bracket(self, u):
        """log B(u) (the modes)."""
        c, s, w = self.modes.T
        return np.log(self.floor + (w * np.exp(-0.5 * ((u[..., None] - c) / s) ** 2)).sum(-1))

    def _log_density0(self, r, log_scale):
        m = self.equation.m
        u = np.asarray(r, dtype=np.float64) / self.radius
        with np.errstate(divide="ignore"):
            envelope = np.log(np.maximum(-np.expm1(ENVELOPE * np.log(np.maximum(u, 1e-300))),
                                         0.0))
        return ((math.log((m - 1.0) / m) + log_scale + envelope) / (m - 1.0)
                + self._log_bracket(u))

    def _log_unit_mass(self) -> float:
        """log of the mass of the data with S = 1 (composite Gauss-Legendre, in logarithms)."""
        from ..solvers.radial_lagrangian import log_sphere_area

        nodes, weights = _QUAD
        edges = np.linspace(0.0, self.radius, 401)
        r = (edges[:-1, None] + (edges[1:] - edges[:-1])[:, None] * (nodes + 1) / 2).ravel()
        w = np.tile(weights, 400) * (edges[1] - edges[0]) / 2
        log_terms = (self._log_density0(r, 0.0) + (self.dim - 1) * np.log(r) + np.log(w))
        peak = log_terms.max()
        return log_sphere_area(self.dim) + peak + math.log(np.exp(log_terms - peak).sum())

    def initial_density(self, r) -> np.ndarray:
        """rho at t = 0 as a function of the radius, (k,) -> (k,) (0 outside R0)."""
        r = np.asarray(r, dtype=np.float64)
        return np.exp(self._log_density0(r, self.log_scale))

    def initial_pressure(self, r) -> np.ndarray:
        """p = m rho^(m-1)/(m-1) at t = 0 as a function of the radius."""
        return self.equation.pressure(self.initial_density(r))

    # -- the truth --------------------------------------------------------------------------
    @property
    def solution(self):
        """The fine :class:`~pdeflow.solvers.radial_lagrangian.RadialLagrangianSolution` (with
        ``error_estimate`` and ``companion``), solved on first use."""
        if self._solution is None:
            from ..solvers.radial_lagrangian import solve_radial_lagrangian

            self._solution = solve_radial_lagrangian(
                self.equation, self.initial_density, self.radius, self.times, cells=self.cells,
                certify=True, progress=self.progress)
        return self._solution

    def _per_time(self, solution, t, x, method):
        x = np.asarray(x, dtype=np.float64)
        t = np.asarray(t, dtype=np.float64)
        if t.ndim == 0:
            return getattr(solution, method)(self.check_time(float(t)), x)
        out = None
        for value in np.unique(t):
            rows = t == value
            part = getattr(solution, method)(self.check_time(float(value)), x[rows])
            if out is None:
                out = np.empty((len(x),) + part.shape[1:])
            out[rows] = part
        return out

    def velocity(self, t, x):
        """The porous velocity -grad p - x, (n, dim); ``t`` float or (n,)."""
        return self._per_time(self.solution, t, x, "velocity")

    def density(self, t, x):
        """rho_t(x), (n,) (0 outside the support); ``t`` float or (n,)."""
        return self._per_time(self.solution, t, x, "density")

    def score(self, t, x):
        raise ValueError(f"{self.name} is a porous-medium flow: it has a velocity but no score "
                         "(use kind='velocity')")

    def sample(self, t: float, n: int, seed):
        """Exact-law samples up to the solve's error: the initial radius by inverse mass, pushed
        by the flow map, uniform direction."""
        return self.solution.sample(self.check_time(t), n, seed)

    def velocity_truth_error(self, t: float, x):
        """Richardson estimate of ``|v_truth - v|`` per point, (n,): ``|v_N - v_{N/2}| / 3``."""
        solution = self.solution
        factor = solution.error_estimate.factor
        difference = (self._per_time(solution, t, x, "velocity")
                      - self._per_time(solution.companion, t, x, "velocity"))
        return factor * np.linalg.norm(difference, axis=1)


def _describe(m_text, dim):
    return (f"confined porous medium {m_text}, radial core + 2 shells merging, {dim}-D, "
            "Lagrangian truth (velocity only)")


def radial(dim, **options):
    return RadialPorousProblem(f"porous-radial-{dim}d", 2.0, dim, _describe("m = 2", dim),
                               **options)


def radial_dimension_aware(dim, **options):
    m = 1.0 + 1.0 / dim
    return RadialPorousProblem(f"porous-radial-dimaware-{dim}d", m, dim,
                               _describe(f"m = 1 + 1/d = {m:.4g}", dim), **options)


#: ``name -> f(dim, **options) -> RadialPorousProblem``, any dim in 1-128
FAMILIES = {"porous-radial": radial, "porous-radial-dimaware": radial_dimension_aware}


def entries(dims):
    """(name, truth, dim, description) of the listed problems."""
    for family, factory in FAMILIES.items():
        for dim in dims:
            m_text = "m = 2" if family == "porous-radial" else "m = 1 + 1/d"
            yield f"{family}-{dim}d", "certified", dim, _describe(m_text, dim)
