"""Ricci-flow autoencoder: an autoencoder whose loss flattens its decoder's latent geometry.

    L = lambda_recon * MSE(decoder(encoder(x)), x) + lambda_curv * L_curv

``L_curv`` is one of (evaluated at the batch's latent codes, detached, with ``w_k = 1/n``):

- ``"r2"``:       ``int R^2 dmu``                                     (:func:`curvature_energy`)
- ``"perelman"``: ``F(g, f)^2`` with a learned potential ``f`` normalised so ``int e^{-f} dmu = 1``
- ``"w"``:        ``W(g, f, tau)^2`` with a learned, normalised potential ``f``

F and W are squared so that their flat values (0 for a flat chart with the optimal ``f``) are the
penalty's minimum; the potential is trained jointly with the same loss. Note that ``F = 0`` or
``W = 0`` does not by itself force ``R = 0`` pointwise: only ``"r2"`` is a pointwise penalty.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..progress import progress_bar
from ..geometry.functionals import curvature_energy, perelman_f, w_entropy
from ..geometry.networks import mlp

FUNCTIONALS = ("r2", "perelman", "w")


@dataclass
class RicciAEConfig:
    """Hyper-parameters. ``hidden``: widths of the hidden layers of encoder, decoder, potential."""
    latent_dim: int = 2
    hidden: tuple = (64, 64)
    activation: str = "tanh"
    lambda_recon: float = 1.0
    lambda_curv: float = 0.0
    functional: str = "r2"
    tau: float = 1.0
    steps: int = 1000
    batch_size: int = 128
    curvature_batch: int = 64
    lr: float = 2e-3
    seed: int = 0
    dtype: torch.dtype = torch.float64

    def __post_init__(self):
        if self.functional not in FUNCTIONALS:
            raise ValueError(f"functional must be one of {FUNCTIONALS}, got {self.functional!r}")
        if self.lambda_recon < 0 or self.lambda_curv < 0:
            raise ValueError("lambda_recon and lambda_curv must be >= 0")
        if self.latent_dim < 1 or self.steps < 0 or self.batch_size < 1 or self.curvature_batch < 1:
            raise ValueError("latent_dim, batch_size, curvature_batch must be >= 1 and steps >= 0")
        if not self.tau > 0:
            raise ValueError(f"tau must be > 0, got {self.tau}")


class RicciAutoencoder(nn.Module):
    """Encoder ``R^D -> R^d``, decoder ``R^d -> R^D`` (smooth MLPs) and a potential ``R^d -> R``."""

    def __init__(self, data_dim: int, config: RicciAEConfig):
        super().__init__()
        c = config
        self.config = c
        hidden = list(c.hidden)
        self.encoder = mlp([data_dim, *hidden, c.latent_dim], c.activation, c.seed, dtype=c.dtype)
        self.decoder = mlp([c.latent_dim, *hidden, data_dim], c.activation, c.seed + 1, dtype=c.dtype)
        self.potential_net = mlp([c.latent_dim, *hidden, 1], c.activation, c.seed + 2, dtype=c.dtype)

    def potential(self, z: torch.Tensor) -> torch.Tensor:
        """Learned potential ``f(z)`` (n,)."""
        return self.potential_net(z).squeeze(-1)

    def curvature_penalty(self, z: torch.Tensor) -> torch.Tensor:
        """``L_curv`` at latent points ``z`` (n, d); 0-d tensor."""
        c = self.config
        if c.functional == "r2":
            return curvature_energy(self.decoder, z)
        if c.functional == "perelman":
            return perelman_f(self.decoder, self.potential, z, normalise=True) ** 2
        return w_entropy(self.decoder, self.potential, z, c.tau, normalise=True) ** 2

    def loss(self, x: torch.Tensor, x_curv: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Total loss and its parts on a batch ``x`` and a (smaller) curvature batch ``x_curv``."""
        c = self.config
        recon = ((self.decoder(self.encoder(x)) - x) ** 2).mean()
        total = c.lambda_recon * recon
        parts = {"recon": recon.item()}
        if c.lambda_curv > 0:
            curv = self.curvature_penalty(self.encoder(x_curv).detach())
            total = total + c.lambda_curv * curv
            parts["curv"] = curv.item()
        return total, parts


def train_ricci_autoencoder(x, config: RicciAEConfig, progress: bool = False
                            ) -> tuple[RicciAutoencoder, list[dict]]:
    """Train on data ``x`` (N, D) with Adam; batches are drawn from a generator seeded with
    ``config.seed``. Returns the model and the per-step loss parts."""
    x = torch.as_tensor(np.asarray(x), dtype=config.dtype)
    if x.ndim != 2 or not torch.isfinite(x).all():
        raise ValueError(f"x must be a finite (N, D) array, got shape {tuple(x.shape)}")
    torch.manual_seed(config.seed)      # nothing random is drawn from it; kept for user layers
    gen = torch.Generator().manual_seed(config.seed)
    model = RicciAutoencoder(x.shape[1], config)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    history = []
    for _ in progress_bar(range(config.steps), progress=progress, desc="ricci-ae"):
        idx = torch.randint(0, x.shape[0], (config.batch_size,), generator=gen)
        batch = x[idx]
        total, parts = model.loss(batch, batch[:config.curvature_batch])
        opt.zero_grad()
        total.backward()
        opt.step()
        history.append(parts)
    return model, history
