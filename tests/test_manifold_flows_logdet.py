"""The stochastic (Hutchinson + CG) log det G surrogate and the batched CG solver."""
import pytest
import torch
from hypothesis import given, strategies as st

from pdeflow.geometry.pullback import pullback_metric
from pdeflow.manifold_flows.logdet import batched_cg, logdet_exact, logdet_surrogate
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
    flow = random_flow(d, d + 2, seed, n_layers=1)
    z = torch.randn(4, d, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    _, info = logdet_surrogate(flow.decode, z, n_probes=2, cg_tol=1e-9, cg_maxiter=50,
                               generator=torch.Generator().manual_seed(seed))
    assert info["cg_residual"] <= 1e-9


def _per_row_decoder(a, b, c):
    """z (n, d) -> tanh(A_k z_k + b_k) C_k^T with one weight copy per row (a: (n, h, d), ...),
    so the gradient w.r.t. row k's copy is that row's own gradient sample."""
    return lambda z: torch.einsum("nDh,nh->nD", c, torch.tanh(torch.einsum("nhd,nd->nh", a, z) + b))


def test_surrogate_gradient_matches_exact_gradient_in_expectation():
    """Seeded statistical test. N independent single-probe surrogate gradients (w.r.t. the
    decoder weights and the latent point) are averaged; the mean must lie within 5 standard
    errors (norm over all components) of the exact gradient of log det G, and the test has
    power: a 20 % biased estimator would be rejected."""
    d, h, D, n = 3, 6, 5, 80_000
    g = torch.Generator().manual_seed(7)
    a0, b0, c0 = (0.5 * torch.randn(*s, generator=g, dtype=torch.float64) for s in ((h, d), (h,), (D, h)))
    z0 = torch.randn(d, generator=g, dtype=torch.float64)

    def leaves(rows):
        return [t.expand(rows, *t.shape).clone().requires_grad_(True) for t in (a0, b0, c0, z0)]

    a, b, c, z = leaves(1)
    exact_logdet = logdet_exact(pullback_metric(_per_row_decoder(a, b, c), z))[0].sum()
    exact = torch.cat([t.flatten() for t in torch.autograd.grad(exact_logdet, (a, b, c, z))])

    a, b, c, z = leaves(n)
    surrogate, info = logdet_surrogate(_per_row_decoder(a, b, c), z, 1, 1e-10, 50,
                                       torch.Generator().manual_seed(2024))
    assert info["cg_residual"] <= 1e-10
    grads = torch.autograd.grad(surrogate.sum(), (a, b, c, z))
    samples = torch.cat([t.reshape(n, -1) for t in grads], dim=1)  # (n, n_params)
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
