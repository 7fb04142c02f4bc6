"""Local quadric fitting: the classical estimator of the curvature of a sampled submanifold.

At every point x (``dim``-dimensional manifold in R^D, codimension m = D - dim):

1. the k nearest points (x itself included), their offsets y - x, and the tangent space by PCA
   of the offsets (the ``dim`` leading right singular vectors T; N spans the other m directions);
2. tangent coordinates u = (y - x) T and heights h = (y - x) N, and the least-squares quadratic
   ``h(u) = c + G u + u^T H u / 2`` for every normal direction (p = 1 + dim + dim (dim + 1) / 2
   coefficients per direction);
3. the Gauss equation for the graph u -> x + T u + N h(u) at u = 0: metric g = I + G^T G,
   second fundamental form II_ij = H_ij projected on the normal space (Q = I - G g^-1 G^T in the
   normal coordinates), and the scalar curvature ``R = |tr_g II|^2 - |II|_g^2`` (on a surface
   in R^3 this is ``2 K``, ``K = (ac - b^2) / (1 + |G|^2)^2`` with H = [[a, b], [b, c]]).

Neighbourhood size (the bias-variance choice, per point): the estimates on a geometric ladder of
k, each with a standard error from the least-squares residuals (the residual variance per normal
direction times the Hessian block of (A^T A)^-1, propagated to R by the linearisation at G = 0,
``dR/dH = 2 tr(H) I - 2 H``), and the intersection-of-confidence-intervals rule (Goldenshluger
and Nemirovski; Katkovnik): the largest k whose interval R +- ``gamma`` SE meets those of every
smaller k. Small k has little bias and a large standard error; once the cubic terms the quadric
cannot fit (the bias) grow, the residuals grow and the intervals stop meeting. Noise enters the
residuals the same way, so noisier clouds get larger neighbourhoods without a tuned constant.
Units: 1 / (data length)^2, like the exact R.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.neighbors import NearestNeighbors

from ._checks import check_cloud

__all__ = ["QuadricConfig", "quadric_curvature", "quadric_ladder"]


@dataclass(frozen=True)
class QuadricConfig:
    """Hyper-parameters of :func:`quadric_curvature`.

    k_min: smallest neighbourhood (None: 3 p, p the coefficients per normal direction; 18 for
    a surface); k_max: largest (None: min(N, 300)); ladder: number of k on the geometric ladder
    (8); gamma: half-width of the intervals in standard errors (2); fixed_k: use this one k
    everywhere instead of the rule (None).
    """
    k_min: int | None = None
    k_max: int | None = None
    ladder: int = 8
    gamma: float = 2.0
    fixed_k: int | None = None

    def __post_init__(self):
        for name in ("k_min", "k_max", "fixed_k"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, (int, np.integer)) or v < 2):
                raise ValueError(f"{name} must be None or an int >= 2, got {v!r}")
        if not isinstance(self.ladder, (int, np.integer)) or self.ladder < 1:
            raise ValueError(f"ladder must be a positive int, got {self.ladder!r}")
        if not (np.isfinite(self.gamma) and self.gamma > 0):
            raise ValueError(f"gamma must be a finite number > 0, got {self.gamma!r}")


def _n_coefficients(dim: int) -> int:
    return 1 + dim + dim * (dim + 1) // 2


def quadric_ladder(n_points: int, dim: int, config: QuadricConfig = QuadricConfig()) -> np.ndarray:
    """The neighbourhood sizes tried (increasing ints, each > p and <= n_points)."""
    p = _n_coefficients(dim)
    if config.fixed_k is not None:
        ks = np.array([config.fixed_k])
    else:
        lo = config.k_min or 3 * p
        hi = config.k_max or min(n_points, 300)
        ks = np.unique(np.round(np.geomspace(lo, max(hi, lo), config.ladder)).astype(int))
    if ks[0] <= p or ks[-1] > n_points:
        raise ValueError(f"neighbourhood sizes must be in ({p}, {n_points}] for dim {dim} and "
                         f"{n_points} points, got {ks.tolist()}")
    return ks


def _fit(offsets: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Scalar curvature (B,) and its standard error (B,) from offsets (B, k, D)."""
    B, k, D = offsets.shape
    _, _, vt = np.linalg.svd(offsets, full_matrices=False) if D <= k else \
        np.linalg.svd(offsets, full_matrices=True)
    T, N = vt[:, :dim].transpose(0, 2, 1), vt[:, dim:].transpose(0, 2, 1)   # (B, D, dim/m)
    u = offsets @ T                                                         # (B, k, dim)
    h = offsets @ N                                                         # (B, k, m)
    m = h.shape[2]
    iu, ju = np.triu_indices(dim)
    quad = u[:, :, iu] * u[:, :, ju] * np.where(iu == ju, 0.5, 1.0)
    A = np.concatenate([np.ones((B, k, 1)), u, quad], axis=2)               # (B, k, p)
    AtA = A.transpose(0, 2, 1) @ A
    coef = np.linalg.solve(AtA, A.transpose(0, 2, 1) @ h)                   # (B, p, m)
    resid = h - A @ coef
    p = A.shape[2]
    sigma2 = np.sum(resid ** 2, axis=1) / max(k - p, 1)                     # (B, m)
    G = coef[:, 1:1 + dim].transpose(0, 2, 1)                               # (B, m, dim)
    H = np.zeros((B, m, dim, dim))
    H[:, :, iu, ju] = coef[:, 1 + dim:].transpose(0, 2, 1)
    H[:, :, ju, iu] = H[:, :, iu, ju]
    g = np.eye(dim) + G.transpose(0, 2, 1) @ G                              # (B, dim, dim)
    ginv = np.linalg.inv(g)
    Q = np.eye(m) - G @ ginv @ G.transpose(0, 2, 1)                         # (B, m, m)
    trace = np.einsum("bik,baik->ba", ginv, H)                              # (B, m)
    term1 = np.einsum("ba,bac,bc->b", trace, Q, trace)
    term2 = np.einsum("bik,bjl,bail,bac,bcjk->b", ginv, ginv, H, Q, H)
    R = term1 - term2
    # standard error: dR/dH at G = 0 is 2 tr(H) I - 2 H per normal direction (the off-diagonal
    # coefficient enters twice), with cov = sigma2 (A^T A)^-1 restricted to the Hessian block
    tr0 = np.trace(H, axis1=2, axis2=3)                                     # (B, m)
    grad = 2 * tr0[:, :, None] * (iu == ju) - 2 * H[:, :, iu, ju] * np.where(iu == ju, 1, 2)
    cov = np.linalg.inv(AtA)[:, 1 + dim:, 1 + dim:]                         # (B, q, q)
    var = np.einsum("baq,bqr,bar,ba->b", grad, cov, grad, sigma2)
    return R, np.sqrt(np.maximum(var, 0.0))


