"""Targets, the epsilon estimator, regression and DSM against closed forms."""

import numpy as np
import pytest
import torch
from scipy.integrate import quad

from pdeflow.equations import FokkerPlanck
from pdeflow.exact import ConfinedBarenblatt, GaussianMixture, GaussianMixtureFlow, gaussian_moments
from pdeflow.learn import (ScoreMLP, TimeSliceTarget, VelocityMLP, barenblatt_target, field_error,
                           fit_dsm, fit_regression, gaussian_mixture_target, ou_coefficients,
                           particle_target)

EQ = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
MIX = GaussianMixture.isotropic([0.3, 0.7], [[-1.0, 0.0], [1.0, 0.5]], [0.3, 0.5])
FLOW = GaussianMixtureFlow(EQ, MIX)
SINGLE = GaussianMixtureFlow(EQ, GaussianMixture.isotropic([1.0], [[1.0, -0.5]], [0.4]))
zero = lambda t, x: np.zeros_like(x)


def _per_time(truth):
    """Vectorise truth(t: float, x) over a vector of times."""
    def field(t, x):
        out = np.empty_like(x)
        for tj in np.unique(t):
            sel = t == tj
            out[sel] = truth(float(tj), x[sel])
        return out
    return field


def test_epsilon_estimator_recovers_a_known_perturbation():
    # f = v + a x  =>  eps^2 = a^2 int_0^1 E_{rho_t}|x|^2 dt  (second moments of the mixture)
    a, target = 0.3, gaussian_mixture_target(FLOW, 0.0, 1.0, n_times=64)
    perturbed = _per_time(lambda t, x: FLOW.velocity(t, x) + a * x)

    def second_moment(t):
        m = FLOW.at(t)
        return sum(w * (np.trace(c) + mu @ mu) for w, mu, c in zip(m.weights, m.means, m.covariances))

    exact = a ** 2 * quad(second_moment, 0.0, 1.0)[0]
    est = field_error(perturbed, target, n=16384, seed=0)
    assert abs(est.eps2 - exact) < 4 * est.stderr
    assert est.stderr < 0.05 * exact  # the check has teeth
    assert field_error(_per_time(FLOW.velocity), target, n=1024).eps2 == 0.0


def test_ou_coefficients_agree_with_exact_gaussian_moments():
    for eq in (EQ, FokkerPlanck(D=0.3, kappa=0.0, dim=1)):
        t = torch.tensor([0.01, 0.5, 2.0], dtype=torch.float64)
        a, s = ou_coefficients(eq, t)
        for ti, ai, si in zip(t.tolist(), a, s):
            # a point mass at 1 moves to N(a_t, sigma_t^2)
            mean, cov = gaussian_moments(eq, np.ones(1), np.zeros((1, 1)), ti)
            assert float(ai) == pytest.approx(mean[0], rel=1e-13)
            assert float(si) ** 2 == pytest.approx(cov[0, 0], rel=1e-13)


def test_targets_sample_the_right_law():
    # Barenblatt: E|x|^2 of (1 - |x|^2/R^2)_+^p in d dims is R^2 d / (d + 2 p + 2)
    sol = ConfinedBarenblatt(2.0, 2)
    x = barenblatt_target(sol, 0.0, 1.0).sample(0.5, 40000, np.random.default_rng(0))
    r = sol.support_radius(0.5)
    assert np.mean((x ** 2).sum(1)) == pytest.approx(r ** 2 * 2 / (2 + 2 * 1 + 2), rel=0.02)
    assert np.all((x ** 2).sum(1) < r ** 2)
    pts = np.random.default_rng(1).standard_normal((3, 50, 2))
    batch = particle_target([0.0, 0.5, 1.0], pts, lambda t, x: -x, n_times=4).draw(40, 2)
    assert batch.x.shape == (40, 2) and set(batch.t) <= {0.0, 0.5, 1.0}
    np.testing.assert_array_equal(batch.v, -batch.x)


def test_regression_on_gaussian_fokker_planck_reaches_small_epsilon():
    target = gaussian_mixture_target(SINGLE, 0.0, 1.0)
    baseline = field_error(zero, target, n=4096, seed=5).eps2
    net = VelocityMLP(2, (32, 32), seed=1)
    result = fit_regression(net, target, steps=400, batch_size=128, n_train=4096, lr=1e-2,
                            n_eval=4096, seed=0)
    # measured eps^2 ~ 0.007 vs 0.78 for v = 0; require a relative error^2 below 3 %
    assert result.epsilon.eps2 < 0.03 * baseline
    assert result.losses[-1] < 0.1 * result.losses[0]


def test_dsm_on_a_single_gaussian_recovers_the_exact_score():
    target = gaussian_mixture_target(SINGLE, 0.1, 1.0, quantity="score")
    baseline = field_error(zero, target, n=4096, seed=5).eps2
    data = SINGLE.initial.sample(4096, 0)
    net = ScoreMLP(2, (32, 32), seed=1, dtype=torch.float64)
    result = fit_dsm(net, EQ, data, 0.1, 1.0, steps=400, lr=1e-2, score_target=target,
                     n_eval=4096, seed=0)
    # measured eps_s^2 ~ 0.04 vs 5.1 for s = 0; require below 3 % of the baseline
    assert result.epsilon.eps2 < 0.03 * baseline


def test_training_is_reproducible_from_the_seed():
    target = gaussian_mixture_target(SINGLE, 0.0, 1.0, n_times=4)
    runs = [fit_regression(VelocityMLP(2, (8,), seed=0), target, steps=5, batch_size=16,
                           n_train=64, n_eval=0, seed=3).losses for _ in range(2)]
    assert runs[0] == runs[1]


@pytest.mark.parametrize("call", [
    lambda: gaussian_mixture_target(FLOW, 1.0, 0.5),
    lambda: gaussian_mixture_target(FLOW, 0.0, 1.0, quantity="density"),
    lambda: TimeSliceTarget(None, None, 0.0, 1.0, n_times=1),
    lambda: gaussian_mixture_target(FLOW, 0.0, 1.0).draw(3, 0),
    lambda: particle_target([0.0, 1.0], np.zeros((3, 5, 2)), zero),
    lambda: fit_dsm(ScoreMLP(2, (8,)), EQ, np.zeros((5, 2)), 0.0, 1.0),
    lambda: fit_dsm(ScoreMLP(2, (8,)), EQ, np.zeros((5, 2)), 0.1, 1.0, residual_weight=1.0),
    lambda: fit_regression(VelocityMLP(2, (8,)), gaussian_mixture_target(FLOW, 0, 1), steps=0),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()
