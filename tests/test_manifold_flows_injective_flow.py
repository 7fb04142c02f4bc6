import pytest
import torch
from hypothesis import given, strategies as st

from pdeflow.geometry.pullback import decoder_jacobian
from pdeflow.manifold_flows.injective_flow import InjectiveFlow
from _manifold_helpers import random_flow


@given(st.integers(1, 3), st.integers(1, 3), st.integers(0, 10_000),
       st.sampled_from(["affine", "spline"]))
def test_projection_is_identity_on_learned_manifold(d, extra, seed, coupling):
    flow = random_flow(d, d + extra, seed, coupling=coupling)
    z = torch.randn(6, d, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    x = flow.decode(z)
    torch.testing.assert_close(flow.decode(flow.project(x)), x, atol=1e-9, rtol=1e-9)
    torch.testing.assert_close(flow.project(x), z, atol=1e-9, rtol=1e-9)


def test_projection_reduces_distance_off_manifold_only_through_left_inverse():
    # g^+ is a left inverse, not an orthogonal projection: g(g^+(x)) lies on the manifold.
    flow = random_flow(2, 4, 0)
    x = torch.randn(8, 4, dtype=torch.float64)
    y = flow.reconstruct(x)
    torch.testing.assert_close(flow.reconstruct(y), y, atol=1e-10, rtol=0)


def test_decoder_jacobian_has_full_column_rank():
    flow = random_flow(3, 5, 1)
    jac = decoder_jacobian(flow.decode, torch.randn(4, 3, dtype=torch.float64))
    assert torch.linalg.matrix_rank(jac).min() == 3


def test_prior_density_integrates_to_one_in_1d():
    flow = random_flow(1, 2, 2, scale=0.3)
    z = torch.linspace(-12, 12, 20001, dtype=torch.float64)[:, None]
    p = flow.log_prior(z).exp()
    assert abs(torch.trapezoid(p, z[:, 0]).item() - 1.0) < 1e-6


def test_sampling_is_seeded():
    flow = random_flow(2, 3, 4)
    a = flow.sample(5, torch.Generator().manual_seed(9))
    b = flow.sample(5, torch.Generator().manual_seed(9))
    assert torch.equal(a, b) and a.shape == (5, 3)


@pytest.mark.parametrize("d, D", [(3, 3), (4, 2), (0, 3)])
def test_latent_dim_must_be_below_ambient(d, D):
    with pytest.raises(ValueError, match="d"):
        InjectiveFlow(d, D)


@pytest.mark.parametrize("x", [torch.ones(4, 5, dtype=torch.float64),
                               torch.full((2, 4), float("nan"), dtype=torch.float64),
                               torch.ones(4, dtype=torch.float64)])
def test_bad_data_is_rejected(x):
    with pytest.raises(ValueError, match="x"):
        random_flow(2, 4, 0).project(x)
