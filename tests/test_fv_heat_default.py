"""The default path of the linear equations: Scharfetter-Gummel + forward Euler at cfl 0.6 (fused
sweep, parallel row blocks), post-processing in one compiled pass, computed on first access."""
import pickle

import numba
import numpy as np
import pytest

from _fv_studies import gaussian_flow
from _rounding import assert_same_to_rounding
from pdeflow.equations import FokkerPlanck, PorousMedium
from pdeflow.grid import Grid
from pdeflow.solvers import _kernels_fv as K
from pdeflow.solvers import finite_volume as FV
from pdeflow.solvers import solve
from pdeflow.solvers.truth_error import _pair_norms


def test_default_is_fused_euler_at_cfl_0_6():
    eq = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
    grid = Grid.cube(4.0, 16, 2)
    sol = solve(eq, grid, grid.sample_field(lambda x: np.exp(-(x ** 2).sum(1))), [0.0, 0.1])
    d = sol.diagnostics
    assert (d["flux"], d["time_stepping"], d["cfl"]) == ("scharfetter-gummel", "euler",
                                                       FV.SG_EULER_CFL)
    assert d["dt_max"] <= FV.SG_EULER_CFL * d["dt_limit"] * (1 + 1e-12)
    upwind = solve(eq, grid, sol.density[0], [0.0, 0.1], flux="upwind").diagnostics
    assert (upwind["time_stepping"], upwind["cfl"]) == ("ssprk3", 0.4)


@pytest.mark.parametrize("kappa", [0.0, 1.0], ids=["heat", "fokker-planck"])
def test_euler_default_is_more_accurate_than_a_time_exact_integration(kappa):
    """Split the default's error against the closed form into space (SSP-RK3 at cfl 0.1, whose
    time error is negligible, vs the closed form) and time (default vs that run). Measured at
    48^2 (heat / Fokker-Planck): time / space 1.09 / 0.38 (L1), 1.11 / 0.60 (velocity L2(rho));
    the two have opposite signs, so total / space is 0.34 / 0.63 (L1) and 0.67 / 0.67
    (velocity). Asserted with margins; docs/scheme.md has the table."""
    flow = gaussian_flow(2, kappa)
    grid = Grid.cube(6.0, 48, 2)
    rho0 = grid.sample_field(lambda x: flow.density(0.0, x))
    T = 0.5
    default = solve(flow.equation, grid, rho0, [0.0, T])
    reference = solve(flow.equation, grid, rho0, [0.0, T], time_stepping="ssprk3", cfl=0.1)
    pts = grid.points()
    rho_x = flow.density(T, pts).reshape(grid.shape)
    v_x = flow.velocity(T, pts).T.reshape((2,) + grid.shape)
    space = np.array(_pair_norms(grid, rho_x, reference.density[-1], v_x, reference.velocity[-1]))
    time = np.array(_pair_norms(grid, reference.density[-1], default.density[-1],
                                reference.velocity[-1], default.velocity[-1]))
    total = np.array(_pair_norms(grid, rho_x, default.density[-1], v_x, default.velocity[-1]))
    print(f"\nkappa={kappa}: space {space}, time {time}, total {total}, "
          f"time/space {time / space}, total/space {total / space}")
    assert np.all(total < 0.85 * space)
    assert np.all(time < 1.25 * space)


def test_time_error_of_the_default_is_second_order_in_h():
    """dt = 0.6 h^2 / (4 D) on the heat equation: the Euler time error (vs SSP-RK3 at cfl 0.1)
    falls like h^2 (measured ratio 4.0 from 32^2 to 64^2)."""
    flow = gaussian_flow(2, 0.0)
    errs = []
    for n in (24, 48):
        grid = Grid.cube(6.0, n, 2)
        rho0 = grid.sample_field(lambda x: flow.density(0.0, x))
        a = solve(flow.equation, grid, rho0, [0.0, 0.3]).density[-1]
        b = solve(flow.equation, grid, rho0, [0.0, 0.3], time_stepping="ssprk3",
                  cfl=0.1).density[-1]
        errs.append(grid.integrate(np.abs(a - b)))
    order = np.log2(errs[0] / errs[1])
    print(f"\nEuler time error {errs}, order {order:.2f}")
    assert 1.7 < order < 2.5


def _sg_rows(n1, n2, seed):
    rng = np.random.default_rng(seed)
    A1, B1, A2, B2 = (rng.random(n + 1) * 0.1 for n in (n1, n1, n2, n2))
    for c in (A1, B1, A2, B2):
        c[[0, -1]] = 0.0
    return rng.random((n1, n2)), A1, B1, -(A1[1:] + B1[:-1]), A2, B2, -(A2[1:] + B2[:-1])


@pytest.mark.parametrize("shape", [(9, 7), (50, 33), (300, 20)])
def test_fused_sweep_in_blocks_equals_separate_steps_bitwise(shape):
    src, A1, B1, G1, A2, B2, G2 = _sg_rows(*shape, seed=sum(shape))
    for nlev in range(1, K.FUSED_STEPS + 1):
        single = src.copy()
        for _ in range(nlev):
            nxt = np.zeros_like(single)
            K.sg_euler_sweep(single, nxt, np.zeros((1, K.FUSED_STEPS, 3, shape[1])), 1, 0.5,
                             A1, B1, G1, A2, B2, G2)
            single = nxt
        for blocks in (1, 2, 3, 7):
            out = np.zeros_like(src)
            K.sg_euler_sweep(src, out, np.zeros((blocks, K.FUSED_STEPS, 3, shape[1])), nlev,
                             0.5, A1, B1, G1, A2, B2, G2)
            np.testing.assert_array_equal(out, single)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
