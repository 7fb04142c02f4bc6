"""The Lagrangian porous-medium solver in mass coordinates (pdeflow.solvers.radial_lagrangian):
order against the Barenblatt closed forms in d = 1, 2, 8, 32 (flow map at every node, front
included; density), the Richardson estimate against the true error, the line geometry, the
evaluation at arbitrary points, sampling and input checks.

The Barenblatt flow map is linear in the label, so with the default uniform labels the scheme is
exact in space for it and only the time integrator errs; the order tests use the smooth
non-uniform label map G so that the spatial error is measured too (docs/radial_lagrangian.md)."""
import math

import numpy as np
import pytest
from scipy import special, stats

from pdeflow.equations import FokkerPlanck, PorousMedium
from pdeflow.exact import Barenblatt, ConfinedBarenblatt
from pdeflow.solvers.radial_lagrangian import (exact_error, radial_error_estimate,
                                               solve_radial_lagrangian)

#: the estimate must lie within this factor of the true error (as for the grid truth)
FACTOR = 3.0
#: the smallest accepted order (issue 24 asks for 1.8; the method measures 2.0)
MIN_ORDER = 1.8


def G(s):
    """Odd, increasing label map of [0, 1] onto itself, nodes 2.8 times denser at the front."""
    return s * (1.0 - 0.25 * s * s) / 0.75


def case(kind, d, m=2.0):
    """(closed form, start time, end time) of the order study."""
    if kind == "free":
        return Barenblatt(m, d), 1.0, 2.0
    closed = ConfinedBarenblatt(m, d)
    return closed, 0.0, 3.0 / closed.rate       # three relaxation times e^(-lambda t)


def radial_density(closed, t, d):
    e1 = np.zeros(d)
    e1[0] = 1.0
    return lambda r: closed.density(t, r[:, None] * e1)


def solve(kind, d, cells, m=2.0, label_map=G, nt=3, **options):
    closed, t0, t1 = case(kind, d, m)
    solution = solve_radial_lagrangian(closed.equation, radial_density(closed, t0, d),
                                       closed.support_radius(t0), np.linspace(t0, t1, nt),
                                       cells=cells, label_map=label_map, **options)
    return solution, closed


@pytest.mark.parametrize("d", [2, 8, 32])
@pytest.mark.parametrize("kind", ["free", "confined"])
def test_flow_map_is_second_order_at_every_node(kind, d):
    errors = []
    for cells in (32, 64):
        solution, closed = solve(kind, d, cells)
        errors.append(exact_error(solution, closed))
    coarse, fine = errors
    for name in ("flow_map_rms", "flow_map_max", "front", "density_l1", "density_sup"):
        order = math.log2(getattr(coarse, name)[-1] / getattr(fine, name)[-1])
        print(kind, d, name, f"{getattr(fine, name)[-1]:.3g}", f"order {order:.2f}")
        assert order >= MIN_ORDER, (name, order)
    # the front node is included in the max, and its error is of the interior's size
    assert fine.front[-1] <= fine.flow_map_max[-1]
    assert fine.flow_map_max[-1] < 1e-3 * closed.support_radius(solution.times[-1])


def test_uniform_labels_are_exact_in_space_for_barenblatt():
    """Linear flow map in the label: only the time error remains, and it is second order in dt."""
    errors = []
    for steps in (50, 100, 200):
        solution, closed = solve("free", 8, 16, label_map=None, nt=2, dt=1.0 / steps)
        errors.append(exact_error(solution, closed).flow_map_max[-1])
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    print("time errors", errors, "orders", orders)
    assert np.all(orders > 1.9) and np.all(orders < 2.1)
    # with 16 cells the whole error is the integrator's: 4x smaller per halved step
    assert errors[-1] < 1e-6 * closed.support_radius(2.0)


