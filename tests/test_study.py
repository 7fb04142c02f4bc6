"""Epsilon studies end to end: a tiny study, resume after a crash, Dask = serial, the CLI."""
import h5py
import numpy as np
import pytest

from pdeflow.cli import main
from pdeflow.study import epsilon_study as study_module
from pdeflow.study import points as study_points
from pdeflow.study.point_store import PointStore
from pdeflow.study.epsilon_study import EpsilonStudy
from pdeflow.study.config import StudyConfig
from pdeflow.study.result import StudyResult

# 1-D, both equations, every route; a few seconds.
TINY = dict(dim=1, grid_n=32, n_snapshots=8, T=2.0, stationary_tolerance=0.3, eps=[0.1, 0.3, 1.0],
            perturbations=["fourier-low", "cell-noise"], budgets=[20], hidden=[8], alphas=[1.0],
            n_samples=100, dt=0.05)


def fresh_run(config, out, **kwargs):
    study_points._CACHE.clear()          # no state carried between runs in this process
    return EpsilonStudy(config).run(out, workers=1, progress=False, **kwargs)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    return fresh_run(StudyConfig(**TINY), out), out


def test_tiny_study_end_to_end(reference):
    result, out = reference
    config = StudyConfig(**TINY)
    assert len(result.rows) == len(EpsilonStudy(config).points)
    for suffix in ("h5", "png", "txt"):
        assert (out / f"epsilon_study.{suffix}").stat().st_size > 1000
    assert (out / "epsilon_study.txt").read_text().strip() == result.table()
    for problem, checks in result.checks.items():
        assert checks["mass_drift"] < 1e-12
        assert checks["l1_stationary_T"] < 0.05 * checks["l1_stationary_0"]
    rows = result.rows
    for r in rows:
        if r["route"] == "baseline":
            assert r["w2_gap"] == 0 and r["flow_map"] == 0
        if r["route"] == "network":
            assert np.isfinite(r["eps"]) and r["eps"] > 0
        # 1-D deterministic flows are monotone maps of the same points: the optimal coupling of
        # the two generated clouds is the identity, so W2 to the eps = 0 cloud is the flow-map error
        if r["problem"] == "fokker-planck" and r["alpha"] == 0:
            assert r["w2_gap"] == pytest.approx(r["flow_map"], rel=1e-9, abs=1e-12)
    for kind in ("fourier-low", "cell-noise"):
        errors = [r["flow_map"] for r in rows if r["kind"] == kind and r["alpha"] == 0
                  and r["problem"] == "fokker-planck"]
        assert errors == sorted(errors) and errors[0] > 0      # grows with eps
    assert {f["group"] for f in result.fits} == {"smooth", "rough"}   # network: 1 budget only


def test_hdf5_round_trip_and_replot(reference, tmp_path):
    result, out = reference
    loaded = StudyResult.load(out / "epsilon_study.h5")
    assert loaded.table() == result.table()
    assert loaded.config == result.config
    for k, samples in result.generated.items():
        np.testing.assert_array_equal(loaded.generated[k], samples)
    baselines = [k for k, r in enumerate(result.rows) if r["route"] == "baseline"]
    assert sorted(loaded.x0) == baselines
    for k in baselines:        # the ground-truth flow map moved every starting point
        assert loaded.x0[k].shape == loaded.generated[k].shape
        assert np.all(np.linalg.norm(loaded.x0[k] - loaded.generated[k], axis=1) > 0)
    assert loaded.plot(tmp_path / "replot.png").stat().st_size > 1000


def test_resume_after_a_crash_gives_the_same_table(reference, tmp_path, monkeypatch):
    result, _ = reference
    config = StudyConfig(**TINY)
    original_write = PointStore.write
    writes = []

    def crashing_write(self, params, results):
        if len(writes) == 5:
            raise KeyboardInterrupt          # killed between two points
        writes.append(params)
        return original_write(self, params, results)

    monkeypatch.setattr(PointStore, "write", crashing_write)
    with pytest.raises(KeyboardInterrupt):
        fresh_run(config, tmp_path)
    monkeypatch.setattr(PointStore, "write", original_write)
    study = EpsilonStudy(config)
    store = PointStore(study.cache_dir(tmp_path) / "points")
    assert len(store.completed()) == 5                        # the partial files are valid
    assert not (tmp_path / "epsilon_study.h5").exists()
    computed = []
    real_run_points = study_module.run_points
    monkeypatch.setattr(study_module, "run_points",
                        lambda item: computed.extend(item[0]) or real_run_points(item))
    resumed = fresh_run(config, tmp_path)
    assert len(computed) == len(study.points) - 5              # only what was missing
    assert not any(p in writes for p in computed)
    assert resumed.table() == result.table()


