"""Trajectory inference: data sets against the closed forms, losses against hand computations,
displacement interpolation against the known answer, short-trained MIOFlow / OT-CFM."""
import numpy as np
import pytest
import torch
from scipy.stats import kstest, norm

pytest.importorskip("torchdiffeq")
pytest.importorskip("torchcfm")

from pdeflow.exact import GaussianMixtureFlow  # noqa: E402
from pdeflow.trajectory import (DisplacementInterpolation, MIOFlow, OTCFM, Oracle,  # noqa: E402
                                density_loss, evaluate, kinetic_energy, load_snapshots,
                                make_snapshots, ot_loss, rotational_drift, save_snapshots,
                                true_flow)
from pdeflow.trajectory.geodesic import GeodesicAutoencoder, manifold_distances  # noqa: E402
from pdeflow.trajectory.metrics import trajectory_error  # noqa: E402
from pdeflow.validation.rates import fit_rate  # noqa: E402

torch.set_num_threads(1)


def _mixture_flow(name):
    """The GaussianMixtureFlow whose marginals the problem ``name`` must have."""
    flow = true_flow(name)
    p = flow.params
    from pdeflow.equations import FokkerPlanck, Heat
    from pdeflow.exact import GaussianMixture
    equation = (Heat(D=0.5, dim=1) if name == "heat_1d"
                else FokkerPlanck(D=0.5, kappa=1.0, dim=flow.dim))
    mixture = GaussianMixture(np.array(p["weights"]), np.array(p["means"]),
                              np.array(p["covariances"]))
    return GaussianMixtureFlow(equation, mixture)


def _projected_ks(points, mixture, direction):
    """sqrt(n) times the KS distance of points . u to the closed-form mixture projection."""
    u = direction / np.linalg.norm(direction)
    mean = mixture.means @ u
    std = np.sqrt(np.einsum("i,kij,j->k", u, mixture.covariances, u))

    def cdf(s):
        return (mixture.weights * norm.cdf((np.asarray(s)[:, None] - mean) / std)).sum(1)
    return kstest(points @ u, cdf).statistic * np.sqrt(len(points))


@pytest.mark.parametrize("name", ["heat_1d", "ou_gaussian", "fokker_planck_mixture", "rotational"])
def test_snapshot_marginals_equal_the_closed_form(name):
    # rotational: its closed form is the flow WITHOUT the rotation, so this also checks that the
    # divergence-free drift leaves the marginals unchanged
    data = make_snapshots(name, K=4, n=300, seed=3)
    flow = _mixture_flow(name)
    rng = np.random.default_rng(0)
    worst = max(_projected_ks(snap, flow.at(t), rng.standard_normal(data.dim))
                for t, snap in zip(data.times, data.snapshots) for _ in range(2))
    assert worst < 1.95   # the 0.1 % point of the Kolmogorov distribution
    # a snapshot shifted by 3/4 of its spread is detected by the same statistic
    shifted = data.snapshots[-1] + 0.75 * data.snapshots[-1].std(0)
    assert _projected_ks(shifted, flow.at(data.times[-1]), np.ones(data.dim)) > 3


def test_product_5d_marginals_factor_into_the_closed_forms():
    data = make_snapshots("ou_mixture_5d", K=3, n=200, seed=2)
    first, second = [GaussianMixtureFlow(eval_equation(p), mixture_from(p))
                     for p in true_flow("ou_mixture_5d").params["product_of"]]
    for t, snap in zip(data.times, data.snapshots):
        assert _projected_ks(snap[:, :2], first.at(t), np.array([1.0, 0.5])) < 1.95
        assert _projected_ks(snap[:, 2:], second.at(t), np.array([0.2, -1.0, 0.5])) < 1.95


def eval_equation(p):
    from pdeflow.equations import FokkerPlanck
    return FokkerPlanck(D=0.5, kappa=1.0, dim=len(p["means"][0]))


def mixture_from(p):
    from pdeflow.exact import GaussianMixture
    return GaussianMixture(np.array(p["weights"]), np.array(p["means"]), np.array(p["covariances"]))


def test_rotational_drift_is_divergence_free_and_tangent():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 2))
    w = rotational_drift(x)
    assert np.abs((w * x).sum(1)).max() < 1e-14          # tangent to circles
    h = 1e-5
    div = sum((rotational_drift(x + h * e)[:, a] - rotational_drift(x - h * e)[:, a]) / (2 * h)
              for a, e in enumerate(np.eye(2)))
    assert np.abs(div).max() < 1e-8
    with pytest.raises(ValueError, match="shape"):
        rotational_drift(np.zeros((3, 3)))


