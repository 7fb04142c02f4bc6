"""Kernel density estimates: normalisation, gradient, convergence rate, porous velocity."""
import numpy as np
import pytest
from scipy.stats import norm

from pdeflow.exact import ConfinedBarenblatt
from pdeflow.grid import Grid
from pdeflow.learn import GaussianKDE, barenblatt_target, bandwidth_factor, porous_velocity
from pdeflow.validation import fit_power_law


@pytest.mark.parametrize("rule", ["scott", "silverman", "cv", 0.5])
def test_kde_integrates_to_its_mass(rule):
    pts = np.random.default_rng(0).standard_normal((300, 2)) * [1.0, 0.5]
    grid = Grid.cube(6.0, 120, 2)
    kde = GaussianKDE(pts, rule, mass=2.5)
    assert grid.integrate(grid.sample_field(kde.density)) == pytest.approx(2.5, rel=1e-6)


def test_kde_gradient_matches_finite_differences():
    kde = GaussianKDE(np.random.default_rng(1).standard_normal((200, 2)))
    x = np.random.default_rng(2).standard_normal((5, 2))
    h = 1e-5
    fd = np.stack([(kde.density(x + h * e) - kde.density(x - h * e)) / (2 * h) for e in np.eye(2)], 1)
    np.testing.assert_allclose(kde.gradient(x), fd, rtol=1e-6, atol=1e-10)


def test_kde_mise_converges_at_the_expected_rate():
    # MISE of a Gaussian KDE with the n^{-1/5} bandwidth decays like n^{-4/5} in 1-D.
    xs = np.linspace(-6, 6, 601)[:, None]
    dx = xs[1, 0] - xs[0, 0]
    ns = [200, 800, 3200]
    mise = [np.mean([((GaussianKDE(np.random.default_rng(s).standard_normal((n, 1)), "silverman")
                       .density(xs) - norm.pdf(xs[:, 0])) ** 2).sum() * dx for s in range(8)])
            for n in ns]
    fit = fit_power_law(ns, mise)
    assert -1.0 < fit.rate < -0.55, fit


def test_porous_velocity_from_samples_approaches_the_exact_velocity():
    sol = ConfinedBarenblatt(2.0, 1)
    target = barenblatt_target(sol, 0.0, 1.0)
    q = np.linspace(-0.6, 0.6, 25)[:, None] * sol.support_radius(0.3)
    truth = sol.velocity(0.3, q)
    errors = []
    for n in (500, 32000):
        rms = []
        for seed in range(3):
            x = target.sample(0.3, n, np.random.default_rng([n, seed]))
            v = porous_velocity(sol.equation, GaussianKDE(x, "silverman", mass=sol.mass), q)
            rms.append(np.sqrt(np.mean((v - truth) ** 2)))
        errors.append(np.mean(rms))
    # measured mean RMS error ~0.27 at n = 500 and ~0.09 at n = 32000 (|v| up to 0.4):
    # slow (a derivative of a KDE), but decreasing
    assert errors[1] < 0.6 * errors[0]


@pytest.mark.parametrize("call", [
    lambda: GaussianKDE(np.zeros(10)),
    lambda: GaussianKDE(np.ones((10, 2))),
    lambda: GaussianKDE(np.random.default_rng(0).standard_normal((10, 2)), "best"),
    lambda: bandwidth_factor(np.random.default_rng(0).standard_normal((10, 2)), -1.0),
    lambda: GaussianKDE(np.random.default_rng(0).standard_normal((10, 2))).density(np.zeros((3, 1))),
    lambda: porous_velocity(ConfinedBarenblatt(2.0, 2).equation,
                            GaussianKDE(np.random.default_rng(0).standard_normal((10, 1))), np.zeros((2, 1))),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()
