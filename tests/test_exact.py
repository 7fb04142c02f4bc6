"""Closed forms checked against the PDE itself (finite differences) and against each other."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from _rounding import assert_same_to_rounding

from pdeflow.equations import FokkerPlanck, Heat, PorousMedium
from pdeflow.exact import (Barenblatt, ConfinedBarenblatt, GaussianMixture, GaussianMixtureFlow,
                           porous_stationary_level, truncated_power_integral)
from pdeflow.grid import Grid


def pde_residual(density, velocity, t, x, dt=1e-5, h=1e-4):
    """d_t rho + div(rho v) at points x by central differences (should vanish)."""
    d = x.shape[1]
    drho_dt = (density(t + dt, x) - density(t - dt, x)) / (2 * dt)
    div = np.zeros(len(x))
    for i in range(d):
        e = np.zeros(d)
        e[i] = h
        flux_plus = density(t, x + e) * velocity(t, x + e)[:, i]
        flux_minus = density(t, x - e) * velocity(t, x - e)[:, i]
        div += (flux_plus - flux_minus) / (2 * h)
    return drho_dt + div, np.abs(drho_dt).max()


def mixture(dim, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((2, dim, dim))
    covs = 0.3 * np.eye(dim) + 0.1 * a @ np.swapaxes(a, -1, -2)
    return GaussianMixture([0.3, 0.7], rng.standard_normal((2, dim)), covs)


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("kappa", [0.0, 0.7])
def test_gaussian_mixture_solves_fokker_planck(dim, kappa):
    eq = FokkerPlanck(D=0.4, kappa=kappa, dim=dim)
    flow = GaussianMixtureFlow(eq, mixture(dim))
    x = np.random.default_rng(1).standard_normal((20, dim))
    residual, scale = pde_residual(flow.density, flow.velocity, 0.5, x)
    assert np.abs(residual).max() < 1e-5 * max(scale, 1.0)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_single_gaussian_flow_map_follows_velocity(dim):
    eq = FokkerPlanck(D=0.5, kappa=1.0, dim=dim)
    flow = GaussianMixtureFlow(eq, GaussianMixture([1.0], mixture(dim).means[:1],
                                                   mixture(dim).covariances[:1]))
    x0 = np.random.default_rng(2).standard_normal((10, dim))
    t, dt = 0.6, 1e-5
    dY = (flow.flow_map(t + dt, x0) - flow.flow_map(t - dt, x0)) / (2 * dt)
    np.testing.assert_allclose(dY, flow.velocity(t, flow.flow_map(t, x0)), atol=1e-7)
    # composition: Y(t; s, Y(s; 0, x)) = Y(t; 0, x)
    np.testing.assert_allclose(flow.flow_map(t, flow.flow_map(0.2, x0), t0=0.2),
                               flow.flow_map(t, x0), atol=1e-12)


def test_score_is_gradient_of_log_density():
    mix = mixture(2)
    x = np.random.default_rng(3).standard_normal((15, 2))
    h = 1e-5
    grad = np.stack([(mix.log_density(x + h * e) - mix.log_density(x - h * e)) / (2 * h)
                     for e in np.eye(2)], -1)
    np.testing.assert_allclose(mix.score(x), grad, atol=1e-7)


def test_mixture_mass_and_sampling_moments():
    mix = mixture(2)
    grid = Grid.cube(8.0, 200, 2)
    assert abs(grid.integrate(grid.sample_field(mix.density)) - 1.0) < 1e-6
    samples = mix.sample(200_000, seed=4)
    mean = (mix.weights[:, None] * mix.means).sum(0)
    assert np.abs(samples.mean(0) - mean).max() < 0.02


@pytest.mark.parametrize("m", [1.5, 2.0, 3.0])
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_barenblatt_solves_porous_medium(m, dim):
    sol = Barenblatt(m, dim, C=1.0)
    t = 1.3
    rng = np.random.default_rng(5)
    directions = rng.standard_normal((20, dim))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    x = directions * rng.uniform(0.05, 0.9, (20, 1)) * sol.support_radius(t)
    velocity = lambda s, y: sol.velocity(s, y)
    residual, scale = pde_residual(sol.density, velocity, t, x)
    assert np.abs(residual).max() < 1e-5 * scale
    # v = -grad p with p the equation's pressure (physics defined once)
    h = 1e-6
    p = lambda y: sol.equation.pressure(sol.density(t, y))
    grad_p = np.stack([(p(x + h * e) - p(x - h * e)) / (2 * h) for e in np.eye(dim)], -1)
    np.testing.assert_allclose(sol.velocity(t, x), -grad_p, atol=1e-6)


@pytest.mark.parametrize("m", [1.5, 2.0, 3.0])
@pytest.mark.parametrize("dim", [1, 2])
def test_confined_barenblatt_solves_and_relaxes(m, dim):
    sol = ConfinedBarenblatt(m, dim, C=1.0, tau0=0.5)
    t = 0.4
    x = np.linspace(-0.8, 0.8, 7)[:, None] * sol.support_radius(t) * np.ones((1, dim)) / np.sqrt(dim)
    residual, scale = pde_residual(sol.density, sol.velocity, t, x)
    assert np.abs(residual).max() < 1e-5 * scale
    # radial flow map follows the velocity
    dt = 1e-6
    dY = (sol.flow_map(t + dt, x, 0.1) - sol.flow_map(t - dt, x, 0.1)) / (2 * dt)
    np.testing.assert_allclose(dY, sol.velocity(t, sol.flow_map(t, x, 0.1)), atol=1e-6)
    # long-time limit is the equation's own stationary state of equal mass
    x_far = np.linspace(-1, 1, 9)[:, None] * np.ones((1, dim))
    np.testing.assert_allclose(sol.density(8.0, x_far),
                               sol.equation.stationary_density(x_far, sol.mass), atol=1e-8)


@given(st.sampled_from([1, 2, 3]), st.floats(1.1, 4.0), st.floats(0.1, 5.0))
def test_barenblatt_mass_formula_matches_quadrature(dim, m, mass):
    sol = Barenblatt.from_mass(m, dim, mass)
    assert abs(sol.mass - mass) < 1e-10 * mass
    radius = sol.support_radius(1.0)
    n = {1: 4000, 2: 400, 3: 80}[dim]
    grid = Grid.cube(radius * 1.01, n, dim)
    quad = grid.integrate(grid.sample_field(lambda x: sol.density(1.0, x)))
    assert abs(quad - mass) < {1: 1e-4, 2: 2e-3, 3: 3e-2}[dim] * mass


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_stationary_states_have_the_requested_mass_and_no_velocity(dim):
    grid = Grid.cube(4.0, {1: 400, 2: 120, 3: 40}[dim], dim)
    for eq in (FokkerPlanck(D=0.5, kappa=1.0, dim=dim),
               PorousMedium(m=2.0, D=1.0, kappa=1.0, dim=dim)):
        rho = grid.sample_field(lambda x: eq.stationary_density(x, mass=2.5))
        assert abs(grid.integrate(rho) - 2.5) < 5e-2
        if eq.is_linear:  # smooth: the discrete velocity vanishes to O(h^2)
            assert np.abs(eq.velocity(rho, grid)).max() < 5e-2


def test_truncated_power_integral_in_1d():
    # int_{-1}^{1} (1 - x^2) dx = 4/3
    assert abs(truncated_power_integral(1.0, 1.0, 1.0, 1) - 4 / 3) < 1e-14
    eq = PorousMedium(m=2.0, D=1.0, kappa=1.0, dim=1)
    level = porous_stationary_level(eq, 1.0)
    # rho = (C - x^2/2)/2 on |x| < sqrt(2C): mass = (2/3) (2C)^{3/2} / 2
    assert abs((2 / 3) * (2 * level) ** 1.5 / 2 - 1.0) < 1e-12


@pytest.mark.parametrize("bad, match", [
    (lambda: PorousMedium(m=1.0, dim=1), "m must"),
    (lambda: FokkerPlanck(D=-1.0, dim=1), "D must"),
    (lambda: Heat(D=1.0, kappa=1.0, dim=1), "kappa"),
    (lambda: FokkerPlanck(D=1.0, dim=4), "dim"),
    (lambda: Heat(D=1.0, dim=1).stationary_density(np.zeros((1, 1))), "kappa"),
    (lambda: GaussianMixture([0.5, 0.6], np.zeros((2, 1)), np.ones((2, 1, 1))), "sum to 1"),
    (lambda: GaussianMixtureFlow(PorousMedium(m=2, dim=1), GaussianMixture([1.0], [[0.0]], [[[1.0]]])),
     "equation"),
    (lambda: Grid((0, 0), (1,), (4, 4)), "same length"),
])
def test_bad_input_names_the_parameter(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


def test_isotropic_mixture_fast_path_matches_scipy():
    """Isotropic components take a matrix-product path; check it against scipy's Gaussian pdf
    (density) and central differences of that reference (score)."""
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(11)
    means, stds = rng.standard_normal((40, 2)), rng.uniform(0.05, 0.5, 40)
    mix = GaussianMixture.isotropic(np.full(40, 1 / 40), means, stds)
    assert mix._isotropic_variances is not None
    x = rng.standard_normal((25, 2))

    def reference(points):
        return sum(multivariate_normal(m, s ** 2 * np.eye(2)).pdf(points)
                   for m, s in zip(means, stds)) / 40

    np.testing.assert_allclose(mix.density(x), reference(x), rtol=1e-12)
    h = 1e-6
    fd = np.stack([(np.log(reference(x + h * e)) - np.log(reference(x - h * e))) / (2 * h)
                   for e in np.eye(2)], axis=1)
    np.testing.assert_allclose(mix.score(x), fd, rtol=1e-6, atol=1e-6)
    anisotropic = GaussianMixture([1.0], [[0.0, 0.0]], [[[1.0, 0.2], [0.2, 1.0]]])
    assert anisotropic._isotropic_variances is None


def test_logsumexp_matches_scipy_including_empty_rows():
    from scipy.special import logsumexp

    from pdeflow.exact import _logsumexp

    rng = np.random.default_rng(5)
    a = rng.normal(0, 300, (50, 7))                 # spreads where exp alone over/underflows
    a[3] = -np.inf                                  # a row of zero weights
    a[4, :3] = -np.inf
    a[5, 2] = a[5, 4] = a[5].max() + 1               # a tied maximum
    a[6, 1] = np.inf
    for keepdims in (False, True):
        for axis in (0, 1):
            ours, theirs = _logsumexp(a, axis, keepdims), logsumexp(a, axis=axis, keepdims=keepdims)
            # the same operations as scipy's algorithm (one rounding apart at most on any CPU;
            # equal on this one), the shape included
            assert ours.shape == theirs.shape
            assert_same_to_rounding(ours, theirs, np.maximum(np.abs(theirs), 1.0), ulps=4)


@pytest.mark.parametrize("structure", ["isotropic", "diagonal", "full"])
def test_evolved_mixture_equals_the_checked_constructor(structure):
    """evolve() skips the constructor's checks; it must build exactly what they would."""
    rng = np.random.default_rng(2)
    if structure == "isotropic":
        mix = GaussianMixture.isotropic([0.4, 0.6], rng.standard_normal((2, 3)), [0.3, 0.7])
    elif structure == "diagonal":
        mix = GaussianMixture([0.4, 0.6], rng.standard_normal((2, 3)),
                              np.stack([np.diag(rng.uniform(0.1, 1, 3)) for _ in range(2)]))
    else:
        mix = mixture(3)
    for equation in (Heat(D=0.7, dim=3), FokkerPlanck(D=0.5, kappa=1.3, dim=3)):
        evolved = mix.evolve(equation, 0.37)
        checked = GaussianMixture(evolved.weights, evolved.means, evolved.covariances, mix.mass)
        for name in ("weights", "means", "covariances", "_isotropic_variances",
                     "_diagonal_variances"):
            ours, theirs = getattr(evolved, name), getattr(checked, name)
            assert (ours is None) == (theirs is None), name
            if ours is not None:
                assert_same_to_rounding(ours, theirs, ulps=4)
        x = rng.standard_normal((10, 3))
        ours, theirs = evolved.score(x), checked.score(x)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-13 * np.abs(theirs).max())
