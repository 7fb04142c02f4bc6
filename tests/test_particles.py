"""Particle solvers: exact OU transitions and Euler-Maruyama (moments, weak order), and the
deterministic blob method (direct vs particle-mesh, convergence to Barenblatt and Gaussian
solutions, conservation, symmetry)."""
import math

import numpy as np
import ot
import pytest
from hypothesis import given, strategies as st

from pdeflow.equations import FokkerPlanck, Heat, PorousMedium
from pdeflow.exact import Barenblatt, ConfinedBarenblatt, GaussianMixture, GaussianMixtureFlow
from pdeflow.grid import Grid
from pdeflow.solvers.blob import BlobVelocity, blob_exponent, blob_solve
from pdeflow.solvers.deposit import cloud_in_cell
from pdeflow.exact import ou_transition as ou_coefficients
from pdeflow.solvers.sde import euler_maruyama, ou_exact


def observed_order(sizes, errors):
    return np.polyfit(np.log(sizes), np.log(errors), 1)[0]


# ----------------------------------------------------------------------------------------------
# OU / heat particles
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("eq", [FokkerPlanck(D=0.5, kappa=1.3, dim=2), Heat(D=0.7, dim=1)])
def test_exact_ou_transitions_match_moments(eq):
    n, start = 40_000, 1.5
    x0 = np.full((n, eq.dim), start)
    times = np.array([0.0, 0.3, 1.0])
    paths = ou_exact(eq, x0, times, seed=11).positions
    for k, t in enumerate(times[1:], start=1):
        decay, var = ou_coefficients(eq, t)
        mean_err = np.abs(paths[k].mean(0) - decay * start).max()
        var_err = np.abs(paths[k].var(0) - var).max()
        assert mean_err < 5 * math.sqrt(var / n)
        assert var_err < 5 * var * math.sqrt(2.0 / n)
    # two-time covariance: Cov(X_0.3, X_1) = e^{-kappa 0.7} Var(X_0.3)
    decay, _ = ou_coefficients(eq, 0.7)
    _, var_s = ou_coefficients(eq, 0.3)
    cov = np.mean((paths[1] - paths[1].mean(0)) * (paths[2] - paths[2].mean(0)), axis=0)
    assert np.abs(cov - decay * var_s).max() < 6 * var_s * math.sqrt(2.0 / n)
    # the transition coefficients are the Gaussian closed form's
    point_mass = GaussianMixture.isotropic([1.0], [[start] * eq.dim], [1e-3])
    mean_t = GaussianMixtureFlow(eq, point_mass).at(1.0).means[0]
    assert np.allclose(mean_t, ou_coefficients(eq, 1.0)[0] * start)


def test_samplers_are_reproducible_from_the_seed():
    eq = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
    x0 = np.zeros((5, 2))
    a = euler_maruyama(eq, x0, [0.0, 1.0], 0.1, seed=3).positions
    b = euler_maruyama(eq, x0, [0.0, 1.0], 0.1, seed=np.random.default_rng(3)).positions
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ou_exact(eq, x0, [0, 1], 4).positions,
                                  ou_exact(eq, x0, [0, 1], 4).positions)


def test_euler_maruyama_weak_order_one():
    """Bias of E[X_T^2] (X_0 = 1) against the exact OU second moment, vs the step."""
    eq = FokkerPlanck(D=1.0, kappa=1.0, dim=1)
    n, T = 400_000, 1.0
    decay, var = ou_coefficients(eq, T)
    exact = decay ** 2 + var
    dts, errors = [0.2, 0.1, 0.05], []
    for i, dt in enumerate(dts):
        x = euler_maruyama(eq, np.ones((n, 1)), [0.0, T], dt, seed=i).final
        errors.append(abs((x ** 2).mean() - exact))
    order = observed_order(dts, errors)
    print(f"Euler-Maruyama weak errors {errors}, order {order:.2f}")
    assert 0.75 < order < 1.3