def quadric_curvature(points, dim: int = 2, config: QuadricConfig = QuadricConfig(),
                      return_k: bool = False, chunk: int = 256):
    """Scalar curvature estimate (N,) at every point of ``points`` (N, D) on a ``dim``-manifold
    by local quadric fitting (module docstring); units 1 / (data length)^2. With ``return_k``
    also the chosen neighbourhood size per point (N,)."""
    x = check_cloud(points, dim, min_points=3)
    if not isinstance(config, QuadricConfig):
        raise TypeError(f"config must be a QuadricConfig, got {type(config).__name__}")
    ks = quadric_ladder(len(x), dim, config)
    _, idx = NearestNeighbors(n_neighbors=int(ks[-1])).fit(x).kneighbors(x)   # self first
    est = np.empty((len(ks), len(x)))
    se = np.empty((len(ks), len(x)))
    for start in range(0, len(x), chunk):
        rows = slice(start, start + chunk)
        for j, k in enumerate(ks):
            offsets = x[idx[rows, :k]] - x[rows, None, :]
            est[j, rows], se[j, rows] = _fit(offsets, dim)
    lower = np.maximum.accumulate(est - config.gamma * se, axis=0)
    upper = np.minimum.accumulate(est + config.gamma * se, axis=0)
    ok = lower <= upper                        # intervals 0..j still intersect
    choice = np.where(ok.all(0), len(ks) - 1, np.argmin(ok, axis=0) - 1).clip(0)
    R = est[choice, np.arange(len(x))]
    return (R, ks[choice]) if return_k else R
