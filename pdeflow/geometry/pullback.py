"""Jacobians and pullback metrics of torch decoders, batched over points.

A *decoder* is any callable mapping latent points ``z`` of shape ``(n, d)`` to ambient points of
shape ``(n, D)`` that acts row by row (no coupling between rows, e.g. no batch norm in training
mode). Derivatives are taken with :mod:`torch.func` (forward mode: ``d`` JVPs per point), so the
cost scales with the latent dimension, not the ambient one.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch.func import jacfwd, vmap

Decoder = Callable[[torch.Tensor], torch.Tensor]


def check_points(z: torch.Tensor, name: str = "z") -> torch.Tensor:
    """Return ``z`` if it is a finite ``(n, d)`` floating tensor, else raise ValueError."""
    if not isinstance(z, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (n, d), got {type(z).__name__}")
    if z.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got shape {tuple(z.shape)}")
    if not z.is_floating_point():
        raise ValueError(f"{name} must be a floating tensor, got dtype {z.dtype}")
    if not torch.isfinite(z).all():
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    return z


def _pointwise(decoder: Decoder) -> Callable[[torch.Tensor], torch.Tensor]:
    """Lift a batched decoder ``(n, d) -> (n, D)`` to one point ``(d,) -> (D,)``."""
    return lambda zi: decoder(zi.unsqueeze(0)).squeeze(0)


def decoder_jacobian(decoder: Decoder, z: torch.Tensor) -> torch.Tensor:
    """Jacobian ``J[k, a, i] = d decoder(z_k)_a / d z_k,i``; ``z`` (n, d) -> ``J`` (n, D, d)."""
    check_points(z)
    return vmap(jacfwd(_pointwise(decoder)))(z)


def pullback_metric(decoder: Decoder, z: torch.Tensor) -> torch.Tensor:
    """Pullback metric ``G = J^T J`` of the decoder at ``z`` (n, d); returns (n, d, d)."""
    jac = decoder_jacobian(decoder, z)
    return jac.transpose(-1, -2) @ jac


def pointwise_jacobian(decoder: Decoder) -> Callable[[torch.Tensor], torch.Tensor]:
    """One-point Jacobian ``(d,) -> (D, d)``; composable with vmap/jacfwd (no input checks)."""
    return jacfwd(_pointwise(decoder))


def pointwise_metric(decoder: Decoder) -> Callable[[torch.Tensor], torch.Tensor]:
    """One-point pullback metric ``(d,) -> (d, d)``, ``G = J^T J``; composable with torch.func."""
    jac = pointwise_jacobian(decoder)

    def metric(zi: torch.Tensor) -> torch.Tensor:
        j = jac(zi)
        return j.T @ j
    return metric


def decoder_jet(decoder: Decoder, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """First and second derivatives in one nested forward pass.

    ``z`` (n, d) -> ``J`` (n, D, d) and ``H`` (n, D, d, d) with
    ``H[k, a, i, j] = d^2 decoder(z_k)_a / dz_i dz_j``.
    """
    check_points(z)
    jac = pointwise_jacobian(decoder)
    def jac_twice(zi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        j = jac(zi)
        return j, j
    hess = jacfwd(jac_twice, has_aux=True)
    h, j = vmap(hess)(z)
    return j, h
