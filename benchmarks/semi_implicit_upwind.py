"""The upwind semi-implicit step (velocity frozen over the step) against closed forms (issue 13).

2-D heat from a Gaussian mixture at 128^2 to t = 0.05 and the 2-D Barenblatt (m = 2) at 64^2,
at 1, 4 and 8 times the explicit step: L1 error against the closed form, spurious local maxima,
the peak, and whether the energy ever rises. Scharfetter-Gummel semi-implicit (the same linear
equation as one exact matrix) beside it for heat.

Measured before the removal (commit history of issue 13): heat 128^2 upwind L1 0.0385 / 0.0417 /
0.0559 at 1x / 4x / 8x (SG: 0.0030 / 0.0057 / 0.0081); Barenblatt 64^2 upwind L1 0.038 / 0.287 /
0.566, peak 0.89 and 1.12 against 0.514 at 4x and 8x, energy rising. Since the removal the upwind
lines print the ValueError instead.

Usage: python benchmarks/semi_implicit_upwind.py
"""
import warnings

import numpy as np
from scipy.ndimage import maximum_filter

from pdeflow.equations import Heat
from pdeflow.exact import Barenblatt, GaussianMixture, GaussianMixtureFlow
from pdeflow.grid import Grid
from pdeflow.solvers.finite_volume import solve, stable_time_step


def maxima(rho):
    return int(np.sum((rho == maximum_filter(rho, size=3)) & (rho > 1e-8 * rho.max())))


def report(name, make, exact, grid):
    try:
        sol = make()
    except ValueError as err:
        print(f"{name:<40} refused: {str(err)[:60]}...")
        return
    l1 = grid.integrate(np.abs(sol.density[-1] - exact))
    rising = bool(np.any(np.diff(sol.energy) > 1e-12 * np.abs(sol.energy).max()))
    print(f"{name:<40} L1 = {l1:.3g}  local maxima = {maxima(sol.density[-1])} "
          f"(exact {maxima(exact)})  peak = {sol.density[-1].max():.3g} (exact {exact.max():.3g})"
          f"  energy rises: {rising}")


def heat():
    eq = Heat(D=0.5, dim=2)
    flow = GaussianMixtureFlow(eq, GaussianMixture.isotropic(
        [0.5, 0.5], [[-0.8, 0.0], [0.7, 0.3]], [0.3, 0.25]))
    grid = Grid.cube(4.0, 128, 2)
    rho0 = grid.sample_field(lambda x: flow.density(0.0, x))
    T = 0.05
    exact = grid.sample_field(lambda x: flow.density(T, x))
    limit = stable_time_step(eq, grid, rho0)
    times = np.linspace(0.0, T, 6)
    for factor in (1, 4, 8):
        for flux in ("upwind", "scharfetter-gummel"):
            report(f"heat 128^2 {flux} semi-implicit {factor}x",
                   lambda: solve(eq, grid, rho0, times, time_stepping="semi-implicit",
                                 dt=factor * limit, flux=flux), exact, grid)
    report("heat 128^2 scharfetter-gummel ssprk3",
           lambda: solve(eq, grid, rho0, times, flux="scharfetter-gummel"), exact, grid)


def porous():
    bar = Barenblatt.from_mass(2.0, 2, 1.0)
    grid = Grid.cube(2.0, 64, 2)
    t0, t1 = 0.05, 0.15
    rho0 = grid.sample_field(lambda x: bar.density(t0, x))
    exact = grid.sample_field(lambda x: bar.density(t1, x))
    limit = stable_time_step(bar.equation, grid, rho0)
    times = np.linspace(t0, t1, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for factor in (1, 4, 8):
            report(f"barenblatt 64^2 upwind semi-implicit {factor}x",
                   lambda: solve(bar.equation, grid, rho0, times, time_stepping="semi-implicit",
                                 dt=factor * limit), exact, grid)
        report("barenblatt 64^2 upwind ssprk3", lambda: solve(bar.equation, grid, rho0, times,
                                                           time_stepping="ssprk3"),
               exact, grid)


if __name__ == "__main__":
    heat()
    porous()
