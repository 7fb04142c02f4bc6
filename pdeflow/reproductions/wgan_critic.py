"""Do WGAN-GP critics measure W1? A critic f_theta trained on two finitely supported measures.

The critic maximises (Gulrajani et al. 2017)::

    E_mu f - E_nu f - lambda E_{x_hat} (|grad f(x_hat)| - 1)^2,   x_hat = u x + (1 - u) y,

x ~ mu, y ~ nu, u ~ U[0, 1]. For finitely supported mu, nu the two expectations are exact weighted
sums, so the only errors in the reported estimate E_mu f - E_nu f are the critic's: the penalty
only softly enforces the 1-Lipschitz constraint of Kantorovich-Rubinstein duality
(W1 = sup_{Lip f <= 1} E_mu f - E_nu f), and only on the interpolation lines. Compare with the
exact W1 of :func:`pdeflow.validation.metrics.wasserstein1`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..learn.networks import _mlp, _seeded_init
from ..validation.metrics import _weights, check_cloud

__all__ = ["DiscreteMeasure", "CriticResult", "train_wgan_critic"]


@dataclass(frozen=True)
class DiscreteMeasure:
    """sum_i weights_i delta_{atoms_i}; atoms (k, d), weights (k,) summing to 1 (uniform if None)."""

    atoms: np.ndarray
    weights: np.ndarray | None = None

    def __post_init__(self):
        atoms = check_cloud(self.atoms, "atoms")
        object.__setattr__(self, "atoms", atoms)
        object.__setattr__(self, "weights", _weights(self.weights, len(atoms), "weights"))

    @property
    def dim(self) -> int:
        return self.atoms.shape[1]


@dataclass
class CriticResult:
    """w1_estimate : E_mu f - E_nu f of the trained critic (length units);
    history : (steps // record_every,) estimates during training;
    grad_norm_mean, grad_norm_max : ``|grad f|`` over fresh interpolates after training;
    lipschitz_on_support : ``max |f(x_i) - f(y_j)| / |x_i - y_j|`` over atom pairs (a lower bound on
    the critic's Lipschitz constant)."""

    w1_estimate: float
    history: np.ndarray
    grad_norm_mean: float
    grad_norm_max: float
    lipschitz_on_support: float


def _interpolates(a, b, mu, nu, n, gen):
    i = torch.multinomial(mu, n, replacement=True, generator=gen)
    j = torch.multinomial(nu, n, replacement=True, generator=gen)
    u = torch.rand(n, 1, generator=gen, dtype=a.dtype)
    return (u * a[i] + (1 - u) * b[j]).requires_grad_(True)


def _grad_norm(critic, x):
    (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return g.norm(dim=1)


def train_wgan_critic(mu: DiscreteMeasure, nu: DiscreteMeasure, gp_weight: float = 10.0,
                      hidden=(64, 64), steps: int = 2000, batch_size: int = 64,
                      lr: float = 1e-3, seed: int = 0, record_every: int = 50) -> CriticResult:
    """Train a WGAN-GP critic (MLP, SiLU, float64) between ``mu`` and ``nu``; see module docstring.

    ``gp_weight`` is lambda (> 0); Adam(lr, betas=(0.5, 0.9)) as in the WGAN-GP paper.
    """
    if mu.dim != nu.dim:
        raise ValueError(f"mu and nu must live in the same dimension, got {mu.dim} and {nu.dim}")
    if not (math.isfinite(gp_weight) and gp_weight > 0):
        raise ValueError(f"gp_weight must be a finite number > 0, got {gp_weight}")
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps}")
    dtype = torch.float64
    net = _mlp(mu.dim, tuple(hidden), 1, "silu", 1.0)
    _seeded_init(net, seed)
    net.to(dtype)
    critic = lambda x: net(x)[:, 0]
    gen = torch.Generator().manual_seed(int(seed))
    a, b = (torch.as_tensor(m.atoms, dtype=dtype) for m in (mu, nu))
    wa, wb = (torch.as_tensor(m.weights, dtype=dtype) for m in (mu, nu))
    estimate = lambda: (wa * critic(a)).sum() - (wb * critic(b)).sum()
    opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.5, 0.9))
    history = []
    for step in range(int(steps)):
        opt.zero_grad(set_to_none=True)
        x_hat = _interpolates(a, b, wa, wb, batch_size, gen)
        penalty = (_grad_norm(critic, x_hat) - 1).pow(2).mean()
        gap = estimate()
        (-gap + gp_weight * penalty).backward()
        opt.step()
        if (step + 1) % record_every == 0:
            history.append(gap.item())
    norms = _grad_norm(critic, _interpolates(a, b, wa, wb, 4096, gen)).detach().numpy()
    with torch.no_grad():
        fa, fb = critic(a).numpy(), critic(b).numpy()
        dist = np.linalg.norm(mu.atoms[:, None] - nu.atoms[None], axis=-1)
        ratio = np.abs(fa[:, None] - fb[None]) / np.maximum(dist, 1e-12)
        final = float(estimate())
    return CriticResult(final, np.asarray(history), float(norms.mean()), float(norms.max()),
                        float(ratio[dist > 1e-12].max()))
