"""Flow maps: integrator orders against closed forms, interpolation orders on sampled grids,
forward-backward round trips, the leaving-the-grid rule, and input checks."""
import numpy as np
import pytest

from pdeflow.equations import FokkerPlanck
from pdeflow.exact import Barenblatt, ConfinedBarenblatt, GaussianMixture, GaussianMixtureFlow
from pdeflow.grid import Grid
from pdeflow.solvers.flow_map import _dopri5_step, integrate_flow_map
from pdeflow.solvers.interpolation import GridVelocity, sample_solution, snapshot_derivative


def observed_order(sizes, errors):
    """Least-squares slope of log(error) against log(size)."""
    return np.polyfit(np.log(sizes), np.log(errors), 1)[0]


def gaussian_flow(dim):
    eq = FokkerPlanck(D=0.5, kappa=1.0, dim=dim)
    rng = np.random.default_rng(dim)
    a = rng.standard_normal((dim, dim))
    cov = 0.3 * np.eye(dim) + 0.05 * a @ a.T
    return GaussianMixtureFlow(eq, GaussianMixture([1.0], rng.standard_normal((1, dim)) * 0.3,
                                                   cov[None]))


def mixture_flow():
    eq = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
    mix = GaussianMixture.isotropic([0.4, 0.6], [[0.6, 0.0], [-0.6, 0.2]], [0.3, 0.4])
    return GaussianMixtureFlow(eq, mix)


def max_error(a, b):
    return np.abs(a - b).max()


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_rk4_matches_gaussian_flow_map_at_fourth_order(dim):
    flow = gaussian_flow(dim)
    x0 = flow.initial.sample(100, 0)
    exact = flow.flow_map(1.0, x0, 0.0)
    dts = [0.05, 0.025, 0.0125]
    errors = [max_error(integrate_flow_map(flow, x0, [0.0, 1.0], dt=dt).final, exact)
              for dt in dts]
    order = observed_order(dts, errors)
    print(f"RK4 on the OU flow map, d={dim}: errors {errors}, order {order:.2f}")
    assert order > 3.6


def test_dopri5_pair_orders_and_tolerance():
    flow = gaussian_flow(2)
    x0 = flow.initial.sample(50, 1)
    exact = flow.flow_map(0.5, x0, 0.0)
    # fixed steps: the fifth-order solution converges at order 5
    errors, hs = [], [0.1, 0.05, 0.025]
    for h in hs:
        x, k = x0.copy(), flow.velocity(0.0, x0)
        for i in range(round(0.5 / h)):
            x, _, k = _dopri5_step(flow.velocity, i * h, x, h, k)
        errors.append(max_error(x, exact))
    order = observed_order(hs, errors)
    print(f"Dormand-Prince 5 fixed step: errors {errors}, order {order:.2f}")
    assert order > 4.6
    # adaptive: the error follows the tolerance and the step count grows like tol^(-1/5)
    tols, errs, steps = [1e-5, 1e-7, 1e-9], [], []
    for tol in tols:
        fm = integrate_flow_map(flow, x0, [0.0, 0.5], method="dopri5", rtol=tol, atol=tol)
        errs.append(max_error(fm.final, exact))
        steps.append(fm.provenance["integrator"]["accepted_steps"])
    print(f"dopri5 adaptive: tol {tols} errors {errs} steps {steps}")
    assert all(e < 20 * t for e, t in zip(errs, tols))
    assert errs[0] > errs[1] > errs[2]
    assert steps[0] <= steps[1] <= steps[2] < 4 * steps[0]  # few steps, growing slowly


@pytest.mark.parametrize("field", ["cell", "face"])
def test_grid_velocity_space_interpolation_is_second_order(field):
    flow = mixture_flow()
    x0 = flow.initial.sample(200, 2)
    x0 = x0[np.abs(x0).max(1) < 1.2]
    t0, t1 = 0.1, 0.6
    ref = integrate_flow_map(flow, x0, [t0, t1], method="dopri5", rtol=1e-11, atol=1e-11).final
    ns, errors = [16, 32, 64], []
    for n in ns:
        sol = sample_solution(flow, Grid.cube(3.0, n, 2), np.linspace(t0, t1, 101))
        errors.append(max_error(integrate_flow_map(sol, x0, [t0, t1], dt=0.0025,
                                                   field=field).final, ref))
    order = -observed_order(ns, errors)
    print(f"grid velocity ({field}) in space: errors {errors}, order {order:.2f}")
    assert order > 1.8