def test_local_processes_give_the_serial_table(reference, tmp_path):
    """Two worker processes: the truths solve on the workers, the points travel as groups with
    a ContextFile handle, and the table is the in-process one."""
    result, _ = reference
    study_points._CACHE.clear()
    parallel = EpsilonStudy(StudyConfig(**TINY)).run(tmp_path, workers=2, progress=False)
    assert parallel.table() == result.table()
    assert parallel.checks == result.checks
    cache = EpsilonStudy(StudyConfig(**TINY)).cache_dir(tmp_path)
    assert not list(cache.glob("*context*")) and not list(cache.glob(".*tmp*"))
    from pdeflow.io import _TEMPORARY   # a killed run's copy is removed by the next run
    copy = EpsilonStudy(StudyConfig(**TINY))._context_path("porous", tmp_path)
    assert _TEMPORARY.match(copy.name)


def test_dask_cluster_gives_the_serial_results(tmp_path):
    from distributed import LocalCluster

    config = StudyConfig(**dict(TINY, equations=["fokker-planck"], budgets=[], n_snapshots=6))
    serial = fresh_run(config, tmp_path / "serial")
    study_points._CACHE.clear()
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        on_dask = EpsilonStudy(config).run(tmp_path / "dask", scheduler=cluster, progress=False)
        study_points._CACHE.clear()
        by_address = EpsilonStudy(config).run(tmp_path / "address", progress=False,
                                              scheduler=cluster.scheduler_address)
    assert on_dask.table() == serial.table()
    assert by_address.table() == serial.table()


def test_user_samples_file_with_holdout_gives_memorisation(tmp_path):
    # 20 training points smoothed at 2.5 cells: the eps = 0 backward flow returns points much
    # closer to the training set than to fresh samples of the same law
    rng = np.random.default_rng(3)
    samples = np.concatenate([rng.normal(-1.0, 0.4, 20), rng.normal(1.0, 0.4, 20)])[:, None]
    path = tmp_path / "points.csv"
    np.savetxt(path, samples, delimiter=",")
    config = StudyConfig(equations=["fokker-planck"], dim=1, initial="samples",
                         samples_file=str(path), holdout=0.5, bandwidth=0.08, grid_n=256,
                         n_snapshots=8, T=2.0, stationary_tolerance=0.3, eps=[0.3, 1.0],
                         perturbations=["cell-noise"], budgets=[], alphas=[], n_samples=200,
                         dt=0.02)
    result = fresh_run(config, tmp_path)
    baseline = next(r for r in result.rows if r["route"] == "baseline")
    assert baseline["mem_median"] < 0.3          # measured 0.057; ~1 for a fresh sampler
    assert all(np.isfinite(r["mem_median"]) for r in result.rows)


def test_cli_runs_a_study_from_toml_and_flags(tmp_path, capsys):
    config = StudyConfig(**dict(TINY, equations=["porous"], budgets=[], n_snapshots=6))
    path = tmp_path / "study.toml"
    path.write_text(config.to_toml())
    assert StudyConfig.from_toml(path) == config
    assert main(["study", str(path), "--eps", "0.2,0.5", "--out", str(tmp_path), "--quiet",
                 "--workers", "1"]) == 0
    with h5py.File(tmp_path / "epsilon_study.h5") as f:
        assert f.attrs["kind"] == "epsilon_study"
        assert sorted(set(f["points"]["eps_nominal"][()])) == [0.0, 0.2, 0.5]
    assert "finished" in capsys.readouterr().out
    assert main(["study", "--equations", "diffusion", "--out", str(tmp_path)]) == 2
    assert "equations" in capsys.readouterr().err


@pytest.mark.slow
def test_sigkill_mid_run_then_resume(tmp_path):
    """A real `kill -9` of `pdeflow study` while points are being written."""
    import os
    import signal
    import subprocess
    import sys
    import time

    # many cheap points, so that the kill lands mid-run however fast this machine writes them
    settings = dict(TINY, eps=np.geomspace(0.01, 1.0, 16).tolist(), budgets=[])
    result = fresh_run(StudyConfig(**settings), tmp_path / "reference")
    config = tmp_path / "tiny.toml"
    config.write_text(StudyConfig(**settings).to_toml())
    command = [sys.executable, "-m", "pdeflow.cli", "study", str(config), "--out",
               str(tmp_path / "run"), "--workers", "1", "--quiet"]
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    points = tmp_path / "run" / "cache" / EpsilonStudy(StudyConfig(**settings)).key / "points"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(points.glob("*.h5"))) < 3:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    written = len(list(points.glob("*.h5")))
    assert 3 <= written < len(result.rows), f"{written} of {len(result.rows)} points at the kill"
    print(f"killed after {written} of {len(result.rows)} points")
    assert len(PointStore(points).completed()) == written        # every file is complete
    assert subprocess.run(command, env=env, stdout=subprocess.DEVNULL).returncode == 0
    assert (tmp_path / "run" / "epsilon_study.txt").read_text().strip() == result.table()


