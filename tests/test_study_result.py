"""Rate fits of a study and the theoretical curve."""
import math

import numpy as np
import pytest

from pdeflow.study.config import StudyConfig
from pdeflow.study.points import METRICS
from pdeflow.study.result import StudyResult
from pdeflow.study.theory import theory_curve, theory_slope


def synthetic_rows(slopes, rng):
    rows = []
    for kind, slope in slopes.items():
        for eps in (0.01, 0.03, 0.1, 0.3, 1.0):
            for seed in (0, 1):
                noise = math.exp(0.05 * rng.standard_normal())
                row = dict.fromkeys(METRICS, math.nan)
                row.update(problem="porous", alpha=0.0, route="perturbation", kind=kind,
                           seed=seed, eps_nominal=eps, budget=0, eps=eps, seconds=0.0,
                           flow_map=0.7 * eps ** slope * noise, w2_gap=0.5 * eps ** slope * noise)
                rows.append(row)
    return rows


def test_study_fits_recover_known_slopes_per_group():
    rows = synthetic_rows({"gradient": 0.8, "rotation": 0.8, "cell-noise": 0.45},
                          np.random.default_rng(0))
    result = StudyResult(StudyConfig(), rows, {}, {})
    fits = {(f["group"], f["metric"]): f for f in result.fit_rates()}
    for (group, metric), slope in {("smooth", "flow_map"): 0.8, ("smooth", "w2_gap"): 0.8,
                                   ("rough", "flow_map"): 0.45}.items():
        fit = fits[group, metric]
        assert fit["lo"] <= slope <= fit["hi"]
        assert fit["slope"] == pytest.approx(slope, abs=0.05)
        assert fit["n"] == (20 if group == "smooth" else 10)


def test_theory_curve_shape_and_local_slope():
    eps = np.geomspace(1e-4, 1.0, 9)
    curve = theory_curve(eps, 1.0, 2.0)
    assert curve[-1] == pytest.approx(2.0)
    assert np.all(np.diff(curve) > 0)
    h = 1e-6
    numeric = (np.log(theory_curve(eps * (1 + h), 1.0, 2.0)) - np.log(curve)) / np.log1p(h)
    np.testing.assert_allclose(theory_slope(eps), numeric, rtol=1e-4)
    assert theory_slope(0.1) < 0.1          # the guaranteed rate is very slow
