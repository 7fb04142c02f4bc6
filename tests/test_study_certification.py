"""The epsilon study certifies its ground truth: the truth's own error next to the signals,
refinement to ``truth_tolerance``, unresolved rows marked, the plug-in floor over draws."""
import h5py
import numpy as np
import pytest

from pdeflow.study import points as study_points
from pdeflow.study.certification import outside_support
from pdeflow.study.config import StudyConfig
from pdeflow.study.data import initial_data
from pdeflow.study.epsilon_study import EpsilonStudy
from pdeflow.study.result import RESOLVED_FACTOR

TINY = dict(dim=1, grid_n=32, n_snapshots=8, T=2.0, stationary_tolerance=0.3, eps=[0.03, 0.3, 1.0],
            perturbations=["fourier-low"], budgets=[], alphas=[], n_samples=100, dt=0.05,
            porous_grid_n=64)


def run(config, out):
    study_points._CACHE.clear()
    return EpsilonStudy(config).run(out, workers=1, progress=False)


@pytest.fixture(scope="module")
def certified(tmp_path_factory):
    out = tmp_path_factory.mktemp("certified")
    return run(StudyConfig(**TINY), out), out


def test_every_problem_reports_its_truth_error(certified):
    result, out = certified
    fp, porous = result.checks["fokker-planck"], result.checks["porous"]
    assert fp["truth_flow_map_error_kind"] == "exact"          # a mixture under OU
    assert porous["truth_flow_map_error_kind"] == "estimated"  # no closed form
    assert porous["truth_flow_map_error"] == porous["truth_estimate_total"]
    assert 0 <= porous["outside_support"] <= 1 and "outside_support" not in fp
    assert fp["w2_plugin_floor_draws"] >= 5 and fp["w2_plugin_floor_sd"] > 0
    text = (out / "epsilon_study.txt").read_text()
    for key in ("truth_flow_map_error = ", "outside_support = ", "w2_plugin_floor_sd = "):
        assert key in text
    with h5py.File(out / "epsilon_study.h5") as f:
        assert f["checks/fokker-planck"].attrs["truth_flow_map_error_kind"] == "exact"
        assert "outside_support" in f["checks/porous"].attrs
        assert len(f["points/resolved"]) == len(result.rows)


def test_the_tolerance_is_met_or_the_truth_says_it_is_not(certified):
    result, _ = certified
    fp = result.checks["fokker-planck"]
    assert fp["truth_grid_n"] > TINY["grid_n"] or fp["truth_snapshots"] > TINY["n_snapshots"]
    assert fp["truth_certified"] == (fp["truth_flow_map_error"] <= 0.01)
    assert fp["truth_certified"], fp["truth_refinement"]


def test_rows_below_three_truth_errors_are_marked(certified):
    result, out = certified
    text = (out / "epsilon_study.txt").read_text()
    for r in result.rows:
        truth = result.checks[r["problem"]]["truth_flow_map_error"]
        if r["route"] == "baseline":
            assert r["resolved"] == -1
        else:
            assert r["resolved"] == int(r["flow_map"] >= RESOLVED_FACTOR * truth)
    if any(r["resolved"] == 0 for r in result.rows):
        assert "UNRESOLVED" in text


def test_outside_support_counts_points_where_rho0_vanishes():
    config = StudyConfig(**dict(TINY, equations=["porous"]))
    data = initial_data(config)
    grid = config.grid()
    far = np.array([[3.9], [-3.9]])                  # far outside the mixture's support
    near = np.array([[-1.2], [1.1]])                 # at two of the means
    porous = config.equation("porous")
    assert outside_support(far, data, grid, porous) == 1.0
    assert outside_support(near, data, grid, porous) == 0.0
    # the porous medium's own data (the capped mixture) decides, not the Gaussian mixture:
    # past the cap's edge (x = 2.276) the mixture is still positive
    edge = np.array([[2.35]])
    assert data.density(edge)[0] > 0 and outside_support(edge, data, grid, porous) == 1.0


def test_porous_truth_is_validated():
    with pytest.raises(ValueError, match="porous_truth must be one of"):
        StudyConfig(**dict(TINY, porous_truth="spectral"))
    with pytest.raises(ValueError, match="porous_truth = 'lagrangian' needs dim = 2"):
        StudyConfig(**dict(TINY, porous_truth="lagrangian"))
    assert StudyConfig(**TINY).porous_solver == "finite-volume"               # 1-D
    assert StudyConfig().porous_solver == "lagrangian"                        # the default
    assert StudyConfig(porous_truth="finite-volume").porous_solver == "finite-volume"


def test_truth_targets_are_validated():
    for bad in (dict(truth_tolerance=0), dict(support_tolerance=-1), dict(porous_grid_n=30)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            StudyConfig(**dict(TINY, **bad))
    off = StudyConfig(**dict(TINY, truth_tolerance=None, porous_grid_n=None))
    assert off.truth_tolerance == np.inf and off.porous_grid_n == TINY["grid_n"]
    assert StudyConfig.from_dict(off.to_dict()) == off                # TOML has no null
    import tomllib
    assert StudyConfig.from_dict(tomllib.loads(off.to_toml())) == off
