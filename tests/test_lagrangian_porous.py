"""The 2-D Lagrangian porous-medium solver: exact on the anisotropic porous flows (affine flow
maps, quadratic pressures), second order in the node spacing on data outside that family, the
Richardson estimate of its flow-map error, outputs and input checks. Measured numbers are printed
(run with -s); docs/certified_truth.md tabulates them."""
import numpy as np
import pytest

from _lagrangian_helpers import A0, C0, DRIFTS, anisotropic, common_nodes, perturbed_rho0
from pdeflow.equations import Heat, PorousMedium
from pdeflow.solvers.lagrangian_porous import (lagrangian_porous_solve, mass_weighted_rms,
                                               richardson_flow_map_error)

BOX = ([-1.0, -1.0], [1.0, 1.0])


@pytest.mark.parametrize("drift", list(DRIFTS))
def test_exact_on_anisotropic_porous_flows(drift):
    """Tilted elliptic support, T with the support area more than doubled (x1.94 free, x2.19
    confined, x2.18 anisotropic K): the scheme reproduces affine maps and quadratic pressures,
    so the mass-weighted RMS flow-map error over every node (those next to the front included)
    is RK4 and rounding error only (measured 3e-12 - 6e-11 at h = 0.05)."""
    K = DRIFTS[drift]
    T = 0.6 if K is not None else 0.5
    a0 = 2 * A0 if K is not None else 0.5 * A0
    ref = anisotropic(2.0, a0, C0, K=K, center=None if K is None else [0.2, -0.1])
    growth = ref.support_volume(T) / ref.support_volume(0.0)
    assert growth > 1.9
    eq = PorousMedium(m=2.0, D=1.0, kappa=0.0, dim=2)
    lo, hi = (np.array(BOX) * (1.2 if K is None else 1.0))
    sol = lagrangian_porous_solve(eq, lambda x: ref.density(0.0, x), lo, hi, 0.05, [0.0, T],
                                  K=K)
    xi = sol.reference.xi
    err = mass_weighted_rms(sol.positions[-1], ref.flow_map(T, xi), sol.node_mass)
    worst = np.abs(sol.positions[-1] - ref.flow_map(T, xi)).max()
    print(f"\n{drift}: area x{growth:.2f}, {len(xi)} nodes, RMS {err:.2e}, max {worst:.2e}")
    assert err < 1e-9 and worst < 1e-8
    # density and velocity of the nodes at T: the closed form at X(T, xi)
    x = sol.positions[-1]
    assert np.allclose(sol.density[-1], ref.density(T, x), rtol=1e-8, atol=1e-10)


def test_second_order_outside_the_affine_family():
    """Self-convergence on non-self-similar data (confined, m = 2, T = 0.5), h = 0.1, 0.05,
    0.025: RMS differences on the common nodes; measured order 2.04 (T = 1: 2.05, and 2.03 with
    h = 0.0125, test_second_order_four_levels)."""
    eq = PorousMedium(m=2.0, D=1.0, kappa=1.0, dim=2)
    rho0 = perturbed_rho0(eq)
    sols = [lagrangian_porous_solve(eq, rho0, *BOX, h, [0.0, 0.5]) for h in (0.1, 0.05, 0.025)]
    rows = common_nodes(sols, np.array(BOX[0]))
    X = [s.positions[-1][r] for s, r in zip(sols, rows)]
    w = sols[0].node_mass[rows[0]]
    d1, d2 = mass_weighted_rms(X[0], X[1], w), mass_weighted_rms(X[1], X[2], w)
    order = np.log2(d1 / d2)
    print(f"\nself-convergence: differences {d1:.3e}, {d2:.3e}, order {order:.2f}")
    assert order >= 1.8


def _richardson(h_ref):
    eq = PorousMedium(m=2.0, D=1.0, kappa=1.0, dim=2)
    rho0 = perturbed_rho0(eq)
    coarse, fine = (lagrangian_porous_solve(eq, rho0, *BOX, h, [0.0, 0.5]) for h in (0.1, 0.05))
    ref = lagrangian_porous_solve(eq, rho0, *BOX, h_ref, [0.0, 0.5])
    estimate = richardson_flow_map_error(fine, coarse)
    rf, rr = common_nodes([fine, ref], np.array(BOX[0]))
    true = mass_weighted_rms(fine.positions[-1][rf], ref.positions[-1][rr], fine.node_mass[rf])
    print(f"\nRichardson: estimate {estimate:.3e}, true {true:.3e}, ratio {estimate / true:.2f}")
    return estimate / true


