"""The stochastic (Hutchinson + CG) log det G surrogate and the batched CG solver."""
import pytest
import torch
from hypothesis import given, strategies as st

from pdeflow.manifold.geometry import pullback_metric
from pdeflow.manifold.logdet import batched_cg, logdet_exact, logdet_surrogate
from _manifold_helpers import random_flow


@given(st.integers(1, 6), st.integers(0, 10_000), st.sampled_from([1e-4, 1e-8]))
def test_cg_solves_spd_systems_within_tolerance(d, seed, tol):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(3, d + 2, d, generator=g, dtype=torch.float64)
    A = a.transpose(1, 2) @ a + 0.1 * torch.eye(d, dtype=torch.float64)
    b = torch.randn(3, d, generator=g, dtype=torch.float64)
    x, resid, _ = batched_cg(lambda u: (A @ u[..., None])[..., 0], b, tol=tol, maxiter=10 * d)
    assert resid <= tol
    true_resid = ((A @ x[..., None])[..., 0] - b).norm(dim=-1) / b.norm(dim=-1)
    assert true_resid.max().item() <= tol * 1.0001


@given(st.integers(1, 4), st.integers(0, 10_000))
def test_surrogate_reports_cg_residual_within_tolerance(d, seed):
    flow = random_flow(d, d + 2, seed)
    z = torch.randn(4, d, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    _, info = logdet_surrogate(flow.decode, z, n_probes=2, cg_tol=1e-9, cg_maxiter=50,
                               generator=torch.Generator().manual_seed(seed))
    assert info["cg_residual"] <= 1e-9


def test_surrogate_gradient_matches_exact_gradient_in_expectation():
    """Seeded statistical test: the mean of N surrogate gradients is within 5 standard errors
    (in the norm over all parameters) of the exact gradient of sum log det G, and the test has
    power: a 20 % biased estimator would be rejected."""
    flow = random_flow(3, 5, seed=11, scale=0.3)
    z = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    params = [p for p in flow.ambient.parameters() if p.requires_grad]

    def flat_grad(value):
        return torch.cat([g.flatten() for g in torch.autograd.grad(value, params, allow_unused=False)])

    exact = flat_grad(logdet_exact(pullback_metric(flow.decode, z))[0].sum())
    gen = torch.Generator().manual_seed(2024)
    n = 400
    samples = torch.stack([flat_grad(logdet_surrogate(flow.decode, z, 1, 1e-10, 50, gen)[0].sum())
                           for _ in range(n)])
    mean, se = samples.mean(0), samples.std(0) / n ** 0.5
    err, noise = (mean - exact).norm().item(), se.norm().item()
    assert err < 5 * noise, (err, noise)
    assert 0.2 * exact.norm().item() > 5 * noise  # the check can fail for a biased estimator


def test_surrogate_requires_explicit_generator_and_valid_settings():
    flow = random_flow(2, 3, 0)
    z = torch.zeros(2, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="generator"):
        logdet_surrogate(flow.decode, z)
    with pytest.raises(ValueError, match="n_probes"):
        logdet_surrogate(flow.decode, z, n_probes=0, generator=torch.Generator())
    with pytest.raises(ValueError, match="cg_tol"):
        logdet_surrogate(flow.decode, z, cg_tol=0.0, generator=torch.Generator())
