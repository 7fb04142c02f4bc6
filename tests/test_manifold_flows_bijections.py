import pytest
import torch
from hypothesis import given, strategies as st

from pdeflow.manifold_flows.bijections import (AffineCoupling, Permutation, RationalQuadraticCoupling,
                                         coupling_flow, randomize_)


def _flow(dim, seed, coupling="affine"):
    flow = coupling_flow(dim, n_layers=3, hidden=8, seed=seed, coupling=coupling).double()
    return randomize_(flow, 0.3, seed)


couplings = st.sampled_from(["affine", "spline"])


@given(st.integers(1, 6), st.integers(0, 10_000), couplings)
def test_inverse_of_forward_is_identity(dim, seed, coupling):
    flow = _flow(dim, seed, coupling)
    # scale 3 puts some points outside the spline's [-4, 4] box (identity tails)
    x = 3 * torch.randn(5, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    y, ld_fwd = flow(x)
    x_back, ld_inv = flow.inverse(y)
    # float64 round-off; the spline inverse solves a quadratic per coordinate and layer
    torch.testing.assert_close(x_back, x, atol=1e-9, rtol=1e-9)
    torch.testing.assert_close(ld_inv, -ld_fwd, atol=1e-9, rtol=1e-9)


@given(st.integers(1, 5), st.integers(0, 10_000), couplings)
def test_logdet_equals_slogdet_of_autograd_jacobian(dim, seed, coupling):
    flow = _flow(dim, seed, coupling)
    x = 3 * torch.randn(3, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    _, logdet = flow(x)
    for i in range(3):
        jac = torch.autograd.functional.jacobian(lambda v: flow(v[None])[0][0], x[i])
        _, expected = torch.linalg.slogdet(jac)  # log |det|; permutations may flip the sign
        torch.testing.assert_close(logdet[i], expected, atol=1e-10, rtol=0)


@pytest.mark.parametrize("coupling", ["affine", "spline"])
def test_flow_is_not_trivially_identity_after_randomisation(coupling):
    flow = _flow(4, 3, coupling)
    x = torch.randn(10, 4, dtype=torch.float64)
    y, logdet = flow(x)
    assert (y - x).abs().max() > 1e-2 and logdet.abs().max() > 1e-3


@pytest.mark.parametrize("coupling", ["affine", "spline"])
def test_fresh_flow_is_identity_and_seed_is_reproducible(coupling):
    x = torch.randn(4, 3, dtype=torch.float64)
    y, ld = coupling_flow(3, seed=1, coupling=coupling).double()(x)
    torch.testing.assert_close(y, x, atol=1e-12, rtol=0)
    torch.testing.assert_close(ld, torch.zeros(4, dtype=torch.float64), atol=1e-12, rtol=0)
    p1 = [p.clone() for p in coupling_flow(3, seed=5).parameters()]
    p2 = list(coupling_flow(3, seed=5).parameters())
    assert all(torch.equal(a, b) for a, b in zip(p1, p2))


@pytest.mark.parametrize("make", [lambda: AffineCoupling(1), lambda: Permutation(0, 0),
                                  lambda: coupling_flow(3, n_layers=-1),
                                  lambda: coupling_flow(3, coupling="glow"),
                                  lambda: RationalQuadraticCoupling(3, n_bins=1)])
def test_bad_sizes_are_rejected(make):
    with pytest.raises(ValueError):
        make()
