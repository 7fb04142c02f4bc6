"""Bad input over the public entry points and the CLI: each case must raise the stated
exception with a message that names the parameter (or the file) at fault.

The table lists (id, call, exception type, regex the message must match). Cases marked "issue
12" were a silent wrong result or an obscure error before; the rest pin behaviour that was
already right.
"""
import math
import re

import h5py
import numpy as np
import pytest
import torch

from pdeflow.cli import main
from pdeflow.equations import FokkerPlanck, Heat, PorousMedium
from pdeflow.exact import Barenblatt, GaussianMixture
from pdeflow.grid import Grid
from pdeflow.io import load_flow_map, load_solution, save_solution
from pdeflow.learn import GaussianKDE, VelocityMLP, fit_regression, grid_solution_target
from pdeflow.learn.toy_targets import checkerboard, ring_mixture, two_circles
from pdeflow.manifold_flows.bijections import coupling_flow
from pdeflow.problems import load_samples
from pdeflow.solvers import GridSolution, blob_solve, cloud_in_cell, integrate_flow_map
from pdeflow.solvers.backward import sample_backward
from pdeflow.solvers.finite_volume import solve
from pdeflow.study.config import StudyConfig
from pdeflow.study.executors import check_workers, make_executor
from pdeflow.study.perturbations import perturbation_field
from pdeflow.study.point_store import PointStore
from pdeflow.validation.metrics import (density_l1, flow_map_error, gaussian_w2, memorisation,
                                        mmd2, sliced_w2, wasserstein2)
from pdeflow.validation.rates import fit_rate

HEAT = Heat(D=0.5, dim=1)
FP2 = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
GRID1 = Grid.cube(2.0, 16, 1)
GRID2 = Grid.cube(2.0, 8, 2)
RNG = np.random.default_rng(0)
X2 = RNG.normal(size=(20, 2))
NAN2 = np.array([[0.0, np.nan], [1.0, 1.0]])


def _solution(grid=GRID1, equation=HEAT, nt=3):
    rho = np.full((nt,) + grid.shape, 1.0 / np.prod(np.subtract(grid.upper, grid.lower)))
    velocity = np.zeros((nt, grid.dim) + grid.shape)
    faces = tuple(np.zeros((nt,) + tuple(n + (i == a) for i, n in enumerate(grid.shape)))
                  for a in range(grid.dim))
    return GridSolution(equation, grid, np.linspace(0, 1, nt), rho, velocity, faces,
                        np.ones(nt), np.zeros(nt))


def _config(**changes):
    base = dict(equations=["fokker-planck"], dim=1, grid_n=32, n_snapshots=4, T=3.0,
                n_samples=50, budgets=[], alphas=[], eps=[0.1, 0.3],
                perturbations=["cell-noise"])
    return StudyConfig(**{**base, **changes})


def _samples_file(tmp_path, points, name="samples.csv"):
    path = tmp_path / name
    np.savetxt(path, np.asarray(points, dtype=float).reshape(len(points), -1), delimiter=",")
    return str(path)


