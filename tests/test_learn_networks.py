"""Fields: shapes, numpy/torch calling, seeded init, conservative = -grad phi and curl-free,
score-velocity tie through the equation."""
import numpy as np
import pytest
import torch
from torch.func import jacrev, vmap

from pdeflow.equations import FokkerPlanck
from pdeflow.learn import (ConservativeVelocity, PotentialMLP, PotentialScore, ScoreMLP,
                           ScoreVelocity, VelocityMLP, as_numpy_velocity)

F64 = torch.float64


def test_velocity_mlp_shapes_numpy_and_torch_agree():
    net = VelocityMLP(3, (16, 16), dtype=F64, seed=1)
    x = np.random.default_rng(0).standard_normal((7, 3))
    out_np = net(0.3, x)
    out_t = net(torch.full((7,), 0.3, dtype=F64), torch.as_tensor(x))
    assert isinstance(out_np, np.ndarray) and out_np.dtype == np.float64 and out_np.shape == (7, 3)
    np.testing.assert_allclose(out_np, out_t.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(as_numpy_velocity(net)(np.full(7, 0.3), x), out_np, rtol=1e-14)


def test_seeded_initialisation_is_reproducible_and_seed_dependent():
    x = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    a, b, c = (VelocityMLP(2, (8,), seed=s)(0.5, x) for s in (3, 3, 4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_conservative_velocity_is_minus_grad_phi_and_curl_free():
    phi = PotentialMLP(3, (16, 16), activation="softplus", beta=5.0, dtype=F64, seed=2)
    v = ConservativeVelocity(phi)
    x = np.random.default_rng(1).standard_normal((5, 3))
    t, h = 0.4, 1e-6
    fd = np.stack([(phi(t, x + h * e) - phi(t, x - h * e)) / (2 * h) for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(v(t, x), -fd, rtol=1e-6, atol=1e-8)
    tt = torch.tensor([t], dtype=F64)
    jac = vmap(jacrev(lambda xi: v(tt, xi[None])[0]))(torch.as_tensor(x))
    jac = jac.detach().numpy()
    np.testing.assert_allclose(jac, jac.transpose(0, 2, 1), atol=1e-12)  # symmetric: no curl


def test_score_velocity_uses_the_equation_relation():
    eq = FokkerPlanck(D=0.7, kappa=1.3, dim=2)
    score = ScoreMLP(2, (8,), dtype=F64)
    x = np.random.default_rng(2).standard_normal((6, 2))
    np.testing.assert_allclose(ScoreVelocity(score, eq)(0.2, x),
                               eq.velocity_from_score(score(0.2, x), x), rtol=1e-14)
    s = PotentialScore(PotentialMLP(2, (8,), dtype=F64))
    assert s(0.2, x).shape == (6, 2)


@pytest.mark.parametrize("call", [
    lambda: VelocityMLP(0, (8,)),
    lambda: VelocityMLP(2, ()),
    lambda: VelocityMLP(2, (8,), activation="relu"),
    lambda: VelocityMLP(2, (8,))(np.zeros(3), np.zeros((4, 2))),
    lambda: VelocityMLP(2, (8,))(0.0, np.full((4, 2), np.nan)),
    lambda: ScoreVelocity(ScoreMLP(2, (8,)), object()),
    lambda: as_numpy_velocity(lambda t, x: x),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()