def test_sde_bad_input():
    eq = FokkerPlanck(dim=1)
    with pytest.raises(ValueError, match="equation"):
        ou_exact(PorousMedium(dim=1), np.zeros((2, 1)), [0, 1], 0)
    with pytest.raises(ValueError, match="dt"):
        euler_maruyama(eq, np.zeros((2, 1)), [0, 1], 0.0, 0)
    with pytest.raises(ValueError, match="increasing"):
        ou_exact(eq, np.zeros((2, 1)), [1, 0], 0)
    with pytest.raises(ValueError, match="x0"):
        ou_exact(eq, np.zeros((2, 2)), [0, 1], 0)


# ----------------------------------------------------------------------------------------------
# Blob method
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("eq", [Heat(dim=1), PorousMedium(m=2.0, dim=1), PorousMedium(m=1.7)])
def test_blob_weight_is_derivative_of_energy_per_mass(eq):
    """G(rho) = rho^(m-2) must be d/drho [F(rho)/rho] of the equation's own F."""
    rho, eps = np.linspace(0.2, 3.0, 7), 1e-6
    numeric = (eq.F(rho + eps) / (rho + eps) - eq.F(rho - eps) / (rho - eps)) / (2 * eps)
    np.testing.assert_allclose(rho ** (blob_exponent(eq) - 2), numeric, rtol=1e-7)


def ensemble(dim, n, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)) * 0.5
    masses = rng.uniform(0.5, 1.5, n)
    return x, masses / masses.sum()


@pytest.mark.parametrize("dim", [1, 2])
@pytest.mark.parametrize("eq_name", ["heat", "porous"])
def test_mesh_path_agrees_with_direct_at_second_order(dim, eq_name):
    eq = Heat(D=0.7, dim=dim) if eq_name == "heat" else PorousMedium(m=2.0, dim=dim, kappa=0.5)
    x, masses = ensemble(dim, 400)
    direct = BlobVelocity(eq, masses, 0.2, "direct")(0.0, x)
    cells, errors = [2, 4, 8], []
    for c in cells:
        mesh = BlobVelocity(eq, masses, 0.2, "mesh", cells_per_delta=c)(0.0, x)
        errors.append(np.abs(mesh - direct).max() / np.abs(direct).max())
    order = -observed_order(cells, errors)
    print(f"mesh vs direct d={dim} {eq_name}: relative errors {errors}, order {order:.2f}")
    assert errors[1] < 0.03 and order > 1.6


def test_mesh_path_agrees_with_direct_in_3d():
    eq = PorousMedium(m=2.0, dim=3)
    x, masses = ensemble(3, 300)
    direct = BlobVelocity(eq, masses, 0.35, "direct")(0.0, x)
    mesh = BlobVelocity(eq, masses, 0.35, "mesh", cells_per_delta=3)(0.0, x)
    assert np.abs(mesh - direct).max() < 0.05 * np.abs(direct).max()


def test_auto_path_selection_by_n():
    eq = Heat(dim=1)
    assert BlobVelocity(eq, np.ones(10), 0.1, direct_max=10).path == "direct"
    assert BlobVelocity(eq, np.ones(11), 0.1, direct_max=10).path == "mesh"


def barenblatt_particles(solution, t0, n_side, dim):
    """Particles on a uniform lattice of spacing h over the support, masses rho_0(x) h^d."""
    r0 = solution.support_radius(t0)
    h = 2 * r0 / n_side
    axis = -r0 + h * (np.arange(n_side) + 0.5)
    x = np.stack(np.meshgrid(*[axis] * dim, indexing="ij"), -1).reshape(-1, dim)
    masses = solution.density(t0, x) * h ** dim
    keep = masses > 0
    return x[keep], masses[keep], h


def w2(x, y, weights):
    """W2 between two weighted point sets with the same weights (exact LP / 1-D formula)."""
    p = weights / weights.sum()
    if x.shape[1] == 1:
        return math.sqrt(ot.emd2_1d(x[:, 0], y[:, 0], p, p))
    return math.sqrt(ot.emd2(p, p, ot.dist(x, y)))


