"""The default path of the linear equations: what ``solve()`` does without options, and its error.

Fokker-Planck (D = 0.5, kappa = 1) from a two-component Gaussian mixture on 96^2: the default
(Scharfetter-Gummel + forward Euler at cfl 0.6, fused sweeps) against SSP-RK3 at cfl 0.4 (the
former default), both measured against the closed form; then the cost of the loop, of the whole
call and of reading the velocity (computed on first access).

Quick run (tested): python examples/heat_default_path.py  -- under 30 s on 2 cores (measured 3 s)
"""
import time

import numpy as np

from pdeflow.equations import FokkerPlanck
from pdeflow.exact import GaussianMixture, GaussianMixtureFlow
from pdeflow.grid import Grid
from pdeflow.solvers.finite_volume import solve
from pdeflow.solvers.truth_error import solution_error_exact

flow = GaussianMixtureFlow(FokkerPlanck(D=0.5, kappa=1.0, dim=2), GaussianMixture.isotropic(
    [0.4, 0.6], [[-1.2, 0.3], [1.0, -0.4]], [0.5, 0.7]))
grid = Grid.cube(6.0, 96, 2)
rho0 = grid.sample_field(lambda x: flow.density(0.0, x))
times = [0.0, 0.25, 0.5]

for label, options in (("default", {}), ("ssprk3, cfl 0.4", dict(time_stepping="ssprk3"))):
    start = time.perf_counter()
    sol = solve(flow.equation, grid, rho0, times, **options)
    whole = time.perf_counter() - start
    d = sol.diagnostics
    start = time.perf_counter()
    sol.velocity   # noqa: B018 (computed here, on first access)
    fields = time.perf_counter() - start
    err = solution_error_exact(sol, flow)
    print(f"{label:>16}: {d['time_stepping']} cfl {d['cfl']}, {d['steps']} steps, loop "
          f"{d['loop_seconds']:.3f} s, solve() {whole - d['compile_seconds']:.3f} s (+ "
          f"{d['compile_seconds']:.2f} s compile / cache load), velocity on access {fields:.3f} s; "
          f"L1 error {err.density_l1[-1]:.2e}, velocity L2(rho) error {err.velocity_l2[-1]:.2e}")
print("relative mass drift of the last run", float(np.ptp(sol.mass) / sol.mass[0]))
