"""Log-Fokker-Planck residual: zero for the exact log-density of a Gaussian-mixture flow (torch),
non-zero for a wrong one; the Hutchinson Laplacian is unbiased."""
import math

import numpy as np
import pytest
import torch

from pdeflow.equations import FokkerPlanck
from pdeflow.learn import PotentialMLP, fp_residual, potential_derivatives

F64 = torch.float64
WEIGHTS, MEANS, STDS = [0.4, 0.6], [[-1.0, 0.5], [1.0, -0.3]], [0.3, 0.6]


def mixture_log_density(eq, frozen_time=None):
    """log rho(t, x) of the isotropic mixture under ``eq``, written in torch (float64)."""
    w = torch.tensor(WEIGHTS, dtype=F64)
    mu0 = torch.tensor(MEANS, dtype=F64)
    var0 = torch.tensor(STDS, dtype=F64) ** 2

    def log_rho(t, x):
        if frozen_time is not None:
            t = torch.full_like(t, frozen_time)
        t = t[:, None]
        decay = torch.exp(-eq.kappa * t)
        added = 2 * eq.D * t if eq.kappa == 0 else -(eq.D / eq.kappa) * torch.expm1(-2 * eq.kappa * t)
        var = decay ** 2 * var0 + added                                   # (n, K)
        r2 = ((x[:, None, :] - decay[..., None] * mu0) ** 2).sum(-1)      # (n, K)
        logc = torch.log(w) - 0.5 * r2 / var - 0.5 * eq.dim * torch.log(2 * math.pi * var)
        return torch.logsumexp(logc, dim=1)
    return log_rho


@pytest.mark.parametrize("eq", [FokkerPlanck(D=0.5, kappa=1.0, dim=2),
                                FokkerPlanck(D=0.3, kappa=0.0, dim=2)])
def test_residual_vanishes_for_the_exact_log_density(eq):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 2, generator=gen, dtype=F64)
    t = 0.05 + torch.rand(64, generator=gen, dtype=F64)
    r = fp_residual(mixture_log_density(eq), eq, t, x)
    scale = fp_residual(mixture_log_density(eq, frozen_time=0.3), eq, t, x)  # a wrong density
    assert r.abs().max().item() < 1e-10
    assert scale.abs().mean().item() > 0.1


def test_hutchinson_laplacian_is_unbiased():
    phi = PotentialMLP(4, (16, 16), activation="softplus", beta=3.0, dtype=F64, seed=0)
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(1), dtype=F64)
    t = torch.full((8,), 0.3, dtype=F64)
    _, _, exact = potential_derivatives(phi, t, x, "exact")
    gen = torch.Generator().manual_seed(2)
    draws = torch.stack([potential_derivatives(phi, t, x, "hutchinson", generator=gen)[2]
                         for _ in range(400)]).detach()
    mean, se = draws.mean(0), draws.std(0) / math.sqrt(len(draws))
    assert torch.all(se > 0)                                  # a real estimator, not exact
    z = ((mean - exact.detach()) / se).numpy()
    assert np.all(np.abs(z) < 4.0)
    assert np.mean(z ** 2) < 3.0                              # ~ chi^2_8 / 8, mean 1


def test_bad_input_raises_value_error():
    phi = PotentialMLP(2, (8,), dtype=F64)
    x = torch.zeros(3, 2, dtype=F64)
    with pytest.raises(ValueError):
        potential_derivatives(phi, 0.1, x, "approximate")
    with pytest.raises(ValueError):
        potential_derivatives(phi, 0.1, x, "hutchinson")        # no generator
    with pytest.raises(ValueError):
        fp_residual(phi, object(), 0.1, x)
