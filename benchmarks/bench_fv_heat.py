"""2-D heat equation: pdeflow's finite-volume solver vs py-pde, same grid, same dt, same steps.

Both run the same scheme (5-point Laplacian with no-flux/Neumann walls, explicit Euler): pdeflow
through ``solve(..., flux="scharfetter-gummel", time_stepping="euler")`` (for kappa = 0 the SG
flux is the central flux), py-pde through its serial numba ``EulerSolver`` stepper
(``backend.numba.multithreading = "never"``). Reported: cell updates per second of the compiled
time loop (medians over repeats, runs of the two codes interleaved), of pdeflow's whole
``solve()`` call, compile times apart, the max difference of the two results, and a copy kernel
on the same array as the machine's memory-bandwidth reference (16 bytes per cell update).

Usage: python benchmarks/bench_fv_heat.py [--quick]
"""
from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numba  # noqa: E402
import numpy as np  # noqa: E402

from pdeflow.equations import Heat  # noqa: E402
from pdeflow.grid import Grid  # noqa: E402
from pdeflow.solvers import solve  # noqa: E402


@numba.njit(cache=True)
def _copy(dst, src):
    for i in range(src.size):
        dst[i] = src[i]


def bandwidth_rate(n, repeats):
    """Median cells/s of a plain copy of an n x n float64 array (16 bytes moved per cell)."""
    src, dst = np.random.default_rng(0).random(n * n), np.zeros(n * n)
    _copy(dst, src)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _copy(dst, src)
        times.append(time.perf_counter() - start)
    return n * n / np.median(times)


def initial(n):
    grid = Grid.cube(1.0, n, 2)
    x = grid.coordinates()
    return grid, np.exp(-(x ** 2).sum(0) / 0.05) + 0.1


def pdeflow_run(n, steps, dt):
    grid, rho0 = initial(n)
    with warnings.catch_warnings():   # mass at the walls is intended here (Neumann box)
        warnings.simplefilter("ignore", RuntimeWarning)
        sol = solve(Heat(D=1.0, dim=2), grid, rho0, [0.0, steps * dt], dt=dt,
                    flux="scharfetter-gummel", time_stepping="euler")
    assert sol.diagnostics["steps"] == steps
    return sol.density[-1], sol.diagnostics


def pypde_stepper(n, dt):
    import pde

    pde.config["backend.numba.multithreading"] = "never"
    grid = pde.CartesianGrid([[-1.0, 1.0], [-1.0, 1.0]], [n, n])
    _, rho0 = initial(n)
    state = pde.ScalarField(grid, rho0)
    solver = pde.EulerSolver(pde.DiffusionPDE(diffusivity=1.0), adaptive=False)
    start = time.perf_counter()
    stepper = solver.make_stepper(state, dt=dt)
    stepper(state.copy(), 0.0, dt)     # first call finishes the compilation
    return stepper, state, time.perf_counter() - start


def pypde_run(stepper, state, steps, dt):
    field = state.copy()
    start = time.perf_counter()
    t_end = stepper(field, 0.0, steps * dt)
    seconds = time.perf_counter() - start
    taken = int(round(t_end / dt))
    return field.data, seconds, taken


def benchmark(n, steps, repeats):
    h = 2.0 / n
    dt = 0.2 * h * h   # 0.8 x the Euler limit h^2 / (4 D)
    start = time.perf_counter()
    pdeflow_run(max(8, n // 64), 2, dt)            # compile / load pdeflow's kernels
    pdeflow_compile = time.perf_counter() - start
    stepper, state, pypde_compile = pypde_stepper(n, dt)
    ours_loop, ours_solve, theirs = [], [], []
    for _ in range(repeats):                         # interleaved: same machine conditions
        result, diag = pdeflow_run(n, steps, dt)
        ours_loop.append(diag["loop_seconds"])
        ours_solve.append(diag["run_seconds"])
        data, seconds, taken = pypde_run(stepper, state, steps, dt)
        theirs.append(seconds)
    updates = n * n * steps
    # py-pde may take one step more than asked (it stops at t >= t_end); count what it did
    diff = float(np.abs(result - data).max() / np.abs(data).max()) if taken == steps else np.nan
    return dict(n=n, steps=steps, pypde_steps=taken,
                pdeflow_loop=updates / np.median(ours_loop),
                pdeflow_solve=updates / np.median(ours_solve),
                pypde=n * n * taken / np.median(theirs),
                pdeflow_compile=pdeflow_compile, pypde_compile=pypde_compile,
                copy_rate=bandwidth_rate(n, repeats), max_rel_diff=diff)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    args = parser.parse_args()
    cases = [(256, 400 if args.quick else 2000), (2048, 8 if args.quick else 40)]
    repeats = 3 if args.quick else 5
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
          f"(shared), numba {numba.__version__}")
    header = (f"{'grid':>10} {'steps':>6} {'pdeflow loop':>13} {'pdeflow solve':>14} "
              f"{'py-pde':>9} {'ratio loop':>10} {'ratio solve':>11} {'copy ref':>9} "
              f"{'loop/copy':>9} {'max rel diff':>12}")
    print("cell updates per second (G/s), medians of", repeats, "interleaved repeats")
    print(header)
    rows = []
    for n, steps in cases:
        r = benchmark(n, steps, repeats)
        rows.append(r)
        print(f"{n:>5}^2    {steps:>6} {r['pdeflow_loop'] / 1e9:>13.3f} "
              f"{r['pdeflow_solve'] / 1e9:>14.3f} {r['pypde'] / 1e9:>9.3f} "
              f"{r['pdeflow_loop'] / r['pypde']:>10.2f} {r['pdeflow_solve'] / r['pypde']:>11.2f} "
              f"{r['copy_rate'] / 1e9:>9.3f} {r['pdeflow_loop'] / r['copy_rate']:>9.2f} "
              f"{r['max_rel_diff']:>12.1e}")
    for r in rows:
        print(f"compile seconds at {r['n']}^2: pdeflow {r['pdeflow_compile']:.2f} "
              f"(numba cache load or compile), py-pde {r['pypde_compile']:.2f}")
    return rows


if __name__ == "__main__":
    main()
