"""The Gaussian-mixture data laws of the catalogue, in any dimension 1-128 (deterministic).

* :func:`separated` - 2 d (at most 4) isotropic components of std 0.3 at +-2.5 e_1, +-2.5 e_2.
* :func:`anisotropic` - 3 components with axis stds from 0.05 to 1 (geometric), rotated by a
  fixed random orthogonal matrix up to 8-D (full covariances), axis-aligned beyond (diagonal,
  so evaluation stays O(n K d)); means of norm 2.
* :func:`many` - 32 isotropic components of std 0.15, means uniform in [-2, 2]^d, Dirichlet(2)
  weights.
"""
from __future__ import annotations

import numpy as np

from ..exact import GaussianMixture

__all__ = ["separated", "anisotropic", "many", "MIXTURES", "MAX_DIM"]

#: the largest dimension of the catalogue mixtures
MAX_DIM = 128
_SEED = 20260101


def _check(dim) -> int:
    if int(dim) != dim or not 1 <= dim <= MAX_DIM:
        raise ValueError(f"dim must be an integer in [1, {MAX_DIM}], got {dim}")
    return int(dim)


def separated(dim: int) -> GaussianMixture:
    """Well-separated isotropic mixture (see module docstring)."""
    dim = _check(dim)
    axes = np.eye(dim)[: min(dim, 2)]
    means = 2.5 * np.concatenate([axes, -axes])
    return GaussianMixture.isotropic(np.full(len(means), 1.0 / len(means)), means, 0.3)


def anisotropic(dim: int) -> GaussianMixture:
    """Anisotropic mixture (see module docstring)."""
    dim = _check(dim)
    rng = np.random.default_rng(_SEED + dim)
    stds = np.geomspace(0.05, 1.0, dim) if dim > 1 else np.array([0.3])
    means = rng.standard_normal((3, dim))
    means *= 2.0 / np.linalg.norm(means, axis=1, keepdims=True)
    covs = []
    for k in range(3):
        diag = np.diag(np.roll(stds, k) ** 2)
        if 1 < dim <= 8:
            from scipy.stats import ortho_group   # scipy.stats takes 1 s to import

            q = ortho_group.rvs(dim, random_state=rng)
            diag = q @ diag @ q.T
            diag = 0.5 * (diag + diag.T)
        covs.append(diag)
    return GaussianMixture([0.5, 0.3, 0.2], means, np.array(covs))


def many(dim: int) -> GaussianMixture:
    """Many-component mixture (see module docstring)."""
    dim = _check(dim)
    rng = np.random.default_rng(_SEED + 1000 + dim)
    means = rng.uniform(-2.0, 2.0, (32, dim))
    return GaussianMixture.isotropic(rng.dirichlet(np.full(32, 2.0)), means, 0.15)


#: the mixture families by name: ``name -> f(dim) -> GaussianMixture``
MIXTURES = {"separated": separated, "anisotropic": anisotropic, "many": many}
