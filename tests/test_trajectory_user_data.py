"""Trajectory inference on a user's own arrays: checked inputs, the references beside every error,
energies against independent exact computations, the one-call report and the command."""
import numpy as np
import pytest
from scipy.integrate import quad_vec
from scipy.linalg import expm

pytest.importorskip("torchdiffeq")
pytest.importorskip("torchcfm")

from pdeflow.cli import main  # noqa: E402
from pdeflow.plotting import trajectory_report  # noqa: E402
from pdeflow.trajectory import (DisplacementInterpolation, Oracle, SnapshotData,  # noqa: E402
                                evaluate, format_table, make_snapshots, run_table,
                                snapshot_data, training_bound, true_flow)
from pdeflow.trajectory._flows import show_progress  # noqa: E402
from pdeflow.trajectory.energy import converged_energy, refine  # noqa: E402

A = np.array([[-0.5, -2.0], [2.0, -0.5]])     # spiral sink: decay 0.5, turning 2 rad / time
TINY = {"n": 0, "mioflow": {"local_epochs": 1, "global_epochs": 1, "batch_size": 16},
        "otcfm": {"steps": 3, "batch_size": 16}}


def spiral_velocity(t, x):
    return np.asarray(x) @ A.T


def spiral_arrays(n=60, K=5, seed=0):
    rng = np.random.default_rng(seed)
    times = np.linspace(0.0, 1.0, K)
    snaps = np.stack([rng.normal([1.5, 0.0], 0.3, (n, 2)) @ expm(A * t).T for t in times])
    return times, snaps


def spiral_energy(x0, T):
    """Exact int_0^T |v|^2 dt per particle: X(t) = e^{At} x0 is a rotation scaled by e^{-t/2},
    so |v|^2 = (0.25 + 4) e^{-t} |x0|^2."""
    return (0.25 + 4.0) * np.sum(x0 ** 2, -1) * (1 - np.exp(-T))


def test_spiral_truth_energy_and_references():
    times, snaps = spiral_arrays()
    data = snapshot_data(times, snaps, held_out=2, velocity=spiral_velocity)
    exact = spiral_energy(data.truth_positions[0], 1.0).mean()
    assert data.truth_energy == pytest.approx(exact, rel=1e-6)
    assert data.params["truth_energy"]["converged"]
    assert data.truth_error < 1e-6
    out = evaluate(Oracle().fit(data), data)
    assert out["traj_rms"] == 0 and out["vel_rel"] == 0 and out["traj_uvp"] == 0
    assert out["energy"] == out["energy_truth"]
    # stay-put reference: RMS |X(t) - X(0)| computed by hand from the exact map
    x0 = data.truth_positions[0]
    stay = [np.mean(np.sum((x0 @ expm(A * t).T - x0) ** 2, -1)) for t in data.truth_times]
    assert out["traj_stay"] == pytest.approx(np.sqrt(np.mean(stay)), rel=1e-6)
    # the spiral's true map is not an OT map: exact OT interpolation of the truth misses it
    assert 0.1 * out["traj_stay"] < out["traj_ot"] < out["traj_stay"]
    assert np.isnan(out["w1_floor"])               # no independent reference sample given


def test_ou_gaussian_truth_energy_equals_the_closed_form():
    data = make_snapshots("ou_gaussian", K=6, n=300, held_out=3, seed=2)
    flow = true_flow("ou_gaussian")
    p = flow.params
    m0, S0 = np.array(p["means"][0]), np.array(p["covariances"][0])
    lam, U = np.linalg.eigh(S0)
    x0 = data.truth_positions[0]
    # dX = -X dt + dW (D = 1/2, kappa = 1): m_t = e^{-t} m0, variances
    # lam_t = e^{-2t} lam + (1 - e^{-2t}) / 2 along the eigenvectors of S0;
    # X(t) = m_t + U diag(sqrt(lam_t / lam)) U^T (x0 - m0)
    z = (x0 - m0) @ U

    def speed2(t):
        lam_t = np.exp(-2 * t) * lam + 0.5 * (1 - np.exp(-2 * t))
        ds = (-2 * lam + 1) * np.exp(-2 * t) / (2 * np.sqrt(lam * lam_t))
        v = -np.exp(-t) * m0[None] + (z * ds) @ U.T
        return np.mean(np.sum(v ** 2, -1))
    exact = quad_vec(speed2, 0.0, 1.0, epsrel=1e-12)[0]
    assert data.truth_energy == pytest.approx(exact, rel=1e-5)
    # the old trapezoid on the 4-substep truth grid was biased by more than 1 %
    s2 = np.mean(np.sum(data.truth_velocities ** 2, -1), -1)
    trapezoid = np.sum((s2[1:] + s2[:-1]) * np.diff(data.truth_times)) / 2
    assert abs(trapezoid / exact - 1) > 0.01


