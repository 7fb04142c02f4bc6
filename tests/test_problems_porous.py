"""The exact porous-medium problems of the catalogue (pdeflow.problems.porous), in any dimension,
and `pdeflow validate` on them."""
import math

import numpy as np
import pytest

import pdeflow.problems as problems
from pdeflow.exact import AnisotropicBarenblatt, DisjointBarenblattMixture
from pdeflow.modelcheck import validate

FAMILIES = ("porous-ellipsoid", "porous-ellipsoid-dimaware", "porous-modes",
            "porous-modes-dimaware")
FAST = dict(samples=300, profile_points=5, ode_steps=20, w2_points=300, mmd_points=300,
            flow_map_points=300, progress=False)


def test_listing_has_exact_porous_problems_up_to_128d():
    lines = [line for line in problems.listing() if line.split()[0].startswith(FAMILIES)]
    listed = {line.split()[0] for line in lines}
    for family in FAMILIES:
        for dim in (8, 128):
            assert f"{family}-{dim}d" in listed
    assert all(line.split()[1] == "exact" for line in lines)
    assert all(("m = 1 + 1/d" in line) == ("dimaware" in line.split()[0]) for line in lines)
    assert all("K = " in line for line in lines)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("dim", [1, 2, 8, 128])
def test_every_family_loads_in_any_dimension(family, dim):
    p = problems.get(f"{family}-{dim}d")
    assert p.name == f"{family}-{dim}d" and p.dim == dim and p.truth == "exact"
    assert p.kinds == ("velocity",) and p.convention is None
    dimaware = family.endswith("dimaware")
    m = 1.0 + 1.0 / dim if dimaware else 2.0
    assert p.m == m
    assert (f"m = 1 + 1/d = {m:.4g}" if dimaware else "m = 2,") in p.description
    assert ("K = I" in p.description) == family.startswith("porous-ellipsoid")
    t = p.profile_times(3)
    x = p.sample(t[1], 50, 0)
    assert x.shape == (50, dim) and p.flow.in_support(t[1], x).all()
    v = p.velocity(t[1], x)
    np.testing.assert_array_equal(v, p.velocity(np.full(50, t[1]), x))
    np.testing.assert_allclose(v, p.flow.velocity(t[1], x), rtol=1e-13, atol=1e-14)
    assert np.all(np.isfinite(p.score(t[1], x)))
    y = p.flow_map(p.t_min, x, t0=t[1])
    assert p.flow.in_support(p.t_min, y).all()
    if family.startswith("porous-modes"):
        assert isinstance(p.flow, DisjointBarenblattMixture)
        assert p.flow.valid_until >= 2 * p.T
        assert len(p.flow.components) == (2 if dim == 1 else 4)
    else:
        assert isinstance(p.flow, AnisotropicBarenblatt) and p.flow.K[0, 0] == 1.0


def test_velocity_outside_the_supports_is_the_nearest_affine_continuation():
    p = problems.get("porous-modes-2d")
    t = 0.5
    comp = p.flow.components[1]
    A, c, mu = comp.shape(t)
    edge = mu + math.sqrt(c / A[0, 0]) * np.array([1.0, 0.0]) * np.array([[0.999], [1.001]])
    v = p.velocity(t, edge)                   # just inside and just outside: no jump
    assert np.abs(v[0] - v[1]).max() < 0.01 * np.abs(v[0]).max()
    np.testing.assert_allclose(v[1], comp.affine_velocity(t, edge[1:])[0])


@pytest.mark.parametrize("name", ["porous-ellipsoid-8d", "porous-modes-dimaware-8d"])
def test_validate_runs_and_the_exact_velocity_scores_zero(name):
    p = problems.get(name)
    report = validate(p.velocity, p, "velocity", **FAST)
    assert report.truth == "exact" and report.eps2_score is None and report.samples_sde is None
    assert report.eps2_velocity == 0.0 and report.eps2_velocity_truth == 0.0
    assert report.flow_map_truth_error < 1e-3          # RK4, 20 against 40 steps
    shifted = validate(lambda t, x: p.velocity(t, x) + 0.1, p, "velocity", **FAST)
    expected = 0.01 * p.dim * (p.T - p.t_min)            # |0.1 (1, ..., 1)|^2 over [t_min, T]
    assert math.isclose(shifted.eps2_velocity, expected, rel_tol=1e-10)
    assert shifted.flow_map_error > 10 * report.flow_map_error


def test_bad_names_and_options():
    for name in ("porous-modes-0d", "porous-modes-129d", "porous-ellipsoid-dimaware"):
        with pytest.raises(ValueError):
            problems.get(name)
    with pytest.raises(ValueError, match="no options"):
        problems.get("porous-modes-2d", n=3)
    p = problems.get("porous-ellipsoid-2d")
    with pytest.raises(ValueError, match="outside"):
        p.sample(2.0, 3, 0)


def test_the_command_line_lists_them(capsys):
    from pdeflow.cli import main

    assert main(["problems"]) == 0
    out = capsys.readouterr().out
    assert "porous-modes-dimaware-128d" in out and "porous-ellipsoid-8d" in out
