"""Gaussian kernel density estimates from particles, with their gradients and a porous-medium
velocity estimated from samples alone.

rho_h(x) = (1/N) sum_i prod_j N(x_j - X_ij; 0, h_j^2) with a diagonal bandwidth h_j = c * std_j.
The factor c is

* 'scott'     c = N^{-1/(d+4)},
* 'silverman' c = (4 / (d + 2))^{1/(d+4)} N^{-1/(d+4)},
* 'cv'        the maximiser of the leave-one-out log-likelihood over a log-spaced grid of factors
              around Silverman's (likelihood cross-validation),
* a float     used as given.

:func:`porous_velocity` builds v = -grad xi with xi = equation.chemical_potential(rho_h, x)
= ``D p(rho_h) + kappa |x|^2 / 2`` by autograd, so the pressure law is the equation's own.
Evaluation is O(N M) for M query points (chunked); computed in float64.
"""
from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["GaussianKDE", "bandwidth_factor", "porous_velocity"]

_RULES = ("scott", "silverman", "cv")


def _check_points(x, name: str, dim: int | None = None) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or (dim is not None and x.shape[1] != dim):
        want = f"(n, {dim})" if dim is not None else "(n, d)"
        raise ValueError(f"{name} must have shape {want}, got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    return x


def _log_kernel_sums(query: torch.Tensor, points: torch.Tensor, h: torch.Tensor,
                     chunk: int = 2048) -> torch.Tensor:
    """log sum_i exp(-|(q - X_i)/h|^2 / 2) for each query row, (M,)."""
    out = []
    for start in range(0, query.shape[0], chunk):
        q = query[start:start + chunk]
        r2 = (((q[:, None, :] - points[None]) / h) ** 2).sum(-1)
        out.append(torch.logsumexp(-0.5 * r2, dim=1))
    return torch.cat(out)


def _loo_log_likelihood(points: np.ndarray, std: np.ndarray, factor: float) -> float:
    """Mean leave-one-out log density of the KDE with bandwidth factor * std."""
    n, d = points.shape
    h = factor * std
    z = (points[:, None, :] - points[None]) / h
    logk = -0.5 * (z ** 2).sum(-1)
    np.fill_diagonal(logk, -np.inf)
    norm = math.log(n - 1) + np.log(h).sum() + 0.5 * d * math.log(2 * math.pi)
    peak = logk.max(1, keepdims=True)
    return float(np.mean(np.log(np.exp(logk - peak).sum(1)) + peak[:, 0] - norm))


def bandwidth_factor(points, rule="scott", cv_grid: int = 25) -> float:
    """The factor c of h_j = c std_j for ``points`` (N, d) by ``rule`` (see module docstring).

    'cv' costs O(N^2 cv_grid) (subsample to a few thousand points first if N is large).
    """
    points = _check_points(points, "points")
    n, d = points.shape
    if not isinstance(rule, str):
        c = float(rule)
        if not (math.isfinite(c) and c > 0):
            raise ValueError(f"bandwidth factor must be a finite number > 0, got {rule}")
        return c
    if rule not in _RULES:
        raise ValueError(f"rule must be one of {_RULES} or a positive float, got {rule!r}")
    if rule == "scott":
        return n ** (-1.0 / (d + 4))
    silverman = (4.0 / (d + 2)) ** (1.0 / (d + 4)) * n ** (-1.0 / (d + 4))
    if rule == "silverman":
        return silverman
    std = points.std(0, ddof=1)
    grid = silverman * np.logspace(-1, 0.5, int(cv_grid))
    scores = [_loo_log_likelihood(points, std, c) for c in grid]
    best = int(np.argmax(scores))
    if best in (0, len(grid) - 1):
        raise ValueError(f"likelihood cross-validation optimum at the edge of the factor grid "
                         f"[{grid[0]:.3g}, {grid[-1]:.3g}]; pass a bandwidth factor explicitly")
    return float(grid[best])


class GaussianKDE:
    """Gaussian KDE with diagonal bandwidth h = factor * std (per axis) of ``points`` (N, d).

    Parameters
    ----------
    points : (N, d) finite samples (N >= 2), normalised to mass ``mass``.
    bandwidth : 'scott' (default), 'silverman', 'cv' or a positive factor c.
    mass : total mass the estimate carries (1 for a probability density).
    """

    def __init__(self, points, bandwidth="scott", mass: float = 1.0):
        self.points = _check_points(points, "points")
        if len(self.points) < 2:
            raise ValueError(f"points must hold at least 2 samples, got {len(self.points)}")
        if not (math.isfinite(mass) and mass > 0):
            raise ValueError(f"mass must be a finite number > 0, got {mass}")
        std = self.points.std(0, ddof=1)
        if np.any(std <= 0):
            raise ValueError("points have zero spread along some axis; a KDE needs std > 0")
        self.factor = bandwidth_factor(self.points, bandwidth)
        self.bandwidth = self.factor * std          # (d,) length units
        self.mass = float(mass)
        self._pts = torch.as_tensor(self.points, dtype=torch.float64)
        self._h = torch.as_tensor(self.bandwidth, dtype=torch.float64)
        n, d = self.points.shape
        self._log_norm = (math.log(n) + float(np.log(self.bandwidth).sum())
                          + 0.5 * d * math.log(2 * math.pi) - math.log(self.mass))

    @property
    def dim(self) -> int:
        return self.points.shape[1]

    def log_density_torch(self, x: torch.Tensor) -> torch.Tensor:
        """log rho_h at torch points (M, d) float64 (differentiable), shape (M,)."""
        return _log_kernel_sums(x, self._pts, self._h) - self._log_norm

    def density_torch(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(self.log_density_torch(x))

    def log_density(self, x) -> np.ndarray:
        """log rho_h(x) for numpy points (M, d), shape (M,)."""
        x = torch.as_tensor(_check_points(x, "x", self.dim))
        with torch.no_grad():
            return self.log_density_torch(x).numpy()

    def density(self, x) -> np.ndarray:
        """rho_h(x), shape (M,) (1 / length^d, times mass)."""
        return np.exp(self.log_density(x))

    def score(self, x) -> np.ndarray:
        """grad log rho_h(x), shape (M, d)."""
        x = torch.as_tensor(_check_points(x, "x", self.dim)).requires_grad_(True)
        (g,) = torch.autograd.grad(self.log_density_torch(x).sum(), x)
        return g.numpy()

    def gradient(self, x) -> np.ndarray:
        """grad rho_h(x) = rho_h * score, shape (M, d)."""
        return self.density(x)[:, None] * self.score(x)


def porous_velocity(equation, kde: GaussianKDE, x) -> np.ndarray:
    """``v = -grad(D p(rho_h) + kappa |x|^2 / 2)`` at numpy points x (M, d) from a KDE of the particles.

    ``equation`` is a :class:`~pdeflow.equations.PorousMedium`; its ``chemical_potential`` (and so
    its pressure law) is differentiated by autograd. Returns (M, d) float64.
    """
    if not hasattr(equation, "pressure"):
        raise ValueError(f"equation must be a PorousMedium, got {type(equation).__name__}")
    if equation.dim != kde.dim:
        raise ValueError(f"equation.dim = {equation.dim} differs from the KDE's {kde.dim}")
    xt = torch.as_tensor(_check_points(x, "x", kde.dim)).requires_grad_(True)
    xi = equation.chemical_potential(kde.density_torch(xt), xt)
    (g,) = torch.autograd.grad(xi.sum(), xt)
    return -g.numpy()