@pytest.mark.parametrize("d", [1, 2, 8, 32])
@pytest.mark.parametrize("kind", ["free", "confined"])
def test_richardson_estimate_tracks_the_true_error(kind, d):
    solution, closed = solve(kind, d, 64, nt=5, certify=True)
    estimate, true = solution.error_estimate, exact_error(solution, closed)
    assert estimate.method == "richardson" and estimate.cells == (64, 32, 16)
    assert np.isnan(estimate.measured_order[0]) and np.all(np.isfinite(estimate.measured_order[1:]))
    if d <= 8:      # in d = 32 the 16-cell solve is pre-asymptotic (measured 1.0-1.7)
        assert np.all(estimate.measured_order[1:] > 1.5)
    for name in ("flow_map_rms", "flow_map_max", "front", "density_l1", "density_sup"):
        ratio = getattr(estimate, name)[1:] / getattr(true, name)[1:]
        print(kind, d, name, np.round(ratio, 2))
        assert np.all((ratio > 1 / FACTOR) & (ratio < FACTOR)), (name, ratio)


def test_dimension_aware_exponent_order():
    """m = 1 + 1/d (pressure exponent 1/d: density ~ distance^d at the front)."""
    errors = [exact_error(solve("confined", 32, cells, m=1 + 1 / 32)[0],
                          case("confined", 32, 1 + 1 / 32)[0]) for cells in (32, 64)]
    order = math.log2(errors[0].flow_map_max[-1] / errors[1].flow_map_max[-1])
    assert order >= MIN_ORDER


class Shifted:
    """A free 1-D Barenblatt centred at c (translation invariance, kappa = 0)."""

    def __init__(self, c):
        self.base, self.c = Barenblatt(2.0, 1), c

    def density(self, t, x):
        return self.base.density(t, np.asarray(x) - self.c)

    def flow_map(self, t, x, t0):
        return self.c + self.base.flow_map(t, np.asarray(x) - self.c, t0)


def test_line_geometry_has_two_free_fronts():
    closed = Shifted(0.7)
    radius = closed.base.support_radius(1.0)
    errors = []
    for cells in (32, 64):
        solution = solve_radial_lagrangian(
            PorousMedium(m=2.0, dim=1), lambda x: closed.density(1.0, x[:, None]),
            (0.7 - radius, 0.7 + radius), [1.0, 2.0], cells=cells,
            label_map=lambda s: s * (1.0 + 0.3 * s) / 1.3)          # not symmetric
        errors.append(exact_error(solution, closed))
        assert solution.geometry == "line"
    for name in ("flow_map_max", "front", "density_l1"):
        order = math.log2(getattr(errors[0], name)[-1] / getattr(errors[1], name)[-1])
        print("line", name, getattr(errors[1], name)[-1], order)
        assert order >= MIN_ORDER, (name, order)
    lo, hi = solution.support(2.0)
    assert lo == pytest.approx(0.7 - closed.base.support_radius(2.0), abs=1e-4)
    assert hi == pytest.approx(0.7 + closed.base.support_radius(2.0), abs=1e-4)


def test_radial_one_dimensional_case_matches_the_line():
    radial, closed = solve("free", 1, 32, label_map=None)
    assert exact_error(radial, closed).flow_map_max[-1] < 1e-4


def test_mass_positivity_and_order_of_the_nodes():
    solution, closed = solve("confined", 8, 32)
    assert solution.mass == pytest.approx(closed.mass, rel=1e-10)
    assert np.all(np.diff(solution.positions, axis=1) > 0)
    assert np.all(solution.density_nodes[:, :-1] > 0) and np.all(solution.density_nodes[:, -1] == 0)
    assert np.allclose(solution.node_weights().sum(), 1.0, rtol=1e-14)