def test_displacement_energy_is_its_own_piecewise_constant_energy():
    data = make_snapshots("ou_gaussian", K=6, n=200, held_out=3, seed=1)
    model = DisplacementInterpolation().fit(data)
    x0, knots = data.truth_positions[0], model.knots
    # independent: the model's velocity at the midpoint of every interval along its own paths
    exact = 0.0
    for a, b in zip(knots[:-1], knots[1:]):
        mid = 0.5 * (a + b)
        v = model.velocity(mid, model.transport(x0, [knots[0], mid])[-1])
        exact += (b - a) * np.mean(np.sum(v ** 2, -1))
    out = evaluate(model, data)
    assert out["energy"] == pytest.approx(exact, rel=1e-2)


def test_bound_uses_training_times_only_and_stays_below_the_truth():
    data = make_snapshots("fokker_planck_mixture", K=6, n=150, held_out=3, seed=4)
    from pdeflow.validation.metrics import wasserstein2
    marg = data.truth_positions[data.snapshot_index]
    keep = [0, 1, 2, 4, 5]
    by_hand = sum(wasserstein2(marg[a], marg[b]) ** 2 / (data.times[b] - data.times[a])
                  for a, b in zip(keep[:-1], keep[1:]))
    assert training_bound(data) == pytest.approx(by_hand, rel=1e-12)
    assert training_bound(data) < data.truth_energy


def test_converged_energy_reports_its_refinement():
    value, info = converged_energy(lambda g: np.exp(-3 * g), np.linspace(0, 1, 3), rtol=1e-8)
    assert value == pytest.approx((1 - np.exp(-3)) / 3, rel=1e-8) and info["converged"]
    assert info["points"][:2] == [3, 5]
    np.testing.assert_array_equal(refine([0.0, 0.5, 2.0], 2), [0, 0.25, 0.5, 1.25, 2.0])


@pytest.mark.parametrize("change, match", [
    ({"times": [0.0, 0.25, 0.75, 1.0]}, "times"),                    # 0.75 not on the grid
    ({"times": [0.0, 0.5, 0.5, 1.0]}, "duplicate"),
    ({"times": [0.0, 0.6, 0.5, 1.0]}, "increasing"),
    ({"held_out": 0}, "held_out"), ({"held_out": 3}, "held_out"),
    ({"held_out": 1.5}, "held_out"), ({"held_out": True}, "held_out"),
    ({"snapshots": np.zeros((3, 10, 2))}, "snapshots"),
    ({"snapshots": np.full((4, 10, 2), np.nan)}, "snapshots"),
    ({"truth_positions": np.zeros((7, 10, 3))}, "truth_positions"),
    ({"truth_velocities": np.zeros((2, 10, 2))}, "truth_velocities"),
    ({"reference": np.zeros((3, 10, 2))}, "reference"),
])
def test_snapshot_data_refuses_bad_input(change, match):
    grid = np.linspace(0.0, 1.0, 7)                    # 0, 1/6, ..., 1: holds 0, 1/3, 2/3, 1
    kwargs = {"times": grid[::2], "snapshots": np.random.default_rng(0).normal(size=(4, 10, 2)),
              "held_out": None, "truth_times": grid,
              "truth_positions": np.random.default_rng(1).normal(size=(7, 10, 2)),
              "truth_velocities": None, "reference": None}
    kwargs.update(change)
    with pytest.raises(ValueError, match=match):
        SnapshotData("x", kwargs["times"], kwargs["snapshots"], kwargs["held_out"],
                     kwargs["truth_times"], kwargs["truth_positions"],
                     kwargs["truth_velocities"], kwargs["reference"], 0.0)


def test_snapshot_data_needs_a_truth():
    times, snaps = spiral_arrays(n=10)
    with pytest.raises(ValueError, match="truth_positions"):
        snapshot_data(times, snaps)
    with pytest.raises(TypeError, match="velocity"):
        snapshot_data(times, snaps, velocity=3.0)
    with pytest.raises(ValueError, match="truth_times"):
        snapshot_data(times, snaps, truth_positions=snaps)


