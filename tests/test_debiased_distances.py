"""The debiased W2^2 estimators: the Sinkhorn divergence, the 64 x 64 histogram W2 and the
same-law (plug-in) bias. Fast: exact identities on tiny clouds (translation gives |d|^2, x = y
gives 0, a one-bin shift gives h^2) and the ValueErrors. Slow: two samples of one law give ~0
after subtracting the measured bias, and a known Gaussian shift |dmu|^2 ~ 0.005 is recovered."""

import math

import numpy as np
import pytest

from pdeflow.validation import (gaussian_w2, histogram_w2sq, same_law_bias, sinkhorn_divergence,
                                wasserstein)

RNG = np.random.default_rng(0)
X = 0.2 * RNG.standard_normal((40, 2))
Y = 0.2 * RNG.standard_normal((35, 2)) + [0.1, 0.0]


def test_sinkhorn_divergence_of_a_translate_is_the_squared_shift():
    d = np.array([0.05, -0.03])
    for eps in (0.01, 0.1, 10.0):      # exact for every eps: the plan is translation-equivariant
        assert sinkhorn_divergence(X, X + d, eps) == pytest.approx((d ** 2).sum(), rel=1e-6)
    assert sinkhorn_divergence(X, X, 0.01) == pytest.approx(0.0, abs=1e-9)


def test_sinkhorn_divergence_is_symmetric_and_tends_to_w2_and_to_the_means():
    s = [sinkhorn_divergence(X, Y, eps) for eps in (1.0, 0.1, 0.01)]
    assert sinkhorn_divergence(Y, X, 0.1) == pytest.approx(s[1], rel=1e-6)
    w2sq = wasserstein(X, Y) ** 2
    assert abs(s[2] - w2sq) < abs(s[1] - w2sq) < abs(s[0] - w2sq)   # eps -> 0: W2^2
    means = ((X.mean(0) - Y.mean(0)) ** 2).sum()
    assert sinkhorn_divergence(X, Y, 1e4) == pytest.approx(means, rel=1e-3)  # eps -> inf


def test_histogram_w2_of_a_one_bin_shift_is_the_squared_bin_width():
    pts = np.random.default_rng(1).uniform(-1.5, 1.5, (300, 2))
    h = 4.0 / 64
    res = histogram_w2sq(pts, pts + [h, 0.0])
    assert res.w2sq == pytest.approx(h * h, rel=1e-9)
    assert res.outside_x == res.outside_y == 0.0 and res.bins == 64
    assert histogram_w2sq(pts, pts).w2sq == pytest.approx(0.0, abs=1e-12)


def test_histogram_w2_drops_and_counts_outside_points():
    pts = np.random.default_rng(2).uniform(-1.0, 1.0, (200, 2))
    far = np.vstack([pts[:198], [[5.0, 0.0], [0.0, -3.0]]])
    res = histogram_w2sq(pts, far, max_outside=0.05)
    assert res.outside_y == pytest.approx(0.01) and res.outside_x == 0.0
    with pytest.raises(ValueError, match="outside"):
        histogram_w2sq(pts, far, max_outside=0.005)


def test_same_law_bias_and_subtract():
    draw = lambda n, rng: rng.standard_normal((n, 2))  # noqa: E731
    b = same_law_bias(lambda x, y: wasserstein(x, y) ** 2, draw, 30, draws=4, seed=3)
    assert b.values.shape == (4,) and b.mean == pytest.approx(b.values.mean())
    assert b.sd == pytest.approx(b.values.std(ddof=1)) and b.mean > 0
    assert b.subtract(b.mean + 0.25) == pytest.approx(0.25)
    again = same_law_bias(lambda x, y: wasserstein(x, y) ** 2, draw, 30, draws=4, seed=3)
    assert np.array_equal(b.values, again.values)


