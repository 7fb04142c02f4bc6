"""The seed's conjectured rate for the deterministic backward flow, C / log(1 + 1/eps)^(1/4), and
its local log-log slope (drawn beside the measured rates; see docs/epsilon_study.md)."""
from __future__ import annotations

import numpy as np

__all__ = ["theory_curve", "theory_slope"]


def theory_curve(eps, anchor_eps: float, anchor_value: float) -> np.ndarray:
    """C / log(1 + 1/eps)^(1/4), C chosen so that the curve passes through
    (anchor_eps, anchor_value)."""
    shape = lambda e: np.log1p(1.0 / np.asarray(e, dtype=np.float64)) ** -0.25  # noqa: E731
    return anchor_value / shape(anchor_eps) * shape(eps)


def theory_slope(eps) -> np.ndarray:
    """Local log-log slope of 1 / log(1 + 1/eps)^(1/4): 1 / (4 (1 + eps) log(1 + 1/eps))."""
    eps = np.asarray(eps, dtype=np.float64)
    return 0.25 / ((1 + eps) * np.log1p(1.0 / eps))
