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


def _ball_volume(points, dim):
    from pdeflow.pointcloud.ball_volume import ball_volume_curvature

    return ball_volume_curvature(points, dim)


def _diffusion(points, dim):
    from pdeflow.pointcloud.diffusion_curvature import DiffusionConfig, signed_diffusion_curvature

    config = DiffusionConfig(k_bandwidth=10, k_graph=20, aperture=10)
    return signed_diffusion_curvature(points, dim, 0, config, trials=1)


def _failing_fit(batch_size):
    from pdeflow.exact import GaussianMixtureFlow
    from pdeflow.learn import gaussian_mixture_target

    flow = GaussianMixtureFlow(FP2, GaussianMixture.isotropic([1.0], [[0.0, 0.0]], [0.5]))
    fit_regression(VelocityMLP(2, (8,)), gaussian_mixture_target(flow, 0.1, 1.0), steps=2,
                   batch_size=batch_size, n_train=64, n_eval=0)


def _diagnostic_not_storable(tmp_path):
    solution = _solution()
    solution.diagnostics["callback"] = print          # not a number, string or array
    try:
        save_solution(tmp_path / "diag.h5", solution)
    finally:
        assert not list(tmp_path.glob("*diag*"))       # atomic: nothing left behind


def _schema_version(tmp_path, value):
    path = save_solution(tmp_path / "sol.h5", _solution())
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = value
    return load_solution(path)


def _porous_overflow():
    rho0 = np.where(np.abs(GRID1.points()[:, 0]) < 1.0, 1e120, 0.0)
    return solve(PorousMedium(m=2.0, D=1.0, kappa=1.0, dim=1), GRID1, rho0, [0.0, 0.1])


def _header_samples(tmp_path):
    path = tmp_path / "samples.csv"
    path.write_text("x\n0.1\n0.2\n-0.3\n")
    return str(path)


def _decoder(dtype=torch.float64, batch_norm=False):
    torch.manual_seed(0)
    layers = [torch.nn.Linear(2, 8)] + ([torch.nn.BatchNorm1d(8)] if batch_norm else []) + \
        [torch.nn.Tanh(), torch.nn.Linear(8, 3)]
    return torch.nn.Sequential(*layers).to(dtype)


def _curvature(decoder, z):
    from pdeflow.geometry.curvature import scalar_curvature

    return scalar_curvature(decoder, z)


