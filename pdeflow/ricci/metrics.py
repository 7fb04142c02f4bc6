"""Measured outcomes of a (Ricci-flow) autoencoder: reconstruction, curvature, and agreement of
latent coordinates with the ground truth of the toy data."""
from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import procrustes
from scipy.spatial.distance import pdist

from ..geometry.curvature import scalar_curvature
from ..geometry.pullback import Decoder


def reconstruction_mse(encoder, decoder: Decoder, x: torch.Tensor) -> float:
    """Mean over points and coordinates of ``(decoder(encoder(x)) - x)^2``."""
    with torch.no_grad():
        return float(((decoder(encoder(x)) - x) ** 2).mean())


def mean_squared_curvature(decoder: Decoder, z: torch.Tensor, method: str = "extrinsic") -> float:
    """Plain mean of ``R(z)^2`` over latent points ``z`` (n, d) (e.g. held-out codes)."""
    return float((scalar_curvature(decoder, z.detach(), method) ** 2).mean().detach())


def _as_2d(a, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim != 2 or not np.isfinite(a).all():
        raise ValueError(f"{name} must be a finite (n, k) array, got shape {a.shape}")
    return a


def procrustes_error(latent, truth) -> float:
    """Procrustes disparity in [0, 1] after optimal translation, rotation/reflection and scale
    (scipy.spatial.procrustes); 0 means the latent coordinates are a similarity of the truth."""
    latent, truth = _as_2d(latent, "latent"), _as_2d(truth, "truth")
    if latent.shape != truth.shape:
        raise ValueError(f"latent {latent.shape} and truth {truth.shape} must have equal shapes")
    return float(procrustes(truth, latent)[2])


def distance_correlation(latent, truth, max_points: int = 1000) -> float:
    """Pearson correlation of pairwise Euclidean distances (first ``max_points`` points).
    1 means distances are preserved up to scale (no tearing, no folding)."""
    latent, truth = _as_2d(latent, "latent")[:max_points], _as_2d(truth, "truth")[:max_points]
    if latent.shape[0] != truth.shape[0]:
        raise ValueError("latent and truth must have the same number of points")
    return float(np.corrcoef(pdist(latent), pdist(truth))[0, 1])


def plane_residual(latent) -> float:
    """Fraction of the variance of all latent points outside their best-fitting affine 2-plane
    (0 when the clouds lie on one common plane)."""
    latent = _as_2d(latent, "latent")
    ev = np.linalg.eigvalsh(np.cov(latent.T).reshape(latent.shape[1], latent.shape[1]))[::-1]
    return float(ev[2:].sum() / ev.sum())


def covariance_error(latent, labels, true_covariances) -> float:
    """Shape error of each latent cloud against its true in-plane covariance.

    Latent points are projected on their best common 2-plane; each cloud's covariance
    eigenvalues are compared with the true ones after one global scale (least squares) shared
    by the three clouds: ``|s lam_hat - lam| / |lam|`` over all clouds. 0 means no distortion.
    """
    latent = _as_2d(latent, "latent")
    labels = np.asarray(labels)
    centred = latent - latent.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    plane = centred @ vt[:2].T
    est, true = [], []
    for c, cov in enumerate(np.asarray(true_covariances)):
        est.append(np.linalg.eigvalsh(np.cov(plane[labels == c].T)))
        true.append(np.linalg.eigvalsh(cov))
    est, true = np.concatenate(est), np.concatenate(true)
    s = est @ true / (est @ est)
    return float(np.linalg.norm(s * est - true) / np.linalg.norm(true))