def blob_vs_closed_form(solution, t0, t1, dim, counts, rule):
    errors = []
    for n_side in counts:
        x0, masses, h = barenblatt_particles(solution, t0, n_side, dim)
        delta = 2 * h if rule == "2h" else h ** 0.8
        fm = blob_solve(solution.equation, x0, [t0, t1], delta, masses=masses,
                        method="dopri5", rtol=1e-6, atol=1e-8, path="direct")
        errors.append(w2(fm.final, solution.flow_map(t1, x0, t0), masses))
    return errors


@pytest.mark.parametrize("rule", ["2h", "h^0.8"])
def test_blob_converges_to_barenblatt_1d(rule):
    solution = Barenblatt.from_mass(2.0, 1, 1.0)
    counts = [25, 50, 100, 200]
    errors = blob_vs_closed_form(solution, 1.0, 2.0, 1, counts, rule)
    rate = -observed_order(counts, errors)
    print(f"blob vs Barenblatt 1-D, delta={rule}: W2 {errors}, rate in N {rate:.2f}")
    assert all(a > b for a, b in zip(errors, errors[1:]))
    assert rate > 1.2


def test_blob_converges_to_confined_barenblatt_2d():
    solution = ConfinedBarenblatt(2.0, 2, 1.0, 1.0)
    counts = [8, 12, 16]
    errors = blob_vs_closed_form(solution, 0.0, 0.3, 2, counts, "2h")
    rate = -observed_order(counts, errors)
    print(f"blob vs confined Barenblatt 2-D, delta=2h: W2 {errors}, rate in N^(1/2) {rate:.2f}")
    assert errors[0] > errors[1] > errors[2] and rate > 1.0


def test_blob_heat_matches_gaussian_flow_map():
    eq = Heat(D=0.5, dim=1)
    flow = GaussianMixtureFlow(eq, GaussianMixture.isotropic([1.0], [[0.0]], [0.5]))
    errors = []
    for n in [40, 80, 160]:
        h = 8 * 0.5 / n
        x0 = (-4 * 0.5 + h * (np.arange(n) + 0.5))[:, None]
        masses = flow.density(0.0, x0) * h
        fm = blob_solve(eq, x0, [0.0, 0.5], 2 * h, masses=masses, method="dopri5",
                        rtol=1e-7, atol=1e-9, path="direct")
        inner = np.abs(x0[:, 0]) < 1.0  # the far tails carry almost no mass
        errors.append(np.abs(fm.final - flow.flow_map(0.5, x0))[inner].max())
    print(f"blob heat vs Gaussian flow map (|x0| < 2 sigma): max errors {errors}")
    assert errors[0] > errors[1] > errors[2]


@pytest.mark.parametrize("path", ["direct", "mesh"])
def test_blob_conserves_mass_and_centre_of_mass(path):
    eq = PorousMedium(m=2.0, dim=2)
    x0, masses = ensemble(2, 300, seed=4)
    fm = blob_solve(eq, x0, [0.0, 0.05, 0.1], 0.25, masses=masses, dt=0.01, path=path)
    grid = Grid.cube(4.0, 64, 2)
    for x in fm.positions:
        assert np.isclose(grid.integrate(cloud_in_cell(x, grid, masses)), masses.sum(),
                          rtol=1e-12)
    drift = np.abs(masses @ fm.final - masses @ x0).max()
    spread = np.abs(fm.final - x0).max()
    print(f"{path}: centre-of-mass drift {drift:.2e} (particles moved up to {spread:.2e})")
    # exact on both paths: the pair kernel (direct) and the deposit-convolve-interpolate chain
    # with the same CIC weights and an odd gradient kernel (mesh) are antisymmetric
    assert drift < 1e-13


@given(half=st.lists(st.floats(0.05, 1.5), min_size=2, max_size=12, unique=True),
       m=st.sampled_from([1.0, 2.0, 3.0]), kappa=st.sampled_from([0.0, 1.0]))
