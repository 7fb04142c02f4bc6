"""The catalogue of problems with a known truth (pdeflow.problems)."""
import numpy as np
import pytest

import pdeflow.problems as problems
from pdeflow.equations import Heat
from pdeflow.exact import GaussianMixtureFlow


def test_the_study_names_are_still_importable():
    for name in ("demo_problem", "three_component_mixture", "PRESENCE_CUTOFF",
                 "grid_initial_density", "load_samples", "rings_density", "LINEAR_FLOOR"):
        assert hasattr(problems, name)


def test_listing_has_one_line_per_name_and_every_name_loads_its_family():
    names, lines = problems.names(), problems.listing()
    assert len(names) == len(set(names)) == len(lines)
    assert all(line.split()[0] == name for name, line in zip(names, lines))
    assert {line.split()[1] for line in lines} == {"exact", "certified"}
    for name in ("vp-separated-1d", "sub-vp-anisotropic-8d", "ve-many-2d", "edm-separated-2d",
                 "fp-anisotropic-2d", "heat-many-1d", "fm-separated-128d", "vp-many-128d"):
        p = problems.get(name)
        assert p.name == name and p.truth == "exact" and p.description
        t = p.profile_times(3)
        assert np.isclose(t[0], p.t_min) and np.isclose(t[-1], p.T)
        x = p.sample(t[1], 11, 0)
        assert x.shape == (11, p.dim)
        assert p.score(t[1], x).shape == p.velocity(np.full(11, t[1]), x).shape == x.shape
    assert problems.get("vp-anisotropic-37d").dim == 37          # any dim in 1-128


def test_bad_names_and_options_raise():
    for name in ("vp-separated-0d", "vp-separated-129d", "nope", "heat-mixture-4d", 3):
        with pytest.raises(ValueError):
            problems.get(name)
    with pytest.raises(ValueError, match="no options"):
        problems.get("vp-separated-2d", n=3)


def test_flow_matching_runs_from_the_source_to_the_data():
    p = problems.get("fm-separated-2d")
    assert p.generates_forward and p.noise_time == p.t_min and p.data_time == p.T
    x = p.sample(p.t_min, 20000, 1)
    np.testing.assert_allclose(x.mean(0), 0.0, atol=0.05)    # ~ N(0, I) at the source end


def test_empirical_problem_is_the_smoothed_reference_under_vp():
    pytest.importorskip("torch")
    p = problems.get("vp-circle-2d", size=200)
    assert len(p.flow.initial.weights) == 200
    radii = np.linalg.norm(p.sample(p.t_min, 2000, 0), axis=1)
    assert abs(radii.mean() - 1.0) < 0.01


def test_certified_heat_error_estimate_bounds_the_true_error():
    """heat-mixture-1d on 64 cells: the companion estimate |v_64 - v_32| is at least the actual
    error of v_64 against the closed-form heat flow (and within a factor 10 of it)."""
    p = problems.get("heat-mixture-1d", n=64, n_snapshots=9)
    exact = GaussianMixtureFlow(Heat(D=0.5, dim=1), problems.three_component_mixture(1))
    for t in (0.05, 0.3):
        x = p.sample(t, 400, 2)
        actual = np.sqrt(((p.velocity(t, x) - exact.velocity(t, x)) ** 2).sum(1).mean())
        estimate = np.sqrt((p.velocity_truth_error(t, x) ** 2).mean())
        assert actual <= estimate <= 10 * actual, (t, actual, estimate)
        np.testing.assert_allclose(p.score(t, x), -p.velocity(t, x) / 0.5)
    assert p.truth == "certified" and p.kinds == ("score", "velocity", "noise", "epsilon", "v",
                                                  "sample", "denoiser")
    # the Richardson estimate of issue 13 from the same companion: |v_64 - v_32| / 3 in L2(rho)
    richardson = p.solution_error(order=2.0)
    k = int(np.argmin(np.abs(richardson.times - 0.3)))
    assert 0 < richardson.velocity_l2[k] < estimate
