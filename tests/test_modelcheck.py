"""pdeflow validate: model protocol, samplers, report identities, command line."""
import json
import subprocess
import sys

import numpy as np
import pytest

from pdeflow.equations import VP
from pdeflow.exact import GaussianMixture, GaussianMixtureFlow, CorruptedMixture
from pdeflow.equations import FokkerPlanck
from pdeflow.modelcheck import ModelAdapter, SUMMARY_KEYS, probability_flow, reverse_sde, validate
from pdeflow.problems import get

FAST = dict(samples=300, profile_points=5, ode_steps=20, sde_steps=100, w2_points=300,
            mmd_points=300, flow_map_points=300, progress=False)


def _as_kind(problem, kind):
    """The exact field of ``problem`` expressed as a model of ``kind`` (numpy callable)."""
    conv = problem.convention
    if kind == "score":
        return lambda t, x: problem.score(t, x)
    if kind == "velocity":
        return lambda t, x: problem.velocity(t, x)
    if kind == "noise":
        return lambda t, x: conv.noise_from_score(t, problem.score(t, x))
    if kind == "denoiser":
        def denoiser(x_scaled, sigma):
            # invert sigma = b / a for the time, then D = (x + b^2 s) / a at x = a x_scaled
            times = np.array([_time_of_sigma(conv, problem, s) for s in sigma])
            x = conv.scale(times)[:, None] * x_scaled
            return conv.denoiser_from_score(times, problem.score(times, x), x)
        return denoiser
    raise AssertionError(kind)


def _time_of_sigma(conv, problem, sigma):
    from scipy.optimize import brentq
    return brentq(lambda t: conv.denoiser_sigma(t) - sigma, problem.t_min * 0.999,
                  problem.T * 1.001 if not problem.generates_forward else 0.9999, xtol=1e-15,
                  rtol=1e-15)


@pytest.mark.parametrize("name,kind", [("vp-separated-2d", "noise"), ("edm-anisotropic-2d",
                                       "denoiser"), ("fm-separated-2d", "velocity"),
                                      ("ve-many-2d", "denoiser"), ("sub-vp-separated-3d", "noise"),
                                      ("vp-anisotropic-2d", "velocity")])
def test_conversions_round_trip_to_the_exact_fields(name, kind):
    problem = get(name)
    adapter = ModelAdapter(_as_kind(problem, kind), kind, problem)
    for t in problem.profile_times(3):
        x = problem.sample(t, 50, 1)
        score, velocity = adapter.fields(t, x)
        np.testing.assert_allclose(score, problem.score(t, x), rtol=1e-7, atol=1e-8)
        np.testing.assert_allclose(velocity, problem.velocity(t, x), rtol=1e-7, atol=1e-8)


@pytest.mark.parametrize("name", ["vp-separated-2d", "fm-anisotropic-2d"])
def test_exact_field_gives_zero_error_and_w2_within_the_floor(name):
    problem = get(name)
    report = validate(problem.score, problem, "score", **FAST)
    assert report.eps2_score < 1e-12 and report.eps2_velocity < 1e-12
    floor = report.w2_floor
    for route in ("ode", "sde"):
        assert report.w2[route] <= floor["mean"] + 3 * floor["std"], (route, report.w2, floor)
    # the exact field's ODE on the model's steps: its flow-map error is the map's own
    # discretisation error estimate, to rounding
    assert abs(report.flow_map_error - report.flow_map_truth_error) < 1e-12


@pytest.mark.parametrize("name", ["vp-separated-2d", "edm-separated-1d", "ve-anisotropic-2d"])
def test_constant_score_error_integrates_exactly(name):
    problem = get(name)
    c = np.array([0.3, -0.2])[: problem.dim]
    report = validate(lambda t, x: problem.score(t, x) + c, problem, "score", **FAST)
    expected = (c ** 2).sum() * (problem.T - problem.t_min)
    assert abs(report.eps2_score / expected - 1) < 1e-6
    assert np.all(report.e_score_se < 1e-9 * report.e_score)   # the same error at every point