@pytest.mark.parametrize("rule, expected", [("linear", 1.8), ("cubic", 2.7)])
def test_grid_velocity_time_interpolation_order(rule, expected):
    """The time error in isolation: same grid, reference with 8x finer snapshot spacing; linear
    is second order, cubic Hermite with three-point snapshot derivatives third order."""
    flow = mixture_flow()
    x0 = flow.initial.sample(200, 3)
    x0 = x0[np.abs(x0).max(1) < 1.2]
    t0, t1 = 0.1, 0.6
    grid = Grid.cube(3.0, 64, 2)
    ref = integrate_flow_map(GridVelocity(sample_solution(flow, grid, np.linspace(t0, t1, 161)),
                                          time_rule=rule), x0, [t0, t1], dt=0.0025).final
    counts, errors = [6, 11, 21], []
    for nt in counts:
        sol = GridVelocity(sample_solution(flow, grid, np.linspace(t0, t1, nt)), time_rule=rule)
        errors.append(max_error(integrate_flow_map(sol, x0, [t0, t1], dt=0.0025).final, ref))
    order = -observed_order(np.array(counts) - 1, errors)
    print(f"grid velocity, {rule} in time: errors {errors}, order {order:.2f}")
    assert order > expected


def test_snapshot_derivative_is_exact_for_quadratics_on_uneven_times():
    times = np.array([0.0, 0.1, 0.35, 0.4, 1.0])
    values = np.stack([np.full((2, 3), 2 + 3 * t - 5 * t ** 2) for t in times])
    np.testing.assert_allclose(snapshot_derivative(values, times)[:, 0, 0], 3 - 10 * times,
                               atol=1e-12)


def test_gaussian_flow_map_from_grid_velocity_converges():
    """OU with Gaussian data through a sampled grid velocity: space is exact (v is linear in x),
    the error is the time interpolation, falling at second order in the snapshot spacing."""
    flow = gaussian_flow(2)
    x0 = flow.initial.sample(100, 4)
    x0 = x0[np.abs(x0).max(1) < 1.5]
    exact = flow.flow_map(1.0, x0, 0.0)
    errors = []
    for nt in [11, 21, 41]:
        sol = sample_solution(flow, Grid.cube(3.5, 32, 2), np.linspace(0.0, 1.0, nt))
        errors.append(max_error(integrate_flow_map(sol, x0, [0.0, 1.0], dt=0.005).final, exact))
    order = -observed_order([10, 20, 40], errors)
    print(f"OU flow map from grid velocity: errors {errors}, order {order:.2f}")
    assert order > 1.8


@pytest.mark.parametrize("solution", [Barenblatt.from_mass(2.0, 2, 1.0),
                                      ConfinedBarenblatt(2.0, 2, 1.0, 1.0)])
def test_barenblatt_radial_flow_map(solution):
    t0, t1 = (1.0, 2.0) if isinstance(solution, Barenblatt) else (0.0, 0.5)
    r0 = solution.support_radius(t0)
    rng = np.random.default_rng(5)
    x0 = rng.uniform(-0.6 * r0, 0.6 * r0, (200, 2))
    exact = solution.flow_map(t1, x0, t0)
    dts = [0.1, 0.05, 0.025]
    errors = [max_error(integrate_flow_map(solution, x0, [t0, t1], dt=dt).final, exact)
              for dt in dts]
    order = observed_order(dts, errors)
    print(f"{type(solution).__name__} closed-form RK4: errors {errors}, order {order:.2f}")
    assert order > 3.6
    # gridded: the velocity is linear in x inside the support, the error is from time
    half = 1.3 * max(solution.support_radius(t0), solution.support_radius(t1))
    grid_errors = []
    for nt in [5, 9, 17]:
        sol = sample_solution(solution, Grid.cube(half, 64, 2), np.linspace(t0, t1, nt))
        grid_errors.append(max_error(integrate_flow_map(sol, x0, [t0, t1], dt=0.01).final,
                                     exact))
    order = -observed_order([4, 8, 16], grid_errors)
    print(f"{type(solution).__name__} gridded: errors {grid_errors}, order {order:.2f}")
    assert order > 1.8