def test_symmetric_data_stays_symmetric(half, m, kappa):
    eq = Heat(dim=1) if m == 1.0 else PorousMedium(m=m, kappa=kappa, dim=1)
    half = np.sort(np.array(half))
    x0 = np.concatenate([-half[::-1], half])[:, None]
    masses = np.concatenate([np.linspace(1, 2, len(half))[::-1], np.linspace(1, 2, len(half))])
    fm = blob_solve(eq, x0, [0.0, 0.05], 0.3, masses=masses / masses.sum(), dt=0.01,
                    path="direct")
    np.testing.assert_allclose(fm.final[:, 0], -fm.final[::-1, 0], atol=1e-12)


def test_blob_bad_input():
    eq = Heat(dim=1)
    with pytest.raises(ValueError, match="delta"):
        BlobVelocity(eq, np.ones(3), 0.0)
    with pytest.raises(ValueError, match="masses"):
        BlobVelocity(eq, -np.ones(3), 0.1)
    with pytest.raises(ValueError, match="path"):
        BlobVelocity(eq, np.ones(3), 0.1, path="tree")
    with pytest.raises(ValueError, match="increasing"):
        blob_solve(eq, np.zeros((3, 1)), [1.0, 0.0], 0.1, dt=0.1)
    with pytest.raises(ValueError, match="x must hold"):
        BlobVelocity(eq, np.ones(3), 0.1)(0.0, np.zeros((4, 1)))


def test_blob_matches_finite_volume_porous_medium():
    """Blob particles vs the finite-volume density (W2 through cell masses); runs after merge."""
    fv = pytest.importorskip("pdeflow.solvers.finite_volume")
    solution = Barenblatt.from_mass(2.0, 1, 1.0)
    t0, t1 = 1.0, 2.0
    grid = Grid.cube(1.5 * solution.support_radius(t1), 400, 1)
    sol = fv.solve(solution.equation, grid, grid.sample_field(lambda x: solution.density(t0, x)),
                   np.array([t0, t1]))
    cell_mass = sol.density[-1].ravel() * grid.cell_volume
    errors = []
    for n in [25, 50, 100]:
        x0, masses, h = barenblatt_particles(solution, t0, n, 1)
        fm = blob_solve(solution.equation, x0, [t0, t1], 2 * h, masses=masses,
                        method="dopri5", rtol=1e-6, atol=1e-8)
        errors.append(math.sqrt(ot.emd2_1d(fm.final[:, 0], grid.points()[:, 0],
                                           masses / masses.sum(), cell_mass / cell_mass.sum())))
    print(f"blob vs finite volume, W2: {errors}")
    assert errors[0] > errors[1] > errors[2]


@pytest.mark.slow
@pytest.mark.parametrize("rule", ["h", "2h", "h^0.8"])
def test_blob_refinement_study_1d(rule):
    solution = Barenblatt.from_mass(2.0, 1, 1.0)
    counts = [50, 100, 200, 400]
    errors = []
    for n_side in counts:
        x0, masses, h = barenblatt_particles(solution, 1.0, n_side, 1)
        delta = {"h": h, "2h": 2 * h, "h^0.8": h ** 0.8}[rule]
        fm = blob_solve(solution.equation, x0, [1.0, 2.0], delta, masses=masses,
                        method="dopri5", rtol=1e-7, atol=1e-9, path="direct")
        errors.append(w2(fm.final, solution.flow_map(2.0, x0, 1.0), masses))
    rate = -observed_order(counts, errors)
    print(f"slow study, delta={rule}: N {counts} W2 {errors} rate {rate:.2f}")
    assert rate > 1.2


def test_mesh_path_refuses_an_oversized_mesh():
    eq = Heat(dim=3)
    x = np.random.default_rng(0).uniform(-1, 1, (50, 3))
    with pytest.raises(ValueError, match="cells_per_delta"):
        BlobVelocity(eq, np.ones(50), 0.005, "mesh")(0.0, x)
