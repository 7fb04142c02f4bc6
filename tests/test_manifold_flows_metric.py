"""Properties of G = J^T J, its exact log-det, and the metric penalties."""
import math

import pytest
import torch
from hypothesis import given, strategies as st

from pdeflow.manifold_flows.cmf import conformal_penalty, offdiag_l1
from pdeflow.geometry.pullback import decoder_jacobian, pullback_metric
from pdeflow.manifold_flows.logdet import logdet_exact
from _manifold_helpers import mlp_decoder, random_flow

seeds = st.integers(0, 10_000)


def _points(n, d, seed):
    return torch.randn(n, d, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


@given(st.integers(1, 4), st.integers(1, 3), seeds)
def test_metric_is_symmetric_positive_semidefinite(d, extra, seed):
    G = pullback_metric(random_flow(d, d + extra, seed).decode, _points(4, d, seed))
    torch.testing.assert_close(G, G.transpose(1, 2), atol=1e-12, rtol=0)
    assert torch.linalg.eigvalsh(G).min() >= -1e-10


@given(st.integers(1, 4), st.integers(1, 3), seeds, st.sampled_from(["affine", "spline"]))
def test_exact_logdet_is_twice_sum_log_singular_values(d, extra, seed, coupling):
    flow = random_flow(d, d + extra, seed, coupling=coupling)
    z = _points(4, d, seed)
    jac = decoder_jacobian(flow.decode, z)
    logdet, jitter = logdet_exact(pullback_metric(flow.decode, z))
    assert jitter == 0.0
    expected = 2 * torch.log(torch.linalg.svdvals(jac)).sum(-1)
    torch.testing.assert_close(logdet, expected, atol=1e-9, rtol=0)


@given(st.integers(2, 5), seeds)
def test_penalty_is_zero_iff_metric_is_diagonal(d, seed):
    g = torch.Generator().manual_seed(seed)
    diag = torch.diag_embed(torch.rand(3, d, generator=g, dtype=torch.float64) + 0.1)
    assert torch.equal(offdiag_l1(diag), torch.zeros(3, dtype=torch.float64))
    a = torch.randn(3, d + 1, d, generator=g, dtype=torch.float64)
    full = a.transpose(1, 2) @ a
    is_diag = (full - torch.diag_embed(full.diagonal(dim1=1, dim2=2))).abs().amax((1, 2)) == 0
    assert ((offdiag_l1(full) == 0) == is_diag).all() and (offdiag_l1(full) > 0).all()
    torch.testing.assert_close(conformal_penalty(2.5 * torch.eye(d).double()[None]),
                               torch.zeros(1, dtype=torch.float64))


@given(st.integers(2, 4), seeds)
def test_penalty_invariant_under_latent_permutation_and_sign_flip(d, seed):
    decoder = mlp_decoder(d, d + 2, seed)
    g = torch.Generator().manual_seed(seed + 1)
    perm = torch.randperm(d, generator=g)
    signs = torch.where(torch.rand(d, generator=g) < 0.5, -1.0, 1.0).double()
    m = torch.eye(d, dtype=torch.float64)[perm] * signs  # z' = m z, orthogonal signed permutation
    z = _points(5, d, seed)
    G = pullback_metric(decoder, z)
    # decoder2(w) = decoder(m^T w) at w = m z has metric m G m^T.
    G2 = pullback_metric(lambda w: decoder(w @ m), z @ m.T)
    torch.testing.assert_close(offdiag_l1(G2), offdiag_l1(G), atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(conformal_penalty(G2), conformal_penalty(G), atol=1e-12, rtol=1e-12)


@given(st.integers(2, 4), st.floats(0.1, 10.0), seeds)
def test_penalty_scales_by_c_squared(d, c, seed):
    decoder = mlp_decoder(d, d + 1, seed)
    z = _points(4, d, seed)
    p1 = offdiag_l1(pullback_metric(decoder, z))
    pc = offdiag_l1(pullback_metric(lambda w: c * decoder(w), z))
    torch.testing.assert_close(pc, c ** 2 * p1, atol=1e-12, rtol=1e-10)


@given(st.integers(1, 4), st.integers(1, 3), seeds)
def test_metric_invariant_under_ambient_isometry(d, extra, seed):
    D = d + extra
    decoder = mlp_decoder(d, D, seed)
    g = torch.Generator().manual_seed(seed + 2)
    q, _ = torch.linalg.qr(torch.randn(D, D, generator=g, dtype=torch.float64))
    b = torch.randn(D, generator=g, dtype=torch.float64)
    z = _points(4, d, seed)
    G = pullback_metric(decoder, z)
    G2 = pullback_metric(lambda w: decoder(w) @ q.T + b, z)
    torch.testing.assert_close(G2, G, atol=1e-11, rtol=1e-11)


def test_rank_deficient_metric_gets_reported_jitter_and_zero_metric_raises():
    G = torch.diag(torch.tensor([1.0, 0.0], dtype=torch.float64))[None]
    logdet, jitter = logdet_exact(G, jitter=1e-8)
    assert jitter == 1e-8  # the first (smallest) jitter suffices and is reported
    # det(G + jitter * mean(diag) I) = (1 + 5e-9) * 5e-9
    assert abs(logdet.item() - math.log(5e-9 * (1 + 5e-9))) < 1e-9
    with pytest.raises(ValueError, match="G"):
        logdet_exact(torch.zeros(1, 2, 2, dtype=torch.float64))


@pytest.mark.parametrize("G", [torch.ones(2, 3), torch.full((1, 2, 2), float("inf"))])
def test_bad_metric_is_rejected(G):
    with pytest.raises(ValueError, match="G"):
        logdet_exact(G)
