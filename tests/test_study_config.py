"""StudyConfig: every bad parameter is refused, by name, before any compute."""
import numpy as np
import pytest

from pdeflow.study import epsilon_study as study_module
from pdeflow.study.epsilon_study import EpsilonStudy
from pdeflow.study.config import StudyConfig


@pytest.mark.parametrize("changes, match", [
    ({"equations": ["diffusion"]}, "equations must be"),
    ({"equations": []}, "equations must be"),
    ({"m": 1.0}, "m must be"),
    ({"m": 0.5}, "m must be"),
    ({"m": 2.0, "m_a": 1.0}, "not both"),
    ({"m_a": -1.0}, "m_a must be"),
    ({"eps": [0.1, -0.3]}, "eps must be"),
    ({"eps": [0.0, 0.1]}, "eps must be"),
    ({"eps": [0.1]}, "eps must be"),
    ({"dim": 4}, "dim must be"),
    ({"initial": "moons"}, "initial must be"),
    ({"initial": "samples"}, "samples_file"),
    ({"initial": "samples", "samples_file": "/nonexistent.npy"}, "does not exist"),
    ({"kappa": 0.0}, "kappa must be > 0"),
    ({"seeds": [1, 1]}, "seeds"),
    ({"perturbations": ["wiggle"]}, "perturbations"),
    ({"dim": 1, "T": 5.0, "perturbations": ["rotation"]}, "rotation"),
    ({"budgets": [0]}, "budgets"),
    ({"alphas": [0.0]}, "alphas"),
    ({"n_samples": 5000}, "max_w2_points"),
    ({"grid_n": 64, "l1_coarsen": 5}, "l1_coarsen"),
    ({"holdout": 1.0}, "holdout"),
    ({"dt": 10.0}, "dt"),
])
def test_bad_parameters_are_named(changes, match):
    with pytest.raises(ValueError, match=match):
        StudyConfig(**changes)


def test_t_too_short_says_which_t_would_do():
    pattern = r"T = 1.0 is too short.*T >= (\d+\.?\d*) would do"
    with pytest.raises(ValueError, match=pattern) as info:
        StudyConfig(T=1.0)
    needed = float(info.value.args[0].split("T >= ")[1].split(" ")[0])
    StudyConfig(T=needed)                       # the suggested T is accepted
    with pytest.raises(ValueError, match="too short"):
        StudyConfig(T=0.9 * needed)
    StudyConfig(equations=["heat"], kappa=0.0, T=0.5)   # no stationary state: no check


def test_relaxation_bound_holds_on_the_solved_problem(tmp_path):
    # the bound is a W2 bound; the measured L1 distance to rho_inf must fall at least as fast
    # as e^{-kappa T} relative to its start (contraction is exponential for both)
    config = StudyConfig(dim=1, grid_n=32, n_snapshots=6, T=2.0, stationary_tolerance=0.3,
                         equations=["fokker-planck"])
    _, checks = EpsilonStudy(config).ground_truth("fokker-planck", tmp_path)
    assert checks["l1_stationary_T"] < 2 * 2.718 ** -2.0 * checks["l1_stationary_0"]


def test_errors_come_before_any_compute(monkeypatch):
    monkeypatch.setattr(study_module, "run_points", lambda item: pytest.fail("computed"))
    with pytest.raises(ValueError, match="unknown study parameter"):
        EpsilonStudy({"equation": "porous"})
    with pytest.raises(ValueError, match="m must be"):
        EpsilonStudy({"m": 1.0})


def test_dimension_aware_m_and_toml_round_trip(tmp_path):
    config = StudyConfig(m_a=2.0, dim=2)
    assert config.porous_m == 2.0
    assert StudyConfig(m_a=2.0, dim=1, T=5.0).porous_m == 3.0
    assert config.equation("porous").m == 2.0
    path = tmp_path / "c.toml"
    path.write_text("[study]\n" + config.to_toml())
    assert StudyConfig.from_toml(path) == config
    path.write_text("eps = [0.1,")
    with pytest.raises(ValueError, match="not valid TOML"):
        StudyConfig.from_toml(path)


def test_rings_initial_data_peak_on_the_two_radii():
    from pdeflow.study.data import initial_data

    config = StudyConfig(initial="rings", equations=["fokker-planck"], T=4.0)
    grid = config.grid()
    rho = initial_data(config).grid_density(grid, config.equation("fokker-planck"))
    assert grid.integrate(rho) == pytest.approx(1.0)
    radius = np.sqrt((grid.coordinates() ** 2).sum(0)).ravel()
    bins = np.digitize(radius, np.linspace(0, 3, 31))
    profile = np.array([rho.ravel()[bins == b].mean() for b in range(1, 31)])
    peaks = [0.05 + 0.1 * i for i in range(1, 29) if profile[i] > profile[i - 1]
             and profile[i] > profile[i + 1]]
    assert peaks == pytest.approx([1.05, 1.95], abs=0.11)


def test_circle_initial_data_is_a_grid_scale_ring():
    from pdeflow.study.data import CIRCLE_CELLS, CIRCLE_RADIUS, initial_data

    config = StudyConfig(initial="circle", equations=["fokker-planck"], T=4.0)
    grid = config.grid()
    rho = initial_data(config).grid_density(grid, config.equation("fokker-planck")).ravel()
    assert grid.integrate(rho.reshape(grid.shape)) == pytest.approx(1.0)
    radius = np.sqrt((grid.coordinates() ** 2).sum(0)).ravel()
    # a Gaussian profile of width w across the circle, per unit area: mass ~ r exp(...) dr, so
    # the mean radius is r0 + w^2 / r0 and the spread w, to the cell-centre sampling error
    mean = np.sum(radius * rho) / rho.sum()
    spread = np.sqrt(np.sum((radius - mean) ** 2 * rho) / rho.sum())
    width = CIRCLE_CELLS * min(grid.spacing)
    assert mean == pytest.approx(CIRCLE_RADIUS + width ** 2 / CIRCLE_RADIUS, abs=0.02 * width)
    assert spread == pytest.approx(width, rel=0.15)


def test_targeted_perturbations_are_opt_in():
    from pdeflow.study.config import TARGETED

    assert not set(TARGETED) & set(StudyConfig().perturbations)
    chosen = StudyConfig(perturbations=list(TARGETED))
    assert tuple(chosen.perturbations) == TARGETED
