"""Finite-volume solver: convergence orders against closed forms, steady states, outputs, input
checks. Measured orders are printed (run with -s); docs/scheme.md tabulates them."""
import warnings

import numpy as np
import pytest

from _fv_studies import fitted_order, gaussian_errors, gaussian_flow, porous_errors
from pdeflow.equations import FokkerPlanck, Heat, PorousMedium
from pdeflow.exact import ConfinedBarenblatt
from pdeflow.grid import Grid
from pdeflow.solvers import GridSolution, solve, stable_time_step


def report(label, ns, errors):
    order = fitted_order(ns, errors)
    print(f"\n{label}: n={list(ns)} L1 errors={np.array2string(errors, precision=3)} "
          f"order={order:.2f}")
    return order


# ----------------------------------------------------------------------------------------------
# Convergence orders
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kappa", [0.0, 1.0], ids=["heat", "fokker-planck"])
@pytest.mark.parametrize("flux", ["upwind", "scharfetter-gummel"])
def test_gaussian_second_order_1d(kappa, flux):
    ns = (50, 100, 200)
    order = report(f"1-D Gaussian kappa={kappa} {flux}", ns,
                   gaussian_errors(1, kappa, ns, flux=flux))
    assert order > 1.8


@pytest.mark.parametrize("flux", ["upwind", "scharfetter-gummel"])
def test_gaussian_second_order_2d(flux):
    ns = (24, 48, 96)
    order = report(f"2-D Gaussian Fokker-Planck {flux}", ns, gaussian_errors(2, 1.0, ns, flux=flux))
    assert order > 1.8


def test_first_order_reconstruction_is_first_order():
    ns = (50, 100, 200)
    order = report("1-D Gaussian Fokker-Planck upwind order=1", ns,
                   gaussian_errors(1, 1.0, ns, order=1, flux="upwind"))
    assert 0.8 < order < 1.4


def test_forward_euler_second_order_under_parabolic_step():
    """dt ~ h^2, so the first-order time error is O(h^2) as well."""
    ns = (50, 100, 200)
    order = report("1-D Gaussian heat SG + Euler", ns,
                   gaussian_errors(1, 0.0, ns, flux="scharfetter-gummel", time_stepping="euler"))
    assert order > 1.8


@pytest.mark.parametrize("confined", [False, True], ids=["free", "confined"])
@pytest.mark.parametrize("m", [1.5, 2.0, 3.0])
def test_barenblatt_1d_at_least_first_order(m, confined):
    ns = (40, 80, 160, 320)
    order = report(f"1-D Barenblatt m={m} {'confined' if confined else 'free'}", ns,
                   porous_errors(m, 1, confined, ns))
    assert order > 0.9


@pytest.mark.parametrize("m, confined", [(2.0, False), (3.0, True)])
def test_barenblatt_2d_at_least_first_order(m, confined):
    ns = (24, 48, 96)
    order = report(f"2-D Barenblatt m={m} {'confined' if confined else 'free'}", ns,
                   porous_errors(m, 2, confined, ns))
    assert order > 0.9


@pytest.mark.slow
@pytest.mark.parametrize("confined", [False, True], ids=["free", "confined"])
@pytest.mark.parametrize("m", [1.5, 2.0, 3.0])
@pytest.mark.parametrize("dim", [2, 3])
def test_barenblatt_multi_d_at_least_first_order(dim, m, confined):
    ns = (24, 48, 96, 192) if dim == 2 else (16, 24, 32, 48)
    order = report(f"{dim}-D Barenblatt m={m} {'confined' if confined else 'free'}", ns,
                   porous_errors(m, dim, confined, ns))
    assert order > 0.9


@pytest.mark.slow
def test_gaussian_second_order_3d():
    ns = (16, 24, 32, 48)
    for flux in ("upwind", "scharfetter-gummel"):
        order = report(f"3-D Gaussian Fokker-Planck {flux}", ns,
                       gaussian_errors(3, 1.0, ns, flux=flux, half_width=5.0))
        assert order > 1.8


