"""Distances against closed forms: Bures W2, translates, 1-D quantile formulas, MMD and energy
distance between Gaussians, sliced W2 of a translate, flow-map error, density L1."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from scipy.stats import norm

from pdeflow.grid import Grid
from pdeflow.validation import density_l1, energy_distance, flow_map_error, gaussian_w2, memorisation, mmd2, sinkhorn_w2, sliced_w2, wasserstein1, wasserstein2

A = np.array([[1.0, 0.3], [0.3, 0.5]])
B = np.diag([0.4, 1.2])
MA, MB = np.zeros(2), np.array([1.0, 0.5])


def test_bures_formula_matches_one_dimensional_and_commuting_cases():
    assert gaussian_w2([0.0], [[4.0]], [1.0], [[1.0]]) == pytest.approx(math.sqrt(1 + 1), rel=1e-12)
    diag_a, diag_b = np.diag([1.0, 4.0]), np.diag([9.0, 1.0])
    expected = math.sqrt(1.0 + (1 - 3) ** 2 + (2 - 1) ** 2)
    assert gaussian_w2([0, 0], diag_a, [1, 0], diag_b) == pytest.approx(expected, rel=1e-12)


def test_exact_w2_between_gaussian_samples_converges_to_bures():
    # Plug-in W2 between 2-D samples: bias + noise measured ~0.02 at n = 1500 (3 repeats);
    # the tolerance 0.06 is ~5% of W2 = 1.266.
    rng = np.random.default_rng(0)
    values = [wasserstein2(rng.multivariate_normal(MA, A, 1500), rng.multivariate_normal(MB, B, 1500))
              for _ in range(3)]
    assert abs(np.mean(values) - gaussian_w2(MA, A, MB, B)) < 0.06


@given(st.integers(0, 10 ** 6), st.floats(-3, 3), st.floats(-3, 3))
def test_exact_w1_w2_of_a_translate_is_the_shift(seed, cx, cy):
    x = np.random.default_rng(seed).standard_normal((40, 2))
    shift = np.array([cx, cy])
    assert wasserstein2(x, x + shift) == pytest.approx(np.linalg.norm(shift), abs=1e-7)
    assert wasserstein1(x, x + shift) == pytest.approx(np.linalg.norm(shift), abs=1e-7)


@given(st.integers(0, 10 ** 6), st.integers(2, 60))
def test_one_dimensional_w1_w2_equal_the_quantile_formulas(seed, n):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(n), rng.exponential(size=n)
    xs, ys = np.sort(x), np.sort(y)
    assert wasserstein1(x[:, None], y[:, None]) == pytest.approx(np.mean(np.abs(xs - ys)), rel=1e-9)
    assert wasserstein2(x[:, None], y[:, None]) == pytest.approx(
        math.sqrt(np.mean((xs - ys) ** 2)), rel=1e-9)


def test_weighted_w1_of_two_diracs_masses():
    # mu = 0.25 d0 + 0.75 d1, nu = d1: W1 = 0.25, W2 = 0.5
    x, y = np.array([[0.0], [1.0]]), np.array([[1.0]])
    assert wasserstein1(x, y, weights_x=[0.25, 0.75]) == pytest.approx(0.25)
    assert wasserstein2(x, y, weights_x=[0.25, 0.75]) == pytest.approx(0.5)


def test_sinkhorn_overestimates_and_approaches_exact_w2_as_reg_shrinks():
    rng = np.random.default_rng(1)
    x, y = rng.multivariate_normal(MA, A, 60), rng.multivariate_normal(MB, B, 60)
    exact = wasserstein2(x, y)
    coarse, fine = sinkhorn_w2(x, y, reg=0.1), sinkhorn_w2(x, y, reg=0.03)
    assert coarse > fine > exact * (1 - 1e-6)
    # the entropic bias shrinks about linearly in reg (expect ~0.3 for reg 0.1 -> 0.03)
    assert fine - exact < 0.5 * (coarse - exact)


def test_sliced_w2_of_a_translate():
    # SW2^2(mu, mu + c) = E_theta (theta . c)^2 = |c|^2 / d; 4000 directions: rel. sd ~ 0.8 %.
    x = np.random.default_rng(2).standard_normal((100, 2))
    c = np.array([1.5, -2.0])
    sw = sliced_w2(x, x + c, n_projections=4000, seed=3)
    assert sw ** 2 == pytest.approx(np.dot(c, c) / 2, rel=0.04)


def _gaussian_mmd2(shift, sigma, bandwidth, d):
    """Population MMD^2 between N(0, s^2 I) and N(c, s^2 I), Gaussian kernel of width h."""
    s = bandwidth ** 2 + 2 * sigma ** 2
    return 2 * (bandwidth ** 2 / s) ** (d / 2) * (1 - math.exp(-shift ** 2 / (2 * s)))


@pytest.mark.parametrize("shift", [0.0, 0.7])
def test_unbiased_mmd2_matches_the_gaussian_closed_form(shift):
    rng = np.random.default_rng(4)
    est = [mmd2(rng.standard_normal((300, 2)), rng.standard_normal((300, 2)) + [shift, 0])
           for _ in range(20)]
    se = np.std(est, ddof=1) / math.sqrt(len(est))
    assert abs(np.mean(est) - _gaussian_mmd2(shift, 1.0, 1.0, 2)) < 4 * se
    if shift > 0:
        assert np.mean(est) > 10 * se  # separated from zero: the test has power


def test_mmd2_with_several_bandwidths_is_the_sum_of_the_single_ones():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((200, 3)), rng.standard_normal((150, 3)) + 0.3
    total = mmd2(x, y, [2.0, 0.5, 0.25])
    parts = sum(mmd2(x, y, h) for h in (2.0, 0.5, 0.25))
    assert abs(total - parts) < 1e-12 * abs(parts)
    with pytest.raises(ValueError, match="bandwidth"):
        mmd2(x, y, [1.0, -1.0])


def test_energy_distance_zero_for_identical_samples_and_matches_closed_form():
    x = np.random.default_rng(5).standard_normal((400, 1))
    assert energy_distance(x, x) == pytest.approx(0.0, abs=1e-12)
    c = 1.0  # N(0,1) vs N(c,1): 2 E|N(c,2)| - 2 E|N(0,2)|
    e_abs = lambda m, v: math.sqrt(2 * v / math.pi) * math.exp(-m * m / (2 * v)) + m * (1 - 2 * norm.cdf(-m / math.sqrt(v)))
    exact = 2 * e_abs(c, 2.0) - 2 * e_abs(0.0, 2.0)
    rng = np.random.default_rng(6)
    est = [energy_distance(rng.standard_normal((800, 1)), rng.standard_normal((800, 1)) + c)
           for _ in range(5)]
    assert np.mean(est) == pytest.approx(exact, rel=0.05)


def test_flow_map_error_and_density_l1():
    y = np.random.default_rng(7).standard_normal((100, 3))
    assert flow_map_error(y, y + [0.0, 3.0, 4.0]) == pytest.approx(5.0)
    grid = Grid.cube(10.0, 4000, 1)
    x = grid.axis_centers(0)
    l1 = density_l1(norm.pdf(x), norm.pdf(x, loc=1.0), grid)
    assert l1 == pytest.approx(2 * (2 * norm.cdf(0.5) - 1), rel=1e-6)


@pytest.mark.parametrize("call", [
    lambda: wasserstein2(np.zeros(5), np.zeros((5, 1))),
    lambda: wasserstein2(np.zeros((5, 2)), np.zeros((5, 3))),
    lambda: wasserstein1(np.full((5, 2), np.nan), np.zeros((5, 2))),
    lambda: wasserstein2(np.zeros((20, 1)), np.zeros((20, 1)), max_points=10),
    lambda: wasserstein2(np.zeros((2, 1)), np.zeros((2, 1)), weights_x=[0.2, 0.2]),
    lambda: mmd2(np.zeros((1, 2)), np.zeros((5, 2))),
    lambda: sliced_w2(np.zeros((3, 2)), np.zeros((3, 2)), n_projections=0),
    lambda: flow_map_error(np.zeros((3, 2)), np.zeros((4, 2))),
    lambda: density_l1(np.zeros(5), np.zeros(5), Grid.cube(1.0, 6, 1)),
    lambda: sinkhorn_w2(np.zeros((3, 2)), np.ones((3, 2)), reg=-1.0),
    lambda: sinkhorn_w2(np.zeros((3, 2)), np.ones((3, 2)), reg=1.0, max_iter=0),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_memorisation_separates_copies_from_fresh_samples():
    rng = np.random.default_rng(0)
    training, fresh = rng.standard_normal((2000, 2)), rng.standard_normal((2000, 2))
    copies = training[:500] + 1e-4 * rng.standard_normal((500, 2))
    memorised = memorisation(copies, training, fresh)
    assert memorised.median_ratio < 0.01 and memorised.fraction == 1.0
    # a generator that samples the target afresh: ratios scatter around 1 (training and fresh
    # are exchangeable), few below 1/3
    new = memorisation(rng.standard_normal((1000, 2)), training, fresh)
    print(f"fresh generator: median ratio {new.median_ratio:.3f}, fraction {new.fraction:.3f}")
    assert 0.85 < new.median_ratio < 1.15
    assert new.fraction < 0.25
    assert new.ratios.shape == (1000,)


def test_memorisation_bad_input():
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match="threshold"):
        memorisation(x + 1, x, x + 2, threshold=1.5)
    with pytest.raises(ValueError, match="training"):
        memorisation(x, np.zeros((4, 3)), x)
    with pytest.raises(ValueError, match="fresh"):
        memorisation(x, x + 1, x)
