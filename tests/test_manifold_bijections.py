import pytest
import torch
from hypothesis import given, strategies as st

from pdeflow.manifold.bijections import AffineCoupling, Permutation, coupling_flow, randomize_


def _flow(dim, seed):
    return randomize_(coupling_flow(dim, n_layers=3, hidden=8, seed=seed).double(), 0.3, seed)


@given(st.integers(1, 6), st.integers(0, 10_000))
def test_inverse_of_forward_is_identity(dim, seed):
    flow = _flow(dim, seed)
    x = torch.randn(5, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    y, ld_fwd = flow(x)
    x_back, ld_inv = flow.inverse(y)
    torch.testing.assert_close(x_back, x, atol=1e-10, rtol=0)
    torch.testing.assert_close(ld_inv, -ld_fwd, atol=1e-10, rtol=0)


@given(st.integers(1, 5), st.integers(0, 10_000))
def test_logdet_equals_slogdet_of_autograd_jacobian(dim, seed):
    flow = _flow(dim, seed)
    x = torch.randn(3, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    _, logdet = flow(x)
    for i in range(3):
        jac = torch.autograd.functional.jacobian(lambda v: flow(v[None])[0][0], x[i])
        _, expected = torch.linalg.slogdet(jac)  # log |det|; permutations may flip the sign
        torch.testing.assert_close(logdet[i], expected, atol=1e-10, rtol=0)


def test_flow_is_not_trivially_identity_after_randomisation():
    flow = _flow(4, 3)
    x = torch.randn(10, 4, dtype=torch.float64)
    y, logdet = flow(x)
    assert (y - x).abs().max() > 1e-2 and logdet.abs().max() > 1e-3


def test_fresh_flow_is_identity_and_seed_is_reproducible():
    x = torch.randn(4, 3)
    y, ld = coupling_flow(3, seed=1)(x)
    torch.testing.assert_close(y, x)
    assert torch.equal(ld, torch.zeros(4))
    p1 = [p.clone() for p in coupling_flow(3, seed=5).parameters()]
    p2 = list(coupling_flow(3, seed=5).parameters())
    assert all(torch.equal(a, b) for a, b in zip(p1, p2))


@pytest.mark.parametrize("make", [lambda: AffineCoupling(1), lambda: Permutation(0, 0),
                                  lambda: coupling_flow(3, n_layers=-1)])
def test_bad_sizes_are_rejected(make):
    with pytest.raises(ValueError):
        make()
