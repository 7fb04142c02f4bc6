"""Sample complexity of empirical distances and power-law rate fits.

:func:`empirical_self_distance` measures E W_p(mu_n, mu'_n) between two independent n-samples of
one law mu (its true distance is 0, so this is the plug-in bias); :func:`fit_power_law` fits
value ~ C n^rate by least squares in log-log; :func:`same_law_bias` measures the same-law value
of any sample distance over independent draws (mean and spread), the bias a debiased estimate
subtracts (:meth:`SameLawBias.subtract`). For W1 the known rates are n^{-1/2} for d = 1,
n^{-1/2} log n for d = 2 and n^{-1/d} for d >= 3 (Dudley; Fournier-Guillin 2015).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .metrics import wasserstein

__all__ = ["PowerLaw", "fit_power_law", "empirical_self_distance", "SameLawBias",
           "same_law_bias"]


@dataclass(frozen=True)
class PowerLaw:
    """value ~ constant * n^rate; ``rate_stderr`` from the least-squares residuals."""

    rate: float
    constant: float
    rate_stderr: float


def fit_power_law(ns, values) -> PowerLaw:
    """Least-squares fit of log(values) = log(C) + rate log(ns); needs >= 3 positive points."""
    ns, values = np.asarray(ns, dtype=np.float64), np.asarray(values, dtype=np.float64)
    if ns.shape != values.shape or ns.ndim != 1 or len(ns) < 3:
        raise ValueError(f"ns and values must be 1-D of equal length >= 3, got {ns.shape}, "
                         f"{values.shape}")
    if np.any(ns <= 0) or np.any(values <= 0) or not np.all(np.isfinite(values)):
        raise ValueError("ns and values must be finite and > 0 for a log-log fit")
    X = np.stack([np.ones_like(ns), np.log(ns)], axis=1)
    coef, res, *_ = np.linalg.lstsq(X, np.log(values), rcond=None)
    resid = np.log(values) - X @ coef
    s2 = (resid ** 2).sum() / max(len(ns) - 2, 1)
    cov = s2 * np.linalg.inv(X.T @ X)
    return PowerLaw(float(coef[1]), float(math.exp(coef[0])), float(math.sqrt(cov[1, 1])))


def empirical_self_distance(sample, ns, repeats: int = 5, p: int = 1, seed=0):
    """Mean and standard error of W_p between two independent n-samples, for each n in ``ns``.

    ``sample(n, rng) -> (n, d)``. Returns (means (len(ns),), stderrs (len(ns),)).
    """
    if int(repeats) != repeats or repeats < 2:
        raise ValueError(f"repeats must be an integer >= 2, got {repeats}")
    rng = np.random.default_rng(seed)
    means, errs = [], []
    for n in ns:
        vals = [wasserstein(sample(int(n), rng), sample(int(n), rng), p=p) for _ in range(repeats)]
        means.append(np.mean(vals))
        errs.append(np.std(vals, ddof=1) / math.sqrt(repeats))
    return np.asarray(means), np.asarray(errs)


@dataclass(frozen=True)
class SameLawBias:
    """A distance between two independent n-samples of one law, over ``draws`` draws.

    Attributes
    ----------
    n : points per sample; values : (draws,) the distance of each pair (its true value is 0);
    mean, sd : their mean (the plug-in bias at n) and standard deviation (ddof = 1; the spread
    of one draw, so a debiased single value carries an uncertainty of about ``sd``).
    """

    n: int
    values: np.ndarray
    mean: float
    sd: float

    def subtract(self, raw: float) -> float:
        """``raw - mean``: the debiased value (may be negative; not clipped)."""
        return float(raw) - self.mean


def same_law_bias(distance, sample, n: int, draws: int = 5, seed=0) -> SameLawBias:
    """``distance(x, y)`` for ``draws`` pairs of independent samples ``sample(n, rng)`` (n, d)
    of one law, drawn from ``numpy.random.default_rng(seed)``."""
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if isinstance(draws, bool) or int(draws) != draws or draws < 2:
        raise ValueError(f"draws must be an integer >= 2, got {draws!r}")
    rng = np.random.default_rng(seed)
    values = np.array([float(distance(sample(int(n), rng), sample(int(n), rng)))
                       for _ in range(int(draws))])
    if not np.all(np.isfinite(values)):
        raise ValueError("distance returned a non-finite value")
    return SameLawBias(int(n), values, float(values.mean()), float(values.std(ddof=1)))
