"""The losses of MIOFlow (Huguet et al. 2022), as in its reference code.

* :func:`ot_loss` - minibatch optimal-transport loss: the exact EMD plan (POT ``ot.emd``) for the
  squared Euclidean cost between two uniform clouds, the loss sum(plan * cost) = W2^2 of the
  minibatch, differentiated through the cost only (the plan is a constant, which is the gradient
  of W2^2 by the envelope theorem).
* :func:`density_loss` - mean over predicted points of relu(distance to each of the k nearest
  target points - hinge), k = 5, hinge = 0.01.
* :func:`kinetic_energy` - mean over sampled trajectory points of ``|v|^2``.

All take torch tensors (n, d) and return a scalar tensor.
"""
from __future__ import annotations

import numpy as np
import ot
import torch

__all__ = ["ot_loss", "ot_plan", "density_loss", "kinetic_energy"]


def _check_pair(x, y):
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or len(x) < 1 or len(y) < 1:
        raise ValueError(f"x and y must be non-empty (n, d) and (m, d) tensors with the same d, "
                         f"got {tuple(x.shape)} and {tuple(y.shape)}")


def ot_plan(cost: np.ndarray) -> np.ndarray:
    """Exact OT plan (n, m) between uniform weights for the cost matrix (n, m) (``ot.emd``)."""
    n, m = cost.shape
    return ot.emd(np.full(n, 1.0 / n), np.full(m, 1.0 / m), cost, numItermax=10 ** 7)


def ot_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``sum_ij P_ij |x_i - y_j|^2`` with P the exact OT plan between the uniform clouds ``x`` (n, d)
    and ``y`` (m, d): the minibatch W2^2 (squared length units); gradients flow through the cost."""
    _check_pair(x, y)
    cost = torch.cdist(x, y) ** 2
    plan = ot_plan(cost.detach().cpu().double().numpy())
    return (torch.as_tensor(plan, dtype=cost.dtype, device=cost.device) * cost).sum()


def density_loss(x: torch.Tensor, y: torch.Tensor, k: int = 5, hinge: float = 0.01) -> torch.Tensor:
    """``mean_i mean_{j in kNN_y(x_i)} relu(|x_i - y_j| - hinge)`` (length units); ``k`` <= len(y)."""
    _check_pair(x, y)
    if int(k) != k or not 1 <= k <= len(y):
        raise ValueError(f"k must be an integer in 1..{len(y)}, got {k}")
    if not hinge >= 0:
        raise ValueError(f"hinge must be >= 0, got {hinge}")
    nearest = torch.topk(torch.cdist(x, y), int(k), dim=1, largest=False).values
    return torch.clamp(nearest - hinge, min=0.0).mean()


def kinetic_energy(velocities: torch.Tensor) -> torch.Tensor:
    """mean over all leading axes of ``|v|^2`` for velocities (..., d) (squared speed units)."""
    if velocities.ndim < 2:
        raise ValueError(f"velocities must have shape (..., n, d), got {tuple(velocities.shape)}")
    return (velocities ** 2).sum(-1).mean()