def test_rotation_changes_the_paths_not_the_radii():
    flow = true_flow("rotational")
    plain = _mixture_flow("rotational")
    x0 = flow.sample_initial(200, 0)
    times = np.linspace(0, 1, 5)
    rotated = flow.push(x0, times)
    straight = np.stack([np.asarray(p) for p in
                         __import__("pdeflow.solvers", fromlist=["integrate_flow_map"])
                         .integrate_flow_map(plain, x0, times, method="dopri5",
                                             rtol=1e-7, atol=1e-9).positions])
    radii = np.linalg.norm(rotated, axis=-1) - np.linalg.norm(straight, axis=-1)
    assert np.abs(radii).max() < 1e-6
    assert np.sqrt(np.mean(np.sum((rotated[-1] - straight[-1]) ** 2, -1))) > 0.5


def test_save_load_roundtrip(tmp_path):
    data = make_snapshots("heat_1d", K=5, n=50, held_out=2, seed=0)
    back = load_snapshots(save_snapshots(tmp_path / "s.h5", data))
    assert back.name == data.name and back.held_out == data.held_out
    for key in ("times", "snapshots", "truth_positions", "truth_velocities", "reference"):
        np.testing.assert_array_equal(getattr(back, key), getattr(data, key))
    assert back.params == data.params and back.truth_error == data.truth_error


def test_snapshots_are_shuffled_copies_and_bad_input_raises():
    data = make_snapshots("heat_1d", K=5, n=100, independent=False, seed=0)
    for k, i in enumerate(data.snapshot_index):
        np.testing.assert_array_equal(np.sort(data.snapshots[k], 0),
                                      np.sort(data.truth_positions[i], 0))
    assert not np.array_equal(data.snapshots[1], data.truth_positions[data.snapshot_index[1]])
    assert data.truth_error < 1e-6
    for kwargs, match in [({"K": 1}, "K"), ({"held_out": 0}, "held_out"), ({"n": 1}, "n")]:
        with pytest.raises(ValueError, match=match):
            make_snapshots("heat_1d", **kwargs)
    with pytest.raises(ValueError, match="problem"):
        make_snapshots("nope")


def test_ot_loss_by_hand():
    x = torch.tensor([[0.0], [1.0]], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[1.2], [0.1]], dtype=torch.float64)
    loss = ot_loss(x, y)          # sorted matching 0 -> 0.1, 1 -> 1.2: (0.01 + 0.04) / 2
    assert float(loss.detach()) == pytest.approx(0.025, abs=1e-12)
    loss.backward()               # d/dx_i of (1/2) sum (x_i - y_match)^2
    np.testing.assert_allclose(x.grad.numpy()[:, 0], [-0.1, -0.2], atol=1e-12)
    with pytest.raises(ValueError, match="same d"):
        ot_loss(x, torch.zeros(2, 2, dtype=torch.float64))


def test_density_loss_and_energy_by_hand():
    x = torch.zeros(1, 2, dtype=torch.float64)
    dist = np.array([0.005, 0.02, 0.03, 0.5, 1.0, 3.0])
    y = torch.as_tensor(np.column_stack([dist, np.zeros(6)]))
    # the 5 nearest, minus the hinge, clipped at 0: 0, 0.01, 0.02, 0.49, 0.99
    assert float(density_loss(x, y)) == pytest.approx(1.51 / 5, abs=1e-12)
    assert float(density_loss(x, y, k=1, hinge=0.0)) == pytest.approx(0.005, abs=1e-12)
    v = torch.tensor([[[3.0, 4.0], [0.0, 0.0]]], dtype=torch.float64)
    assert float(kinetic_energy(v)) == pytest.approx(12.5)
    with pytest.raises(ValueError, match="k must"):
        density_loss(x, y, k=7)


def _midpoint_and_knot_errors(name, K):
    data = make_snapshots(name, K=K, n=50, held_out=None, substeps=2, independent=False, seed=1)
    error = trajectory_error(DisplacementInterpolation().fit(data), data)
    return np.sqrt(np.mean(error[1::2] ** 2)), np.abs(error[::2]).max()


@pytest.mark.parametrize("name", ["ou_gaussian", pytest.param("heat_1d", marks=pytest.mark.slow)])
def test_displacement_interpolation_converges_at_second_order(name):
    # 1-D maps are monotone and the OU map of a Gaussian is symmetric positive definite: both
    # are OT maps, so the exact matching of the same particles recovers the pairs exactly at the
    # observation times, and straight lines err by O(dt^2) in between. Pre-asymptotic at coarse
    # spacing: measured local slopes for ou_gaussian 1.66 (K 5 -> 9), 1.80, 1.91, 1.97 (33 -> 65)
    Ks = [17, 33, 65]
    mids, knots = zip(*(_midpoint_and_knot_errors(name, K) for K in Ks))
    assert max(knots) < 1e-10
    rate = fit_rate(1.0 / (np.array(Ks) - 1), np.array(mids))
    assert 1.8 < rate.slope < 2.2, rate


