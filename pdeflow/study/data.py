"""Initial data of an epsilon study: the density on a grid, and the finite training set if any.

"mixture", "rings" and "circle" (a circle smoothed at the grid scale) are densities (the porous
medium's "mixture" is the mixture on an elliptic cap,
:func:`pdeflow.problems.capped_mixture_density`: compact data with a porous front); "empirical"
(n_train samples of the mixture) and "samples" (a user's file) are finite training sets smoothed
by a Gaussian of width ``bandwidth`` (the smoothed empirical measure, DESIGN.md section 4). For those, :attr:`InitialData.training` is the
training set and :meth:`InitialData.fresh` draws points of the same law that were not used for
training (the mixture itself, or the held-out part of the file), for the memorisation metric.
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..problems import (capped_mixture_density, grid_initial_density, load_samples, rings_density,
                        three_component_mixture)

__all__ = ["InitialData", "initial_data"]

#: "circle": singular data (a uniform law on the circle |x| = CIRCLE_RADIUS) smoothed only as far
#: as the grid needs, a Gaussian profile across the circle of CIRCLE_CELLS cells of the study grid
CIRCLE_RADIUS = 1.5
CIRCLE_CELLS = 1.5

_CHUNK = 2_000_000   # points x components per block when evaluating a large mixture


def _chunked_density(mixture) -> Callable:
    """``mixture.density`` evaluated in blocks, so (n points x K components) stays small."""
    def density(x):
        x = np.asarray(x, dtype=np.float64)
        step = max(1, _CHUNK // len(mixture.weights))
        return np.concatenate([mixture.density(x[i:i + step]) for i in range(0, len(x), step)])
    return density


@dataclass(frozen=True)
class InitialData:
    """The initial law of a study and its finite training set, if any.

    Attributes
    ----------
    kind : "mixture", "rings", "circle", "empirical" or "samples"
    density : points (n, d) -> (n,) (unnormalised)
    training : (N, d) or None
    fresh_pool : (M, d) held-out samples or None
    population : a sampler n, rng -> (n, d) of the law the training set came from, or None
    porous : the porous medium's own density (n, d) -> (n,), or None (``density`` serves all)
    """

    kind: str
    density: Callable
    training: np.ndarray | None = None
    fresh_pool: np.ndarray | None = None
    population: Callable | None = None
    porous: Callable | None = None

    def density_for(self, equation) -> Callable:
        """The initial density of ``equation``: ``porous`` for the porous medium if set."""
        from ..equations import PorousMedium

        if self.porous is not None and isinstance(equation, PorousMedium):
            return self.porous
        return self.density

    def grid_density(self, grid, equation) -> np.ndarray:
        """Unit-mass cell values ``(*shape)`` for ``equation``
        (:func:`pdeflow.problems.grid_initial_density`)."""
        return grid_initial_density(self.density_for(equation), grid, equation)

    @property
    def has_training_set(self) -> bool:
        return self.training is not None and (self.fresh_pool is not None
                                              or self.population is not None)

    def fresh(self, n: int, seed) -> np.ndarray:
        """``n`` points of the training set's law not used in training (n <= pool size)."""
        if self.population is not None:
            return self.population(n, np.random.default_rng(seed))
        if self.fresh_pool is None:
            raise ValueError(f"initial = {self.kind!r} has no fresh samples (set holdout > 0)")
        return self.fresh_pool[:n]


def _check_inside_box(data: np.ndarray, config) -> None:
    """ValueError if samples lie outside the study box (their mass would leave the grid)."""
    outside = int(np.count_nonzero(np.any(np.abs(data) > config.half_width, axis=1)))
    if outside:
        raise ValueError(
            f"samples_file {config.samples_file!r}: {outside} of {len(data)} points lie outside "
            f"the study box [-{config.half_width:g}, {config.half_width:g}]^{config.dim} (largest "
            f"|coordinate| {np.abs(data).max():.3g}); enlarge half_width or drop those points")


def _warn_bandwidth(config) -> None:
    """RuntimeWarning if the smoothing Gaussian is narrower than a grid cell (it is then sampled
    at cell centres by less than one cell per width: the initial density is under-resolved)."""
    spacing = 2 * config.half_width / config.grid_n
    if config.bandwidth < spacing:
        warnings.warn(f"bandwidth = {config.bandwidth:g} is below the grid spacing {spacing:.3g} "
                      f"(2 half_width / grid_n): the smoothed samples are under-resolved on the "
                      "grid; raise bandwidth or grid_n", RuntimeWarning, stacklevel=3)


def initial_data(config) -> InitialData:
    """The :class:`InitialData` a :class:`~pdeflow.study.config.StudyConfig` names."""
    from ..exact import GaussianMixture

    mixture = three_component_mixture(config.dim)
    if config.initial == "mixture":
        return InitialData("mixture", _chunked_density(mixture),
                           porous=capped_mixture_density(config.equation("porous")))
    if config.initial == "rings":
        return InitialData("rings", rings_density)
    if config.initial == "circle":
        width = CIRCLE_CELLS * 2 * config.half_width / config.grid_n
        return InitialData("circle", functools.partial(
            rings_density, radii=(CIRCLE_RADIUS,), weights=(1.0,), width=width))
    _warn_bandwidth(config)
    rng = np.random.default_rng(config.data_seed)
    if config.initial == "empirical":
        training = mixture.sample(config.n_train, rng)
        smoothed = GaussianMixture.empirical(training, config.bandwidth)
        return InitialData("empirical", _chunked_density(smoothed), training,
                           population=lambda n, r: mixture.sample(n, r))
    data = load_samples(config.samples_file, config.dim)
    _check_inside_box(data, config)
    n_fresh = int(round(config.holdout * len(data)))
    order = rng.permutation(len(data)) if n_fresh else np.arange(len(data))
    training, fresh = data[order[n_fresh:]], data[order[:n_fresh]]
    if len(training) < 2:
        raise ValueError(f"holdout = {config.holdout} leaves fewer than 2 training samples")
    smoothed = GaussianMixture.empirical(training, config.bandwidth)
    return InitialData("samples", _chunked_density(smoothed), training,
                       fresh_pool=fresh if n_fresh else None)