def test_support_velocity_vanishes_on_the_porous_stationary_state():
    # At equilibrium xi = D p + kappa |x|^2 / 2 is constant on the support, so v = 0 there; the
    # raw cell velocity straddles the kink of xi at the front and is O(1) on the front cells.
    from pdeflow.equations import PorousMedium
    from pdeflow.grid import Grid
    from pdeflow.solvers import GridSolution
    from pdeflow.study.epsilon_study import support_velocity

    equation = PorousMedium(m=2.0, D=1.0, kappa=1.0, dim=2)
    grid = Grid.cube(2.0, 48, 2)
    rho = grid.sample_field(equation.stationary_density)
    density = np.stack([rho, rho])
    raw = np.stack([equation.velocity(r, grid) for r in density])
    solution = GridSolution(equation, grid, np.array([0.0, 1.0]), density, raw, (),
                            grid.integrate(density), np.zeros(2))
    fixed = support_velocity(solution).velocity
    occupied = rho >= 1e-6 * rho.max()
    assert np.abs(raw[0][:, occupied]).max() > 0.3
    assert np.abs(fixed).max() < 1e-12                      # inside, at the front and outside
    assert np.array_equal(support_velocity(solution).density, density)


@pytest.mark.parametrize("workers", [1, 2], ids=["serial", "two-processes"])
def test_a_study_leaves_the_warning_filters_as_it_found_them(tmp_path, workers):
    """warnings.catch_warnings is process-wide and not thread-safe (the study imports its result
    modules in a thread meanwhile): a study must not change the filters, so that a warning is
    never turned into an error (issue 28: a serial study crashed at its end on fit_rate's
    RuntimeWarning)."""
    import warnings

    config = StudyConfig(**dict(TINY, equations=["fokker-planck", "porous"], budgets=[],
                                n_snapshots=6, eps=[0.1, 1.0]))
    import matplotlib.pyplot, ot, scipy.stats, torch  # noqa: F401  (their imports add filters)
    from pdeflow.study import plot  # noqa: F401

    before = list(warnings.filters)
    study_points._CACHE.clear()
    with warnings.catch_warnings(record=True):       # the run's own warnings (2 eps: fit_rate)
        warnings.simplefilter("always")
        inside = list(warnings.filters)
        EpsilonStudy(config).run(tmp_path, workers=workers, progress=False)
        changed = [f for f in warnings.filters if f not in inside]
        assert warnings.filters == inside, f"filters added during the study: {changed}"
    assert warnings.filters == before


def test_no_process_wide_warning_filter_in_the_library():
    """The condition is tested instead (the box holds the solution); numpy's error state
    (np.errstate) is per thread and allowed."""
    import re
    from pathlib import Path

    import pdeflow

    root = Path(pdeflow.__file__).parent
    pattern = re.compile(r"\bwarnings\.(catch_warnings|simplefilter|filterwarnings|resetwarnings)\(")
    offenders = [f"{path.relative_to(root)}:{n}" for path in sorted(root.rglob("*.py"))
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if pattern.search(line)]
    assert offenders == []


def test_a_box_too_small_for_the_truth_is_a_value_error(tmp_path):
    """Tested as a condition (was: RuntimeWarnings turned into errors by a process-wide filter)."""
    from pdeflow.equations import PorousMedium
    from pdeflow.grid import Grid
    from pdeflow.solvers.finite_volume import solve

    config = StudyConfig(**dict(TINY, equations=["fokker-planck"], budgets=[], n_snapshots=6,
                                half_width=2.6))     # rho_0 holds 6e-5 of its mass at the wall
    with pytest.raises(ValueError, match=r"fokker-planck: rho_0 .* outer cell layer.*half_width"):
        fresh_run(config, tmp_path)
    grid = Grid.cube(1.0, 32, 1)                     # a free Barenblatt spreading to the wall
    rho0 = np.where(np.abs(grid.points()[:, 0]) < 0.5, 1.0, 0.0).reshape(grid.shape)
    with pytest.warns(RuntimeWarning, match="reached the no-flux wall"):
        solution = solve(PorousMedium(dim=1, m=2.0), grid, rho0, [0.0, 0.5])
    with pytest.raises(ValueError, match="porous: the porous-medium support reached the no-flux"):
        study_module._check_box("porous", grid, rho0, solution)
