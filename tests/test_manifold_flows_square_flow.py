import math

import numpy as np
import pytest
import torch
from scipy import stats

from pdeflow.geometry import datasets as ds
from pdeflow.geometry.pullback import decoder_jacobian
from pdeflow.manifold_flows import SquareFlow, cmf_objective, method_config
from pdeflow.manifold_flows.bijections import randomize_


def _flow(seed=0):
    return randomize_(SquareFlow(3, n_layers=3, hidden=6, seed=seed).double(), 0.3, seed)


def test_square_flow_is_a_bijection_and_reconstruction_vanishes():
    flow = _flow()
    x = torch.randn(7, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(flow.reconstruct(x), x, atol=1e-12, rtol=0)
    torch.testing.assert_close(flow.project(flow.decode(x)), x, atol=1e-12, rtol=0)


def test_metric_logdet_is_twice_the_flow_logdet():
    # log det G = 2 log |det J_f|, which the coupling flow reports exactly
    flow = _flow(2)
    z = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    J = decoder_jacobian(flow.decode, z)
    _, logdet = flow.ambient(z)
    torch.testing.assert_close(torch.linalg.slogdet(J.transpose(1, 2) @ J)[1], 2 * logdet)


def test_base_coordinates_rescale_the_columns_by_the_prior_scale():
    flow = _flow(4)
    x = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    u = flow.project_base(x)
    torch.testing.assert_close(flow.decode_base(u), x, atol=1e-12, rtol=0)
    J_u = decoder_jacobian(flow.decode_base, u)
    J_z = decoder_jacobian(flow.decode, flow.project(x))
    scale = torch.exp(-flow.prior.layers[0].log_scale)  # dz/du of the diagonal prior
    torch.testing.assert_close(J_u, J_z * scale)


def test_cmf_objective_on_a_square_flow_has_no_reconstruction_term():
    flow = _flow(6)
    x = ds.sphere(32, 0, law="polar")
    loss, parts = cmf_objective(flow, x, method_config("cmf", beta=1.0))
    assert parts["recon"] < 1e-24 and math.isfinite(loss.item())
    _, rf = cmf_objective(flow, x, method_config("rectangular"))
    assert rf["penalty"] == 0.0 and parts["penalty"] > 0.0


def test_square_flow_needs_two_dimensions():
    with pytest.raises(ValueError, match="D"):
        SquareFlow(1)


def test_polar_sphere_law_has_uniform_polar_angle():
    x = ds.sphere(4000, 0, law="polar").numpy()
    phi = np.arccos(np.clip(x[:, 2], -1, 1))
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0)
    assert stats.kstest(phi, stats.uniform(0, np.pi).cdf).pvalue > 0.01
    # the area law has cos(phi) uniform instead, so its polar angle is far from uniform
    phi_area = np.arccos(np.clip(ds.sphere(4000, 0).numpy()[:, 2], -1, 1))
    assert stats.kstest(phi_area, stats.uniform(0, np.pi).cdf).pvalue < 1e-6
    with pytest.raises(ValueError, match="law"):
        ds.sphere(3, 0, law="gauss")
