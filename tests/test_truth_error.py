"""Certified ground truth: the error estimates track the true error on problems with an exact
answer (a Gaussian mixture under Fokker-Planck), and they are stored in the HDF5 file."""
import numpy as np
import pytest

from pdeflow.equations import FokkerPlanck
from pdeflow.exact import GaussianMixture, GaussianMixtureFlow
from pdeflow.grid import Grid
from pdeflow.io import load_solution, save_solution, store_error_estimate
from pdeflow.solvers.backward import sample_backward
from pdeflow.solvers.finite_volume import solve
from pdeflow.solvers.truth_error import (every_other_snapshot, flow_map_error_estimate,
                                         richardson_factor, solution_error,
                                         solution_error_exact)
from pdeflow.validation.metrics import flow_map_error

#: The estimate must lie within this factor of the true error (stated in docs/certified_truth.md).
FACTOR = 3.0

FLOW = GaussianMixtureFlow(FokkerPlanck(D=0.5, kappa=1.0, dim=2), GaussianMixture.isotropic(
    [0.6, 0.4], [[-0.7, 0.0], [0.8, 0.3]], [0.3, 0.35]))
TIMES = np.linspace(0.0, 0.6, 7)


def fv(n):
    grid = Grid.cube(3.0, n, 2)
    return solve(FLOW.equation, grid, grid.sample_field(lambda x: FLOW.density(0.0, x)), TIMES)


@pytest.fixture(scope="module")
def pair():
    return fv(48), fv(32)


def test_richardson_solution_error_tracks_the_exact_error(pair):
    fine, coarse = pair
    est = solution_error(fine, coarse, order=2)
    true = solution_error_exact(fine, FLOW)
    assert est.method == "richardson" and true.method == "exact"
    for name in ("density_l1", "velocity_l2"):
        ratio = getattr(est, name)[1:] / getattr(true, name)[1:]
        print(name, "estimate / true per snapshot:", np.round(ratio, 2))
        assert np.all((ratio > 1 / FACTOR) & (ratio < FACTOR))


def test_flow_map_error_estimate_tracks_the_exact_error(pair):
    fine, coarse = pair
    x0 = fine.grid.sample_density(fine.density[-1], 300, np.random.default_rng(0))

    def flow(velocity, x, times, dt):
        return sample_backward(FLOW.equation, velocity, x, times, dt=dt).final

    times = [TIMES[-1], TIMES[0]]
    exact = sample_backward(FLOW.equation, FLOW, x0, times, method="dopri5", rtol=1e-10,
                            atol=1e-12).final
    est = flow_map_error_estimate(flow, fine, coarse, x0, times, dt=0.05)
    true = flow_map_error(flow(fine, x0, times, 0.05), exact)
    print(f"flow map: estimate {est.total:.3g} (grid {est.grid:.3g}, time "
          f"{est.time_interpolation:.3g}, step {est.integrator:.3g}), true {true:.3g}")
    assert 1 / FACTOR < est.total / true < FACTOR


def test_error_estimate_round_trips_through_hdf5(pair, tmp_path):
    fine, coarse = pair
    fine.error_estimate = solution_error(fine, coarse, order=2)
    back = load_solution(save_solution(tmp_path / "s.h5", fine))
    np.testing.assert_array_equal(back.error_estimate.density_l1, fine.error_estimate.density_l1)
    np.testing.assert_array_equal(back.error_estimate.velocity_l2,
                                  fine.error_estimate.velocity_l2)
    assert back.error_estimate.method == "richardson"


def test_error_estimate_is_added_to_a_saved_file(pair, tmp_path):
    """store_error_estimate appends (or replaces) the estimate without touching the fields."""
    fine, coarse = pair
    path = save_solution(tmp_path / "s.h5", fine)
    first = solution_error(fine, coarse, order=2)
    store_error_estimate(path, first)
    back = load_solution(path)
    np.testing.assert_array_equal(back.density, fine.density)
    np.testing.assert_array_equal(back.velocity, fine.velocity)
    np.testing.assert_array_equal(back.error_estimate.density_l1, first.density_l1)
    second = solution_error(fine, coarse, order=1)
    store_error_estimate(path, second)
    np.testing.assert_array_equal(load_solution(path).error_estimate.velocity_l2,
                                  second.velocity_l2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.h5"]   # no temporary left
    with pytest.raises(ValueError, match="does not exist"):
        store_error_estimate(tmp_path / "missing.h5", first)


def test_helpers_and_bad_input(pair):
    fine, coarse = pair
    assert richardson_factor(2.0, 2.0) == pytest.approx(1 / 3)
    half = every_other_snapshot(fine)
    np.testing.assert_array_equal(half.times, TIMES[::2])
    with pytest.raises(ValueError, match="ratio"):
        richardson_factor(1.0, 2.0)
    with pytest.raises(ValueError, match="coarser"):
        solution_error(coarse, fine, order=2)


def test_porous_flow_map_estimate_tracks_the_confined_barenblatt():
    """The study's porous construction (upwind CCH, support velocity) on a closed form: the
    order-1 Richardson estimate of the backward flow-map error is within FACTOR of the truth."""
    import warnings

    from pdeflow.exact import ConfinedBarenblatt
    from pdeflow.study.epsilon_study import support_velocity

    exact = ConfinedBarenblatt(2.0, 2, 1.0, 1.0)
    times = np.linspace(0.0, 0.5, 6)
    half = 1.6 * exact.support_radius(0.0)

    def fv(n):
        grid = Grid.cube(half, n, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return support_velocity(solve(exact.equation, grid, grid.sample_field(
                lambda x: exact.density(0.0, x)), times))

    def flow(velocity, x, span, dt):
        return sample_backward(exact.equation, velocity, x, span, dt=dt, outside="stop").final

    fine, coarse = fv(32), fv(16)
    x0 = fine.grid.sample_density(fine.density[-1], 300, np.random.default_rng(1))
    span = [times[-1], 0.0]
    y = flow(fine, x0, span, 0.02)
    true = flow_map_error(y, exact.flow_map(0.0, x0, times[-1]))
    est = flow_map_error_estimate(flow, fine, coarse, x0, span, dt=0.02, grid_order=1.0,
                                  reference=y)
    print(f"porous flow map: estimate {est.total:.3g}, true {true:.3g}")
    assert 1 / FACTOR < est.total / true < FACTOR
