"""The geodesic embedding of MIOFlow: diffusion / PHATE-potential distances and an autoencoder
whose latent distances match them.

:func:`manifold_distances` builds PHATE's alpha-decay affinity (adaptive bandwidth: the distance
to the ``knn``-th neighbour, decay ``alpha``), the diffusion operator P (row-normalised), its
power P^t, and returns either diffusion distances ``|P^t_i - P^t_j|`` or PHATE potential
distances ``|log P^t_i - log P^t_j|``. It is written with numpy/scipy rather than with the ``phate`` package
(which would add graphtools, PyGSP, tasklogger, Deprecated, future and wrapt for this one matrix);
it follows PHATE's definitions but is not checked against that package's numbers.

:class:`GeodesicAutoencoder` (MIOFlow's GAE, ``use_emb`` mode): an encoder/decoder pair trained on
noisy inputs so that ``|E(x_i) - E(x_j)|`` matches the given distances, plus reconstruction. Its frozen
encoder can be handed to :class:`~pdeflow.trajectory.MIOFlow` (``encoder=``): the losses are then
computed in the latent space while the ODE runs in the data space.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.distance import cdist
from torch import nn

__all__ = ["manifold_distances", "GeodesicAutoencoder"]


def manifold_distances(x, *, knn: int = 5, alpha: float = 40.0, t: int = 5,
                       kind: str = "potential") -> np.ndarray:
    """(n, n) diffusion (``kind="diffusion"``) or PHATE potential (``"potential"``) distances of
    the points x (n, d); ``knn`` < n, ``alpha`` > 0, ``t`` >= 1 diffusion steps."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < 3:
        raise ValueError(f"x must have shape (n, d) with n >= 3, got {x.shape}")
    if int(knn) != knn or not 1 <= knn < len(x):
        raise ValueError(f"knn must be an integer in 1..{len(x) - 1}, got {knn}")
    if int(t) != t or t < 1 or not alpha > 0:
        raise ValueError(f"t must be an integer >= 1 and alpha > 0, got {t}, {alpha}")
    if kind not in ("diffusion", "potential"):
        raise ValueError(f"kind must be 'diffusion' or 'potential', got {kind!r}")
    d = cdist(x, x)
    bandwidth = np.sort(d, axis=1)[:, int(knn)]
    affinity = np.exp(-(d / bandwidth[:, None]) ** alpha)
    affinity = 0.5 * (affinity + affinity.T)
    P = np.linalg.matrix_power(affinity / affinity.sum(1, keepdims=True), int(t))
    if kind == "potential":
        P = -np.log(P + 1e-7)
    return cdist(P, P)


def _mlp(widths):
    layers = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1]).double()


class GeodesicAutoencoder(nn.Module):
    """Encoder (d -> hidden -> latent) and decoder, trained by :meth:`fit`.

    Parameters
    ----------
    dim, latent : input and latent dimensions.
    hidden : widths of the hidden layers (MIOFlow's Petal setting: (8, 32)).
    seed : int; initial weights and training batches.
    """

    def __init__(self, dim: int, latent: int, hidden=(8, 32), seed: int = 0):
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(int(seed))
            self.encoder = _mlp([dim, *hidden, latent])
            self.decoder = _mlp([latent, *hidden[::-1], dim])
        self.seed = int(seed)

    def forward(self, x):
        return self.encoder(x)

    def fit(self, x, distances, *, epochs: int = 200, batch_size: int = 64, lr: float = 1e-3,
            noise=(0.09, 0.15), reconstruction: float = 1.0) -> "GeodesicAutoencoder":
        """Fit on points x (n, d) and target distances (n, n); distances are rescaled to the
        mean input distance. ``noise`` bounds the uniform input-noise scale (MIOFlow's)."""
        x = torch.as_tensor(np.asarray(x, dtype=np.float64))
        target = torch.as_tensor(np.asarray(distances, dtype=np.float64))
        if target.shape != (len(x), len(x)):
            raise ValueError(f"distances must have shape {(len(x), len(x))}, got {tuple(target.shape)}")
        target = target * (torch.cdist(x, x).mean() / target.mean())
        optimiser = torch.optim.AdamW(self.parameters(), lr=lr)
        rng = np.random.default_rng(self.seed)
        for _ in range(int(epochs)):
            idx = torch.as_tensor(rng.choice(len(x), size=min(batch_size, len(x)), replace=False))
            scale = rng.uniform(*noise)
            noisy = x[idx] + scale * torch.as_tensor(rng.standard_normal(tuple(x[idx].shape)))
            z = self.encoder(noisy)
            loss = ((torch.cdist(z, z) - target[idx][:, idx]) ** 2).mean()
            loss = loss + reconstruction * ((self.decoder(z) - x[idx]) ** 2).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)
        return self
