"""Refinement studies of the finite-volume solver against closed forms (shared by the tests and
benchmarks/fv_convergence.py, which writes the table of docs/scheme.md)."""
from __future__ import annotations

import warnings

import numpy as np

from pdeflow.equations import FokkerPlanck
from pdeflow.exact import Barenblatt, ConfinedBarenblatt, GaussianMixture, GaussianMixtureFlow
from pdeflow.grid import Grid
from pdeflow.solvers import solve


def fitted_order(ns, errors) -> float:
    """Least-squares slope of -log(error) against log(n) (the L1 order)."""
    return float(-np.polyfit(np.log(ns), np.log(errors), 1)[0])


def gaussian_flow(dim: int, kappa: float) -> GaussianMixtureFlow:
    """Two-component mixture under FokkerPlanck(D = 0.5, kappa) (kappa = 0: heat)."""
    eq = FokkerPlanck(D=0.5, kappa=kappa, dim=dim)
    means = np.array([[-1.2] + [0.3] * (dim - 1), [1.0] + [-0.4] * (dim - 1)])
    return GaussianMixtureFlow(eq, GaussianMixture.isotropic([0.4, 0.6], means, [0.5, 0.7]))


def gaussian_errors(dim, kappa, ns, T=0.5, half_width=6.0, **options):
    """L1 errors at time T of the solve from the exact mixture at t = 0, one per n."""
    flow = gaussian_flow(dim, kappa)
    errors = []
    for n in ns:
        grid = Grid.cube(half_width, n, dim)
        rho0 = grid.sample_field(lambda x: flow.density(0.0, x))
        sol = solve(flow.equation, grid, rho0, [0.0, T], **options)
        exact = grid.sample_field(lambda x: flow.density(T, x))
        errors.append(grid.integrate(np.abs(sol.density[-1] - exact)))
    return np.array(errors)


def porous_case(m, dim, confined):
    """(closed form, t0, T, half width of the box containing the support up to T).

    The box is 1.5 x the largest support radius (2 x in 3-D, whose coarse grids smear the front
    over more cells)."""
    if confined:
        exact, t0, T = ConfinedBarenblatt(m, dim), 0.0, 0.5
        radius = exact.support_radius(t0)        # the confined support shrinks
    else:
        exact, t0, T = Barenblatt(m, dim), 1.0, 2.0
        radius = exact.support_radius(T)
    return exact, t0, T, (2.0 if dim == 3 else 1.5) * radius


def porous_errors(m, dim, confined, ns, **options):
    """Relative L1 errors (error / mass) at T of the Barenblatt solves, one per n."""
    exact, t0, T, half_width = porous_case(m, dim, confined)
    errors = []
    for n in ns:
        grid = Grid.cube(half_width, n, dim)
        rho0 = grid.sample_field(lambda x: exact.density(t0, x))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # coarse grids smear the front; checked below
            sol = solve(exact.equation, grid, rho0, [t0, T], **options)
        assert sol.diagnostics["wall_mass_fraction"] < 1e-8, "the support reached the wall"
        reference = grid.sample_field(lambda x: exact.density(T, x))
        errors.append(grid.integrate(np.abs(sol.density[-1] - reference)) / exact.mass)
    return np.array(errors)
