"""Backward samplers (alpha-family): the probability-flow ODE against closed-form flow maps, the
stochastic members' marginals against the exact Gaussian at a measured weak order, the porous
medium, grid and network sources, and input checks."""
import numpy as np
import pytest
import torch

from pdeflow.equations import FokkerPlanck, PorousMedium
from pdeflow.exact import ConfinedBarenblatt, GaussianMixture, GaussianMixtureFlow
from pdeflow.grid import Grid
from pdeflow.learn import VelocityMLP
from pdeflow.solvers import sample_backward, score_velocity
from pdeflow.solvers.interpolation import sample_solution


def observed_order(sizes, errors):
    return np.polyfit(np.log(sizes), np.log(errors), 1)[0]


def gaussian_flow(dim, mean=0.8, std=0.5):
    eq = FokkerPlanck(D=0.5, kappa=1.0, dim=dim)
    return GaussianMixtureFlow(eq, GaussianMixture.isotropic([1.0], [[mean] * dim], [std]))


@pytest.mark.parametrize("method", ["rk4", "dopri5"])
def test_probability_flow_ode_returns_the_exact_backward_map(method):
    flow = gaussian_flow(2)
    y = flow.at(2.0).sample(200, seed=0)
    out = sample_backward(flow.equation, flow, y, [2.0, 1.0, 0.0], method=method, dt=0.01,
                          rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out.at(1.0), flow.flow_map(1.0, y, 2.0), atol=1e-8)
    np.testing.assert_allclose(out.final, flow.flow_map(0.0, y, 2.0), atol=1e-8)
    assert out.provenance["alpha"] == 0.0


def test_euler_probability_flow_is_first_order():
    flow = gaussian_flow(2)
    y = flow.at(1.0).sample(100, seed=1)
    exact = flow.flow_map(0.0, y, 1.0)
    dts = [0.1, 0.05, 0.025]
    errors = [np.abs(sample_backward(flow.equation, flow, y, [1.0, 0.0], method="euler",
                                     dt=dt).final - exact).max() for dt in dts]
    order = observed_order(dts, errors)
    print(f"Euler probability flow: errors {errors}, order {order:.2f}")
    assert 0.85 < order < 1.2


def test_score_source_drives_the_same_flow_as_its_velocity():
    flow = gaussian_flow(2)
    y = flow.at(1.0).sample(50, seed=2)
    via_score = sample_backward(flow.equation, score_velocity(flow.equation, flow), y,
                                [1.0, 0.0], dt=0.05)
    via_velocity = sample_backward(flow.equation, flow, y, [1.0, 0.0], dt=0.05)
    np.testing.assert_allclose(via_score.final, via_velocity.final, rtol=1e-12, atol=1e-12)
    plain_callable = score_velocity(flow.equation, flow.score)
    np.testing.assert_allclose(plain_callable(0.5, y), flow.velocity(0.5, y), atol=1e-12)


@pytest.mark.parametrize("alpha", [0.0, 1.0, 2.0])
def test_alpha_family_recovers_the_initial_gaussian_at_weak_order_one(alpha):
    """Samples of rho_T flowed back with Euler(-Maruyama): the variance error of the result
    against the exact rho_0 falls at order 1 in dt (statistical error ~1e-3 at n = 1e5), and the
    Richardson-extrapolated mean and variance match rho_0 (the marginals are exact in the limit
    for every alpha)."""
    flow = gaussian_flow(1, mean=1.0, std=0.5)
    y = flow.at(1.0).sample(100_000, seed=3)
    dts, means, variances = [0.2, 0.1, 0.05], [], []
    for dt in dts:
        out = sample_backward(flow.equation, flow, y, [1.0, 0.0], alpha=alpha, method="euler",
                              dt=dt, seed=4).final[:, 0]
        means.append(out.mean() - 1.0)
        variances.append(out.var() - 0.25)
    order = observed_order(dts, np.abs(variances))
    print(f"alpha = {alpha}: mean errors {means}, variance errors {variances}, order {order:.2f}")
    assert 0.8 < order < 1.3
    assert abs(2 * means[-1] - means[-2]) < 0.01
    assert abs(2 * variances[-1] - variances[-2]) < 0.01


def test_stochastic_sampler_is_seeded():
    flow = gaussian_flow(2)
    y = flow.at(1.0).sample(20, seed=5)
    run = lambda seed: sample_backward(flow.equation, flow, y, [1.0, 0.5, 0.0], alpha=1.0,
                                       dt=0.1, seed=seed)
    np.testing.assert_array_equal(run(7).positions, run(7).positions)
    assert not np.allclose(run(7).final, run(8).final)
    assert run(7).positions.shape == (3, 20, 2)


