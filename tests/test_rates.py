import numpy as np
import pytest

from pdeflow.validation.rates import fit_rate


def test_recovers_a_known_slope_from_noiseless_data():
    eps = np.geomspace(1e-3, 1e-1, 6)
    fit = fit_rate(eps, 2.5 * eps ** 0.7)
    assert fit.slope == pytest.approx(0.7, abs=1e-12)
    assert fit.prefactor == pytest.approx(2.5, rel=1e-10)


def test_interval_covers_the_true_slope_at_its_stated_rate():
    # 400 synthetic studies with log-normal scatter: the 90% interval must cover the true slope
    # in 90% of them (binomial sd 1.5%: accept 85%-95%).
    rng = np.random.default_rng(0)
    eps = np.repeat(np.geomspace(1e-3, 1e-1, 5), 3)
    covered = [fit_rate(eps, 0.8 * eps ** 1.3 * np.exp(0.2 * rng.standard_normal(eps.size)),
                        confidence=0.9).interval for _ in range(400)]
    rate = np.mean([lo <= 1.3 <= hi for lo, hi in covered])
    assert 0.85 <= rate <= 0.95


@pytest.mark.parametrize("eps, err, match", [
    ([1e-3, 1e-2], [1.0, 2.0], "at least 3"),
    ([1e-3, 1e-2, -1.0], [1.0, 2.0, 3.0], "eps"),
    ([1e-3, 1e-2, 1e-1], [1.0, 0.0, 3.0], "errors"),
    ([1e-2, 1e-2, 1e-2], [1.0, 2.0, 3.0], "distinct"),
])
def test_bad_input(eps, err, match):
    with pytest.raises(ValueError, match=match):
        fit_rate(eps, err)
