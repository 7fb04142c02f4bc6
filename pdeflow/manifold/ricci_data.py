"""Data for the Ricci-flow autoencoder, each with the ground truth its outcome is measured by.

(The lead may merge these with ``datasets.py``; they are kept small on purpose.)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SWISS_S = (1.5 * math.pi, 4.5 * math.pi)


def _check_count(n: int, name: str = "n") -> int:
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be a positive integer, got {n!r}")
    return int(n)


def spiral_arclength(s: np.ndarray) -> np.ndarray:
    """Arc length of the spiral ``(s cos s, s sin s)`` from 0 to ``s``."""
    return 0.5 * (s * np.sqrt(1 + s ** 2) + np.arcsinh(s))


def swiss_roll(n: int, seed: int, height: float = 10.0, noise: float = 0.0,
               scale: float = 1 / (4.5 * math.pi)) -> tuple[np.ndarray, np.ndarray]:
    """Swiss roll ``x = scale (s cos s, h, s sin s)`` with ``s ~ U(1.5 pi, 4.5 pi)``, ``h ~ U(0, height)``.

    Returns ``x`` (n, 3) and the true unrolled (isometric) coordinates ``(n, 2)``:
    ``scale * (arclength(s), h)``. ``noise`` adds isotropic Gaussian noise of that std to ``x``.
    """
    n = _check_count(n)
    if not (scale > 0 and height > 0 and noise >= 0):
        raise ValueError("scale and height must be > 0 and noise >= 0")
    rng = np.random.default_rng(seed)
    s = rng.uniform(*SWISS_S, n)
    h = rng.uniform(0, height, n)
    x = scale * np.stack([s * np.cos(s), h, s * np.sin(s)], 1)
    x = x + noise * rng.standard_normal(x.shape)
    return x, scale * np.stack([spiral_arclength(s), h], 1)


@dataclass
class PlaneGaussians:
    """Three Gaussian clouds on random affine 2-planes in R^D.

    x (N, D); labels (N,); means (3, D); bases (3, D, 2) orthonormal columns;
    covariances (3, 2, 2): the in-plane covariance of each cloud (its true shape).
    """
    x: np.ndarray
    labels: np.ndarray
    means: np.ndarray
    bases: np.ndarray
    covariances: np.ndarray


def plane_gaussians(n_per_cloud: int, ambient_dim: int, seed: int,
                    spread: float = 1.0) -> PlaneGaussians:
    """Sample ``n_per_cloud`` points of each of three Gaussians on random 2-planes in R^D.

    Means ~ N(0, spread^2 I_D); in-plane covariances have eigenvalues ~ U(0.05, 0.3)
    and a random orientation.
    """
    n = _check_count(n_per_cloud, "n_per_cloud")
    D = _check_count(ambient_dim, "ambient_dim")
    if D < 3:
        raise ValueError(f"ambient_dim must be >= 3, got {D}")
    rng = np.random.default_rng(seed)
    xs, labels, means, bases, covs = [], [], [], [], []
    for c in range(3):
        mean = spread * rng.standard_normal(D)
        basis, _ = np.linalg.qr(rng.standard_normal((D, 2)))
        angle = rng.uniform(0, math.pi)
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        cov = rot @ np.diag(rng.uniform(0.05, 0.3, 2)) @ rot.T
        y = rng.multivariate_normal(np.zeros(2), cov, n)
        xs.append(mean + y @ basis.T)
        labels.append(np.full(n, c))
        means.append(mean), bases.append(basis), covs.append(cov)
    return PlaneGaussians(np.concatenate(xs), np.concatenate(labels), np.stack(means),
                          np.stack(bases), np.stack(covs))


def digits() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's bundled 8x8 digits (no download): pixels scaled to [0, 1], (1797, 64); labels."""
    from .datasets import load_digits

    x, labels = load_digits(standardize=False)
    return x.numpy(), labels.numpy()