def test_displacement_interpolation_misses_the_rotation():
    # on the rotational flow the marginals are those of the rotation-free radial flow, whose map
    # is the OT map; with independent snapshots the exact matching finds that map, and the
    # error stays at the distance between the true and the rotation-free flow
    plain = _mixture_flow("rotational")
    from pdeflow.solvers import integrate_flow_map
    ends = []
    for K in (5, 9):
        data = make_snapshots("rotational", K=K, n=150, held_out=None, seed=1)
        straight = integrate_flow_map(plain, data.truth_positions[0], data.truth_times,
                                      method="dopri5", rtol=1e-7, atol=1e-9).positions
        gap = np.sqrt(np.mean(np.sum((straight[-1] - data.truth_positions[-1]) ** 2, -1)))
        ends.append(trajectory_error(DisplacementInterpolation().fit(data), data)[-1] / gap)
    assert gap > 0.5
    assert min(ends) > 0.85 and ends[1] > 0.9 * ends[0], ends


def test_oracle_metrics_are_the_floors():
    data = make_snapshots("fokker_planck_mixture", K=4, n=150, held_out=2, seed=4)
    out = evaluate(Oracle(true_flow("fokker_planck_mixture")), data)
    assert out["traj_rms"] < 1e-6 and out["vel_rel"] < 1e-12
    assert 0.5 < out["w1"] / out["w1_floor"] < 2.0
    assert out["energy"] == pytest.approx(out["energy_truth"], rel=1e-6)
    assert out["energy_bound"] <= out["energy_truth"] * 1.05


def test_networks_are_deterministic():
    data = make_snapshots("ou_gaussian", K=3, n=64, held_out=None, seed=0)
    for make in (lambda: MIOFlow(local_epochs=2, global_epochs=1, batch_size=32, seed=3),
                 lambda: OTCFM(steps=5, batch_size=32, seed=3)):
        a, b = make().fit(data), make().fit(data)
        assert a.history == b.history and np.isfinite(a.history).all()
    with pytest.raises(ValueError, match="lambda_energy"):
        MIOFlow(lambda_energy=-1)


@pytest.mark.slow
def test_short_trained_networks_learn_the_motion():
    # 800 steps on ou_gaussian, K = 3 (staying put: RMS 0.57; with 400 steps measured MIOFlow
    # 0.107, OT-CFM 0.174: the training error dominates at these budgets)
    data = make_snapshots("ou_gaussian", K=3, n=400, held_out=None, substeps=2,
                          independent=False, seed=1)
    stay = np.sqrt(np.mean(np.sum((data.truth_positions - data.truth_positions[0]) ** 2, -1)))
    for model in (MIOFlow(local_epochs=400, global_epochs=0), OTCFM(steps=800)):
        error = trajectory_error(model.fit(data), data)
        assert np.sqrt(np.mean(error ** 2)) < 0.3 * stay


def test_geodesic_embedding_matches_arc_length():
    s = np.linspace(0, np.pi, 120)
    x = np.column_stack([np.cos(s), np.sin(s)])          # a half circle: geodesic = |s_i - s_j|
    target = manifold_distances(x, knn=5, t=50)    # t = 5 is too short to cover the arc (0.67)
    arc = np.abs(s[:, None] - s[None])
    from scipy.stats import spearmanr
    assert spearmanr(target.ravel(), arc.ravel()).statistic > 0.95
    gae = GeodesicAutoencoder(2, 2, seed=0).fit(x, target, epochs=150, noise=(0.0, 0.01))
    with torch.no_grad():
        z = gae(torch.as_tensor(x)).numpy()
    latent = np.linalg.norm(z[:, None] - z[None], axis=-1)
    assert spearmanr(latent.ravel(), target.ravel()).statistic > 0.8
    model = MIOFlow(local_epochs=1, global_epochs=1, encoder=gae, batch_size=32)
    model.fit(make_snapshots("ou_gaussian", K=3, n=64, held_out=None, seed=0))
    assert np.isfinite(model.history).all()


@pytest.mark.slow
def test_porous_snapshots_follow_the_finite_volume_density():
    # particles pushed through the FV face velocity must be distributed like the FV density:
    # L1 between the 0.5-cell histogram and the FV masses, against the multinomial noise level
    from pdeflow.trajectory.snapshots import porous_solution
    solution = porous_solution(128, 0.5)
    data = make_snapshots("porous_mixture", K=3, n=4000, seed=5)
    coarse = 16                                   # 128 / 16 = 8 fine cells per coarse cell

    def masses(rho):
        m = rho * solution.grid.cell_volume
        return m.reshape(coarse, 8, coarse, 8).sum((1, 3)).ravel()

    for t, snap in zip(data.times, data.snapshots):
        p = masses(solution.density[solution.snapshot_index(t)])
        hist = np.histogram2d(*snap.T, bins=coarse, range=[[-4, 4], [-4, 4]])[0].ravel()
        noise = np.sum(np.sqrt(2 * p * (1 - p) / (np.pi * len(snap))))
        assert np.abs(hist / len(snap) - p).sum() < 1.5 * noise
    initial = masses(solution.density[0])
    last = np.histogram2d(*data.snapshots[-1].T, bins=coarse, range=[[-4, 4], [-4, 4]])[0].ravel()
    assert np.abs(last / len(data.snapshots[-1]) - initial).sum() > 3 * noise
