"""Seeded 2-D toy data sets of the score-based diffusion literature, and the exact flow that
stands in for their forward solution.

* :func:`ring_mixture` - k isotropic Gaussians on a circle (a
  :class:`~pdeflow.exact.GaussianMixture`, so its Fokker-Planck evolution is exact).
* :func:`two_circles` - points on two concentric circles (optionally with radial Gaussian noise).
* :func:`checkerboard` - points uniform on the dark squares of a k x k board centred at 0.
* :func:`empirical_flow` - the exact heat / Fokker-Planck flow of a reference sample smoothed by
  a small Gaussian bandwidth: the "truth" for targets without a closed-form density.
* :class:`EmpiricalFlow` - :func:`empirical_flow` with component-uniform sampling at any t.
* :func:`toy_sampler` - the three data sets by name, as ``sample(n, seed) -> (n, 2)``.

Lengths are in the units of the equation (the f = -x, g = 1 stationary law N(0, I/2) has
standard deviation 0.71, so the default sizes put the data at the same scale).
"""
from __future__ import annotations

import math

import numpy as np

from ..exact import GaussianMixture, GaussianMixtureFlow

__all__ = ["ring_mixture", "two_circles", "checkerboard", "empirical_flow", "EmpiricalFlow",
           "toy_sampler", "TOY_TARGETS"]


def _check_n(n) -> int:
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n}")
    return int(n)


def _check_positive(name: str, value) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def ring_mixture(k: int = 8, radius: float = 1.0, std: float = 0.1) -> GaussianMixture:
    """Equal-weight mixture of ``k`` Gaussians N(mu_j, std^2 I),
    mu_j = radius (cos, sin)(2 pi j / k)."""
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k}")
    radius, std = _check_positive("radius", radius), _check_positive("std", std)
    angles = 2 * np.pi * np.arange(int(k)) / int(k)
    means = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return GaussianMixture.isotropic(np.full(int(k), 1.0 / k), means, np.full(int(k), std))


def two_circles(n: int, seed, radii=(0.5, 1.0), noise: float = 0.0) -> np.ndarray:
    """``n`` points (n, 2): each picks one of the circles with probability 1/2, a uniform angle,
    and radius r + noise * N(0, 1) (``noise`` = 0: exactly on the circle)."""
    n = _check_n(n)
    radii = np.asarray(radii, dtype=np.float64)
    if radii.ndim != 1 or len(radii) < 1 or not np.all(np.isfinite(radii) & (radii > 0)):
        raise ValueError(f"radii must be a non-empty sequence of finite radii > 0, got {radii}")
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise}")
    rng = np.random.default_rng(seed)
    r = radii[rng.integers(0, len(radii), n)] + noise * rng.standard_normal(n)
    angle = rng.uniform(0.0, 2 * np.pi, n)
    return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)


def checkerboard(n: int, seed, squares: int = 4, half_width: float = 1.0) -> np.ndarray:
    """``n`` points (n, 2) uniform on the dark squares of a ``squares`` x ``squares`` board on
    [-half_width, half_width]^2; square (i, j) (0-based from the lower left) is dark when i + j is
    even. ``squares`` must be even so the dark squares are balanced about the origin."""
    n = _check_n(n)
    if int(squares) != squares or squares < 2 or squares % 2:
        raise ValueError(f"squares must be an even integer >= 2, got {squares}")
    half_width = _check_positive("half_width", half_width)
    rng = np.random.default_rng(seed)
    k = int(squares)
    i = rng.integers(0, k, n)
    j = 2 * rng.integers(0, k // 2, n) + (i % 2)        # i + j even
    cell = np.stack([i, j], axis=1) + rng.uniform(size=(n, 2))
    return (cell / k * 2.0 - 1.0) * half_width


def empirical_flow(equation, reference, bandwidth: float) -> GaussianMixtureFlow:
    """Exact Fokker-Planck flow of ``reference`` (M, d) smoothed by N(0, bandwidth^2 I).

    For t >= t_min with (D/kappa)(1 - e^{-2 kappa t_min}) >> bandwidth^2 this is the population
    rho_t up to the finite-M error of the reference (measure it on a target with a closed form).
    """
    return GaussianMixtureFlow(equation, GaussianMixture.empirical(reference, bandwidth))


#: the names accepted by :func:`toy_sampler`
TOY_TARGETS = ("gaussian_mixture", "two_circles", "checkerboard")


def toy_sampler(name: str):
    """(sample(n, seed) -> (n, 2), mixture or None) for a name in :data:`TOY_TARGETS`; the
    mixture is the exact law when it is a Gaussian mixture (``ring_mixture()``)."""
    if name == "gaussian_mixture":
        mix = ring_mixture()
        return mix.sample, mix
    if name == "two_circles":
        return two_circles, None
    if name == "checkerboard":
        return checkerboard, None
    raise ValueError(f"name must be one of {TOY_TARGETS}, got {name!r}")


class EmpiricalFlow:
    """The exact flow of :func:`empirical_flow` with component-uniform sampling.

    Density, score and velocity are those of the
    :class:`~pdeflow.exact.GaussianMixtureFlow` of the equal-weight mixture
    (1/M) sum_j N(x_j, bandwidth^2 I) (whose isotropic path costs one (n, M) product per call);
    ``sample(t, n, seed)`` draws a component index uniformly, then its Gaussian at time t.
    """

    def __init__(self, equation, reference, bandwidth: float):
        reference = np.asarray(reference, dtype=np.float64)
        if reference.ndim != 2 or len(reference) < 1 or not np.all(np.isfinite(reference)):
            raise ValueError(f"reference must be a finite (M, d) array, got shape "
                             f"{reference.shape}")
        if reference.shape[1] != equation.dim:
            raise ValueError(f"reference has {reference.shape[1]} columns, equation.dim = "
                             f"{equation.dim}")
        self.equation = equation
        self.reference = reference
        self.bandwidth = _check_positive("bandwidth", bandwidth)
        self.flow = empirical_flow(equation, reference, self.bandwidth)

    def score(self, t: float, x) -> np.ndarray:
        """grad log rho_t(x), (n, d), for a scalar time t >= 0."""
        return self.flow.score(t, x)

    def velocity(self, t: float, x) -> np.ndarray:
        """v = -(D s + kappa x), (n, d)."""
        return self.flow.velocity(t, x)

    def sample(self, t: float, n: int, seed) -> np.ndarray:
        """``n`` exact samples (n, d) of rho_t."""
        rng = np.random.default_rng(seed)
        mixture = self.flow.at(t)
        idx = rng.integers(0, len(self.reference), _check_n(n))
        std = np.sqrt(mixture.covariances[idx, 0, 0])[:, None]
        return mixture.means[idx] + std * rng.standard_normal((int(n), self.reference.shape[1]))
