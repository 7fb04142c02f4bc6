"""examples/study_dimension_sweep.py: one task of each problem runs, its perturbations have unit
L2(rho dt) norm, and its numbers behave (the full sweep is documented in docs/epsilon_study.md)."""
import math

import numpy as np
import pytest

from _manifold_helpers import load_example

sweep = load_example("study_dimension_sweep")


@pytest.mark.parametrize("which", sweep.PROBLEMS)
def test_one_task_runs_and_its_errors_grow_with_eps(which):
    result = sweep.run_task((4, which, 0, 60, 20))
    assert result["dim"] == 4 and len(result["points"]) == len(sweep.KINDS) * len(sweep.EPS)
    assert result["truth_error"] < 1e-2
    for kind in sweep.KINDS:
        errors = [p["flow_map"] for p in result["points"] if p["kind"] == kind]
        assert all(a < b for a, b in zip(errors, errors[1:]))
    table, rows = sweep.summarise([result, sweep.run_task((4, which, 1, 60, 20))], [4])
    assert len(rows) == len(sweep.KINDS) and which in table


def test_perturbations_are_normalised_to_unit_norm():
    problem = sweep.make_problem("porous m=1+1/d", 3)
    raw = sweep.perturbation("fourier-low", 3, np.random.default_rng(1))
    scale = sweep.unit_norm(raw, problem, np.random.default_rng(2))
    again = sweep.unit_norm(lambda x: raw(x) / scale, problem, np.random.default_rng(3))
    assert abs(again - 1.0) < 0.05                      # Monte Carlo, 9 x 2000 samples


def test_heat_problem_has_the_porous_modes_moments():
    porous = sweep.make_problem("porous m=2", 3).flow
    heat = sweep.make_problem("heat", 3)
    x = porous.sample(0.0, 40000, 4)
    np.testing.assert_allclose(x.mean(0), heat.initial.weights @ heat.initial.means, atol=0.03)
    comp = porous.components[0]
    y = comp.sample(0.0, 40000, 5)
    np.testing.assert_allclose(np.cov(y.T), heat.initial.covariances[0], atol=3e-3)
    assert math.isclose(heat.initial.weights.sum(), 1.0)