def test_richardson_estimate_within_factor_three():
    """The estimate |X_h - X_2h| / 3 of the h = 0.05 solve against its error measured with the
    h = 0.025 solve as reference (whose own error is about 4x smaller: the ratio reads about
    4/3 too high; measured 1.4)."""
    assert 1 / 3 <= _richardson(0.025) <= 3


@pytest.mark.slow
def test_richardson_estimate_within_factor_three_fine_reference():
    """As above with the h = 0.0125 reference (16x smaller error; measured ratio 1.11)."""
    assert 1 / 3 <= _richardson(0.0125) <= 3


def test_mass_and_outputs():
    eq = PorousMedium(m=3.0, D=0.7, kappa=0.5, dim=2)
    rho0 = perturbed_rho0(eq)
    sol = lagrangian_porous_solve(eq, rho0, *BOX, 0.1, [0.0, 0.1, 0.2])
    n = sol.reference.n_nodes
    assert sol.positions.shape == (3, n, 2) and sol.velocity.shape == (3, n, 2)
    assert sol.density.shape == (3, n) and np.all(sol.density > 0)
    np.testing.assert_array_equal(sol.positions[0], sol.reference.xi)
    # mass of every node is fixed: rho * (current area) = rho0 * h^2 by construction
    assert np.allclose(sol.density[0], sol.reference.rho0)
    # pressure = D m rho^(m-1) / (m-1)
    assert np.allclose(sol.pressure, eq.D * eq.pressure(sol.density), rtol=1e-12)