# ----------------------------------------------------------------------------------------------
# Steady states
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [1, 2])
@pytest.mark.parametrize("flux", ["scharfetter-gummel", "upwind"])
def test_gaussian_steady_state_is_kept_exactly(dim, flux):
    """Both fluxes vanish on the sampled Gaussian (SG by construction, upwind because
    D log rho + kappa |x|^2/2 is constant on it): only round-off moves it."""
    eq = FokkerPlanck(D=0.7, kappa=1.3, dim=dim)
    grid = Grid.cube(5.0, 40, dim)
    rho0 = grid.sample_field(eq.stationary_density)
    sol = solve(eq, grid, rho0, [0.0, 1.0, 2.0], flux=flux)
    assert np.abs(sol.density[-1] - rho0).max() < 1e-12 * rho0.max()


def test_porous_stationary_state_is_kept():
    eq = PorousMedium(m=2.0, D=1.0, kappa=1.0, dim=2)
    grid = Grid.cube(3.0, 48, 2)
    rho0 = grid.sample_field(eq.stationary_density)
    sol = solve(eq, grid, rho0, [0.0, 2.0])
    assert np.abs(sol.density[-1] - rho0).max() < 1e-10 * rho0.max()


def test_confined_barenblatt_relaxes_to_the_stationary_state():
    """Long run: the discrete solution approaches the stationary state of the same mass up to the
    discretisation error, which shrinks under refinement."""
    exact = ConfinedBarenblatt(2.0, 1)
    errors = []
    for n in (50, 100):
        grid = Grid.cube(1.5 * exact.support_radius(0.0), n, 1)
        rho0 = grid.sample_field(lambda x: exact.density(0.0, x))
        sol = solve(exact.equation, grid, rho0, [0.0, 6.0])
        target = grid.sample_field(lambda x: exact.equation.stationary_density(x, exact.mass))
        errors.append(grid.integrate(np.abs(sol.density[-1] - target)) / exact.mass)
    assert errors[1] < 1e-2 and errors[1] < 0.6 * errors[0]


# ----------------------------------------------------------------------------------------------
# Outputs
# ----------------------------------------------------------------------------------------------
def test_solution_fields_shapes_and_velocity_accuracy():
    flow = gaussian_flow(2, 1.0)
    errors = []
    for n in (32, 64):
        grid = Grid.cube(6.0, n, 2)
        rho0 = grid.sample_field(lambda x: flow.density(0.0, x))
        sol = solve(flow.equation, grid, rho0, [0.0, 0.1, 0.3])
        assert isinstance(sol, GridSolution)
        assert sol.density.shape == (3, n, n) and sol.velocity.shape == (3, 2, n, n)
        assert sol.face_velocity[0].shape == (3, n + 1, n)
        assert sol.face_velocity[1].shape == (3, n, n + 1)
        for axis, u in enumerate(sol.face_velocity):   # no-flux walls
            assert np.all(np.take(u, [0, -1], axis=1 + axis) == 0)
        v = sol.velocity[-1].reshape(2, -1).T
        exact = flow.velocity(0.3, grid.points())
        rho = sol.density[-1].ravel()
        errors.append(grid.cell_volume * (rho * np.abs(v - exact).sum(1)).sum())
        assert sol.diagnostics["steps"] > 0 and sol.diagnostics["compile_seconds"] >= 0
        assert sol.diagnostics["run_seconds"] > 0
        np.testing.assert_allclose(sol.mass, sol.mass[0], rtol=1e-12)
    print(f"\nvelocity rho-weighted L1 errors {errors}, order {np.log2(errors[0] / errors[1]):.2f}")
    assert np.log2(errors[0] / errors[1]) > 1.6


def test_snapshot_times_are_hit_exactly():
    eq = Heat(D=1.0, dim=1)
    grid = Grid.cube(5.0, 40, 1)
    rho0 = grid.sample_field(lambda x: np.exp(-x[:, 0] ** 2))
    times = [0.0, 0.013, 0.1, 0.33]
    for flux in ("upwind", "scharfetter-gummel"):
        sol = solve(eq, grid, rho0, times, flux=flux)
        assert sol.snapshot_index(0.33) == 3
        np.testing.assert_array_equal(sol.times, times)