@pytest.mark.parametrize("call", [
    lambda: sinkhorn_divergence(X, Y, 0.0), lambda: sinkhorn_divergence(X, Y, -1.0),
    lambda: sinkhorn_divergence(X, Y, math.nan), lambda: sinkhorn_divergence(X, Y, math.inf),
    lambda: sinkhorn_divergence(X, Y[:, :1], 0.1), lambda: sinkhorn_divergence(X[:, 0], Y, 0.1),
    lambda: sinkhorn_divergence(np.vstack([X, [[math.nan, 0.0]]]), Y, 0.1),
    lambda: histogram_w2sq(np.zeros((5, 3)), np.zeros((5, 3))),
    lambda: histogram_w2sq(X, Y, bins=0), lambda: histogram_w2sq(X, Y, box=(1.0, -1.0)),
    lambda: histogram_w2sq(X, Y, box=(-1.0, math.inf)),
    lambda: histogram_w2sq(X, np.vstack([Y, [[math.inf, 0.0]]])),
    lambda: same_law_bias(lambda x, y: 0.0, lambda n, r: np.zeros((n, 2)), 0),
    lambda: same_law_bias(lambda x, y: 0.0, lambda n, r: np.zeros((n, 2)), 5, draws=1),
    lambda: same_law_bias(lambda x, y: math.nan, lambda n, r: np.zeros((n, 2)), 5),
])
def test_bad_input_raises(call):
    with pytest.raises(ValueError):
        call()


# ---------------------------------------------------------------------------------------------
# slow: the bias on real sample sizes
# ---------------------------------------------------------------------------------------------
SD = 0.17             # the scale of the mixture components at t_min in docs/ode_vs_sde.md
K = 4.0               # allowed multiple of the measured spread of one draw


def _gauss(mean):
    return lambda n, rng: mean + SD * rng.standard_normal((n, 2))


ESTIMATORS = {
    "exact": (lambda x, y: wasserstein(x, y) ** 2, 2000),
    "sinkhorn": (lambda x, y: sinkhorn_divergence(x, y, 0.01, tol=1e-5), 400),
    "histogram": (lambda x, y: histogram_w2sq(x, y).w2sq, 20000),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", ESTIMATORS)
def test_two_samples_of_one_law_give_zero_after_debiasing(name):
    dist, n = ESTIMATORS[name]
    bias = same_law_bias(dist, _gauss(np.zeros(2)), n, draws=5, seed=10)
    fresh = same_law_bias(dist, _gauss(np.zeros(2)), n, draws=3, seed=11)
    assert bias.mean > 0
    for value in fresh.values:
        assert abs(bias.subtract(value)) <= K * bias.sd


@pytest.mark.slow
@pytest.mark.parametrize("name", ESTIMATORS)
def test_a_known_shift_is_recovered(name):
    dist, n = ESTIMATORS[name]
    dmu = np.array([0.06, 0.04])                       # |dmu|^2 = 0.0052
    truth = gaussian_w2(np.zeros(2), SD ** 2 * np.eye(2), dmu, SD ** 2 * np.eye(2)) ** 2
    assert truth == pytest.approx((dmu ** 2).sum())
    bias = same_law_bias(dist, _gauss(np.zeros(2)), n, draws=5, seed=12)
    rng = np.random.default_rng(13)
    values = [bias.subtract(dist(_gauss(np.zeros(2))(n, rng), _gauss(dmu)(n, rng)))
              for _ in range(3)]
    # W2^2(x, x' + d) = W2^2(x, x') + |d|^2 - 2 d.(mean x - mean x') for any clouds, so the
    # shifted pair carries one more fluctuation than the same-law pair: sd 2 |d| SD sqrt(2 / n)
    cross = 2 * np.linalg.norm(dmu) * SD * math.sqrt(2.0 / n)
    # the histogram moves each point to its bin centre (variance h^2 / 6 per 2-D point)
    slack = (4.0 / 64) ** 2 / 6 if name == "histogram" else 0.0
    assert abs(np.mean(values) - truth) <= K * (bias.sd + cross) + slack
