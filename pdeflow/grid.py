"""Uniform cell-centred Cartesian grids on a box in 1-3 D.

Cell ``j`` along an axis covers ``[lower + j h, lower + (j+1) h]`` and its centre is
``lower + (j + 1/2) h``; ``h = (upper - lower) / n``. Scalar fields are ``(*shape)`` arrays,
vector fields ``(d, *shape)``, points ``(n, d)`` (DESIGN.md section 6).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["Grid"]


@dataclass(frozen=True)
class Grid:
    """A box ``[lower, upper]`` split into ``shape`` equal cells.

    Parameters
    ----------
    lower, upper : sequence of float, length d
        Box corners (length units).
    shape : sequence of int, length d
        Cells per axis (each >= 2).
    """

    lower: tuple
    upper: tuple
    shape: tuple

    def __post_init__(self):
        lower = tuple(float(v) for v in np.atleast_1d(self.lower))
        upper = tuple(float(v) for v in np.atleast_1d(self.upper))
        shape = tuple(int(v) for v in np.atleast_1d(self.shape))
        if not 1 <= len(shape) <= 3:
            raise ValueError(f"shape must have 1 to 3 entries, got {shape}")
        if len(lower) != len(shape) or len(upper) != len(shape):
            raise ValueError(f"lower, upper and shape must have the same length, got "
                             f"{len(lower)}, {len(upper)}, {len(shape)}")
        if any(n < 2 for n in shape) or any(n != s for n, s in zip(shape, np.atleast_1d(self.shape))):
            raise ValueError(f"shape must be whole numbers >= 2, got {tuple(self.shape)}")
        if not all(math.isfinite(a) and math.isfinite(b) and b > a for a, b in zip(lower, upper)):
            raise ValueError(f"upper must exceed lower on every axis (finite), got lower={lower}, "
                             f"upper={upper}")
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)
        object.__setattr__(self, "shape", shape)

    @classmethod
    def cube(cls, half_width: float, n: int, dim: int) -> "Grid":
        """The box [-half_width, half_width]^dim with n cells per axis."""
        return cls((-half_width,) * dim, (half_width,) * dim, (n,) * dim)

    @property
    def dim(self) -> int:
        return len(self.shape)

    @cached_property
    def spacing(self) -> tuple:
        """Cell widths h per axis."""
        return tuple((b - a) / n for a, b, n in zip(self.lower, self.upper, self.shape))

    @property
    def cell_volume(self) -> float:
        return float(np.prod(self.spacing))

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def axis_centers(self, axis: int) -> np.ndarray:
        """Cell centres along one axis, shape (shape[axis],)."""
        h = self.spacing[axis]
        return self.lower[axis] + h * (np.arange(self.shape[axis]) + 0.5)

    def axis_faces(self, axis: int) -> np.ndarray:
        """Cell faces along one axis, shape (shape[axis] + 1,)."""
        return np.linspace(self.lower[axis], self.upper[axis], self.shape[axis] + 1)

    def coordinates(self) -> np.ndarray:
        """Cell-centre coordinates as a vector field, shape ``(d, *shape)``."""
        axes = [self.axis_centers(i) for i in range(self.dim)]
        return np.stack(np.meshgrid(*axes, indexing="ij"))

    def points(self) -> np.ndarray:
        """Cell centres as points, shape (size, d), in C order of the cells."""
        return self.coordinates().reshape(self.dim, -1).T.copy()

    def integrate(self, field) -> float | np.ndarray:
        """Midpoint-rule integral over the box of a field with trailing axes ``shape``."""
        field = np.asarray(field)
        return field.sum(axis=tuple(range(-self.dim, 0))) * self.cell_volume

    def contains(self, points, margin: float = 0.0) -> np.ndarray:
        """Boolean mask (n,) of points (n, d) inside the box shrunk by ``margin``."""
        points = np.asarray(points, dtype=np.float64)
        lo = np.asarray(self.lower) + margin
        hi = np.asarray(self.upper) - margin
        return np.all((points >= lo) & (points <= hi), axis=-1)

    def sample_density(self, rho, n: int, seed) -> np.ndarray:
        """``n`` points (n, d) of the piecewise-constant density ``rho`` (``*shape``, >= 0): a cell
        with probability rho / sum(rho), then a uniform point in it. ``seed``: int or Generator.
        To draw from one density many times, :meth:`density_sampler` checks it and builds its
        cumulative distribution once (the same points for the same seed)."""
        return self.density_sampler(rho)(n, seed)

    def density_sampler(self, rho):
        """A function ``(n, seed) -> (n, d)`` points of ``rho`` (see :meth:`sample_density`);
        ``rho`` is checked and its cumulative distribution built once, here."""
        prob = np.asarray(rho, dtype=np.float64)
        if prob.shape != self.shape or not np.all(np.isfinite(prob)) or np.any(prob < 0):
            raise ValueError(f"rho must be finite, >= 0, with the grid's shape {self.shape}")
        if not prob.sum() > 0:
            raise ValueError("rho must have positive mass to be sampled")
        # the same arithmetic as Generator.choice(size, n, p=prob / prob.sum()), so the draws
        # equal those of choice for the same generator state
        cdf = np.cumsum(prob.ravel() / prob.sum())
        cdf /= cdf[-1]
        lower, spacing = np.asarray(self.lower), np.asarray(self.spacing)

        def sample(n: int, seed) -> np.ndarray:
            rng = np.random.default_rng(seed)
            cells = cdf.searchsorted(rng.random(int(n)), side="right")
            index = np.stack(np.unravel_index(cells, self.shape), axis=1)
            return lower + index * spacing + rng.uniform(size=(int(n), self.dim)) * spacing

        return sample

    def sample_field(self, func) -> np.ndarray:
        """Evaluate ``func(points (n, d)) -> (n,)`` at the cell centres; returns ``(*shape)``."""
        return np.asarray(func(self.points())).reshape(self.shape)