# ----------------------------------------------------------------------------------------------
# Semi-implicit stepping
# ----------------------------------------------------------------------------------------------
def test_semi_implicit_positive_and_conservative_far_beyond_the_explicit_limit():
    eq = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
    grid = Grid.cube(4.0, 32, 2)
    x = grid.coordinates()
    rho0 = np.exp(-((x[0] - 1) ** 2 + x[1] ** 2) / 0.3) + np.exp(-((x[0] + 1) ** 2) / 0.1 - x[1] ** 2)
    dt = 200 * stable_time_step(eq, grid, rho0)
    sol = solve(eq, grid, rho0, [0.0, 5 * dt, 20 * dt], time_stepping="semi-implicit",
                dt=dt, flux="scharfetter-gummel")
    assert np.all(sol.density >= 0)
    np.testing.assert_allclose(sol.mass, sol.mass[0], rtol=1e-12)


@pytest.mark.parametrize("eq", [FokkerPlanck(D=0.5, kappa=1.0, dim=1), PorousMedium(m=2.0, dim=1)],
                         ids=["fokker-planck", "porous"])
def test_semi_implicit_upwind_is_refused(eq):
    """The frozen-velocity upwind step was removed (wrong beyond a few explicit steps)."""
    grid = Grid.cube(2.0, 16, 1)
    rho0 = np.maximum(1 - grid.coordinates()[0] ** 2, 0.0) + (1e-3 if eq.is_linear else 0.0)
    with pytest.raises(ValueError, match="scharfetter-gummel"):
        solve(eq, grid, rho0, [0.0, 0.1], time_stepping="semi-implicit", dt=0.01, flux="upwind")


def test_semi_implicit_first_order_in_time():
    flow = gaussian_flow(1, 1.0)
    grid = Grid.cube(6.0, 400, 1)
    rho0 = grid.sample_field(lambda x: flow.density(0.0, x))
    exact = grid.sample_field(lambda x: flow.density(0.5, x))
    errors = []
    steps = (10, 20, 40)
    for n in steps:
        sol = solve(flow.equation, grid, rho0, [0.0, 0.5], time_stepping="semi-implicit",
                    dt=0.5 / n, flux="scharfetter-gummel")
        errors.append(grid.integrate(np.abs(sol.density[-1] - exact)))
    order = report("semi-implicit SG in dt", steps, np.array(errors))
    assert 0.8 < order < 1.3


# ----------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------
@pytest.fixture
def heat_problem():
    grid = Grid.cube(5.0, 32, 1)
    return Heat(D=1.0, dim=1), grid, grid.sample_field(lambda x: np.exp(-x[:, 0] ** 2))


@pytest.mark.parametrize("mutate, match", [
    (lambda r: -r, "rho0"),
    (lambda r: np.where(np.arange(r.size) == 3, np.nan, r), "rho0 must be finite"),
    (lambda r: np.zeros_like(r), "rho0"),
    (lambda r: r[:-1], "shape"),
    (lambda r: np.where(np.arange(r.size) == 16, 0.0, r), "> 0"),
])
def test_bad_density(heat_problem, mutate, match):
    eq, grid, rho0 = heat_problem
    with pytest.raises(ValueError, match=match):
        solve(eq, grid, mutate(rho0), [0.0, 0.1])


def test_zero_mass_porous():
    eq = PorousMedium(m=2.0, dim=1)
    grid = Grid.cube(1.0, 10, 1)
    with pytest.raises(ValueError, match="zero mass"):
        solve(eq, grid, np.zeros(10), [0.0, 0.1])


def test_porous_support_touching_the_wall():
    eq = PorousMedium(m=2.0, dim=2)
    grid = Grid.cube(1.0, 10, 2)
    rho0 = np.zeros((10, 10))
    rho0[3:7, 3:7] = 1.0
    solve(eq, grid, rho0, [0.0, 1e-5])
    rho0[4, 9] = 1e-20
    with pytest.raises(ValueError, match="outer cell layer"):
        solve(eq, grid, rho0, [0.0, 1e-3])


