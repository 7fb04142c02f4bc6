"""The certified radial multimodal porous problems (pdeflow.problems.porous_radial): catalogue
entries, the Problem interface, unit mass, modes that merge, the Richardson estimate against a
much finer solve, and `pdeflow validate` on them."""
import numpy as np
import pytest

import pdeflow.problems as problems
from pdeflow.modelcheck import validate
from pdeflow.problems.porous_radial import RadialPorousProblem, radial

FAST = dict(samples=300, profile_points=5, ode_steps=8, sde_steps=100, w2_points=300,
            mmd_points=300, flow_map_points=300, progress=False)


def local_maxima(p, prominence):
    """Radial local maxima of a profile (nodes from the origin out), above ``prominence``."""
    p = np.concatenate([p[1:][::-1], p]) / p.max()          # the even extension
    count = 0
    for i in range(1, len(p) - 1):
        if p[i] > p[i - 1] and p[i] >= p[i + 1] \
                and p[i] - max(p[:i].min(), p[i + 1:].min()) > prominence:
            count += 1
    return (count + 1) // 2


def test_catalogue_lists_radial_problems_up_to_128_d():
    lines = [line for line in problems.listing() if line.startswith("porous-radial")]
    dims = {int(line.split()[2]) for line in lines}
    assert {8, 128} <= dims
    assert all(line.split()[1] == "certified" for line in lines)
    p = problems.get("porous-radial-dimaware-37d", cells=32)
    assert isinstance(p, RadialPorousProblem) and p.dim == 37
    assert p.equation.m == pytest.approx(1 + 1 / 37)
    with pytest.raises(ValueError, match="1-128"):
        problems.get("porous-radial-129d")
    with pytest.raises(ValueError, match="cells"):
        problems.get("porous-radial-8d", cells=15)


@pytest.fixture(scope="module")
def problem8():
    return problems.get("porous-radial-8d", cells=256, n_snapshots=33)


def test_problem_interface(problem8):
    p = problem8
    assert p.kinds == ("velocity",) and p.convention is None and p.truth == "certified"
    assert p.solution.mass == pytest.approx(1.0, rel=1e-9)
    t = p.profile_times(3)[1]
    x = p.sample(t, 50, 0)
    assert x.shape == (50, 8) and np.array_equal(x, p.sample(t, 50, 0))
    v = p.velocity(t, x)
    assert v.shape == x.shape and np.all(np.isfinite(v))
    times = np.full(50, t)
    times[::2] = p.T
    both = p.velocity(times, x)
    assert np.allclose(both[1::2], v[1::2], rtol=1e-14, atol=0)
    assert np.allclose(both[::2], p.velocity(p.T, x[::2]), rtol=1e-14, atol=0)
    err = p.velocity_truth_error(t, x)
    assert err.shape == (50,) and np.all(err >= 0) and err.max() > 0
    assert np.all(p.density(t, x) > 0)
    far = np.full((3, 8), 2 * p.radius)
    assert np.all(p.density(t, far) == 0) and np.allclose(p.velocity(t, far), -far)
    with pytest.raises(ValueError, match="no score"):
        p.score(t, x)
    with pytest.raises(ValueError, match="outside"):
        p.velocity(2 * p.T, x)


def test_core_and_shells_merge(problem8):
    """Three radial modes at t = 0 (core + 2 shells, each more than 5 % prominent), one at T
    even counting ripples down to 10 times the estimated density error there."""
    solution = problem8.solution
    assert local_maxima(solution.pressure_nodes[0], 0.05) == 3
    threshold = 10 * solution.error_estimate.density_sup[-1]
    assert threshold < 0.05
    assert local_maxima(solution.pressure_nodes[-1], threshold) == 1


@pytest.mark.parametrize("dimension_aware", [False, True])
def test_estimate_tracks_a_much_finer_solve(dimension_aware):
    """The Richardson estimate of the 64-cell solve against its error measured with a 512-cell
    reference (flow map at the shared labels; velocity at samples), within a factor 3."""
    factory = (problems.porous_radial.radial_dimension_aware if dimension_aware else radial)
    coarse = factory(8, cells=64, n_snapshots=33)
    fine = factory(8, cells=512, n_snapshots=33)
    sc, sf = coarse.solution, fine.solution
    estimate = sc.error_estimate
    rows = slice(None, None, 8)
    true_max = np.abs(sc.positions - sf.positions[:, rows]).max(1)
    ratio = estimate.flow_map_max[1:] / true_max[1:]
    print("flow map estimate / true", np.round(ratio[::8], 2))
    assert np.all((ratio > 1 / 3) & (ratio < 3))
    for t in coarse.profile_times(3):
        x = coarse.sample(t, 400, 1)
        true = np.linalg.norm(coarse.velocity(t, x) - fine.velocity(t, x), axis=1)
        est = coarse.velocity_truth_error(t, x)
        ratio = np.sqrt((est ** 2).mean() / (true ** 2).mean())
        print(t, "velocity estimate / true (RMS over samples)", round(ratio, 2))
        assert 1 / 3 < ratio < 3


def test_validate_runs_on_the_radial_problem(problem8):
    report = validate(problem8.velocity, problem8, "velocity", **FAST)
    assert report.eps2_score is None
    assert report.eps2_velocity < 1e-20 and report.eps2_velocity_truth > 0
    assert report.flow_map_truth_error >= 0


def test_high_dimensions_solve(request):
    """d = 128 for both exponents: unit mass, a finite estimate, ordered nodes."""
    for name in ("porous-radial-128d", "porous-radial-dimaware-128d"):
        p = problems.get(name, cells=32, n_snapshots=17)
        s = p.solution
        assert s.mass == pytest.approx(1.0, rel=1e-9)
        assert np.all(np.diff(s.positions, axis=1) > 0)
        assert np.all(np.isfinite(s.error_estimate.flow_map_max))
        x = p.sample(p.T, 20, 0)
        assert x.shape == (20, 128) and np.all(np.isfinite(p.velocity(p.T, x)))


MODEL_FILE = """
from pdeflow.problems import get

def factory():
    problem = get("porous-radial-8d", cells=64)
    return lambda t, x: problem.velocity(t, x) + 0.01
"""


def test_command_line_validate_and_problems(tmp_path, capsys):
    import json

    from pdeflow.cli import main

    model = tmp_path / "radialmodel.py"
    model.write_text(MODEL_FILE)
    code = main(["validate", "--model", f"{model}:factory", "--kind", "velocity", "--problem",
                 "porous-radial-8d", "--out", str(tmp_path / "out"), "--json",
                 str(tmp_path / "r.json"), "--samples", "100", "--seed", "1", "--quiet"])
    assert code == 0
    summary = json.loads((tmp_path / "r.json").read_text())
    assert summary["problem"] == "porous-radial-8d" and summary["eps2_velocity"] > 0
    assert main(["problems"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("porous-radial-dimaware-128d") for line in lines)
