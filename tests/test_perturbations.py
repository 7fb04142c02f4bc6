"""Perturbation fields: unit L2(rho_t dx dt) norm, measured the way networks are measured."""
import numpy as np
import pytest

from pdeflow.equations import FokkerPlanck
from pdeflow.exact import GaussianMixtureFlow
from pdeflow.grid import Grid
from pdeflow.learn import field_error, grid_solution_target
from pdeflow.problems import three_component_mixture
from pdeflow.solvers import GridSolution, GridVelocity
from pdeflow.study.perturbations import (FRONT_LEVEL, KINDS, TIME_DEPENDENT, l2_rho_norm,
                                         perturbation_field, perturbation_history,
                                         perturbed_solution, unit_perturbation)


@pytest.fixture(scope="module")
def solution():
    """The exact Fokker-Planck flow of the mixture sampled on a 2-D grid (no solver needed)."""
    equation = FokkerPlanck(D=1.0, kappa=1.0, dim=2)
    flow = GaussianMixtureFlow(equation, three_component_mixture(2))
    grid = Grid.cube(4.0, 40, 2)
    times = np.linspace(0.0, 1.0, 6)
    density = np.stack([grid.sample_field(lambda x: flow.density(t, x)) for t in times])
    velocity = np.stack([np.moveaxis(flow.velocity(t, grid.points()).reshape(grid.shape + (2,)),
                                     -1, 0) for t in times])
    return GridSolution(equation, grid, times, density, velocity, (), grid.integrate(density),
                        np.zeros(len(times)))


@pytest.mark.parametrize("kind", KINDS + TIME_DEPENDENT)
def test_unit_norm_converges_under_quadrature_refinement(solution, kind):
    w = unit_perturbation(kind, solution, seed=3)
    assert l2_rho_norm(w, solution) == pytest.approx(1.0, rel=1e-12)
    assert l2_rho_norm(w, solution, q=16) == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("kind", KINDS)
def test_field_error_of_the_perturbed_velocity_is_eps(solution, kind):
    # the Monte Carlo eps of pdeflow.learn (used for networks) agrees with the nominal eps
    eps = 0.2
    velocity = GridVelocity(perturbed_solution(solution, unit_perturbation(kind, solution, 1), eps))

    def model(t, x):
        out = np.empty_like(x)
        for ti in np.unique(t):
            out[t == ti] = velocity(ti, x[t == ti])
        return out

    target = grid_solution_target(solution, n_times=48)
    estimate = field_error(model, target, n=9600, seed=0)
    assert abs(estimate.eps2 - eps ** 2) < 4 * estimate.stderr + 0.03 * eps ** 2


def test_kinds_differ_by_seed_and_roughness(solution):
    grid = solution.grid
    a, b = perturbation_field("fourier-low", grid, 0), perturbation_field("fourier-low", grid, 1)
    assert not np.allclose(a, b)
    rough = perturbation_field("cell-noise", grid, 0)
    smooth = perturbation_field("gradient", grid, 0)
    roughness = lambda w: np.abs(np.diff(w, axis=1)).mean() / np.abs(w).mean()  # noqa: E731
    assert roughness(rough) > 5 * roughness(smooth)
    rotation = perturbation_field("rotation", grid, 0)
    x = grid.coordinates()
    assert np.allclose((rotation * x).sum(0), 0, atol=1e-12)      # w . x = 0: a rotation
    with pytest.raises(ValueError, match="kind"):
        perturbation_field("wiggle", grid, 0)


def _time_share(w, solution):
    """Share of eps^2 carried by each snapshot (cell-centre quadrature of int |w_k|^2 rho_k)."""
    per = np.array([solution.grid.integrate((wk ** 2).sum(0) * solution.density[k])
                    for k, wk in enumerate(w)])
    return per / per.sum()


def test_early_time_perturbation_sits_next_to_the_data(solution):
    w = unit_perturbation("early-time", solution, seed=2)
    assert w.shape == solution.velocity.shape
    share = _time_share(w, solution)
    # profile exp(-10 t / T) on 6 snapshots: the first carries (1 - e^-4) / (1 - e^-24) of eps^2
    assert share[0] > 0.98 and share[-1] < 1e-6
    raw = perturbation_history("early-time", solution, seed=2)
    base = perturbation_field("fourier-low", solution.grid, seed=2)
    np.testing.assert_allclose(raw[0], base, rtol=0, atol=0)   # at t_0 it is the smooth field
    eps = 0.3
    perturbed = perturbed_solution(solution, w, eps)
    np.testing.assert_allclose(perturbed.velocity - solution.velocity, eps * w, atol=1e-14)


def test_front_perturbation_lives_on_the_low_density_rim(solution):
    w = unit_perturbation("front", solution, seed=4)
    density = solution.density
    peak = density.reshape(len(density), -1).max(1)[:, None, None]
    outside_rim = density >= FRONT_LEVEL * peak
    assert np.all(np.abs(w).sum(1)[outside_rim] == 0)
    assert np.abs(w).sum(1)[~outside_rim].max() > 0
    with pytest.raises(ValueError, match="w_unit"):
        perturbed_solution(solution, w[:2], 0.1)
    with pytest.raises(ValueError, match="kind"):
        perturbation_history("fourier-low", solution, 0)