def test_porous_medium_probability_flow_matches_confined_barenblatt():
    solution = ConfinedBarenblatt(2.0, 2, 1.0, 1.0)
    rng = np.random.default_rng(6)
    y = rng.uniform(-0.6, 0.6, (80, 2)) * solution.support_radius(0.5)
    out = sample_backward(solution.equation, solution, y, [0.5, 0.0], dt=0.005)
    np.testing.assert_allclose(out.final, solution.flow_map(0.0, y, 0.5), atol=1e-7)
    with pytest.raises(ValueError, match="alpha > 0 is defined only for linear"):
        sample_backward(solution.equation, solution, y, [0.5, 0.0], alpha=1.0, dt=0.01, seed=0)


def test_grid_source_drives_every_alpha():
    """A Gaussian's velocity sampled on a grid (linear in x, so exact in space): the ODE matches
    the exact backward map and the SDE (alpha = 1) the exact variance within its time error."""
    flow = gaussian_flow(2, mean=0.3, std=0.5)
    solution = sample_solution(flow, Grid.cube(4.0, 32, 2), np.linspace(0.0, 1.0, 41))
    y = flow.at(1.0).sample(20_000, seed=7)
    ode = sample_backward(flow.equation, solution, y[:200], [1.0, 0.0], dt=0.01)
    assert np.abs(ode.final - flow.flow_map(0.0, y[:200], 1.0)).max() < 1e-3
    sde = sample_backward(flow.equation, solution, y, [1.0, 0.0], alpha=1.0, dt=0.01, seed=8,
                          outside="stop")
    assert np.all(sde.exit_index == -1)
    assert abs(sde.final.var(0).mean() - 0.25) < 0.02
    assert np.abs(sde.final.mean(0) - 0.3).max() < 0.02


def test_particles_leaving_the_grid_raise_or_stop():
    flow = gaussian_flow(2)
    solution = sample_solution(flow, Grid.cube(1.0, 16, 2), np.linspace(0.0, 1.0, 5))
    y = np.array([[0.0, 0.0], [0.95, 0.95]])
    with pytest.raises(ValueError, match="left the grid"):
        sample_backward(flow.equation, solution, y, [1.0, 0.0], alpha=2.0, dt=0.05, seed=0)
    out = sample_backward(flow.equation, solution, y, [1.0, 0.0], alpha=2.0, dt=0.05, seed=0,
                          outside="stop")
    assert np.all(solution.grid.contains(out.final))


def test_network_source_runs_for_every_alpha():
    torch.manual_seed(0)
    net = VelocityMLP(2, hidden=(16,), seed=0).double()
    eq = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
    y = np.random.default_rng(9).standard_normal((30, 2))
    for alpha, method in [(0.0, "rk4"), (0.0, "euler"), (1.0, "euler")]:
        out = sample_backward(eq, net, y, [1.0, 0.0], alpha=alpha, method=method, dt=0.1, seed=1)
        assert out.final.shape == (30, 2) and np.all(np.isfinite(out.final))
    expected = y.copy()
    for k in range(10):  # the Euler ODE by hand: Y <- Y - h v(t, Y)
        expected = expected - 0.1 * net.numpy(1.0 - 0.1 * k, expected)
    ode = sample_backward(eq, net, y, [1.0, 0.0], method="euler", dt=0.1)
    np.testing.assert_allclose(ode.final, expected, rtol=1e-12, atol=1e-12)


def test_bad_input_raises():
    flow = gaussian_flow(2)
    eq, y = flow.equation, np.zeros((3, 2))
    porous = PorousMedium(m=2.0, dim=2)
    cases = [
        (dict(equation=eq, y=y, times=[0.0, 1.0], dt=0.1), "decreasing"),
        (dict(equation=eq, y=y, times=[1.0, 0.0], dt=0.1, alpha=-1.0), "alpha"),
        (dict(equation=eq, y=y, times=[1.0, 0.0], dt=0.1, alpha=float("nan")), "alpha"),
        (dict(equation=porous, y=y, times=[1.0, 0.0], dt=0.1, alpha=1.0, seed=0), "linear"),
        (dict(equation=eq, y=y, times=[1.0, 0.0], dt=0.1, alpha=1.0, method="rk4", seed=0),
         "Euler-Maruyama"),
        (dict(equation=eq, y=y, times=[1.0, 0.0], dt=0.1, alpha=1.0), "seed"),
        (dict(equation=eq, y=y, times=[1.0, 0.0], method="euler"), "dt"),
        (dict(equation=eq, y=y, times=[1.0, 0.0], dt=0.1, method="heun"), "method"),
        (dict(equation=eq, y=np.zeros((3, 3)), times=[1.0, 0.0], dt=0.1), "y"),
        (dict(equation="heat", y=y, times=[1.0, 0.0], dt=0.1), "equation"),
    ]
    for kwargs, word in cases:
        with pytest.raises(ValueError, match=word):
            sample_backward(velocity=flow, **kwargs)
    with pytest.raises(ValueError, match="linear diffusion"):
        score_velocity(porous, flow)
    with pytest.raises(ValueError, match="score"):
        score_velocity(eq, 3.0)