def test_user_trajectories_without_velocity():
    times, snaps = spiral_arrays(n=40)
    grid = refine(times, 8)
    truth = np.stack([snaps[0] @ expm(A * t).T for t in grid])
    data = snapshot_data(times, snaps, held_out=1, truth_times=grid, truth_positions=truth)
    exact = spiral_energy(snaps[0], 1.0).mean()
    assert data.truth_energy < exact and data.truth_energy == pytest.approx(exact, rel=1e-2)
    rows, first = run_table([data], seeds=(0,), budget=TINY, progress=False)
    assert {r["method"] for r in rows} == {"truth (floor)", "displacement", "MIOFlow", "OT-CFM"}
    assert all(np.isnan(r["vel_rel"]) for r in rows)
    text = format_table(rows)
    assert "traj_stay" in text and "traj_ot" in text and "traj_uvp" in text


def test_report_and_command(tmp_path, capsys, monkeypatch):
    from pdeflow.trajectory import table
    monkeypatch.setitem(table.BUDGETS, "quick", TINY)
    times, snaps = spiral_arrays(n=40)
    data = snapshot_data(times, snaps, held_out=2, velocity=spiral_velocity, name="spiral")
    report = trajectory_report(data, tmp_path / "py", budget="quick", name="spiral",
                               progress=False)
    assert report["figure"].stat().st_size > 1000 and "traj_ot" in report["markdown"].read_text()
    np.savez(tmp_path / "spiral.npz", times=times, snapshots=snaps)
    (tmp_path / "flow.py").write_text("import numpy as np\nA = np.array([[-0.5, -2.0], "
                                      "[2.0, -0.5]])\ndef v(t, x):\n    return x @ A.T\n")
    code = main(["trajectory", str(tmp_path / "spiral.npz"), "--velocity",
                 f"{tmp_path / 'flow.py'}:v", "--held-out", "2", "--out", str(tmp_path / "cli"),
                 "--quiet"])
    assert code == 0 and (tmp_path / "cli" / "spiral.png").is_file()
    assert "| spiral | displacement |" in capsys.readouterr().out


@pytest.mark.parametrize("args, match", [
    (["missing.npz"], "not a file"),
    (["{d}/spiral.npz"], "truth_positions"),                   # no truth, no velocity
    (["{d}/spiral.npz", "--velocity", "{d}/flow.py:v", "--held-out", "4"], "held_out"),
    (["{d}/spiral.npz", "--velocity", "nope"], "velocity"),
    (["{d}/bad.npz", "--velocity", "{d}/flow.py:v"], "unknown arrays"),
    (["{d}/nan.npz", "--velocity", "{d}/flow.py:v"], "snapshots"),
])
def test_command_bad_input_is_one_line_with_status_2(tmp_path, capsys, args, match):
    times, snaps = spiral_arrays(n=10)
    np.savez(tmp_path / "spiral.npz", times=times, snapshots=snaps)
    np.savez(tmp_path / "bad.npz", times=times, snapshots=snaps, extra=times)
    snaps[1, 2, 0] = np.nan
    np.savez(tmp_path / "nan.npz", times=times, snapshots=snaps)
    (tmp_path / "flow.py").write_text("def v(t, x):\n    return -x\n")
    code = main(["trajectory"] + [a.format(d=tmp_path) for a in args] + ["--out",
                                                                         str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and match in err, err


def test_progress_bars_only_on_a_terminal(capsys):
    from pdeflow.trajectory import OTCFM
    assert show_progress(None) is False                       # pytest's stderr is no terminal
    data = make_snapshots("ou_gaussian", K=3, n=32, seed=0)
    OTCFM(steps=2, batch_size=16).fit(data)
    assert "OT-CFM" not in capsys.readouterr().err
    # progress=True: a bar where someone watches (pdeflow.progress.progress_bar, issue 28), so
    # still nothing into pytest's captured stderr; a terminal gets it
    OTCFM(steps=2, batch_size=16).fit(data, progress=True)
    assert "OT-CFM" not in capsys.readouterr().err


def test_user_data_roundtrip_without_optional_arrays(tmp_path):
    from pdeflow.trajectory import load_arrays, load_snapshots, save_snapshots
    times, snaps = spiral_arrays(n=20)
    grid = refine(times, 2)
    truth = np.stack([snaps[0] @ expm(A * t).T for t in grid])
    data = snapshot_data(times, snaps, held_out=2, truth_times=grid, truth_positions=truth)
    back = load_snapshots(save_snapshots(tmp_path / "u.h5", data))
    assert back.truth_velocities is None and back.reference is None
    assert back.truth_energy == data.truth_energy and back.held_out == 2
    arrays = load_arrays(tmp_path / "u.h5")
    np.testing.assert_array_equal(arrays["truth_positions"], truth)