@pytest.mark.parametrize("source", ["closed", "grid"])
def test_forward_then_backward_returns_start(source):
    flow = mixture_flow()
    x0 = flow.initial.sample(100, 6)
    x0 = x0[np.abs(x0).max(1) < 1.5]
    velocity = flow if source == "closed" else sample_solution(flow, Grid.cube(3.0, 48, 2),
                                                               np.linspace(0.2, 0.8, 13))
    dts = [0.1, 0.05, 0.025]
    errors = []
    for dt in dts:
        forward = integrate_flow_map(velocity, x0, [0.2, 0.8], dt=dt)
        back = integrate_flow_map(velocity, forward.final, [0.8, 0.2], dt=dt)
        errors.append(max_error(back.final, x0))
    order = observed_order(dts, errors)
    print(f"forward-backward ({source}): errors {errors}, order {order:.2f}")
    assert order > 3.5


@pytest.mark.parametrize("dim", [2, 3])
def test_fused_grid_kernel_matches_generic_rk4(dim):
    """The fused per-dimension kernel (rk4_2d / rk4_3d) against RK4 on GridVelocity's gather
    kernel, a separate code path, for cell and face fields."""
    flow = mixture_flow() if dim == 2 else gaussian_flow(3)
    sol = sample_solution(flow, Grid.cube(3.0, 24 if dim == 2 else 10, dim),
                          np.linspace(0.0, 1.0, 7))
    x0 = flow.initial.sample(50, 7)
    x0 = x0[np.abs(x0).max(1) < 2.0]
    times = [0.0, 0.3, 0.75, 1.0]
    for field in ["cell", "face"]:
        fused = integrate_flow_map(sol, x0, times, dt=0.04, field=field)
        generic = integrate_flow_map(GridVelocity(sol, field), x0, times, dt=0.04,
                                     method="rk4")
        plain = integrate_flow_map(lambda t, x: GridVelocity(sol, field)(t, x), x0, times,
                                   dt=0.04)
        np.testing.assert_allclose(fused.positions, plain.positions, atol=1e-12)
        assert fused.provenance["source"] == "GridSolution"
        assert generic.positions.shape == (4, len(x0), dim)


