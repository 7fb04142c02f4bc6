"""The 2-D toy data sets lie where they should; the empirical truth is the exact mixture flow."""

import math

import numpy as np
import pytest

from pdeflow.equations import FokkerPlanck
from pdeflow.exact import GaussianMixture, GaussianMixtureFlow, ou_transition
from pdeflow.learn.toy_targets import (EmpiricalFlow, checkerboard, empirical_flow, ring_mixture,
                                       toy_sampler, two_circles)

EQ = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
N = 20000


def _within(count, n, p, sds=5.0):
    """A binomial count within `sds` standard deviations of n p."""
    return abs(count - n * p) < sds * math.sqrt(n * p * (1 - p))


def test_two_circles_points_lie_on_the_circles_in_equal_shares_and_uniform_angles():
    x = two_circles(N, 0, radii=(0.5, 1.0))
    r = np.linalg.norm(x, axis=1)
    on_inner, on_outer = np.isclose(r, 0.5, atol=1e-12), np.isclose(r, 1.0, atol=1e-12)
    assert np.all(on_inner | on_outer)
    assert _within(on_inner.sum(), N, 0.5)
    angle = np.arctan2(x[:, 1], x[:, 0])
    counts = np.histogram(angle, bins=8, range=(-np.pi, np.pi))[0]
    assert all(_within(c, N, 1 / 8) for c in counts)


def test_two_circles_noise_is_radial_with_the_given_sd():
    x = two_circles(N, 1, radii=(2.0,), noise=0.05)
    dev = np.linalg.norm(x, axis=1) - 2.0
    assert abs(dev.mean()) < 5 * 0.05 / math.sqrt(N)
    assert abs(dev.std() / 0.05 - 1) < 0.03


def test_checkerboard_points_are_on_dark_squares_each_equally_often():
    x = checkerboard(N, 2, squares=4, half_width=1.0)
    assert np.all(np.abs(x) <= 1.0)
    cell = np.floor((x + 1.0) / 0.5).astype(int)
    assert np.all(cell.sum(1) % 2 == 0)                     # dark: i + j even
    squares, counts = np.unique(cell[:, 0] * 4 + cell[:, 1], return_counts=True)
    assert len(squares) == 8 and all(_within(c, N, 1 / 8) for c in counts)
    assert abs(x.mean(0)).max() < 5 * 0.6 / math.sqrt(N)   # balanced about the origin


def test_toy_samplers_are_reproducible_and_seed_dependent():
    for name in ("gaussian_mixture", "two_circles", "checkerboard"):
        sample, _ = toy_sampler(name)
        assert np.array_equal(sample(50, 3), sample(50, 3))
        assert not np.array_equal(sample(50, 3), sample(50, 4))
        assert sample(50, 3).shape == (50, 2)


def test_ring_mixture_has_equal_weights_and_means_on_the_circle():
    mix = ring_mixture(k=6, radius=1.5, std=0.2)
    assert np.allclose(mix.weights, 1 / 6)
    assert np.allclose(np.linalg.norm(mix.means, axis=1), 1.5)
    assert np.allclose(mix.covariances, 0.04 * np.eye(2))


@pytest.mark.parametrize("call", [
    lambda: two_circles(0, 0), lambda: two_circles(10, 0, radii=(-1.0,)),
    lambda: two_circles(10, 0, noise=-0.1), lambda: checkerboard(10, 0, squares=3),
    lambda: checkerboard(10, 0, half_width=0.0), lambda: ring_mixture(k=0),
    lambda: toy_sampler("moons"), lambda: EmpiricalFlow(EQ, np.zeros((3, 3)), 0.1),
    lambda: EmpiricalFlow(EQ, np.zeros((3, 2)), 0.0),
])
def test_bad_input_raises(call):
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize("t", [0.0, 0.02, 0.3, 5.0])
def test_empirical_flow_score_equals_the_general_mixture_flow(t):
    ref = two_circles(200, 5)
    fast, general = EmpiricalFlow(EQ, ref, 0.05), empirical_flow(EQ, ref, 0.05)
    x = np.random.default_rng(6).normal(size=(300, 2))
    assert np.allclose(fast.score(t, x), general.score(t, x), rtol=1e-10, atol=1e-10)
    assert np.allclose(fast.velocity(t, x), general.velocity(t, x), rtol=1e-10, atol=1e-10)


def test_empirical_flow_samples_have_the_exact_moments():
    ref = checkerboard(500, 7)
    flow, t, n = EmpiricalFlow(EQ, ref, 0.1), 0.3, 40000
    x = flow.sample(t, n, 8)
    decay, var = ou_transition(EQ, t)
    mean = decay * ref.mean(0)
    cov = decay ** 2 * (np.cov(ref.T, bias=True) + 0.01 * np.eye(2)) + var * np.eye(2)
    assert np.all(np.abs(x.mean(0) - mean) < 5 * np.sqrt(np.diag(cov) / n))
    assert np.allclose(np.cov(x.T), cov, atol=5 * np.sqrt(2 / n) * np.diag(cov).max())


def test_empirical_flow_of_a_mixture_sample_approaches_its_score():
    # the stand-in truth for targets without a density: close to the exact flow at t >= t_min
    mix = ring_mixture()
    exact = GaussianMixtureFlow(EQ, mix)
    x = exact.at(0.05).sample(2000, 9)
    errors = [np.mean(((EmpiricalFlow(EQ, mix.sample(m, 10), 0.01).score(0.05, x)
                        - exact.score(0.05, x)) ** 2).sum(1)) for m in (250, 4000)]
    scale = np.mean((exact.score(0.05, x) ** 2).sum(1))
    assert errors[1] < errors[0] / 4 and errors[1] < 0.02 * scale


def test_gaussian_mixture_target_has_its_closed_form():
    sample, mix = toy_sampler("gaussian_mixture")
    assert isinstance(mix, GaussianMixture)
    x = sample(N, 11)
    assert np.allclose(x.mean(0), 0, atol=5 * 0.72 / math.sqrt(N))
