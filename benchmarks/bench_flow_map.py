"""Flow-map throughput: 1e5 particles through a 2-D 256^2 time-dependent grid velocity.

pdeflow (fused numba RK4, multilinear in space, linear in time) against a plain scipy/numpy
baseline (RegularGridInterpolator on the cell-centred field, linear in time, vectorised RK4),
same field, same steps, timed in one run. Prints particle-steps/s (one RK4 step = 4 velocity
evaluations), medians over repeats, the ratio, the agreement of the two results and the numba
compile time separately.

    PYTHONPATH=. python benchmarks/bench_flow_map.py [--particles 100000] [--steps 50]
"""
import argparse
import os
import time

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from pdeflow.equations import FokkerPlanck
from pdeflow.exact import GaussianMixture, GaussianMixtureFlow
from pdeflow.grid import Grid
from pdeflow.solvers import integrate_flow_map, sample_solution


def baseline_rk4(solution, x0, t0, t1, steps):
    """Vectorised numpy RK4 with scipy RegularGridInterpolator, linear in time."""
    grid, times = solution.grid, solution.times
    axes = [grid.axis_centers(a) for a in range(grid.dim)]
    interps = [[RegularGridInterpolator(axes, solution.velocity[k, c], bounds_error=False,
                                        fill_value=None) for c in range(grid.dim)]
               for k in range(len(times))]

    def v(t, x):
        k = min(max(np.searchsorted(times, t, side="right") - 1, 0), len(times) - 2)
        a = (t - times[k]) / (times[k + 1] - times[k])
        lo = np.stack([f(x) for f in interps[k]], axis=1)
        hi = np.stack([f(x) for f in interps[k + 1]], axis=1)
        return (1 - a) * lo + a * hi

    h, x = (t1 - t0) / steps, x0.copy()
    for i in range(steps):
        t = t0 + i * h
        k1 = v(t, x)
        k2 = v(t + h / 2, x + h / 2 * k1)
        k3 = v(t + h / 2, x + h / 2 * k2)
        k4 = v(t + h, x + h * k3)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--particles", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import numba
    print(f"numba threads: {numba.get_num_threads()}, cores: {os.cpu_count()}")

    eq = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
    flow = GaussianMixtureFlow(eq, GaussianMixture.isotropic(
        [0.3, 0.3, 0.4], [[0.8, 0.0], [-0.6, 0.5], [0.0, -0.7]], [0.3, 0.35, 0.4]))
    t0, t1 = 0.1, 0.6
    solution = sample_solution(flow, Grid.cube(4.0, 256, 2), np.linspace(t0, t1, 11))
    x0 = flow.at(t0).sample(args.particles, 0)
    x0 = x0[np.abs(x0).max(1) < 3.0]
    n, dt = len(x0), (t1 - t0) / args.steps
    work = n * args.steps

    start = time.perf_counter()
    integrate_flow_map(solution, x0[:10], [t0, t1], dt=dt)
    compile_s = time.perf_counter() - start

    ours, base, ours_cpu, base_cpu = [], [], [], []
    for _ in range(args.repeats):
        start, cpu = time.perf_counter(), time.process_time()
        fm = integrate_flow_map(solution, x0, [t0, t1], dt=dt)
        ours.append(time.perf_counter() - start)
        ours_cpu.append(time.process_time() - cpu)
    for _ in range(max(1, args.repeats - 2)):
        start, cpu = time.perf_counter(), time.process_time()
        xb = baseline_rk4(solution, x0, t0, t1, args.steps)
        base.append(time.perf_counter() - start)
        base_cpu.append(time.process_time() - cpu)
    ours_s, base_s = np.median(ours), np.median(base)
    ours_c, base_c = np.median(ours_cpu), np.median(base_cpu)
    print(f"particles {n}, RK4 steps {args.steps}, grid 256^2, 11 snapshots")
    print(f"first call (compile or cache load + run on 10 particles): {compile_s:.2f} s")
    print(f"pdeflow fused numba RK4 : median {ours_s:.3f} s  -> {work / ours_s:.3e} particle-steps/s")
    print(f"scipy RGI + numpy RK4   : median {base_s:.3f} s  -> {work / base_s:.3e} particle-steps/s")
    print(f"ratio (baseline / pdeflow time): {base_s / ours_s:.1f}x")
    # On a shared machine wall time depends on other load; CPU time (all threads) does not.
    print(f"CPU seconds: pdeflow {ours_c:.3f}, baseline {base_c:.3f}; ratio {base_c / ours_c:.1f}x; "
          f"pdeflow {work / ours_c:.3e} particle-steps per CPU-second "
          f"(x{os.cpu_count()} cores = {os.cpu_count() * work / ours_c:.3e} /s if idle)")
    print(f"load average during the run: {os.getloadavg()}")
    print(f"max |difference| of final positions: {np.abs(fm.final - xb).max():.2e}")


if __name__ == "__main__":
    main()