def _toml(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def _h5_with_density(tmp_path, density):
    path = save_solution(tmp_path / "sol.h5", _solution())
    with h5py.File(path, "r+") as f:
        del f["density"]
        f["density"] = density
    return path


def _truncated(tmp_path):
    path = save_solution(tmp_path / "sol.h5", _solution())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _foreign(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f.attrs["kind"] = "something_else"
    return path


def _text_as_h5(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("not hdf5")
    return path


def _failing_fit(batch_size):
    from pdeflow.exact import GaussianMixtureFlow
    from pdeflow.learn import gaussian_mixture_target

    flow = GaussianMixtureFlow(FP2, GaussianMixture.isotropic([1.0], [[0.0, 0.0]], [0.5]))
    fit_regression(VelocityMLP(2, (8,)), gaussian_mixture_target(flow, 0.1, 1.0), steps=2,
                   batch_size=batch_size, n_train=64, n_eval=0)


# (id, call(tmp_path), exception, message regex)
CASES = [
    # --- study config: strict types (issue 12: these were coerced) ---
    ("config-dim-bool", lambda p: _config(dim=True), ValueError, r"dim .*True .*bool"),
    ("config-seeds-float", lambda p: _config(seeds=[0.7]), ValueError, r"seeds .*integers.*0\.7"),
    ("config-hidden-float", lambda p: _config(hidden=[8.9]), ValueError, r"hidden .*integers"),
    ("config-grid_n-float", lambda p: _config(grid_n=32.0), ValueError, r"grid_n must be an integer"),
    ("config-T-string", lambda p: _config(T="3.5"), ValueError, r"T must be a number"),
    ("config-D-bool", lambda p: _config(D=True), ValueError, r"D must be a number"),
    ("config-eps-bool", lambda p: _config(eps=[True, 0.5]), ValueError, r"eps .*numbers"),
    ("config-equations-int", lambda p: _config(equations=[1]), ValueError, r"equations .*strings"),
    ("config-holdout-string", lambda p: _config(holdout="0.5"), ValueError, r"holdout"),
    ("config-m-bool", lambda p: _config(equations=["porous"], m=True), ValueError, r"\bm must"),
    ("config-samples_file-int", lambda p: _config(initial="samples", samples_file=3),
     ValueError, r"samples_file must be a path"),
    ("config-beside-study", lambda p: StudyConfig.from_dict({"study": {"dim": 1}, "T": 3.0}),
     ValueError, r"\['T'\] sit beside the \[study\] table"),
    ("toml-beside-study", lambda p: StudyConfig.from_toml(_toml(p, "dim = 1\n[study]\nT = 3.0\n")),
     ValueError, r"config\.toml.*\['dim'\] sit beside"),
    ("toml-dim-true", lambda p: StudyConfig.from_toml(_toml(p, "dim = true\n")), ValueError, r"dim"),
    # --- study config: values (already handled) ---
    ("config-unknown-key", lambda p: StudyConfig.from_dict({"dimension": 2}), ValueError,
     r"unknown study parameter.*dimension"),
    ("config-equation-name", lambda p: _config(equations=["diffusion"]), ValueError, r"equations"),
    ("config-dim-4", lambda p: _config(dim=4), ValueError, r"dim"),
    ("config-eps-one", lambda p: _config(eps=[0.1]), ValueError, r"eps"),
    ("config-eps-negative", lambda p: _config(eps=[-0.1, 1.0]), ValueError, r"eps"),
    ("config-T-short", lambda p: _config(T=0.1), ValueError, r"T = 0\.1 is too short"),
    ("config-kappa-zero", lambda p: _config(kappa=0.0), ValueError, r"kappa must be > 0"),
    ("config-l1_coarsen", lambda p: _config(l1_coarsen=5), ValueError, r"l1_coarsen"),
    ("config-perturbation", lambda p: _config(perturbations=["wiggle"]), ValueError,
     r"perturbations"),
    ("config-rotation-1d", lambda p: _config(perturbations=["rotation"]), ValueError, r"rotation"),
    ("toml-missing", lambda p: StudyConfig.from_toml(p / "nope.toml"), ValueError,
     r"config file .*nope\.toml.* does not exist"),
    ("toml-invalid", lambda p: StudyConfig.from_toml(_toml(p, "dim = = 2\n")), ValueError,
     r"config\.toml.* is not valid TOML"),
    # --- samples files ---
    ("samples-outside-box", lambda p: _config(
        initial="samples", samples_file=_samples_file(p, [[0.0], [0.5], [9.0], [-12.0]]),
        half_width=4.0), ValueError, r"samples_file .*samples\.csv.*2 of 4 points lie outside "
                                     r"the study box \[-4, 4\]\^1"),
    ("samples-missing", lambda p: load_samples(p / "x.npy", 2), ValueError,
     r"samples_file .*x\.npy.* does not exist"),
    ("samples-suffix", lambda p: load_samples(_toml(p, "1,2"), 2), ValueError,
     r"samples_file must end in \.npy or \.csv"),
    ("samples-shape", lambda p: load_samples(_samples_file(p, [[1.0, 2.0, 3.0]] * 3), 2),
     ValueError, r"samples_file must hold an \(n, 2\) array"),
    # --- io ---
    ("h5-truncated", lambda p: load_solution(_truncated(p)), ValueError,
     r"sol\.h5.* is not a readable HDF5 file"),
    ("h5-text", lambda p: load_flow_map(_text_as_h5(p)), ValueError, r"notes\.h5.* not a readable"),
    ("h5-missing", lambda p: load_solution(p / "gone.h5"), ValueError, r"gone\.h5.* does not exist"),
    ("h5-foreign-kind", lambda p: load_solution(_foreign(p)), ValueError,
     r"other\.h5 holds kind='something_else', expected 'grid_solution'"),
    ("h5-density-shape", lambda p: load_solution(_h5_with_density(p, np.ones((3, 15)))),
     ValueError, r"sol\.h5: density has shape \(3, 15\).* need \(3, 16\)"),
    ("h5-density-complex", lambda p: load_solution(_h5_with_density(p, np.ones((3, 16)) * 1j)),
     ValueError, r"sol\.h5: density must be real"),
    ("point-store-truncated", lambda p: PointStore._read_file(_truncated(p)), ValueError,
     r"sol\.h5.* not a readable"),
    # --- physics and closed forms ---
    ("heat-D-negative", lambda p: Heat(D=-1.0, dim=1), ValueError, r"\bD\b"),
    ("porous-m", lambda p: PorousMedium(m=0.5, D=1.0, kappa=1.0, dim=1), ValueError, r"\bm\b"),
    ("fp-dim", lambda p: FokkerPlanck(D=1.0, kappa=1.0, dim=5), ValueError, r"dim"),
    ("grid-shape", lambda p: Grid((0.0,), (1.0,), (1,)), ValueError, r"shape"),
    ("grid-bounds", lambda p: Grid((1.0,), (0.0,), (8,)), ValueError, r"upper must exceed lower"),
    ("mixture-negative-std", lambda p: GaussianMixture.isotropic([1.0], [[0.0]], [-0.3]),
     ValueError, r"stds must be finite and > 0"),
    ("mixture-nan-std", lambda p: GaussianMixture.isotropic([0.5, 0.5], [[0.0], [1.0]],
                                                            [0.3, np.nan]), ValueError, r"stds"),
    ("mixture-weights", lambda p: GaussianMixture.isotropic([0.2, 0.2], [[0.0], [1.0]], 0.3),
     ValueError, r"weights must sum to 1"),
    ("barenblatt-time", lambda p: Barenblatt(m=2.0, dim=1).density(-1.0, np.zeros((2, 1))),
     ValueError, r"\bt\b"),
    # --- solvers ---
    ("solve-rho0-negative", lambda p: solve(HEAT, GRID1, -np.ones(16), [0.0, 0.1]), ValueError,
     r"rho"),
    ("solve-times", lambda p: solve(HEAT, GRID1, np.ones(16), [0.1, 0.0]), ValueError, r"times"),
    ("solve-flux", lambda p: solve(HEAT, GRID1, np.ones(16), [0.0, 0.1], flux="central"),
     ValueError, r"flux"),
    ("flow-map-nan-rk4", lambda p: integrate_flow_map(lambda t, x: 1.0 / (x - x), np.ones((3, 1)),
                                                      [0.0, 1.0], dt=0.1),
     ValueError, r"rk4: 3 of 3 particles reached NaN or inf positions"),
    ("flow-map-method", lambda p: integrate_flow_map(lambda t, x: x, np.ones((3, 1)), [0.0, 1.0],
                                                     method="euler"), ValueError, r"method"),
    ("flow-map-dt", lambda p: integrate_flow_map(lambda t, x: x, np.ones((3, 1)), [0.0, 1.0]),
     ValueError, r"dt .*required"),
    ("flow-map-outside", lambda p: integrate_flow_map(_solution(), np.full((2, 1), 5.0),
                                                      [0.0, 1.0], dt=0.1), ValueError,
     r"x0: 2 starting points lie outside"),
    ("backward-alpha", lambda p: sample_backward(HEAT, _solution(), np.zeros((2, 1)), [1.0, 0.0],
                                                 alpha=-1.0, dt=0.1), ValueError, r"alpha"),
    ("blob-delta", lambda p: blob_solve(HEAT, np.zeros((3, 1)), [0.0, 0.1], delta=0.0, dt=0.01),
     ValueError, r"delta"),
    ("deposit-weights", lambda p: cloud_in_cell(np.zeros((3, 1)), GRID1, weights=np.ones(2)),
     ValueError, r"weights"),
    ("perturbation-kind", lambda p: perturbation_field("wiggle", GRID2, 0), ValueError, r"kind"),
    # --- metrics and rates ---
    ("gaussian_w2-negative-var", lambda p: gaussian_w2([0.0], -1.0, [0.0], 1.0), ValueError,
     r"cov_a must be positive semidefinite"),
    ("gaussian_w2-nan-mean", lambda p: gaussian_w2([np.nan], 1.0, [0.0], 1.0), ValueError,
     r"mean_a contains NaN"),
    ("gaussian_w2-shape", lambda p: gaussian_w2([0.0, 0.0], np.eye(2), [0.0], 1.0), ValueError,
     r"cov_b must be \(1, 1\)|mean_b"),
    ("gaussian_w2-asymmetric", lambda p: gaussian_w2([0, 0], [[1.0, 0.5], [0.0, 1.0]], [0, 0],
                                                     np.eye(2)), ValueError, r"cov_a must be symm"),
    ("gaussian_w2-inf-cov", lambda p: gaussian_w2([0.0], 1.0, [0.0], np.inf), ValueError,
     r"cov_b contains NaN or inf"),
    ("w2-nan", lambda p: wasserstein2(NAN2, X2), ValueError, r"\bx\b"),
    ("w2-dims", lambda p: wasserstein2(X2, np.zeros((5, 3))), ValueError, r"y must have 2 columns"),
    ("sliced-nan", lambda p: sliced_w2(X2, NAN2), ValueError, r"\by\b"),
    ("mmd-bandwidth", lambda p: mmd2(X2, X2, bandwidth=-1.0), ValueError, r"bandwidth"),
    ("flow-map-error-shape", lambda p: flow_map_error(X2, X2[:5]), ValueError, r"shape|same"),
    ("density-l1-shape", lambda p: density_l1(np.ones(16), np.ones(15), GRID1), ValueError,
     r"rho|shape"),
    ("memorisation-dims", lambda p: memorisation(X2, np.zeros((5, 3)), X2), ValueError,
     r"training|dim|shape"),
    ("fit-rate-few", lambda p: fit_rate([0.1, 0.2], [1.0, 2.0]), ValueError, r"at least 3 points"),
    ("fit-rate-nonpositive", lambda p: fit_rate([0.1, 0.2, 0.3], [1.0, 0.0, 2.0]), ValueError,
     r"errors must be finite and > 0"),
    # --- learned fields and training ---
    ("mlp-x-dim", lambda p: VelocityMLP(2, (8,))(0.0, torch.zeros(4, 3)), ValueError,
     r"x must have shape \(n, 2\).*got \(4, 3\)"),
    ("mlp-x-dtype", lambda p: VelocityMLP(2, (8,))(0.0, torch.zeros(4, 2, dtype=torch.float64)),
     ValueError, r"x has dtype torch\.float64 but the network's parameters are torch\.float32"),
    ("mlp-t-shape", lambda p: VelocityMLP(2, (8,))(torch.zeros(3), torch.zeros(4, 2)), ValueError,
     r"t must be a scalar or have shape \(4,\)"),
    ("mlp-hidden", lambda p: VelocityMLP(2, ()), ValueError, r"hidden"),
    ("fit-batch-zero", lambda p: _failing_fit(0), ValueError, r"batch_size must be an integer >= 1"),
    ("kde-bandwidth", lambda p: GaussianKDE(X2, bandwidth=-1.0), ValueError, r"bandwidth"),
    ("grid-target-nt", lambda p: grid_solution_target(_solution(), n_times=1), ValueError,
     r"n_times"),
    ("toy-n", lambda p: two_circles(0, 0), ValueError, r"\bn\b"),
    ("toy-squares", lambda p: checkerboard(10, 0, squares=0), ValueError, r"squares"),
    ("toy-ring-std", lambda p: ring_mixture(std=-0.1), ValueError, r"std"),
    # --- normalising flows ---
    ("flow-input-dim", lambda p: coupling_flow(3, hidden=4)(torch.zeros(2, 4)), ValueError,
     r"x must be a torch\.Tensor of shape \(n, 3\).*got \(2, 4\)"),
    ("flow-input-dtype", lambda p: coupling_flow(3, hidden=4).inverse(
        torch.zeros(2, 3, dtype=torch.float64)), ValueError, r"y has dtype torch\.float64"),
    ("flow-coupling", lambda p: coupling_flow(3, coupling="glow"), ValueError, r"coupling"),
    # --- executors ---
    ("workers-zero", lambda p: check_workers(0), ValueError, r"workers must be an integer >= 1"),
    ("workers-bool", lambda p: check_workers(True), ValueError, r"workers"),
    ("workers-make", lambda p: make_executor(workers=-2), ValueError, r"workers"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_naming_the_parameter(case, tmp_path):
    _, call, error, pattern = case
    with pytest.raises(error) as info:
        call(tmp_path)
    assert re.search(pattern, str(info.value)), str(info.value)


# (id, argv builder(tmp_path), regex on stderr); every one must exit 2 with one line
CLI_CASES = [
    ("flag-equation", lambda p: ["--equations", "diffusion"], r"equations"),
    ("flag-eps-negative", lambda p: ["--eps", "-0.1,1"], r"eps must be a ladder.*-0\.1"),
    ("flag-eps-text", lambda p: ["--eps", "a,b"], r"--eps: expected comma-separated numbers"),
    ("flag-workers-zero", lambda p: ["--workers", "0", "--dim", "1", "--grid-n", "32"],
     r"workers must be an integer >= 1"),
    ("file-dim-true", lambda p: [str(_toml(p, "dim = true\n"))], r"config\.toml.*dim .*bool"),
    ("file-missing", lambda p: [str(p / "none.toml")], r"none\.toml.* does not exist"),
    ("file-beside-study", lambda p: [str(_toml(p, "T = 1.0\n[study]\ndim = 1\n"))],
     r"\['T'\] sit beside"),
    ("file-unknown-key", lambda p: [str(_toml(p, "grid = 8\n"))], r"unknown study parameter"),
    ("file-bad-T-flag-invalid", lambda p: [str(_toml(p, "T = 0.1\n")), "--grid-n", "4"],
     r"grid_n >= 8"),
    ("samples-outside", lambda p: ["--initial", "samples", "--dim", "1", "--samples-file",
                                   _samples_file(p, [[0.0], [1.0], [30.0]])],
     r"samples\.csv.*1 of 3 points lie outside"),
]


def _exit_code(argv) -> int:
    """``main(argv)``'s exit status (argparse errors exit through SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code


@pytest.mark.parametrize("case", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_error_is_one_line_and_exit_2(case, tmp_path, capsys):
    _, argv, pattern = case
    code = _exit_code(["study", *argv(tmp_path), "--out", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert re.search(pattern, err[-1]), err
    assert not any("Traceback" in line for line in err)
    # one error line (argparse prints its usage before a flag error)
    assert len([line for line in err if line.startswith("pdeflow")]) == 1


def test_flags_override_the_file_before_validation(tmp_path):
    # the file's T is too short; the flag fixes it, so the config validates
    path = _toml(tmp_path, "equations = ['fokker-planck']\ndim = 1\nT = 0.1\n")
    values = StudyConfig.read_toml(path)
    values.update(T=3.5)
    assert StudyConfig.from_dict(values).T == 3.5


def test_editing_the_samples_file_changes_the_cache_key(tmp_path):
    from pdeflow.study.epsilon_study import EpsilonStudy

    path = _samples_file(tmp_path, RNG.normal(0, 0.5, (30, 1)))
    config = _config(initial="samples", samples_file=path, bandwidth=0.3)
    first = EpsilonStudy(config).key
    assert EpsilonStudy(config).key == first                    # same bytes, same cache
    np.savetxt(path, RNG.normal(0.2, 0.5, (30, 1)), delimiter=",")
    assert EpsilonStudy(config).key != first                    # edited file, new cache


def test_under_resolved_runs_warn():
    with pytest.warns(RuntimeWarning, match="only 2 distinct eps values"):
        fit_rate([0.1, 0.1, 0.3, 0.3], [1.0, 1.1, 2.0, 2.1])
    with pytest.warns(RuntimeWarning, match="below the particle spacing"):
        blob_solve(HEAT, np.linspace(-1, 1, 5)[:, None], [0.0, 0.001], delta=0.05, dt=0.001)
    with pytest.warns(RuntimeWarning, match="bandwidth = 0.05 is below the grid spacing"):
        _config(initial="empirical", n_train=20, bandwidth=0.05, grid_n=32)


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and re.fullmatch(r"pdeflow \d+\.\d+\.\S+\n", capsys.readouterr().out)


def test_study_help_documents_every_flag_without_rest_markup(capsys):
    from pdeflow.study.config import EQUATIONS, PERTURBATIONS

    with pytest.raises(SystemExit):
        main(["study", "--help"])
    text = capsys.readouterr().out
    assert "``" not in text and ":func:" not in text and ":class:" not in text
    for name in (*EQUATIONS, *PERTURBATIONS):
        assert name in text
    options = re.findall(r"^  (--[A-Za-z0-9-]+)(.*?)(?=^  --|\Z)", text, flags=re.M | re.S)
    assert len(options) == len(_study_flags())
    for flag, body in options:
        assert "default" in body, flag


def _study_flags():
    from pdeflow.cli import _LISTS, _SCALARS

    return [*_LISTS, *_SCALARS, "scheduler", "workers", "out", "quiet"]


def test_case_count():
    assert len(CASES) + len(CLI_CASES) >= 60