def test_default_solve_is_bitwise_identical_on_1_and_2_threads(monkeypatch):
    monkeypatch.setattr(FV, "MIN_BLOCK_ROWS", 8)   # several blocks on a small grid
    monkeypatch.setattr(FV, "PARALLEL_CELLS", 16)
    eq = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
    grid = Grid.cube(5.0, 40, 2)
    rho0 = grid.sample_field(lambda x: np.exp(-((x - 0.5) ** 2).sum(1)))
    runs = []
    before = numba.get_num_threads()
    try:
        for threads in (1, 2):
            numba.set_num_threads(threads)
            sol = solve(eq, grid, rho0, [0.0, 0.05, 0.2])
            runs.append((sol.density, sol.velocity, sol.energy))
    finally:
        numba.set_num_threads(before)
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def _numpy_fields(eq, grid, density):
    """The former post-processing: numpy velocity, face differences, energy, mass."""
    xi = np.stack([eq.chemical_potential(r, grid.coordinates(), axis=0) for r in density])
    faces = []
    for axis, h in enumerate(grid.spacing):
        pad = [(0, 0)] * xi.ndim
        pad[axis + 1] = (1, 1)
        faces.append(np.pad(-np.diff(xi, axis=axis + 1) / h, pad))
    return (np.stack([eq.velocity(r, grid) for r in density]), faces,
            np.array([eq.energy(r, grid) for r in density]), grid.integrate(density))


def _gradient_scale(eq, grid, density):
    """Size of the operands of v = -grad xi: (|D F'(rho)| + |kappa |x|^2 / 2|) / h, the largest
    over the grid. The kernels and numpy agree to a few roundings of it, not of v (the two
    terms of xi cancel, and differences of xi cancel again)."""
    positive = density[density > 0]
    internal = np.abs(eq.D * eq.dF(positive)).max(initial=0.0)
    external = np.abs(eq.external_potential(grid.coordinates(), axis=0)).max()
    return (internal + external) / min(grid.spacing)


@pytest.mark.parametrize("eq, grid", [
    (FokkerPlanck(D=0.7, kappa=1.3, dim=1), Grid((-2.0,), (3.0,), (7,))),
    (FokkerPlanck(D=0.7, kappa=1.3, dim=2), Grid((-2.0, -1.0), (3.0, 2.0), (7, 5))),
    (FokkerPlanck(D=0.7, kappa=0.3, dim=3), Grid((-2.0, -1.0, -1.0), (3.0, 2.0, 1.0), (4, 5, 6))),
    (PorousMedium(m=2.5, D=0.7, kappa=0.3, dim=2), Grid((-2.0, -1.0), (3.0, 2.0), (6, 5))),
], ids=["fp-1d", "fp-2d", "fp-3d", "porous-2d"])
@pytest.mark.parametrize("parallel", [False, True])
def test_compiled_post_processing_equals_the_numpy_definitions(eq, grid, parallel, monkeypatch):
    if parallel:
        monkeypatch.setattr(FV, "PARALLEL_CELLS", 1)
    density = np.random.default_rng(3).random((3,) + grid.shape) + (0.1 * eq.is_linear)
    if not eq.is_linear:
        density[0, 2, 2] = 0.0
    velocity, faces, energy, mass = _numpy_fields(eq, grid, density)
    new = FV._snapshot_fields(eq, grid, density, FV._potential(eq, grid))
    # the same operations, but the kernels may fuse multiply-adds (fastmath "contract") where
    # numpy does not: equal to a few roundings of the operands on any CPU, bitwise on none
    scale = _gradient_scale(eq, grid, density)
    assert_same_to_rounding(new["velocity"], velocity, scale)
    for a, b in zip(new["face_velocity"], faces):
        assert_same_to_rounding(a, b, scale)
    np.testing.assert_allclose(new["energy"], energy, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(new["mass"], mass, rtol=1e-14)
    walls = [FV.wall_mass_fraction(r, grid) for r in density]
    np.testing.assert_allclose(new["walls"], walls, rtol=1e-13)


def test_fields_are_computed_on_first_access_and_pickle():
    eq = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
    grid = Grid.cube(5.0, 12, 2)
    rho0 = grid.sample_field(lambda x: np.exp(-(x ** 2).sum(1)))
    sol = solve(eq, grid, rho0, [0.0, 0.1, 0.2])
    assert "_lazy_velocity" in sol.__dict__
    assert not isinstance(sol.__dict__["_lazy_velocity"], np.ndarray)   # not computed yet
    back = pickle.loads(pickle.dumps(sol))
    velocity, faces, energy, _ = _numpy_fields(eq, grid, sol.density)
    scale = _gradient_scale(eq, grid, sol.density)
    for s in (sol, back):
        assert_same_to_rounding(s.velocity, velocity, scale)
        np.testing.assert_allclose(s.energy, energy, rtol=1e-14)
        for a, b in zip(s.face_velocity, faces):
            assert_same_to_rounding(a, b, scale)
    np.testing.assert_array_equal(back.velocity, sol.velocity)   # the pickle keeps the bits
    assert isinstance(sol.__dict__["_lazy_velocity"], np.ndarray)   # kept after the first read


def test_density_that_underflows_is_refused():
    eq = FokkerPlanck(D=0.5, kappa=1.0, dim=1)
    grid = Grid.cube(4.0, 8, 1)
    density = np.ones((2, 8))
    density[1, 3] = 0.0
    with pytest.raises(ValueError, match="> 0"):
        FV._package(eq, grid, np.array([0.0, 1.0]), density, {}, {})
