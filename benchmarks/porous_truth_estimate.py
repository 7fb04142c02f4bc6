"""Does the porous flow-map error estimate (Richardson, order 1) track the true error?

Confined Barenblatt (m = 2, 2-D, D = kappa = 1), FV solve (upwind CCH) with the study's support
velocity on n^2 and (n/2)^2, backward flow map T -> 0 of 1000 samples of rho_T (RK4 dt 0.01,
cubic time interpolation); true error against the closed-form flow map; estimate from
pdeflow.solvers.truth_error.flow_map_error_estimate at grid orders 1 and 2.
Usage: python benchmarks/porous_truth_estimate.py [n ...]
"""
import sys
import warnings

import numpy as np

from pdeflow.exact import ConfinedBarenblatt
from pdeflow.grid import Grid
from pdeflow.solvers.backward import sample_backward
from pdeflow.solvers.finite_volume import solve
from pdeflow.solvers.truth_error import flow_map_error_estimate
from pdeflow.study.epsilon_study import support_velocity
from pdeflow.validation.metrics import flow_map_error

exact = ConfinedBarenblatt(2.0, 2, 1.0, 1.0)
T, times = 1.0, np.linspace(0.0, 1.0, 21)
half = 1.6 * exact.support_radius(0.0)


def fv(n):
    grid = Grid.cube(half, n, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sol = solve(exact.equation, grid, grid.sample_field(lambda x: exact.density(0.0, x)),
                    times)
    return support_velocity(sol)


def flow(velocity, x, span, dt):
    return sample_backward(exact.equation, velocity, x, span, dt=dt, outside="stop").final


for n in [int(a) for a in sys.argv[1:]] or [32, 64, 128]:
    fine, coarse = fv(n), fv(n // 2)
    x0 = fine.grid.sample_density(fine.density[-1], 1000, np.random.default_rng(0))
    y = flow(fine, x0, [T, 0.0], 0.01)
    true = flow_map_error(y, exact.flow_map(0.0, x0, T))
    est = [flow_map_error_estimate(flow, fine, coarse, x0, [T, 0.0], dt=0.01, grid_order=p,
                                   reference=y) for p in (1.0, 2.0)]
    print(f"n = {n}: true {true:.4f}; estimate p=1 {est[0].total:.4f} (grid {est[0].grid:.4f}), "
          f"p=2 {est[1].total:.4f}; ratio p=1 {est[0].total / true:.2f}, "
          f"p=2 {est[1].total / true:.2f}")
