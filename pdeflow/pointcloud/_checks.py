"""Input checks shared by the point-cloud curvature estimators."""
from __future__ import annotations

import numpy as np


def check_cloud(points, dim=None, min_points: int = 2) -> np.ndarray:
    """``points`` as a finite float64 (N, D) array of distinct rows, N >= ``min_points``; ``dim``
    (when given) an int with 1 <= dim <= D. ValueError naming ``points`` or ``dim`` otherwise."""
    try:
        x = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("points must be a numeric (N, D) array") from None
    if x.ndim != 2 or x.shape[1] < 1:
        raise ValueError(f"points must be an (N, D) array, got shape {x.shape}")
    if x.shape[0] < min_points:
        raise ValueError(f"points must have at least {min_points} rows, got {x.shape[0]}")
    if not np.isfinite(x).all():
        row = int(np.argwhere(~np.isfinite(x))[0, 0])
        raise ValueError(f"points must be finite: NaN or inf in row {row}")
    _, first, counts = np.unique(x, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        row = int(first[np.argmax(counts > 1)])
        raise ValueError(f"points must be distinct: row {row} occurs {int(counts.max())} times "
                         f"({int((counts > 1).sum())} repeated points); remove duplicates")
    if dim is not None:
        if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)) or dim < 1:
            raise ValueError(f"dim must be a positive int, got {dim!r}")
        if dim > x.shape[1]:
            raise ValueError(f"dim must be <= the width D = {x.shape[1]} of points, got {dim}")
    return x
