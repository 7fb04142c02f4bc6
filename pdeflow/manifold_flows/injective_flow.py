"""Injective flow g: R^d -> R^D, g = f o pad, with a bijective prior flow on the latent space.

* ``decode(z)`` = g(z) = f([z, 0]) for ``z`` (n, d) -> (n, D);
* ``project(x)`` = g^+(x) = first d coordinates of f^{-1}(x), a left inverse: g^+(g(z)) = z
  exactly, so g(g^+(x)) is a projection onto the learned manifold;
* ``log_prior(z)`` = log p_z(z) through the prior bijection h: u = h(z), u ~ N(0, I_d);
* ``project_base(x)`` = h(g^+(x)) and ``decode_base(u)`` = g(h^{-1}(u)): the same maps in the
  coordinates of the standard-normal base variable u (where the CMF authors read G).
"""
from __future__ import annotations

import torch
from torch import nn

from .bijections import coupling_flow, standard_normal_logpdf
from ..geometry.pullback import check_points


class InjectiveFlow(nn.Module):
    """Rectangular / canonical manifold flow with latent dim ``d`` < ambient dim ``D``;
    ``coupling`` in {"affine", "spline"} selects the coupling layers of both flows."""

    def __init__(self, d: int, D: int, n_layers: int = 6, hidden: int = 64,
                 prior_layers: int = 4, prior_hidden: int = 32, seed: int = 0,
                 coupling: str = "affine"):
        super().__init__()
        for name, v in (("d", d), ("D", D)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        self._check_dims(d, D)
        self.d, self.D = d, D
        self.ambient = coupling_flow(D, n_layers, hidden, seed=seed, coupling=coupling)
        self.prior = coupling_flow(d, prior_layers, prior_hidden, seed=seed + 7919, coupling=coupling)

    @staticmethod
    def _check_dims(d: int, D: int) -> None:
        if d >= D:
            raise ValueError(f"latent dim d must be < ambient dim D, got d={d}, D={D}")

    def _check(self, t: torch.Tensor, width: int, name: str) -> torch.Tensor:
        check_points(t, name)
        if t.shape[1] != width:
            raise ValueError(f"{name} must have shape (n, {width}), got {tuple(t.shape)}")
        return t

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """g(z): (n, d) -> (n, D)."""
        pad = z.new_zeros(z.shape[0], self.D - self.d)
        return self.ambient(torch.cat([z, pad], dim=1))[0]

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """g^+(x): (n, D) -> (n, d)."""
        self._check(x, self.D, "x")
        return self.ambient.inverse(x)[0][:, : self.d]

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """g(g^+(x)): (n, D) -> (n, D), the projection of x onto the learned manifold."""
        return self.decode(self.project(x))

    def log_prior(self, z: torch.Tensor) -> torch.Tensor:
        """log p_z(z) for ``z`` (n, d); returns (n,)."""
        u, logdet = self.prior(z)
        return standard_normal_logpdf(u) + logdet

    def project_base(self, x: torch.Tensor) -> torch.Tensor:
        """u = h(g^+(x)), the standard-normal base coordinates of x: (n, D) -> (n, d)."""
        return self.prior(self.project(x))[0]

    def decode_base(self, u: torch.Tensor) -> torch.Tensor:
        """g(h^{-1}(u)): (n, d) base coordinates -> (n, D); its Jacobian is J_g(z) dz/du."""
        return self.decode(self.prior.inverse(u)[0])

    def sample_latent(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n latent samples z = h^{-1}(u), u ~ N(0, I_d); (n, d)."""
        dtype = next(self.parameters()).dtype
        u = torch.randn(n, self.d, generator=generator, dtype=dtype)
        return self.prior.inverse(u)[0]

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n ambient samples g(z), z ~ p_z; (n, D)."""
        return self.decode(self.sample_latent(n, generator))