def test_callable_velocity_plugs_in():
    flow = gaussian_flow(2)
    x0 = flow.initial.sample(20, 8)
    fm = integrate_flow_map(lambda t, x: flow.velocity(t, x), x0, [0.0, 0.5], method="dopri5",
                            rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(fm.final, flow.flow_map(0.5, x0), atol=1e-7)
    assert fm.provenance["source"] == "callable"
    np.testing.assert_array_equal(fm.at(0.0), x0)


def constant_drift_solution(speed):
    grid = Grid.cube(1.0, 10, 2)
    times = np.array([0.0, 1.0])
    vel = np.zeros((2, 2, 10, 10))
    vel[:, 0] = speed
    faces = (np.full((2, 11, 10), speed), np.zeros((2, 10, 11)))
    faces[0][:, [0, -1]] = 0.0
    rho = np.ones((2, 10, 10))
    from pdeflow.solvers.solution import GridSolution
    return GridSolution(FokkerPlanck(dim=2), grid, times, rho, vel, faces, np.ones(2),
                        np.zeros(2))


@pytest.mark.parametrize("method", ["rk4", "dopri5"])
def test_particles_leaving_the_grid_raise_or_stop(method):
    sol = constant_drift_solution(1.0)
    x0 = np.array([[0.03, 0.0], [0.72, 0.1], [-0.9, 0.0]])
    with pytest.raises(ValueError, match="left the grid"):
        integrate_flow_map(sol, x0, [0.0, 0.5, 1.0], dt=0.05, method=method)
    fm = integrate_flow_map(sol, x0, [0.0, 0.5, 1.0], dt=0.05, method=method, outside="stop")
    assert list(fm.exit_index) == [2, 1, -1]
    assert np.all(sol.grid.contains(fm.positions.reshape(-1, 2)))
    np.testing.assert_allclose(fm.final[2], [0.1, 0.0], atol=1e-12)
    # face velocities vanish on the wall: particles slow down and stay in
    fm = integrate_flow_map(sol, x0, [0.0, 1.0], dt=0.05, field="face")
    assert np.all(fm.final[:, 0] <= 1.0)


def test_bad_input_raises():
    flow = gaussian_flow(2)
    x0 = np.zeros((3, 2))
    sol = sample_solution(flow, Grid.cube(3.0, 8, 2), np.linspace(0.0, 1.0, 3))
    cases = [
        (dict(velocity=flow, x0=x0, times=[0.0, 1.0, 0.5], dt=0.1), "times"),
        (dict(velocity=flow, x0=x0, times=[0.0, 1.0]), "dt"),
        (dict(velocity=flow, x0=x0, times=[0.0, 1.0], dt=-1.0), "dt"),
        (dict(velocity=flow, x0=x0, times=[0.0, 1.0], dt=0.1, method="euler"), "method"),
        (dict(velocity=sol, x0=x0, times=[0.0, 2.0], dt=0.1), "outside the stored times"),
        (dict(velocity=sol, x0=np.zeros((3, 3)), times=[0.0, 1.0], dt=0.1), "x0"),
        (dict(velocity=sol, x0=np.full((1, 2), 5.0), times=[0.0, 1.0], dt=0.1), "x0"),
        (dict(velocity=sol, x0=x0, times=[0.0, 1.0], dt=0.1, outside="clip"), "outside"),
        (dict(velocity=3.0, x0=x0, times=[0.0, 1.0], dt=0.1), "velocity"),
        (dict(velocity=flow, x0=x0, times=[0.0, 1.0], method="dopri5", rtol=0, atol=0),
         "rtol"),
    ]
    for kwargs, word in cases:
        with pytest.raises(ValueError, match=word):
            integrate_flow_map(**kwargs)
    with pytest.raises(ValueError, match="field"):
        GridVelocity(sol, "edge")
    with pytest.raises(ValueError, match="time_rule"):
        GridVelocity(sol, time_rule="spline")


def test_ou_flow_map_from_finite_volume_velocity_converges():
    """Through the finite-volume solution (runs once pdeflow.solvers.finite_volume is merged):
    the flow map error against the closed form falls with the grid at a measured order."""
    fv = pytest.importorskip("pdeflow.solvers.finite_volume")
    flow = gaussian_flow(2)
    x0 = flow.initial.sample(200, 9)
    x0 = x0[np.abs(x0).max(1) < 1.0]
    exact = flow.flow_map(0.5, x0, 0.0)
    ns, errors = [24, 48, 96], []
    for n in ns:
        grid = Grid.cube(4.5, n, 2)
        sol = fv.solve(flow.equation, grid, grid.sample_field(lambda x: flow.density(0.0, x)),
                       np.linspace(0.0, 0.5, 41))
        for field in ["face"]:
            errors.append(max_error(integrate_flow_map(sol, x0, [0.0, 0.5], dt=0.005,
                                                       field=field).final, exact))
    order = -observed_order(ns, errors)
    print(f"OU flow map through the finite-volume velocity: errors {errors}, order {order:.2f}")
    assert errors[0] > errors[1] > errors[2] and order > 1.5  # second-order FV expected


# d = 3 compiles the 3-D kernel on a fresh numba cache: 52 CPU-s (was > 10 min with four inlined
# velocity evaluations per step, see _kernels_grid.rk4_3d)
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_fused_kernel_is_bitwise_identical_across_thread_counts(dim):
    """prange over particles: each particle's arithmetic is its own, so 1 and 2 threads give
    the same bits (cell and face fields, cubic default)."""
    numba = pytest.importorskip("numba")
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs NUMBA_NUM_THREADS >= 2")
    flow = gaussian_flow(dim)
    sol = sample_solution(flow, Grid.cube(3.0, 12 if dim == 3 else 24, dim),
                          np.linspace(0.0, 1.0, 5))
    x0 = flow.initial.sample(301, 10)
    x0 = x0[np.abs(x0).max(1) < 2.0]
    before = numba.get_num_threads()
    try:
        runs = []
        for threads in (1, 2):
            numba.set_num_threads(threads)
            runs.append([integrate_flow_map(sol, x0, [0.0, 0.5, 1.0], dt=0.05, field=f).positions
                         for f in ("cell", "face")])
    finally:
        numba.set_num_threads(before)
    for one, two in zip(*runs):
        np.testing.assert_array_equal(one, two)


def test_two_snapshots_cubic_is_the_secant_line():
    """With two snapshots the derivatives are the secant slope, so cubic Hermite reduces to the
    linear rule (checks the two-point packing)."""
    flow = mixture_flow()
    sol = sample_solution(flow, Grid.cube(3.0, 16, 2), np.array([0.2, 0.6]))
    x = flow.initial.sample(50, 11)
    cubic, linear = GridVelocity(sol), GridVelocity(sol, time_rule="linear")
    for t in (0.2, 0.33, 0.6):
        np.testing.assert_allclose(cubic(t, x), linear(t, x), rtol=1e-12, atol=1e-12)