def test_fields_at_arbitrary_points_and_times():
    d = 8
    solution, closed = solve("confined", d, 64, nt=9)
    rng = np.random.default_rng(1)
    t = 0.5 * (solution.times[3] + solution.times[4])       # between snapshots
    radius = closed.support_radius(t)
    direction = rng.standard_normal((200, d))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    x = direction * (radius * rng.uniform(0, 0.98, 200))[:, None]
    rho = closed.density(t, x)
    assert np.max(np.abs(solution.density(t, x) - rho)) < 1e-3 * rho.max()
    scale = np.abs(closed.velocity(t, x)).max()
    assert np.max(np.abs(solution.velocity(t, x) - closed.velocity(t, x))) < 1e-3 * scale
    x0 = direction * (closed.support_radius(0.0) * rng.uniform(0, 1, 200))[:, None]
    assert np.max(np.abs(solution.flow_map(t, x0) - closed.flow_map(t, x0, 0.0))) < 1e-4 * radius
    outside = direction[:5] * 1.1 * radius
    assert np.all(solution.density(t, outside) == 0)
    assert np.allclose(solution.velocity(t, outside), -outside, rtol=1e-14)
    with pytest.raises(ValueError, match="initial support"):
        solution.flow_map(t, direction[:2] * 1.01 * closed.support_radius(0.0))
    with pytest.raises(ValueError, match="outside the solved interval"):
        solution.density(solution.times[-1] + 1.0, x)


def test_samples_follow_the_radial_law():
    d, m = 8, 2.0
    solution, closed = solve("free", d, 64)
    x = solution.sample(2.0, 4000, seed=3)
    assert x.shape == (4000, d)
    # the mass inside radius r of (1 - r^2/R^2)_+^p in R^d is I_{r^2/R^2}(d/2, p + 1)
    u = (np.linalg.norm(x, axis=1) / closed.support_radius(2.0)) ** 2
    ks = stats.kstest(u, lambda v: special.betainc(d / 2, 1 / (m - 1) + 1, v))
    assert ks.pvalue > 1e-3
    assert np.array_equal(x, solution.sample(2.0, 4000, seed=3))
    direction = x / np.linalg.norm(x, axis=1, keepdims=True)
    assert np.abs(direction.mean(0)).max() < 0.06


def test_bad_inputs():
    closed = Barenblatt(2.0, 2)
    rho0 = radial_density(closed, 1.0, 2)
    equation, radius = closed.equation, closed.support_radius(1.0)
    with pytest.raises(TypeError, match="PorousMedium"):
        solve_radial_lagrangian(FokkerPlanck(dim=2), rho0, radius, [1.0, 2.0])
    with pytest.raises(ValueError, match="cells"):
        solve_radial_lagrangian(equation, rho0, radius, [1.0, 2.0], cells=4)
    with pytest.raises(TypeError, match="cells"):
        solve_radial_lagrangian(equation, rho0, radius, [1.0, 2.0], cells=32.0)
    with pytest.raises(ValueError, match="times"):
        solve_radial_lagrangian(equation, rho0, radius, [2.0, 1.0])
    with pytest.raises(ValueError, match="support"):
        solve_radial_lagrangian(equation, rho0, -1.0, [1.0, 2.0])
    with pytest.raises(ValueError, match="line geometry"):
        solve_radial_lagrangian(equation, rho0, (-1.0, 1.0), [1.0, 2.0])
    with pytest.raises(ValueError, match="> 0 inside the support"):
        solve_radial_lagrangian(equation, rho0, 2 * radius, [1.0, 2.0])
    with pytest.raises(ValueError, match="divisible by 4"):
        solve_radial_lagrangian(equation, rho0, radius, [1.0, 2.0], cells=34, certify=True)
    with pytest.raises(ValueError, match="label_map"):
        solve_radial_lagrangian(equation, rho0, radius, [1.0, 2.0], label_map=lambda s: 2 * s)
    with pytest.raises(ValueError, match="density0"):
        solve_radial_lagrangian(equation, lambda r: -rho0(r), radius, [1.0, 2.0])
    with pytest.raises(ValueError, match="dt"):
        solve_radial_lagrangian(equation, rho0, radius, [1.0, 2.0], dt=0.0)
    fine, _ = solve("free", 2, 32)
    with pytest.raises(ValueError, match="half the cells"):
        radial_error_estimate(fine, fine)


