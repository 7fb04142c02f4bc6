"""The verdict of pdeflow validate: floors, z-scores, per-particle flow-map error and L2-UVP, and
the headline that must flag the classic convention bugs (a model evaluated at t/2, a score scaled
by 0.9) and must not flag the exact field (fixed seeds)."""
import numpy as np
import pytest

from pdeflow.modelcheck import validate
from pdeflow.modelcheck.validate import Z_THRESHOLD, _flow_map_stats
from pdeflow.problems import get

SETTINGS = dict(samples=1000, profile_points=5, ode_steps=40, sde_steps=200, w2_points=300,
                mmd_points=1000, flow_map_points=300, progress=False)


def _mutants(score, t_min):
    return {"t/2": lambda t, x: score(np.maximum(np.asarray(t) / 2, t_min), x),
            "0.9x": lambda t, x: 0.9 * score(t, x)}


def test_flow_map_statistics_closed_form():
    rng = np.random.default_rng(0)
    exact = rng.standard_normal((400, 3)) * [1.0, 2.0, 3.0]
    shift = np.array([0.3, 0.0, -0.4])
    stats = _flow_map_stats(exact + shift, exact)
    var = ((exact - exact.mean(0)) ** 2).sum(1).mean()
    assert stats["mean_square"] == pytest.approx(0.25, rel=1e-13)
    assert stats["mean_square_se"] < 1e-15 and stats["rms"] == pytest.approx(0.5, rel=1e-13)
    assert stats["l2_uvp"] == pytest.approx(100 * 0.25 / var, rel=1e-13)
    assert stats["top1_share"] == pytest.approx(0.01, rel=1e-12)   # all particles alike
    # one particle carries everything: top 1 % share 1, SE of the mean square = value / sqrt(n)
    moved = exact.copy()
    moved[7] += [2.0, 0.0, 0.0]
    stats = _flow_map_stats(moved, exact)
    assert stats["top1_share"] == pytest.approx(1.0)
    assert stats["mean_square_se"] == pytest.approx(4.0 / 400 * np.sqrt(400 / 400 * 400 / 399)
                                                    * np.sqrt(1 - 1 / 400), rel=1e-12)


def test_exact_field_is_consistent_and_the_convention_bugs_are_flagged():
    problem = get("vp-separated-2d")
    exact = validate(problem.score, problem, "score", seed=0, **SETTINGS)
    assert exact.headline["consistent"], exact.headline
    assert all(line["consistent"] for line in exact.verdict), exact.verdict
    # the exact field's map on the model's steps: its error is the map's own error estimate
    assert exact.eps2_score == 0
    assert exact.flow_map["rms"] == pytest.approx(exact.flow_map_truth_error, rel=1e-9)
    for name, model in _mutants(problem.score, problem.t_min).items():
        report = validate(model, problem, "score", seed=0, **SETTINGS)
        assert not report.headline["consistent"], (name, report.headline)
        assert report.headline["worst_z"] > Z_THRESHOLD
        assert not report.verdict[0]["consistent"]           # eps2_score differs from the truth
        text = report.text()
        assert text.splitlines()[1].startswith("VERDICT: samples NOT consistent")
        assert "L2-UVP" in text and "floor SD" in text


@pytest.mark.slow
def test_mutants_of_a_trained_vp_model_are_flagged():
    """A 2 x 64 SiLU noise predictor trained by DSM (1500 Adam steps, seed 0) on
    vp-separated-2d: its t/2 and 0.9x mutants fail the headline."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    problem = get("vp-separated-2d")
    conv = problem.convention
    net = torch.nn.Sequential(torch.nn.Linear(3, 64), torch.nn.SiLU(), torch.nn.Linear(64, 64),
                              torch.nn.SiLU(), torch.nn.Linear(64, 2))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    for _ in range(1500):
        x0 = torch.as_tensor(problem.initial.sample(256, rng), dtype=torch.float32)
        t = torch.rand(256) * (1 - 1e-3) + 1e-3
        a = torch.as_tensor(conv.scale(t.double().numpy()), dtype=torch.float32)[:, None]
        b = torch.as_tensor(conv.noise(t.double().numpy()), dtype=torch.float32)[:, None]
        z = torch.randn_like(x0)
        loss = ((net(torch.cat([t[:, None], a * x0 + b * z], 1)) - z) ** 2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    def trained(t, x):                  # the score -eps / b of the noise predictor
        t = np.broadcast_to(np.asarray(t, dtype=np.float64), (len(x),))
        with torch.no_grad():
            eps = net(torch.as_tensor(np.column_stack([t, x]), dtype=torch.float32)).double()
        return -eps.numpy() / conv.noise(t)[:, None]

    for name, model in _mutants(trained, problem.t_min).items():
        report = validate(model, problem, "score", seed=0, **SETTINGS)
        assert not report.headline["consistent"], (name, report.headline)
