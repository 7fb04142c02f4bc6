"""Measure the errors of the default study's ground truths (issue 13), one number per line.

Uses the study's truth solver (``EpsilonStudy.solve_truth``) at a fixed resolution, without the
certification's refinement. Fokker-Planck: the FV truth's backward flow map vs the exact mixture flow (its velocity integrated
by adaptive Dormand-Prince at rtol 1e-9), on the study's starting points (seed 0, n = 1000), for
a choice of grid, snapshot count and time rule. Porous: the share of the eps = 0 generated points
where rho_0 = 0.

Usage: python benchmarks/truth_error.py fp [grid_n] [n_snapshots] [time_rule] [dt]
       python benchmarks/truth_error.py porous [grid_n] [n_snapshots]
"""
import os
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
import numpy as np  # noqa: E402

from pdeflow.exact import GaussianMixtureFlow  # noqa: E402
from pdeflow.problems import three_component_mixture  # noqa: E402
from pdeflow.solvers.backward import sample_backward  # noqa: E402
from pdeflow.study.config import StudyConfig  # noqa: E402
from pdeflow.study.epsilon_study import EpsilonStudy  # noqa: E402
from pdeflow.validation.metrics import flow_map_error  # noqa: E402


def truth(name, grid_n, n_snapshots):
    """(config, study, truth solution, solve seconds, starting points of seed 0)."""
    cfg = StudyConfig(grid_n=grid_n, n_snapshots=n_snapshots, equations=(name,))
    study = EpsilonStudy(cfg)
    t0 = time.perf_counter()
    sol = study.solve_truth(name, grid_n, n_snapshots, f"/tmp/truth_error_{os.getpid()}")
    solve_s = time.perf_counter() - t0
    x0 = sol.grid.sample_density(sol.density[-1], cfg.n_samples, np.random.default_rng([0, 1]))
    return cfg, study, sol, solve_s, x0


def fp(grid_n=64, n_snapshots=36, time_rule=None, dt=0.01):
    cfg, study, sol, solve_s, x0 = truth("fokker-planck", grid_n, n_snapshots)
    exact = GaussianMixtureFlow(cfg.equation("fokker-planck"), three_component_mixture(cfg.dim))
    ref = sample_backward(exact.equation, exact, x0, [cfg.T, 0.0], method="dopri5",
                          rtol=1e-9, atol=1e-11).final
    kw = {} if time_rule is None else {"time_rule": time_rule}
    from pdeflow.solvers.interpolation import GridVelocity
    gv = GridVelocity(sol, **kw)
    t0 = time.perf_counter()
    y = sample_backward(exact.equation, gv, x0, [cfg.T, 0.0], dt=dt, outside="stop").final
    flow_s = time.perf_counter() - t0
    exact_grid = sample_backward(exact.equation, exact, x0, [cfg.T, 0.0], dt=dt).final
    print(f"fp grid_n={grid_n} n_snapshots={n_snapshots} time_rule={time_rule} dt={dt}: "
          f"truth_flow_map_error = {flow_map_error(y, ref):.4f}  (rk4 dt on exact v: "
          f"{flow_map_error(exact_grid, ref):.2e}; solve {solve_s:.1f} s, flow {flow_s:.2f} s)")


def porous(grid_n=64, n_snapshots=36):
    cfg, study, sol, solve_s, x0 = truth("porous", grid_n, n_snapshots)
    y = sample_backward(sol.equation, sol, x0, [cfg.T, 0.0], dt=cfg.dt, outside="stop").final
    exact_rho0 = study.data.grid_density(sol.grid, sol.equation)
    cells = np.floor((y - sol.grid.lower) / sol.grid.spacing).astype(int)
    cells = np.clip(cells, 0, np.array(sol.grid.shape) - 1)
    outside = float(np.mean(exact_rho0[tuple(cells.T)] == 0))
    from pdeflow.study.certification import outside_support
    exact_share = outside_support(y, study.data, sol.grid)
    print(f"porous grid_n={grid_n}: outside_support = {outside:.4f} (cell lookup), "
          f"{exact_share:.4f} (on the initial data; the study's) (solve {solve_s:.1f} s)")


if __name__ == "__main__":
    which, args = sys.argv[1], sys.argv[2:]
    if which == "fp":
        fp(int(args[0]) if args else 64, int(args[1]) if len(args) > 1 else 36,
           args[2] if len(args) > 2 and args[2] != "-" else None,
           float(args[3]) if len(args) > 3 else 0.01)
    else:
        porous(int(args[0]) if args else 64, int(args[1]) if len(args) > 1 else 36)
