"""Convergence rates: least-squares slopes in log-log coordinates with confidence intervals."""
from __future__ import annotations

from dataclasses import dataclass

import warnings

import numpy as np

__all__ = ["RateFit", "fit_rate"]


@dataclass(frozen=True)
class RateFit:
    """error ~ prefactor * eps^slope, fitted by ordinary least squares on (log eps, log error).

    ``interval`` is the two-sided ``confidence`` interval of the slope from the t distribution
    with n - 2 degrees of freedom (exact when log-errors scatter as iid Gaussians).
    """

    slope: float
    prefactor: float
    interval: tuple
    confidence: float
    n_points: int
    r_squared: float

    def predict(self, eps) -> np.ndarray:
        return self.prefactor * np.asarray(eps, dtype=np.float64) ** self.slope

    def __str__(self) -> str:
        lo, hi = self.interval
        return (f"slope {self.slope:.3f} [{lo:.3f}, {hi:.3f}] ({100 * self.confidence:.0f}% CI, "
                f"n = {self.n_points}, R^2 = {self.r_squared:.3f})")


def fit_rate(eps, errors, confidence: float = 0.95) -> RateFit:
    """Fit error = C eps^slope.

    Parameters
    ----------
    eps, errors : (n,) positive finite arrays, n >= 3 (repeated eps values, e.g. seeds, are fine).
    confidence : level of the slope interval, in (0, 1).
    """
    eps = np.asarray(eps, dtype=np.float64).ravel()
    errors = np.asarray(errors, dtype=np.float64).ravel()
    if eps.shape != errors.shape:
        raise ValueError(f"eps and errors must have the same length, got {eps.size} and {errors.size}")
    if eps.size < 3:
        raise ValueError(f"fit_rate needs at least 3 points for an interval, got {eps.size}")
    for name, values in (("eps", eps), ("errors", errors)):
        if not np.all(np.isfinite(values) & (values > 0)):
            raise ValueError(f"{name} must be finite and > 0 (log-log fit)")
    if np.ptp(np.log(eps)) == 0:
        raise ValueError("eps must take at least two distinct values")
    levels = np.unique(eps).size
    if levels < 3:
        warnings.warn(f"fit_rate: only {levels} distinct eps values; a line through two levels "
                      "always fits, so the slope interval reflects only the scatter at each "
                      "level: use >= 3 eps values", RuntimeWarning, stacklevel=2)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    from scipy import stats      # 0.5 s to import; only fits need it

    fit = stats.linregress(np.log(eps), np.log(errors))
    half = stats.t.ppf(0.5 + confidence / 2, eps.size - 2) * fit.stderr
    return RateFit(slope=float(fit.slope), prefactor=float(np.exp(fit.intercept)),
                   interval=(float(fit.slope - half), float(fit.slope + half)),
                   confidence=confidence, n_points=int(eps.size), r_squared=float(fit.rvalue ** 2))
