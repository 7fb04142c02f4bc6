"""The memorisation limit: the exact empirical score returns the training set, a smoothed one
does not; the epsilon quadrature against closed forms; input checks."""
import math

import numpy as np
import pytest

from pdeflow.equations import FokkerPlanck, PorousMedium
from pdeflow.exact import GaussianMixture, GaussianMixtureFlow
from pdeflow.study.memorisation_limit import memorisation_point, velocity_l2_error

EQ = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
TARGET = GaussianMixture.isotropic([0.6, 0.4], [[-0.8, 0.0], [0.8, 0.2]], [0.3, 0.4])


def test_exact_empirical_score_returns_the_training_set():
    point = memorisation_point(EQ, TARGET, 60, 0.0, T=2.0, t_min=1e-5, n_generate=150, seed=1)
    print(point)
    assert point.eps_empirical == 0.0
    assert point.median_ratio < 0.1 and point.fraction > 0.9


def test_smoothed_empirical_score_generates_new_points():
    point = memorisation_point(EQ, TARGET, 60, 0.3, T=2.0, t_min=1e-5, n_generate=150, seed=1)
    exact = memorisation_point(EQ, TARGET, 60, 0.0, T=2.0, t_min=1e-5, n_generate=150, seed=1)
    print(point)
    assert point.median_ratio > 0.6 and point.fraction < 0.3
    # far from the empirical optimum, much closer to the truth than the memorising optimum
    assert point.eps_empirical > 0.5 * exact.eps_truth
    assert point.eps_truth < 0.2 * exact.eps_truth


def test_velocity_l2_error_quadrature():
    truth = GaussianMixtureFlow(EQ, TARGET)
    zero = velocity_l2_error(truth.velocity, truth.velocity, truth, 0.01, 1.0)
    assert zero == 0.0
    # a constant difference c: eps = |c| sqrt(T - t_min), exact for the trapezoid rule
    shifted = lambda t, x: truth.velocity(t, x) + np.array([0.3, -0.4])
    eps = velocity_l2_error(shifted, truth.velocity, truth, 0.01, 1.0, n_times=5, n_points=10)
    assert eps == pytest.approx(0.5 * math.sqrt(0.99), rel=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="n_train"):
        memorisation_point(EQ, TARGET, 1, 0.0)
    with pytest.raises(ValueError, match="bandwidth"):
        memorisation_point(EQ, TARGET, 10, -0.1)
    with pytest.raises(ValueError, match="t_min"):
        memorisation_point(EQ, TARGET, 10, 0.0, T=1.0, t_min=2.0)
    with pytest.raises(ValueError, match="equation"):
        memorisation_point(PorousMedium(m=2.0, dim=2), TARGET, 10, 0.0)