def test_porous_medium_accepts_high_dimensions_but_grids_do_not():
    assert PorousMedium(m=2.0, dim=128).dim == 128
    with pytest.raises(ValueError, match="dim"):
        PorousMedium(m=2.0, dim=129)
    with pytest.raises(ValueError, match="dim"):
        FokkerPlanck(D=1.0, dim=4)
    from pdeflow.solvers.blob import BlobVelocity

    with pytest.raises(ValueError, match="1-3 D"):
        BlobVelocity(PorousMedium(m=2.0, dim=8), np.ones(4), 0.1)


@pytest.mark.slow
@pytest.mark.parametrize("d", [1, 2, 8, 32])
@pytest.mark.parametrize("kind", ["free", "confined"])
def test_order_study(kind, d):
    """The full study of docs/radial_lagrangian.md: N = 16 ... 256, orders of every measure."""
    previous = None
    for cells in (16, 32, 64, 128, 256):
        solution, closed = solve(kind, d, cells)
        error = exact_error(solution, closed)
        if previous is not None and cells >= 64:
            for name in ("flow_map_rms", "flow_map_max", "front", "density_l1"):
                order = math.log2(getattr(previous, name)[-1] / getattr(error, name)[-1])
                assert order >= MIN_ORDER, (cells, name, order)
        previous = error


def test_hdf5_round_trip(tmp_path):
    from pdeflow.io import load_radial_solution, load_solution, save_radial_solution

    solution, closed = solve("confined", 8, 32, nt=4, certify=True)
    path = save_radial_solution(tmp_path / "radial.h5", solution)
    loaded = load_radial_solution(path)
    assert loaded.equation == solution.equation and loaded.geometry == "radial"
    for name in ("labels", "masses", "times", "positions", "velocity_nodes", "density_nodes"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(solution, name))
    for name in ("flow_map_rms", "front", "density_l1"):
        np.testing.assert_array_equal(getattr(loaded.error_estimate, name),
                                      getattr(solution.error_estimate, name))
    assert loaded.error_estimate.cells == (32, 16, 8) and loaded.error_estimate.order == 2.0
    assert loaded.error_estimate.factor == solution.error_estimate.factor
    np.testing.assert_array_equal(loaded.error_estimate.measured_order,
                                  solution.error_estimate.measured_order)
    assert loaded.companion.cells == 16 and loaded.provenance["cells"] == 32
    t = 0.5 * (solution.times[1] + solution.times[2])
    x = solution.sample(t, 50, seed=0)
    np.testing.assert_allclose(loaded.velocity(t, x), solution.velocity(t, x), rtol=1e-13,
                               atol=1e-13)
    np.testing.assert_allclose(loaded.sample(t, 50, seed=0), x, rtol=1e-13, atol=1e-13)
    with pytest.raises(ValueError, match="radial_lagrangian"):
        load_solution(path)


def test_a_step_that_cannot_keep_the_nodes_ordered_raises(monkeypatch):
    """The step is halved 12 times, then the solve stops with ValueError (never a crossed or
    clipped state)."""
    from pdeflow.solvers import radial_lagrangian

    calls = []

    def failing(system, base, guess, hg, tol, max_iter=25):
        calls.append(hg)
        return None, None

    monkeypatch.setattr(radial_lagrangian, "_newton_stage", failing)
    with pytest.raises(ValueError, match="could not be completed"):
        solve("free", 2, 16, nt=2)
    assert len(calls) == 13 and calls[-1] == pytest.approx(calls[0] / 2 ** 12)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["free", "confined"])
def test_order_in_128_dimensions(kind):
    """d = 128 is pre-asymptotic below N = 256 (orders 1.2-1.8, docs/radial_lagrangian.md);
    from 256 to 512 cells the flow map converges at order >= 1.8 (measured 1.86 and 1.99)."""
    errors = [exact_error(*solve(kind, 128, cells)) for cells in (256, 512)]
    for name in ("flow_map_max", "front"):
        order = math.log2(getattr(errors[0], name)[-1] / getattr(errors[1], name)[-1])
        assert order >= MIN_ORDER, (name, order)
