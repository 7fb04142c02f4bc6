import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

from pdeflow.geometry import decoder_jacobian, pullback_metric


def sphere(z):
    theta, phi = z[:, 0], z[:, 1]
    return torch.stack([torch.sin(theta) * torch.cos(phi),
                        torch.sin(theta) * torch.sin(phi),
                        torch.cos(theta)], -1)


@given(st.floats(0.2, 2.9), st.floats(-3.0, 3.0))
def test_sphere_metric_is_round_metric(theta, phi):
    z = torch.tensor([[theta, phi]], dtype=torch.float64)
    g = pullback_metric(sphere, z)[0]
    expected = torch.diag(torch.tensor([1.0, np.sin(theta) ** 2], dtype=torch.float64))
    torch.testing.assert_close(g, expected, atol=1e-12, rtol=0)


def test_jacobian_of_linear_map_is_its_matrix():
    a = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    z = torch.randn(4, 3, dtype=torch.float64)
    jac = decoder_jacobian(lambda x: x @ a.T, z)
    assert jac.shape == (4, 5, 3)
    torch.testing.assert_close(jac, a.expand(4, 5, 3))


@pytest.mark.parametrize("bad", [torch.ones(3), torch.tensor([[float("nan"), 0.0]])])
def test_bad_points_are_rejected(bad):
    with pytest.raises(ValueError, match="z"):
        pullback_metric(sphere, bad)