def test_linear_mass_at_the_wall_warns():
    eq = Heat(D=1.0, dim=1)
    grid = Grid.cube(1.0, 20, 1)
    with pytest.warns(RuntimeWarning, match="outer cell layer"):
        solve(eq, grid, np.ones(20), [0.0, 1e-3])


def test_m_must_exceed_one():
    with pytest.raises(ValueError, match="m must be"):
        PorousMedium(m=1.0, dim=1)


@pytest.mark.parametrize("times", [[0.0, 0.1, 0.1], [0.2, 0.1], [0.0, np.inf]])
def test_times_must_increase(heat_problem, times):
    eq, grid, rho0 = heat_problem
    with pytest.raises(ValueError, match="times"):
        solve(eq, grid, rho0, times)


@pytest.mark.parametrize("flux", ["upwind", "scharfetter-gummel"])
def test_time_step_above_the_stable_limit(heat_problem, flux):
    eq, grid, rho0 = heat_problem
    limit = stable_time_step(eq, grid, rho0, flux=flux)
    solve(eq, grid, rho0, [0.0, 0.05], dt=0.99 * limit, flux=flux)
    with pytest.raises(ValueError, match=r"dt = .* exceeds the stable limit"):
        solve(eq, grid, rho0, [0.0, 0.05], dt=1.5 * limit, flux=flux)


def test_time_step_that_becomes_unstable_during_the_run():
    """A porous-medium bump steepens nothing but the pressure limit changes; a dt valid at t0 but
    too large later must be refused, not silently used."""
    eq = PorousMedium(m=2.0, kappa=1.0, dim=1)
    grid = Grid.cube(3.0, 60, 1)
    x = grid.axis_centers(0)
    rho0 = np.where(np.abs(x) < 2.5, 0.05 * (1 + np.cos(np.pi * x / 2.5)), 0.0)
    dt = stable_time_step(eq, grid, rho0)
    with pytest.raises(ValueError, match="exceeds the stable limit"):
        solve(eq, grid, rho0, [0.0, 10.0], dt=dt)


@pytest.mark.parametrize("kwargs, match", [
    (dict(order=3), "order"), (dict(flux="central"), "flux"),
    (dict(time_stepping="rk4"), "time_stepping"), (dict(cfl=1.5), "cfl"), (dict(cfl=0), "cfl"),
    (dict(dt=-1.0), "dt"),
    (dict(time_stepping="semi-implicit", flux="scharfetter-gummel"), "needs dt"),
    (dict(max_steps=0), "max_steps"),
])
def test_bad_options(heat_problem, kwargs, match):
    eq, grid, rho0 = heat_problem
    with pytest.raises(ValueError, match=match):
        solve(eq, grid, rho0, [0.0, 0.1], **kwargs)


def test_sg_flux_needs_a_linear_equation():
    grid = Grid.cube(1.0, 10, 1)
    rho0 = np.zeros(10)
    rho0[3:7] = 1.0
    with pytest.raises(ValueError, match="scharfetter-gummel"):
        solve(PorousMedium(m=2.0, dim=1), grid, rho0, [0.0, 0.1], flux="scharfetter-gummel")


def test_dimension_mismatch(heat_problem):
    _, grid, rho0 = heat_problem
    with pytest.raises(ValueError, match="dim"):
        solve(Heat(D=1.0, dim=2), grid, rho0, [0.0, 0.1])


def test_step_budget(heat_problem):
    eq, grid, rho0 = heat_problem
    with pytest.raises(ValueError, match="max_steps"):
        solve(eq, grid, rho0, [0.0, 1.0], max_steps=5)


def test_progress_bar_gives_the_same_result(heat_problem):
    eq, grid, rho0 = heat_problem
    times = [0.0, 0.05, 0.1, 0.2]
    plain = solve(eq, grid, rho0, times)
    chunked = solve(eq, grid, rho0, times, progress=True)
    np.testing.assert_allclose(chunked.density, plain.density, rtol=1e-12)
    assert chunked.diagnostics["steps"] >= plain.diagnostics["steps"]
