"""The default path of the porous medium: upwind (CCH) + forward Euler at cfl 0.4, the step limit
taken from the previous step's state and checked against the current one's inside the step."""
import warnings

import numpy as np
import pytest

from _fv_studies import porous_case
from pdeflow.equations import FokkerPlanck, PorousMedium
from pdeflow.grid import Grid
from pdeflow.solvers import solve


def _solve(exact, grid, rho0, times, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # the front's wall warning is not tested
        return solve(exact.equation, grid, rho0, times, **options)


def test_porous_default_is_euler_at_cfl_0_4_and_linear_upwind_keeps_ssprk3():
    eq = PorousMedium(m=2.0, D=1.0, kappa=0.0, dim=1)
    grid = Grid.cube(2.0, 40, 1)
    rho0 = grid.sample_field(lambda x: np.maximum(1.0 - (x ** 2).sum(1), 0.0))
    d = solve(eq, grid, rho0, [0.0, 0.01]).diagnostics
    assert (d["flux"], d["time_stepping"], d["cfl"]) == ("upwind", "euler", 0.4)
    linear = FokkerPlanck(D=1.0, kappa=1.0, dim=1)
    d = solve(linear, grid, np.exp(-4 * grid.axis_centers(0) ** 2), [0.0, 0.01],
              flux="upwind").diagnostics
    assert d["time_stepping"] == "ssprk3"


@pytest.mark.parametrize("m", [2.0, 3.0])
@pytest.mark.parametrize("dim, n", [(1, 100), (2, 48)])
@pytest.mark.parametrize("confined", [True, False], ids=["confined", "free"])
def test_euler_time_error_is_a_fraction_of_the_spatial_error(m, dim, n, confined):
    """Split the default's L1 error against the Barenblatt closed form into space (SSP-RK3 at
    cfl 0.05 vs the closed form) and time (default vs that run). Measured: time / space 0.02-0.29
    and total / space 0.95-1.03 over m = 2, 3, 1-D to 3-D, confined and free (docs/scheme.md);
    asserted with margins on the cheap cases."""
    exact, t0, T, half_width = porous_case(m, dim, confined)
    grid = Grid.cube(half_width, n, dim)
    rho0 = grid.sample_field(lambda x: exact.density(t0, x))
    closed = grid.sample_field(lambda x: exact.density(T, x))
    default = _solve(exact, grid, rho0, [t0, T]).density[-1]
    reference = _solve(exact, grid, rho0, [t0, T], time_stepping="ssprk3", cfl=0.05).density[-1]
    l1 = lambda a, b: grid.integrate(np.abs(a - b))  # noqa: E731
    space, time, total = l1(closed, reference), l1(reference, default), l1(closed, default)
    print(f"\nm={m} {dim}-D n={n} confined={confined}: time/space {time / space:.3f}, "
          f"total/space {total / space:.3f}")
    assert time < 0.4 * space
    assert total < 1.06 * space


@pytest.mark.parametrize("time_stepping", ["euler", "ssprk3"])
def test_a_lagged_step_above_the_current_limit_is_redone(time_stepping):
    """dt is cfl x the limit of the previous step's state. A contracting flow (kappa = 4 pulls a
    wide porous-medium bump together; max rho rises, so the parabolic limit, which dominates on
    this grid, falls every step: 1.13e-3 -> 1.04e-3) at cfl = 1 makes that dt exceed the current
    limit on most steps (measured 14 of 20 Euler steps): each such step must be redone with the
    current limit (``rejected_steps``), keeping rho >= 0 and the mass."""
    eq = PorousMedium(m=2.0, D=1.0, kappa=4.0, dim=1)
    grid = Grid.cube(3.0, 200, 1)
    rho0 = grid.sample_field(lambda x: np.maximum(4.0 - (x ** 2).sum(1), 0.0) / 20.0)
    sol = solve(eq, grid, rho0, [0.0, 0.01, 0.02], cfl=1.0, time_stepping=time_stepping)
    d = sol.diagnostics
    assert d["rejected_steps"] > d["steps"] // 2
    assert sol.density.min() >= 0.0
    np.testing.assert_allclose(sol.mass, sol.mass[0], rtol=1e-12)
    assert sol.density[-1].max() > 1.05 * rho0.max()   # the bump did contract
