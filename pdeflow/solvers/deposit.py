"""Push-forward densities: particles to a grid density by cloud-in-cell (CIC) deposit.

Each particle spreads its mass over the 2^d cell centres around it with multilinear (tent)
weights, the transpose of the multilinear interpolation in :mod:`interpolation`. A particle in
the half cell next to a wall gives its whole share along that axis to the wall cell, so the
deposited mass equals the particle mass exactly. The result is a density (mass / cell volume)
that can be compared cell by cell with a finite-volume solution.
"""
from __future__ import annotations

import numpy as np

from ..grid import Grid
from . import _kernels_grid as kernels
from .interpolation import _as_points

__all__ = ["cloud_in_cell"]


def cloud_in_cell(points, grid: Grid, weights=None) -> np.ndarray:
    """Density ``(*grid.shape)`` of particles ``points`` (n, d) with masses ``weights`` (n,).

    ``weights`` defaults to 1/n each (a probability density). Every point must lie in the grid
    box (closed); otherwise ValueError.
    """
    points = _as_points(points, grid.dim, "points")
    n = len(points)
    if weights is None:
        weights = np.full(n, 1.0 / max(n, 1))
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    if weights.shape != (n,) or not np.all(np.isfinite(weights)):
        raise ValueError(f"weights must be a finite array of shape ({n},), got {weights.shape}")
    inside = grid.contains(points)
    if not inside.all():
        raise ValueError(f"points: {np.count_nonzero(~inside)} of {n} lie outside the grid box "
                         f"{grid.lower}..{grid.upper}")
    padded = grid.shape + (1,) * (3 - grid.dim)
    out = np.zeros(padded)
    kernels.deposit_cic(points, weights, np.array(grid.lower), 1.0 / np.array(grid.spacing),
                        np.array(padded, dtype=np.int64), out)
    return out.reshape(grid.shape) / grid.cell_volume