class _PointsFirst(torch.nn.Module):
    """A score model written as forward(x, t), not the protocol's model(t, x)."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def forward(self, x, t):
        return self.layer(torch.cat([x, t[:, None]], 1))


def _adapter(model):
    from pdeflow.modelcheck.protocol import ModelAdapter
    from pdeflow.problems import get

    return ModelAdapter(model, "score", get("vp-separated-1d"))


def _factory_returning_a_class(tmp_path):
    from pdeflow.modelcheck.command import load_factory

    path = tmp_path / "my_model.py"
    path.write_text("import torch\nclass Net(torch.nn.Module):\n    pass\n"
                    "def make():\n    return Net\n")
    return load_factory(f"{path}:make")


def _ode_vs_sde_truncated(tmp_path):
    from pdeflow.reproductions.ode_vs_sde import StudyConfig as OdeSdeConfig
    from pdeflow.reproductions.ode_vs_sde import load_results, save_results

    path = tmp_path / "ode_vs_sde.h5"
    save_results(path, [{"target": "moons", "w2": 0.1}], [{"target": "moons", "w2": 0.05}],
                 OdeSdeConfig(), {"seconds": 1.0})
    assert load_results(path)[0]["w2"] == pytest.approx([0.1])
    path.write_bytes(path.read_bytes()[:200])
    return load_results(path)


# (id, call(tmp_path), exception, message regex)
CASES = [
    # --- issue 28: silent or obscure before ---
    ("solve-rho0-complex", lambda p: solve(HEAT, GRID1, np.ones(16) * (1 + 1j), [0.0, 0.1]),
     TypeError, r"rho0 must be an array of real numbers, got dtype complex128 .*imaginary"),
    ("solve-rho0-string", lambda p: solve(HEAT, GRID1, "uniform", [0.0, 0.1]), TypeError,
     r"rho0 must be an array of real numbers, got str"),
    ("solve-porous-overflow", lambda p: _porous_overflow(), ValueError,
     r"rho0: max rho0\^m = 1e\+120\^2 exceeds 1e\+200.*overflow"),
    ("heat-D-string", lambda p: Heat(D="0.5", dim=1), TypeError, r"D must be a real number, got str"),
    ("fp-kappa-none", lambda p: FokkerPlanck(D=0.5, kappa=None, dim=1), TypeError,
     r"kappa must be a real number, got NoneType"),
    ("porous-m-string", lambda p: PorousMedium(m="2", dim=1), TypeError,
     r"m must be a real number, got str '2'"),
    ("porous-m-none", lambda p: PorousMedium(m=None, dim=1), TypeError,
     r"m must be a real number, got NoneType"),
    ("fp-dim-string", lambda p: FokkerPlanck(D=1.0, kappa=1.0, dim="2"), TypeError,
     r"dim must be 1, 2 or 3, got str"),
    ("barenblatt-m-string", lambda p: Barenblatt(m="2", dim=1), TypeError,
     r"m must be a real number, got str"),
    ("save-solution-not-a-solution", lambda p: save_solution(p / "x.h5", {"density": 1.0}),
     TypeError, r"solution must be a pdeflow GridSolution.*got dict"),
    ("save-solution-diagnostic", _diagnostic_not_storable, TypeError,
     r"diagnostics\['callback'\] = .*cannot be stored in HDF5: allowed are numbers"),
    ("h5-schema-version-text", lambda p: _schema_version(p, "two"), ValueError,
     r"sol\.h5: schema_version must be an integer, got 'two'"),
    ("h5-schema-version-float", lambda p: _schema_version(p, 1.5), ValueError,
     r"sol\.h5: schema_version must be an integer, got 1\.5"),
    ("flow-map-nan-dopri5", lambda p: integrate_flow_map(lambda t, x: x * np.nan, np.ones((3, 1)),
                                                         [0.0, 1.0], method="dopri5"),
     ValueError, r"dopri5: the velocity returned NaN or inf at t = 0\.0 for 3 of 3 particles"),
    ("samples-header-line", lambda p: load_samples(_header_samples(p), 1), ValueError,
     r"samples_file .*samples\.csv.* cannot be read as comma-separated numbers.*no header line"),
    ("config-samples-header-line", lambda p: _config(initial="samples",
                                                     samples_file=_header_samples(p)),
     ValueError, r"^samples_file .*samples\.csv.* no header line"),
    ("curvature-z-float32", lambda p: _curvature(_decoder(), torch.zeros(4, 2)), TypeError,
     r"z has dtype torch\.float32 but the decoder's parameters are torch\.float64"),
    ("curvature-batch-norm", lambda p: _curvature(_decoder(batch_norm=True),
                                                  torch.randn(4, 2, dtype=torch.float64)),
     ValueError, r"decoder: its submodule '1' \(BatchNorm1d\) is in training mode.*eval\(\)"),
    ("curvature-batch-coupling", lambda p: _curvature(
        lambda z: torch.cat([z, (z - z.mean(0)).sum(1, keepdim=True)], 1),
        torch.randn(4, 2, dtype=torch.float64)), ValueError, r"decoder does not act row by row"),
    ("validate-forward-x-t", lambda p: _adapter(_PointsFirst()), ValueError,
     r"written as \(x, t, \.\.\.\); the protocol calls model\(t, x\)"),
    ("validate-class-not-instance", lambda p: _adapter(_PointsFirst), TypeError,
     r"model is the class _PointsFirst, not a model"),
    ("validate-factory-returns-class", _factory_returning_a_class, ValueError,
     r"--model: .*make\(\) returned the class Net, not a model"),
    ("validate-numpy-returns-list", lambda p: _adapter(lambda t, x: (-x).tolist()), ValueError,
     r"returned builtins\.list, not a numpy array"),
    ("validate-numpy-returns-tensor", lambda p: _adapter(lambda t, x: torch.as_tensor(-x)),
     ValueError, r"returned torch\.Tensor, not a numpy array.*pass the torch module itself"),
    ("ball-volume-identical-points", lambda p: _ball_volume(np.ones((60, 3)), 2), ValueError,
     r"points must be distinct: row 0 occurs 60 times"),
    ("ball-volume-dim-too-large", lambda p: _ball_volume(RNG.normal(size=(60, 3)), 4),
     ValueError, r"dim must be <= the width D = 3 of points, got 4"),
    ("diffusion-identical-points", lambda p: _diffusion(np.ones((60, 3)), 2), ValueError,
     r"points must be distinct: row 0 occurs 60 times"),
    ("diffusion-dim-too-large", lambda p: _diffusion(RNG.normal(size=(60, 3)), 5), ValueError,
     r"dim must be <= the width D = 3 of points, got 5"),
    ("ode-vs-sde-truncated", _ode_vs_sde_truncated, ValueError,
     r"ode_vs_sde\.h5.* is not a readable HDF5 file \(truncated"),
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


def test_sinkhorn_between_identical_points_is_zero():
    """Issue 28: was 'did not converge' (the relative regulariser was 0 x the mean cost)."""
    from pdeflow.validation.metrics import sinkhorn_w2

    assert sinkhorn_w2([[0.3, -1.0]], [[0.3, -1.0]]) == 0.0
    assert sinkhorn_w2(np.zeros((3, 2)), np.zeros((4, 2))) == 0.0
    assert sinkhorn_w2([[0.0, 0.0]], [[3.0, 4.0]]) == pytest.approx(5.0, rel=1e-6)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _a_file(p):
    path = p / "afile"
    path.write_text("not a folder")
    return str(path)


# issue 28: (id, full argv builder(tmp_path), regex on the error line); each exits 2, one line
CLI_FULL_CASES = [
    ("study-out-is-a-file", lambda p: ["study", "--dim", "1", "--out", _a_file(p)],
     r"pdeflow study: error: --out .*afile' is an existing file; it must name a folder"),
    ("study-out-unwritable", lambda p: ["study", "--dim", "1", "--out", _a_file(p) + "/sub"],
     r"pdeflow study: error: --out .*afile/sub' cannot be written: Not a directory"),
    ("demo-n-1", lambda p: ["demo", "--n", "1", "--out", str(p / "d")],
     r"pdeflow demo: error: --n must be an integer >= 8 \(cells per axis\), got 1"),
    ("demo-n-0", lambda p: ["demo", "--n", "0", "--out", str(p / "d")], r"--n must be .* got 0"),
    ("demo-out-is-a-file", lambda p: ["demo", "--out", _a_file(p)], r"--out .* existing file"),
    ("validate-out-is-a-file", lambda p: ["validate", "--problem", "vp-separated-1d", "--model",
                                          "m:f", "--kind", "score", "--out", _a_file(p)],
     r"pdeflow validate: --out .* existing file"),
    ("study-scheduler-nothing-listens", lambda p: [
        "study", "--dim", "1", "--out", str(p / "o"), "--scheduler",
        f"tcp://127.0.0.1:{_free_port()}"], r"scheduler 'tcp://127\.0\.0\.1:\d+': nothing "
                                            r"answers at 127\.0\.0\.1:\d+"),
    ("study-scheduler-no-port", lambda p: ["study", "--dim", "1", "--out", str(p / "o"),
                                           "--scheduler", "tcp://localhost"],
     r"scheduler 'tcp://localhost' must be tcp://host:port"),
    ("study-samples-header", lambda p: ["study", "--dim", "1", "--out", str(p / "o"), "--initial",
                                        "samples", "--samples-file", _header_samples(p)],
     r"samples_file .*samples\.csv.* cannot be read .*no header line"),
]


@pytest.mark.parametrize("case", CLI_FULL_CASES, ids=[c[0] for c in CLI_FULL_CASES])
def test_cli_bad_place_or_size_is_one_line_and_exit_2(case, tmp_path, capsys):
    import time

    _, argv, pattern = case
    start = time.perf_counter()
    code = _exit_code(argv(tmp_path))
    seconds = time.perf_counter() - start
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, err
    assert len(err) == 1 and re.search(pattern, err[0]), err
    assert seconds < 8, seconds          # no 30 s connection timeout


def test_samples_file_edited_during_a_run_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    """The worker rebuilds the study and finds another cache key: ValueError naming the samples
    file (was a RuntimeError traceback); the CLI prints it on one line and exits 2."""
    from pdeflow.study import epsilon_study

    path = _samples_file(tmp_path, RNG.normal(0, 0.5, (30, 1)))
    config = _config(initial="samples", samples_file=path, bandwidth=0.3)
    key = epsilon_study.EpsilonStudy(config).key
    np.savetxt(path, RNG.normal(0.2, 0.5, (30, 1)), delimiter=",")
    with pytest.raises(ValueError, match=r"samples_file .*samples\.csv' changed during the run"):
        epsilon_study._truth_task((config, key, "fokker-planck", tmp_path, tmp_path / "c.pickle"))

    def edited(self, *args, **kwargs):
        raise ValueError(f"samples_file {path!r} changed during the run")

    monkeypatch.setattr(epsilon_study.EpsilonStudy, "run", edited)
    code = _exit_code(["study", "--dim", "1", "--initial", "samples", "--samples-file", path,
                       "--bandwidth", "0.3", "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "changed during the run" in err[0], err
