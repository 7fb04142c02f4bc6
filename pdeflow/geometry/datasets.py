"""Toy manifolds with known intrinsic dimension and ground truth, and the offline 8x8 digits.

Every sampler returns a float64 torch tensor of shape ``(n, D)`` and takes an explicit ``seed``
(int or :class:`numpy.random.Generator`); the same seed gives the same points. Nothing is
downloaded: ``load_digits`` reads the copy bundled with scikit-learn.

=======================================  =============  ==========
sampler                                  intrinsic dim  ambient D
=======================================  =============  ==========
``sphere``                               2              3
``moebius_band``                         2              3
``torus``                                2              3
``swiss_roll``                           2              3
``density_2d``                           2              2
``sphere_in_r6`` (random isometric)      2              6
``hyperboloid`` (x^2 + y^2 - z^2 = 1)    2              3
=======================================  =============  ==========

The Ricci-flow autoencoder's data carry the ground truth its outcome is measured by:
``swiss_roll_with_coordinates`` (the unrolled coordinates), ``plane_gaussians`` (the planes and
covariances) and ``digits``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

INTRINSIC_DIM = {"sphere": 2, "moebius_band": 2, "torus": 2, "swiss_roll": 2,
                 "density_2d": 2, "sphere_in_r6": 2, "hyperboloid": 2}


def _rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise ValueError(f"seed must be an int or numpy.random.Generator, got {type(seed).__name__}")


def _check_n(n, name: str = "n") -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{name} must be a positive int, got {n!r}")
    return int(n)


def _positive(value, name: str) -> float:
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def _out(points: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(points), dtype=torch.float64)


SPHERE_LAWS = ("area", "polar")


def sphere(n: int, seed, radius: float = 1.0, law: str = "area") -> torch.Tensor:
    """Points on the 2-sphere of ``radius`` in R^3; (n, 3).

    ``law="area"``: uniform in area. ``law="polar"``: azimuth uniform in [0, 2 pi) and polar
    angle uniform in [0, pi), as the CMF authors sample their sphere (denser near the poles).
    """
    n, radius = _check_n(n), _positive(radius, "radius")
    if law not in SPHERE_LAWS:
        raise ValueError(f"law must be one of {SPHERE_LAWS}, got {law!r}")
    rng = _rng(seed)
    if law == "polar":
        theta, phi = rng.uniform(0, 2 * np.pi, n), rng.uniform(0, np.pi, n)
        x = np.stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], 1)
        return _out(radius * x)
    x = rng.standard_normal((n, 3))
    return _out(radius * x / np.linalg.norm(x, axis=1, keepdims=True))


def moebius_band(n: int, seed, radius: float = 1.0, half_width: float = 0.4) -> torch.Tensor:
    """Moebius band (centre circle ``radius``, strip half-width ``half_width``), uniform in the
    chart (angle u in [0, 2 pi), offset s in [-w, w]); (n, 3)."""
    n = _check_n(n)
    radius, w = _positive(radius, "radius"), _positive(half_width, "half_width")
    if w >= radius:
        raise ValueError(f"half_width must be < radius for an embedded band, got {w} >= {radius}")
    rng = _rng(seed)
    u, s = rng.uniform(0, 2 * np.pi, n), rng.uniform(-w, w, n)
    r = radius + s * np.cos(u / 2)
    return _out(np.stack([r * np.cos(u), r * np.sin(u), s * np.sin(u / 2)], 1))


def torus(n: int, seed, major: float = 1.0, minor: float = 0.35) -> torch.Tensor:
    """Torus of radii ``major > minor``, uniform in both angles; (n, 3)."""
    n, big, small = _check_n(n), _positive(major, "major"), _positive(minor, "minor")
    if small >= big:
        raise ValueError(f"minor must be < major, got {small} >= {big}")
    rng = _rng(seed)
    u, v = rng.uniform(0, 2 * np.pi, (2, n))
    r = big + small * np.cos(v)
    return _out(np.stack([r * np.cos(u), r * np.sin(u), small * np.sin(v)], 1))


def swiss_roll(n: int, seed, height: float = 1.0) -> torch.Tensor:
    """Swiss roll t in [1.5 pi, 4.5 pi], scaled by 1/(4.5 pi) so it fits in [-1, 1]^3, with the
    height coordinate uniform in [-height, height]; (n, 3). For the true unrolled coordinates use
    :func:`swiss_roll_with_coordinates`, which this centres."""
    n, height = _check_n(n), _positive(height, "height")
    x, _ = swiss_roll_with_coordinates(n, _rng(seed), height=2 * height, scale=1.0 / (4.5 * np.pi))
    x[:, 1] -= height
    return _out(x)


def density_2d(n: int, seed) -> torch.Tensor:
    """A 2-D density in R^2 (intrinsic dim = ambient dim): the "8 Gaussians" ring, equal-weight
    components centred on a circle of radius 2, std 0.3; (n, 2)."""
    n, rng = _check_n(n), _rng(seed)
    k = rng.integers(0, 8, n)
    centres = 2.0 * np.stack([np.cos(k * np.pi / 4), np.sin(k * np.pi / 4)], 1)
    return _out(centres + 0.3 * rng.standard_normal((n, 2)))


def random_isometric_embedding(x: torch.Tensor, ambient_dim: int, seed) -> torch.Tensor:
    """Map points ``x`` (n, k) into R^ambient_dim by a random matrix with orthonormal columns
    (an isometry onto a random k-plane), so distances and metrics are preserved; (n, ambient_dim)."""
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, k), got {tuple(x.shape)}")
    if not isinstance(ambient_dim, int) or ambient_dim < x.shape[1]:
        raise ValueError(f"ambient_dim must be an int >= x.shape[1] = {x.shape[1]}, got {ambient_dim!r}")
    q, _ = np.linalg.qr(_rng(seed).standard_normal((ambient_dim, x.shape[1])))
    return x @ torch.as_tensor(q, dtype=x.dtype).T


def sphere_in_r6(n: int, seed) -> torch.Tensor:
    """Unit 2-sphere isometrically embedded in R^6 on a random 3-plane (seeded); (n, 6)."""
    rng = _rng(seed)
    return random_isometric_embedding(sphere(n, rng), 6, rng)


def hyperboloid(n: int, seed, height: float = 1.0) -> torch.Tensor:
    """One-sheet hyperboloid x^2 + y^2 - z^2 = 1 with |z| <= ``height``, uniform in (angle, z);
    (n, 3)."""
    n, height = _check_n(n), _positive(height, "height")
    rng = _rng(seed)
    u, z = rng.uniform(0, 2 * np.pi, n), rng.uniform(-height, height, n)
    r = np.sqrt(1 + z ** 2)
    return _out(np.stack([r * np.cos(u), r * np.sin(u), z], 1))


def load_digits(standardize: bool = True):
    """sklearn's bundled 8x8 digits (1797 images, 64-D, pixel values 0..16, no download).

    Returns ``(x, labels)``: ``x`` float64 tensor (1797, 64), divided by 16 and, if
    ``standardize``, shifted to zero mean per pixel; ``labels`` int64 tensor (1797,).
    """
    from sklearn.datasets import load_digits as _sk_load

    data = _sk_load()
    x = data.data.astype(np.float64) / 16.0
    if standardize:
        x = x - x.mean(axis=0, keepdims=True)
    return _out(x), torch.as_tensor(data.target, dtype=torch.int64)


# Data for the Ricci-flow autoencoder, each with the ground truth its outcome is measured by.

SWISS_S = (1.5 * math.pi, 4.5 * math.pi)


def spiral_arclength(s: np.ndarray) -> np.ndarray:
    """Arc length of the spiral ``(s cos s, s sin s)`` from 0 to ``s``."""
    return 0.5 * (s * np.sqrt(1 + s ** 2) + np.arcsinh(s))


def swiss_roll_with_coordinates(n: int, seed, height: float = 10.0, noise: float = 0.0,
               scale: float = 1 / (4.5 * math.pi)) -> tuple[np.ndarray, np.ndarray]:
    """Swiss roll ``x = scale (s cos s, h, s sin s)`` with ``s ~ U(1.5 pi, 4.5 pi)``, ``h ~ U(0, height)``.

    Returns ``x`` (n, 3) and the true unrolled (isometric) coordinates ``(n, 2)``:
    ``scale * (arclength(s), h)``. ``noise`` adds isotropic Gaussian noise of that std to ``x``.
    """
    n = _check_n(n)
    if not (scale > 0 and height > 0 and noise >= 0):
        raise ValueError("scale and height must be > 0 and noise >= 0")
    rng = _rng(seed)
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
    n = _check_n(n_per_cloud, "n_per_cloud")
    D = _check_n(ambient_dim, "ambient_dim")
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
    x, labels = load_digits(standardize=False)
    return x.numpy(), labels.numpy()
