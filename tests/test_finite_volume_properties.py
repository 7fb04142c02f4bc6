"""Invariants of the finite-volume solver on random data (hypothesis): mass conservation,
positivity, energy dissipation, mirror symmetry."""
import warnings

import numpy as np
from hypothesis import given, strategies as st

from pdeflow.equations import FokkerPlanck, PorousMedium
from pdeflow.grid import Grid
from pdeflow.solvers import solve, stable_time_step


@st.composite
def problems(draw):
    """A random equation, symmetric box, positive random density and solver options."""
    dim = draw(st.integers(1, 3))
    n_max = {1: 40, 2: 16, 3: 7}[dim]
    shape = tuple(draw(st.integers(5, n_max)) for _ in range(dim))
    half = tuple(draw(st.floats(0.5, 4.0)) for _ in range(dim))
    grid = Grid(tuple(-h for h in half), half, shape)
    D = draw(st.floats(0.1, 2.0))
    kappa = draw(st.sampled_from([0.0, draw(st.floats(0.1, 2.0))]))
    porous = draw(st.booleans())
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    rho0 = rng.random(shape) + (0.0 if porous else 0.05)
    if porous:
        eq = PorousMedium(m=draw(st.floats(1.2, 4.0)), D=D, kappa=kappa, dim=dim)
        outer = np.ones(shape, dtype=bool)
        outer[tuple(slice(1, -1) for _ in range(dim))] = False
        rho0[outer] = 0.0
        flux = "upwind"
    else:
        eq = FokkerPlanck(D=D, kappa=kappa, dim=dim)
        flux = draw(st.sampled_from(["upwind", "scharfetter-gummel"]))
    stepping = draw(st.sampled_from(["ssprk3", "euler"] + ["semi-implicit"] * (flux != "upwind")))
    order = draw(st.sampled_from([1, 2]))
    return eq, grid, rho0, dict(flux=flux, time_stepping=stepping, order=order)


def run(eq, grid, rho0, options, n_steps=30):
    """Solve over about ``n_steps`` explicit steps (semi-implicit: 5 steps of 10x the limit)."""
    limit = stable_time_step(eq, grid, rho0, flux=options["flux"], order=options["order"])
    limit = min(limit, 1.0)
    if options["time_stepping"] == "semi-implicit":
        options = dict(options, dt=10 * limit)
        T = 50 * limit
    else:
        T = n_steps * 0.4 * limit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # random data touches the walls
        return solve(eq, grid, rho0, np.linspace(0.0, T, 6), **options)


@given(problems())
def test_mass_positivity_energy(problem):
    """Energy dissipation is asserted for the explicit schemes and for implicit SG (a linear
    implicit Euler step of a detailed-balance generator)."""
    eq, grid, rho0, options = problem
    sol = run(eq, grid, rho0, options)
    np.testing.assert_allclose(sol.mass, sol.mass[0], rtol=1e-12)
    if eq.is_linear:
        assert np.all(sol.density > 0)
    else:
        assert np.all(sol.density >= 0)
    scale = np.abs(sol.energy).max() + 1e-300
    assert np.all(np.diff(sol.energy) <= 1e-12 * scale), np.diff(sol.energy)


@given(problems(), st.data())
def test_mirror_symmetric_data_stays_symmetric(problem, data):
    eq, grid, rho0, options = problem
    axis = data.draw(st.integers(0, grid.dim - 1))
    rho0 = 0.5 * (rho0 + np.flip(rho0, axis))
    sol = run(eq, grid, rho0, options)
    mirrored = np.flip(sol.density, axis + 1)
    assert np.abs(sol.density - mirrored).max() <= 1e-11 * sol.density.max()
