import math

import numpy as np
import pytest

from _rounding import assert_same_to_rounding
from pdeflow.equations import FokkerPlanck, Heat, PorousMedium
from pdeflow.exact import GaussianMixture, GaussianMixtureFlow
from pdeflow.grid import Grid


@pytest.mark.parametrize("dim", [1, 2])
def test_energy_of_a_gaussian_matches_its_closed_form(dim):
    # E = D int rho log rho + kappa/2 int |x|^2 rho = -D d/2 log(2 pi e s^2) + kappa d s^2 / 2
    eq = FokkerPlanck(D=0.7, kappa=1.3, dim=dim)
    s = 0.8
    grid = Grid.cube(7.0, {1: 2000, 2: 300}[dim], dim)
    rho = grid.sample_field(GaussianMixture.isotropic([1.0], np.zeros((1, dim)), [s]).density)
    exact = -eq.D * dim / 2 * math.log(2 * math.pi * math.e * s ** 2) + eq.kappa * dim * s ** 2 / 2
    assert abs(eq.energy(rho, grid) - exact) < 1e-6


def test_stationary_gaussian_minimises_the_energy():
    eq = FokkerPlanck(D=0.5, kappa=1.0, dim=1)
    grid = Grid.cube(6.0, 2000, 1)
    energies = [eq.energy(grid.sample_field(
        GaussianMixture.isotropic([1.0], [[0.0]], [s]).density), grid) for s in (0.5, 0.7071, 0.9)]
    assert energies[1] < energies[0] and energies[1] < energies[2]


def test_score_velocity_round_trip_and_probability_flow_drift():
    eq = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
    rng = np.random.default_rng(0)
    x, s = rng.standard_normal((2, 10, 2))
    v = eq.velocity_from_score(s, x)
    np.testing.assert_allclose(eq.score_from_velocity(v, x), s)
    # alpha = 0 is the backward flow dY/dtau = -v
    np.testing.assert_allclose(eq.reverse_drift(s, x, alpha=0.0), -v)
    assert eq.reverse_noise(1.0) == pytest.approx(math.sqrt(2 * eq.D))


def test_log_density_rate_is_the_time_derivative_of_log_rho():
    eq = FokkerPlanck(D=0.4, kappa=0.9, dim=2)
    flow = GaussianMixtureFlow(eq, GaussianMixture.isotropic([0.4, 0.6], [[1.0, 0.0], [-1.0, 0.5]],
                                                             [0.5, 0.7]))
    x = np.random.default_rng(1).standard_normal((8, 2))
    t, dt, h = 0.3, 1e-5, 1e-4
    dq_dt = (np.log(flow.density(t + dt, x)) - np.log(flow.density(t - dt, x))) / (2 * dt)
    q = lambda y: np.log(flow.density(t, y))
    lap = sum((q(x + h * e) - 2 * q(x) + q(x - h * e)) / h ** 2 for e in np.eye(2))
    np.testing.assert_allclose(eq.log_density_rate(lap, flow.score(t, x), x), dq_dt, atol=1e-5)


def test_porous_pressure_and_its_inverse():
    eq = PorousMedium(m=2.5, D=1.0, kappa=0.0, dim=1)
    rho = np.linspace(0, 3, 7)
    np.testing.assert_allclose(eq.density_from_pressure(eq.pressure(rho)), rho, atol=1e-14)
    assert PorousMedium.dimension_aware(1.0, dim=2).m == 1.5


def test_porous_diffusivity_is_rho_times_second_derivative_of_F():
    """Lap(rho^m) = div(m rho^(m-1) grad rho): the diffusivity is rho F''(rho), checked by
    central differences of F' = porous_pressure."""
    from pdeflow.equations import porous_diffusivity, porous_pressure

    rho, h = np.linspace(0.2, 3.0, 9), 1e-5
    for m in [1.5, 2.0, 3.0]:
        second = (porous_pressure(rho + h, m) - porous_pressure(rho - h, m)) / (2 * h)
        np.testing.assert_allclose(porous_diffusivity(rho, m), rho * second, rtol=1e-8)


def test_whole_number_exponents_match_pow_to_rounding():
    """m = 2, 3 take a multiplication path (fast in the numba kernels); it must equal pow to
    rounding (pow is within an ulp of the exact power, a product of two doubles rounds once)."""
    from pdeflow.equations import porous_diffusivity, porous_pressure

    rho = np.random.default_rng(0).uniform(0.0, 5.0, 1000)
    for m in [2.0, 3.0, 2.5]:
        assert_same_to_rounding(porous_pressure(rho, m), m / (m - 1.0) * rho ** (m - 1.0), ulps=2)
        assert_same_to_rounding(porous_diffusivity(rho, m), m * rho ** (m - 1.0), ulps=2)


def test_velocity_needs_positive_density_for_the_linear_family():
    grid = Grid.cube(1.0, 8, 1)
    with pytest.raises(ValueError, match="rho"):
        Heat(D=1.0, dim=1).velocity(np.zeros(8), grid)
    with pytest.raises(ValueError, match="rho"):
        PorousMedium(m=2, dim=1).energy(-np.ones(8), grid)
