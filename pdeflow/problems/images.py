"""Image-shaped exact problems: Gaussian mixtures with low-rank-plus-diagonal covariances whose
samples are images (C, H, W), under any convention (exact score by Woodbury identities).

:func:`pattern_mixture` builds the data law from smooth random patterns (white noise low-pass
filtered with a Gaussian of ``length`` pixels, normalised to unit RMS): ``components`` means of
amplitude 1, each with ``rank`` factor patterns of amplitude 0.5 and a diagonal of 0.1^2. It is
deterministic (a fixed seed per shape). Points are flattened images (n, C*H*W); a model is called
on (n, C, H, W) (the problem's ``shape``).
"""
from __future__ import annotations

import numpy as np

from ..exact import CorruptedLowRankMixture, LowRankGaussianMixture
from .base import ExactMixtureProblem, Problem

__all__ = ["smooth_patterns", "pattern_mixture", "ImageMixtureProblem", "IMAGE_SHAPES"]

#: the listed image shapes (any C in 1-4, H, W in 4-64 are accepted)
IMAGE_SHAPES = ((1, 28, 28), (3, 32, 32))
_SEED = 20260103


def _check_shape(shape) -> tuple:
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or not 1 <= shape[0] <= 4 or not all(4 <= s <= 64 for s in shape[1:]):
        raise ValueError(f"shape must be (C, H, W) with C in 1-4 and H, W in 4-64, got {shape}")
    return shape


def smooth_patterns(count: int, shape, seed, length: float = 3.0) -> np.ndarray:
    """``count`` smooth random images (count, C*H*W) of unit RMS: white noise times a Gaussian
    low-pass filter ``exp(-|k|^2 length^2 / 2)`` in Fourier space (k in radians per pixel)."""
    c, h, w = _check_shape(shape)
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((int(count), c, h, w))
    ky = 2 * np.pi * np.fft.fftfreq(h)[:, None]
    kx = 2 * np.pi * np.fft.rfftfreq(w)[None, :]
    gain = np.exp(-0.5 * (kx ** 2 + ky ** 2) * length ** 2)
    smooth = np.fft.irfft2(np.fft.rfft2(noise) * gain, s=(h, w))
    smooth -= smooth.mean(axis=(1, 2, 3), keepdims=True)
    smooth /= np.sqrt((smooth ** 2).mean(axis=(1, 2, 3), keepdims=True))
    return smooth.reshape(int(count), -1)


def pattern_mixture(shape, components: int = 4, rank: int = 6) -> LowRankGaussianMixture:
    """The image mixture of the module docstring (deterministic)."""
    shape = _check_shape(shape)
    d = int(np.prod(shape))
    seed = _SEED + 97 * shape[0] + shape[1] * 1000 + shape[2]
    means = smooth_patterns(components, shape, seed)
    factors = 0.5 * smooth_patterns(components * rank, shape, seed + 1).reshape(
        components, rank, d).transpose(0, 2, 1)
    diagonals = np.full((components, d), 0.1 ** 2)
    return LowRankGaussianMixture(np.full(components, 1.0 / components), means, factors,
                                  diagonals)


class ImageMixtureProblem(ExactMixtureProblem):
    """An :class:`ExactMixtureProblem` with a :class:`~pdeflow.exact.LowRankGaussianMixture` data
    law and an image ``shape`` (C, H, W); ``dim`` = C*H*W."""

    def __init__(self, name, convention, shape, t_min, T, description):
        shape = _check_shape(shape)
        initial = pattern_mixture(shape)
        Problem.__init__(self, name, initial.dim, t_min, T, convention, description)
        self.flow = CorruptedLowRankMixture(convention, initial)
        self.shape = shape
