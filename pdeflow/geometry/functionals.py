"""Curvature functionals of a decoder's pullback metric over a latent sample.

Integrals over the latent chart with the Riemannian volume ``dmu = sqrt(det g) dz`` are
approximated by a weighted sum over latent points ``z`` (n, d):

    int h dmu  ~=  sum_k  w_k h(z_k) sqrt(det g(z_k)).

``weights`` are quadrature weights (e.g. cell areas of a grid, or ``1 / (n p(z_k))`` for points
drawn from a density ``p``); the default ``w_k = 1/n`` averages over the sample, i.e. integrates
against the sample's empirical measure in the chart (units: those of ``h`` times chart volume).

Functionals (``n`` below is the latent dimension ``d``; ``f`` a potential ``(n, d) -> (n,)``):

- :func:`curvature_energy`: ``int R^2 dmu``;
- :func:`perelman_f`: ``F(g, f) = int (R + |grad f|_g^2) e^{-f} dmu``;
- :func:`w_entropy`: ``W(g, f, tau) = int [tau (|grad f|_g^2 + R) + f - n] (4 pi tau)^{-n/2} e^{-f} dmu``.

With ``normalise=True`` the potential is shifted by a constant so that ``int e^{-f} dmu = 1``
(``int (4 pi tau)^{-n/2} e^{-f} dmu = 1`` for W) on the given sample, Perelman's constraint.
All are differentiable in the decoder's and the potential's parameters.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch

from .curvature import check_metric, scalar_curvature
from .pullback import Decoder, check_points, pullback_metric

Potential = Callable[[torch.Tensor], torch.Tensor]


def check_weights(weights: Optional[torch.Tensor], z: torch.Tensor) -> torch.Tensor:
    """Return quadrature weights (n,): ``1/n`` by default, else finite, >= 0, shape (n,)."""
    n = z.shape[0]
    if weights is None:
        return torch.full((n,), 1.0 / n, dtype=z.dtype)
    if not isinstance(weights, torch.Tensor) or weights.shape != (n,):
        raise ValueError(f"weights must be a tensor of shape ({n},) matching z")
    if not torch.isfinite(weights).all() or (weights < 0).any():
        raise ValueError("weights must be finite and >= 0")
    return weights.to(z.dtype)


def volume_weights(decoder: Decoder, z: torch.Tensor,
                   weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``w_k sqrt(det g(z_k))`` (n,): the Riemannian volume carried by each latent point."""
    w = check_weights(weights, check_points(z))
    g = pullback_metric(decoder, z)
    check_metric(g)
    return w * torch.linalg.det(g).sqrt()


def riemannian_integral(values: torch.Tensor, decoder: Decoder, z: torch.Tensor,
                        weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``int h dmu`` for ``values = h(z)`` (n,); returns a 0-d tensor."""
    return (values * volume_weights(decoder, z, weights)).sum()


def curvature_energy(decoder: Decoder, z: torch.Tensor, weights: Optional[torch.Tensor] = None,
                     method: str = "extrinsic") -> torch.Tensor:
    """``int R^2 dmu`` (units 1/length^4 times volume); 0-d tensor."""
    return riemannian_integral(scalar_curvature(decoder, z, method) ** 2, decoder, z, weights)


def potential_and_gradient(potential: Potential, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``f(z)`` (n,) and ``grad f(z)`` (n, d) for a row-wise potential; keeps the graph."""
    zg = z.detach().requires_grad_(True)
    f = potential(zg)
    if f.shape not in ((z.shape[0],), (z.shape[0], 1)):
        raise ValueError(f"potential must map z (n, d) to (n,) or (n, 1), got {tuple(f.shape)}")
    f = f.reshape(-1)
    (grad,) = torch.autograd.grad(f.sum(), zg, create_graph=True)
    return f, grad


def _log_mass(f: torch.Tensor, vol: torch.Tensor, log_scale: float) -> torch.Tensor:
    """``log sum vol e^{-f} e^{log_scale}``, computed stably."""
    return torch.logsumexp(-f + vol.log(), 0) + log_scale


def _integrand_parts(decoder, potential, z, weights, method, log_scale, normalise):
    f, grad_f = potential_and_gradient(potential, z)
    jac_metric = pullback_metric(decoder, z)
    check_metric(jac_metric)
    grad_sq = torch.einsum("ki,ki->k", grad_f, torch.linalg.solve(jac_metric, grad_f))
    vol = check_weights(weights, z) * torch.linalg.det(jac_metric).sqrt()
    if normalise:
        f = f + _log_mass(f, vol, log_scale)
    R = scalar_curvature(decoder, z, method)
    density = torch.exp(-f + log_scale) * vol       # (4 pi tau)^{-n/2} e^{-f} dmu per point
    return f, grad_sq, R, density


def perelman_f(decoder: Decoder, potential: Potential, z: torch.Tensor,
               weights: Optional[torch.Tensor] = None, normalise: bool = False,
               method: str = "extrinsic") -> torch.Tensor:
    """Perelman's ``F(g, f) = int (R + |grad f|_g^2) e^{-f} dmu``; 0-d tensor."""
    _, grad_sq, R, density = _integrand_parts(decoder, potential, z, weights, method, 0.0, normalise)
    return ((R + grad_sq) * density).sum()


def w_entropy(decoder: Decoder, potential: Potential, z: torch.Tensor, tau: float,
              weights: Optional[torch.Tensor] = None, normalise: bool = False,
              method: str = "extrinsic") -> torch.Tensor:
    """Perelman's W-entropy ``W(g, f, tau)`` at scale ``tau > 0`` (length^2); 0-d tensor."""
    if not (isinstance(tau, (int, float)) and math.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be a finite number > 0, got {tau!r}")
    n = z.shape[1]
    log_scale = -0.5 * n * math.log(4 * math.pi * tau)
    f, grad_sq, R, density = _integrand_parts(decoder, potential, z, weights, method, log_scale,
                                              normalise)
    return ((tau * (grad_sq + R) + f - n) * density).sum()