def test_bad_inputs():
    eq = PorousMedium(m=2.0, D=1.0, kappa=0.0, dim=2)
    rho0 = perturbed_rho0(eq)
    with pytest.raises(TypeError, match="PorousMedium"):
        lagrangian_porous_solve(Heat(D=1.0, dim=2), rho0, *BOX, 0.1, [0, 1])
    with pytest.raises(ValueError, match="dim"):
        lagrangian_porous_solve(PorousMedium(m=2.0, dim=1), rho0, *BOX, 0.1, [0, 1])
    with pytest.raises(ValueError, match="K"):
        lagrangian_porous_solve(PorousMedium(m=2.0, kappa=1.0, dim=2), rho0, *BOX, 0.1, [0, 1],
                                K=np.eye(2))
    with pytest.raises(ValueError, match="symmetric"):
        lagrangian_porous_solve(eq, rho0, *BOX, 0.1, [0, 1], K=[[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match="cfl"):
        lagrangian_porous_solve(eq, rho0, *BOX, 0.1, [0, 1], cfl=0.0)
    with pytest.raises(ValueError, match="times"):
        lagrangian_porous_solve(eq, rho0, *BOX, 0.1, [1, 0])
    with pytest.raises(ValueError, match="h must"):
        lagrangian_porous_solve(eq, rho0, *BOX, -0.1, [0, 1])
    with pytest.raises(ValueError, match="support"):      # the box does not hold the support
        lagrangian_porous_solve(eq, rho0, [-0.3, -0.3], [0.3, 0.3], 0.1, [0, 1])


def _confined_solution(n_times):
    from _lagrangian_helpers import anisotropic
    K = DRIFTS["anisotropic"]
    ref = anisotropic(2.0, A0, C0, K=K, center=[0.2, -0.1])
    eq = PorousMedium(m=2.0, D=1.0, kappa=0.0, dim=2)
    sol = lagrangian_porous_solve(eq, lambda x: ref.density(0.0, x), *BOX, 0.05,
                                  np.linspace(0.0, 0.6, n_times), K=K)
    return ref, sol, K


def test_velocity_density_pullback_at_arbitrary_points():
    """Linear on the moved triangles: exact at the output times for the affine flows; linear in
    time between them, error O(dt_out^2) (measured max 9.2e-3, 2.6e-3 with 6, 11 times)."""
    from pdeflow.grid import Grid
    from pdeflow.solvers.lagrangian_porous import LagrangianVelocity

    errors = []
    for n_times in (6, 11):
        ref, sol, K = _confined_solution(n_times)
        v = LagrangianVelocity(sol)
        for t in (sol.times[2], 0.33):
            x = ref.flow_map(t, sol.reference.xi[::5]) * 0.98 + 0.003   # inside the support
            A, c, mu = ref.shape(t)
            exact = 2 * (x - mu) @ A.T - x @ K.T
            errors.append(np.abs(v(t, x) - exact).max())
    print("\nvelocity errors (snapshot, between; 6 then 11 times):", errors)
    assert errors[0] < 1e-8 and errors[2] < 1e-8
    assert errors[1] < 0.02 and 2.5 < errors[1] / errors[3] < 6     # O(dt^2): x4 expected
    # the backward map through the mesh: exact (up to rounding) for an affine flow
    y = sol.positions[-1][::4] * 0.99 + 0.002
    xi = sol.pullback(-1, y)
    assert np.nanmax(np.abs(ref.flow_map(0.6, xi) - y)) < 1e-9 and not np.isnan(xi).any()
    # density on a grid: L1 error from the one-cell smeared front only
    grid = Grid.cube(1.0, 64, 2)
    rho = sol.density_on_grid(grid, len(sol.times) - 1)
    exact = ref.density(0.6, grid.points()).reshape(grid.shape)
    l1 = grid.integrate(np.abs(rho - exact)) / grid.integrate(exact)
    print(f"relative density L1 on the 64^2 grid: {l1:.2e}")
    assert l1 < 0.02
    # outside_support: points far out are outside, points at the nodes inside
    far = np.array([[0.95, 0.95], [-0.95, 0.9]])
    assert sol.outside_support(far) == 1.0 and sol.outside_support(sol.reference.xi) == 0.0


def test_hdf5_round_trip(tmp_path):
    from pdeflow.io import load_lagrangian_solution, save_lagrangian_solution

    _, sol, _ = _confined_solution(3)
    sol.error_estimate = 1.5e-4
    path = save_lagrangian_solution(tmp_path / "lag.h5", sol)
    back = load_lagrangian_solution(path)
    assert back.error_estimate == 1.5e-4
    for name in ("times", "positions", "velocity", "density", "pressure", "K"):
        np.testing.assert_array_equal(getattr(back, name), getattr(sol, name))
    np.testing.assert_array_equal(back.reference.xi, sol.reference.xi)
    x = sol.positions[-1][::9] * 0.97
    np.testing.assert_allclose(back.velocity_at(2, x), sol.velocity_at(2, x), rtol=1e-12,
                               atol=1e-14)
    assert back.equation == sol.equation
    with pytest.raises(ValueError, match="kind"):
        from pdeflow.io import load_solution
        load_solution(path)


def _simplex_errors(hs):
    from pdeflow.solvers.lagrangian_simplex import simplex_porous_solve

    K = DRIFTS["confined"]
    ref = anisotropic(2.0, 2 * A0, C0, K=K, center=[0.2, -0.1])
    eq = PorousMedium(m=2.0, D=1.0, kappa=0.0, dim=2)
    errors = []
    for h in hs:
        sol = simplex_porous_solve(eq, lambda x: ref.density(0.0, x), *BOX, h, [0.0, 0.6], K=K)
        errors.append(mass_weighted_rms(sol.positions[-1], ref.flow_map(0.6, sol.xi),
                                        sol.node_mass))
    orders = np.log2(np.array(errors[:-1]) / errors[1:])
    print(f"\nsimplex: errors {np.array2string(np.array(errors), precision=3)}, orders {orders}")
    return errors, orders


def test_simplex_candidate_order_on_anisotropic_flow():
    """The moving-simplex comparison candidate (lumped masses) on the confined anisotropic flow
    (area x2.19): measured order 1.50 (h = 0.1, 0.05; 1.54 next, slow test); the
    finite-difference scheme is exact there (test_exact_on_anisotropic_porous_flows)."""
    errors, orders = _simplex_errors((0.1, 0.05))
    assert orders[0] > 1.3 and errors[-1] < 8e-3


@pytest.mark.slow
def test_simplex_candidate_three_levels():
    errors, orders = _simplex_errors((0.1, 0.05, 0.025))
    assert np.all(orders > 1.3) and errors[-1] < 3e-3


def test_truth_error_and_grid_export():
    """truth_flow_map_error: exact against the closed form, else the Richardson estimate; the
    grid export (density and velocity at cell centres) feeds GridVelocity: the backward flow map
    of 1000 samples of rho_T through it is off by 1.8e-4 with 31 output times and 4.0e-5 with 61
    (cubic time interpolation of GridVelocity; 64^2 - 256^2 give the same)."""
    from pdeflow.grid import Grid
    from pdeflow.solvers import integrate_flow_map
    from pdeflow.solvers.lagrangian_porous import truth_flow_map_error

    ref = anisotropic(2.0, 2 * A0, C0, K=np.eye(2), center=[0.2, -0.1])
    eq = PorousMedium(m=2.0, D=1.0, kappa=1.0, dim=2)
    x0 = ref.sample(0.6, 1000, 0)
    errors = []
    for n_times in (31, 61):
        times = np.linspace(0.0, 0.6, n_times)
        sol = lagrangian_porous_solve(eq, lambda x: ref.density(0.0, x), *BOX, 0.05, times)
        value, kind = truth_flow_map_error(sol, exact=ref)
        assert kind == "exact" and value < 1e-9
        grid_solution = sol.to_grid_solution(Grid.cube(1.0, 64, 2))
        assert abs(grid_solution.mass[-1] / grid_solution.mass[0] - 1) < 1e-13
        back = integrate_flow_map(grid_solution, x0, times[::-1], dt=0.005).final
        errors.append(np.sqrt(np.mean(np.sum((back - ref.flow_map(0.0, x0, t0=0.6)) ** 2, 1))))
    print(f"\ngrid export: backward flow-map RMS {errors}")
    assert errors[0] < 5e-4 and errors[0] / errors[1] > 3
    coarse = lagrangian_porous_solve(eq, lambda x: ref.density(0.0, x), *BOX, 0.1, [0.0, 0.6])
    fine = lagrangian_porous_solve(eq, lambda x: ref.density(0.0, x), *BOX, 0.05, [0.0, 0.6])
    value, kind = truth_flow_map_error(fine, coarse)
    assert kind == "estimated" and value < 1e-8       # both exact up to RK4
    with pytest.raises(ValueError, match="exact"):
        truth_flow_map_error(fine)
    with pytest.raises(ValueError, match="kappa I"):
        aniso = lagrangian_porous_solve(PorousMedium(m=2.0, kappa=0.0, dim=2),
                                        lambda x: ref.density(0.0, x), *BOX, 0.1, [0.0, 0.1],
                                        K=DRIFTS["anisotropic"])
        aniso.to_grid_solution(Grid.cube(1.0, 16, 2))


def test_conservative_deposit_on_grid(tmp_path):
    """deposit_on_grid: the same grid mass at every time (rounding; the interpolating
    density_on_grid drifts by ~1e-3 here) and the density of the exact confined anisotropic flow
    at T = 0.6 in L1 on 128^2 cells of [-1, 1]^2: measured 1.0e-3 (h = 0.1), 2.5e-4 (h = 0.05),
    order 2.02; a solution read back from its file (rho_0 linear in each node cell instead of the
    callable) deposits within 3.7e-4 of it."""
    from pdeflow.grid import Grid
    from pdeflow.io import load_lagrangian_solution, save_lagrangian_solution

    ref = anisotropic(2.0, 2 * A0, C0, K=np.eye(2), center=[0.2, -0.1])
    eq = PorousMedium(m=2.0, D=1.0, kappa=1.0, dim=2)
    grid = Grid.cube(1.0, 128, 2)
    exact = grid.sample_field(lambda x: ref.density(0.6, x))
    errors = []
    for h in (0.1, 0.05):
        sol = lagrangian_porous_solve(eq, lambda x: ref.density(0.0, x), *BOX, h, [0.0, 0.3, 0.6])
        masses = [grid.integrate(sol.deposit_on_grid(grid, k)) for k in range(3)]
        assert np.ptp(masses) < 1e-13 * masses[0]
        errors.append(grid.integrate(np.abs(sol.deposit_on_grid(grid, 2) - exact)))
    order = np.log2(errors[0] / errors[1])
    save_lagrangian_solution(tmp_path / "sol.h5", sol)
    loaded = load_lagrangian_solution(tmp_path / "sol.h5")
    gap = grid.integrate(np.abs(loaded.deposit_on_grid(grid, 2) - sol.deposit_on_grid(grid, 2)))
    print(f"\ndeposit L1 {errors}, order {order:.2f}; read back from the file: {gap:.2e}")
    assert errors[1] < 5e-4 and order > 1.7 and gap < 1e-3


@pytest.mark.slow
def test_second_order_four_levels():
    """The full refinement study of the docs table (h = 0.1 ... 0.0125, about a minute):
    orders 2.05 and 2.03."""
    eq = PorousMedium(m=2.0, D=1.0, kappa=1.0, dim=2)
    rho0 = perturbed_rho0(eq)
    sols = [lagrangian_porous_solve(eq, rho0, *BOX, h, [0.0, 1.0])
            for h in (0.1, 0.05, 0.025, 0.0125)]
    rows = common_nodes(sols, np.array(BOX[0]))
    X = [s.positions[-1][r] for s, r in zip(sols, rows)]
    w = sols[0].node_mass[rows[0]]
    d = [mass_weighted_rms(X[i], X[i + 1], w) for i in range(3)]
    orders = np.log2(np.array(d[:-1]) / d[1:])
    print(f"\nfour levels: differences {d}, orders {orders}")
    assert np.all(orders >= 1.8)


def test_true_error_against_the_radial_solver():
    """Radial data outside the affine family, p_0 = (1/2 - r^2)_+ (1 + 2 r^2), kappa = 1,
    T = 0.5, against the independent mass-coordinate solver (pdeflow.solvers.radial_lagrangian,
    256 cells; its own flow map changes by < 1e-7 from 256 to 2048 cells): true mass-weighted
    RMS errors 3.0e-4, 7.2e-5, 1.7e-5 at h = 0.1, 0.05, 0.025 (orders 2.09, 2.04), Richardson
    estimates within 1.14x and 1.05x of them."""
    from pdeflow.solvers.radial_lagrangian import solve_radial_lagrangian

    eq = PorousMedium(m=2.0, D=1.0, kappa=1.0, dim=2)
    R0, T = np.sqrt(0.5), 0.5

    def rho_r(r):
        r = np.asarray(r, float)
        return eq.density_from_pressure(np.maximum(0.5 - r ** 2, 0) * (1 + 2 * r ** 2))

    radial = solve_radial_lagrangian(eq, rho_r, R0, [0.0, T], cells=256)
    sols, errors, ratios = [], [], []
    for h in (0.1, 0.05, 0.025):
        sol = lagrangian_porous_solve(eq, lambda x: rho_r(np.hypot(x[:, 0], x[:, 1])), *BOX, h,
                                      [0.0, T])
        xi = sol.reference.xi
        inside = np.hypot(*xi.T) <= R0
        errors.append(mass_weighted_rms(sol.positions[-1][inside], radial.flow_map(T, xi[inside]),
                                        sol.node_mass[inside]))
        if sols:
            ratios.append(richardson_flow_map_error(sol, sols[-1]) / errors[-1])
        sols.append(sol)
    orders = np.log2(np.array(errors[:-1]) / errors[1:])
    print(f"\nagainst the radial solver: errors {errors}, orders {orders}, Richardson {ratios}")
    assert np.all(orders >= 1.8) and errors[-1] < 3e-5
    assert all(1 / 3 <= r <= 3 for r in ratios)


# ----------------------------------------------------------------------------------------------
# The mixture on an elliptic cap: long times, the odd-even filter
# ----------------------------------------------------------------------------------------------
def _capped(m=2.0):
    from pdeflow.problems import capped_mixture_density

    eq = PorousMedium(m=m, D=1.0, kappa=1.0, dim=2)
    return eq, capped_mixture_density(eq)


@pytest.mark.parametrize("m", [1.5, 2.0, 3.0])
def test_capped_mixture_data(m):
    """Unit mass (midpoint rule on 20000 / 800^2 / 120^3 cells, independent of the Gauss
    quadrature that fixed it; measured |mass - 1| 1e-15 - 2e-5, the front's kink limiting the
    midpoint rule), zero outside the ellipse, and a pressure linear at its edge: p at depth delta
    and delta / 2 below the edge has ratio 2."""
    from pdeflow.grid import Grid
    from pdeflow.problems import capped_mixture_density
    from pdeflow.problems.initial_data import CAP_CENTRE, CAP_SEMI_AXES

    for dim, n, tol in ((1, 20000, 1e-5), (2, 800, 1e-5), (3, 120, 1e-4)):
        grid = Grid.cube(4.0, n, dim)
        rho = capped_mixture_density(PorousMedium(m=m, D=1.0, kappa=1.0, dim=dim))
        assert abs(grid.integrate(grid.sample_field(rho)) - 1.0) < tol
    eq, rho0 = _capped(m)
    centre, axes = np.array(CAP_CENTRE[:2]), np.array(CAP_SEMI_AXES[:2])
    theta = np.linspace(0, 2 * np.pi, 37)[:-1]
    edge = centre + axes * np.stack([np.cos(theta), np.sin(theta)], -1)
    inward = (centre - edge) / np.linalg.norm(centre - edge, axis=1)[:, None]
    assert np.all(rho0(edge + 1e-9 * -inward) == 0) and np.all(rho0(edge + 1e-3 * inward) > 0)
    p1, p2 = (eq.pressure(rho0(edge + d * inward)) for d in (1e-4, 5e-5))
    assert np.allclose(p1 / p2, 2.0, rtol=1e-3)


def test_filter_keeps_the_mesh_from_folding(monkeypatch):
    """The capped mixture, confined, h = 0.125, to t = 8 (the law is stationary from t ~ 2.4):
    with the odd-even filter the mesh stays unfolded and comes to rest (smallest J 0.2032, the
    stationary compression, from t = 2 on; largest node speed at t = 8 1.6e-3 of the initial
    one); without it (FILTER = 0) the oscillation the centred stencils cannot see grows from the
    boundary until a node next to the front collapses (measured: folded before t = 8)."""
    import pdeflow.solvers.lagrangian_porous as lp

    eq, rho0 = _capped()
    times = [0.0, 2.0, 8.0]
    sol = lagrangian_porous_solve(eq, rho0, [-4, -4], [4, 4], 0.125, times)
    J = sol.density[0] / sol.density
    speed = np.linalg.norm(sol.velocity, axis=-1).max(axis=1)
    print(f"\nfiltered: min J per time {np.round(J.min(axis=1), 4)}, max speed {speed}")
    assert np.all(J.min(axis=1)[1:] > 0.19)
    assert abs(J[-1].min() - J[1].min()) < 1e-3 and speed[-1] < 5e-3 * speed[0]
    monkeypatch.setattr(lp, "FILTER", 0.0)
    with pytest.raises(ValueError, match="folded"):
        lagrangian_porous_solve(eq, rho0, [-4, -4], [4, 4], 0.125, times)


@pytest.mark.slow
def test_capped_mixture_self_convergence():
    """The capped mixture to t = 3.5 (the default study's horizon) at h = 0.25, 0.125, 0.0625:
    Richardson estimates of the flow-map error of the two finer solves and the observed order
    (measured 2.05e-3, 6.6e-4: order 1.64)."""
    eq, rho0 = _capped()
    times = np.linspace(0.0, 3.5, 36)
    sols = [lagrangian_porous_solve(eq, rho0, [-4, -4], [4, 4], h, times)
            for h in (0.25, 0.125, 0.0625)]
    est = [richardson_flow_map_error(f, c) for c, f in zip(sols, sols[1:])]
    order = np.log2(est[0] / est[1])
    print(f"\ncapped mixture: Richardson {est[0]:.3e}, {est[1]:.3e}, order {order:.2f}; CPU s "
          f"{[round(s.diagnostics['cpu_seconds'], 1) for s in sols]}")
    assert est[1] < 2e-3 and order > 1.3