def test_torch_modules_any_dtype_are_evaluated_in_batches_without_grad():
    torch = pytest.importorskip("torch")
    problem = get("vp-separated-2d")

    class Exact(torch.nn.Module):
        def __init__(self, dtype):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones((), dtype=dtype))
            self.calls = []

        def forward(self, t, x):
            assert not torch.is_grad_enabled()
            self.calls.append((len(x), x.dtype))
            s = problem.score(t.double().numpy(), x.double().numpy())
            return self.scale * torch.as_tensor(s, dtype=x.dtype)

    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 1e-9)):
        model = Exact(dtype)
        adapter = ModelAdapter(model, "score", problem, batch_size=40, device="cpu")
        x = problem.sample(0.3, 100, 2)
        got = adapter.score(0.3, x)
        assert got.dtype == np.float64 and [c[0] for c in model.calls[-3:]] == [40, 40, 20]
        assert model.calls[-1][1] == dtype
        assert np.abs(got - problem.score(0.3, x)).max() < tol * np.abs(got).max() * 1e3
        assert "torch" in adapter.describe()


def test_errors_name_the_model_and_the_call():
    problem = get("vp-separated-2d")
    good = problem.score
    cases = [
        (lambda t, x: good(t, x)[:, :1], "returned shape"),
        (lambda t, x: np.full_like(x, np.nan), "NaN or inf"),
        (lambda t, x: good(t, x) * 1j, "dtype complex"),
        (lambda t, x: x @ np.ones((3, 2)), r"failed in model\(t, x\)"),
    ]
    for model, words in cases:
        with pytest.raises(ValueError, match=words) as err:
            ModelAdapter(model, "score", problem, name="mine")
        assert "'mine'" in str(err.value) and "(score)" in str(err.value)
    with pytest.raises(ValueError, match="kind must be"):
        ModelAdapter(good, "logits", problem)
    with pytest.raises(ValueError, match="needs a torch module"):
        ModelAdapter(good, "score", problem, device="cpu")
    porous = get("porous-mixture-1d", n=16)
    with pytest.raises(ValueError, match="cannot be checked"):
        ModelAdapter(good, "score", porous)


def test_torch_wrong_dimension_is_reported():
    torch = pytest.importorskip("torch")
    problem = get("vp-separated-2d")
    net = torch.nn.Linear(4, 2)
    model = lambda: None
    wrapped = type("Net", (torch.nn.Module,), {"forward": lambda self, t, x: net(x)})()
    wrapped.add_module("net", net)
    with pytest.raises(ValueError, match=r"failed in model\(t, x\).*shape \(3, 2\)"):
        ModelAdapter(wrapped, "score", problem)
    del model


def test_probability_flow_rk4_converges_at_fourth_order_to_the_closed_form_map():
    """A single Gaussian under VP: the exact flow map of Fokker-Planck(1/2, 1/2) on the clock."""
    gauss = GaussianMixture([1.0], [[1.0, -0.5]], [[[0.3, 0.1], [0.1, 0.2]]])
    conv = VP()
    flow = CorruptedMixture(conv, gauss)
    ou = GaussianMixtureFlow(FokkerPlanck(D=0.5, kappa=0.5, dim=2), gauss)
    x = flow.sample(1.0, 200, 0)
    exact = ou.flow_map(float(conv.clock(0.05)), x, t0=float(conv.clock(1.0)))
    errors = [np.abs(probability_flow(flow.velocity, np.linspace(1.0, 0.05, k + 1), x)
                     - exact).max() for k in (8, 16, 32)]
    orders = np.log2(np.array(errors[:-1]) / errors[1:])
    assert np.all(orders > 3.5), orders


def test_reverse_sde_with_the_exact_score_reaches_the_data_law():
    gauss = GaussianMixture([1.0], [[0.7]], [[[0.09]]])
    conv = VP()
    flow = CorruptedMixture(conv, gauss)
    x = flow.sample(1.0, 10000, 0)
    fields = lambda t, y: (flow.score(t, y), flow.velocity(t, y))
    y = reverse_sde(fields, conv.reverse_rate, np.linspace(1.0, 0.01, 201), x, seed=1)
    target = flow.at(0.01)
    mean, var = target.means[0, 0], target.covariances[0, 0, 0]
    assert abs(y.mean() - mean) < 4 * np.sqrt(var / len(y)) + 0.01
    assert abs(y.var() / var - 1) < 4 * np.sqrt(2 / len(y)) + 0.03


def test_memorisation_ratio_and_files(tmp_path):
    problem = get("vp-separated-2d")
    training = problem.sample(problem.t_min, 200, 9)
    report = validate(problem.score, problem, "score", training_set=training, **FAST)
    assert 0.5 < report.memorisation["median_ratio"] < 2.0
    paths = report.save(tmp_path)
    assert all(p.stat().st_size > 0 for p in paths.values())
    assert sorted(f.name for f in tmp_path.iterdir()) == ["validation.h5", "validation.png",
                                                          "validation.txt"]
    summary = json.loads(report.write_json(tmp_path / "s.json").read_text())
    assert tuple(summary) == SUMMARY_KEYS
    import h5py
    with h5py.File(paths["h5"]) as f:
        assert f.attrs["kind"] == "validation" and f["e_score"].shape == (5,)


def test_porous_problem_checks_a_velocity_with_the_truth_error():
    problem = get("porous-mixture-1d", n=32, n_snapshots=9)
    report = validate(problem.velocity, problem, "velocity", **dict(FAST, ode_steps=4))
    assert report.eps2_score is None and report.samples_sde is None
    assert report.eps2_velocity < 1e-12 and report.eps2_velocity_truth > 0
    assert not report.resolved


MODEL_FILE = """
from pdeflow.problems import get

def factory():
    problem = get("vp-separated-2d")
    return lambda t, x: problem.score(t, x) + 0.1
"""


def test_command_line_writes_the_report_and_json(tmp_path, capsys):
    from pdeflow.cli import main

    model = tmp_path / "mymodel.py"
    model.write_text(MODEL_FILE)
    out = tmp_path / "out"
    code = main(["validate", "--model", f"{model}:factory", "--kind", "score", "--problem",
                 "vp-separated-2d", "--out", str(out), "--json", str(tmp_path / "r.json"),
                 "--samples", "100", "--seed", "3", "--quiet"])
    assert code == 0
    summary = json.loads((tmp_path / "r.json").read_text())
    for key in ("problem", "kind", "eps2_score", "eps2_velocity", "w2", "w2_floor", "sliced_w2",
                "flow_map_error"):
        assert key in summary
    assert abs(summary["eps2_score"] / (0.02 * (1 - 1e-3)) - 1) < 1e-6
    assert (out / "validation.png").exists()
    assert main(["validate", "--model", f"{model}:nothing", "--kind", "score", "--problem",
                 "vp-separated-2d", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "has no callable 'nothing'" in err
    assert main(["problems"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert any(line.startswith("porous-dimaware-3d") and "certified" in line for line in lines)


def test_import_pdeflow_does_not_import_torch():
    code = "import sys, pdeflow; import pdeflow.problems; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_median_bandwidth_by_matrix_product_matches_the_pairwise_differences():
    """The MMD bandwidth (median pairwise distance of 1000 points) is computed from a matrix
    product, without the (m, m, d) difference array (24 GB at d = 3072); it equals the direct
    pairwise computation to 1e-10 relative (expanded squares: cancellation ~ eps |x|^2)."""
    from pdeflow.modelcheck.validate import _median_bandwidth

    x = np.random.default_rng(3).standard_normal((300, 50)) + 2.0
    direct_rng, rng = np.random.default_rng(1), np.random.default_rng(1)
    pick = x[direct_rng.choice(len(x), 200, replace=False)]
    d2 = ((pick[:, None] - pick[None]) ** 2).sum(-1)
    direct = np.sqrt(np.median(d2[np.triu_indices(200, 1)]))
    assert abs(_median_bandwidth(x, rng, m=200) / direct - 1) < 1e-10
