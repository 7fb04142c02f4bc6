"""Flow-map throughput: 1e5 particles through a 2-D 256^2 time-dependent grid velocity.

Three codes for the same job, interleaved repeat by repeat (benchmarks/_harness.py):

* pdeflow: ``integrate_flow_map(solution, x0, [t0, t1], dt=dt)`` with its defaults (cell
  velocity, bilinear in space, cubic Hermite in time, fused numba RK4, checks, cell sort);
* peer: a single-purpose numba kernel for exactly this case (benchmarks/flow_map_peer.py);
* baseline: numpy RK4 on scipy ``RegularGridInterpolator``, the same cubic Hermite time rule (one
  interpolator per snapshot holding the velocity and its time derivative, two calls per
  evaluation), on the first 20 000 particles only by default (``--baseline-particles``): at
  ~40 s per repeat for all 1e5 the script would not fit in 3 minutes. Its times are scaled by
  n / 20 000. Measured on this machine (load ~10): its rate per CPU-second on 20 000 particles was
  3.1e5, on all 1e5 3.3e5 (separate runs), so the scaled baseline is ~7 % slow and the ratio
  against it ~7 % high; on 2 000 particles its per-call overhead dominates (2.0e5), do not go
  that low.

Rates are particle-steps per second (one RK4 step = 4 velocity evaluations) in wall time and per
CPU-second of the process (all threads). Serial (numba 1 thread) with all three codes, then
pdeflow and the peer with 2 threads. Compile time (or cache load) is a separate first call,
printed apart. Then the cost of one ``GridVelocity.__call__`` against its bare kernel.

    PYTHONPATH=. python benchmarks/bench_flow_map.py [--particles 100000] [--steps 50]
        [--repeats 5] [--baseline-threaded]
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numba
import numpy as np
from scipy.interpolate import RegularGridInterpolator

sys.path.insert(0, str(Path(__file__).parent))
from _harness import interleave, machine_line, ratio, report  # noqa: E402
import flow_map_peer  # noqa: E402

from pdeflow.equations import FokkerPlanck  # noqa: E402
from pdeflow.exact import GaussianMixture, GaussianMixtureFlow  # noqa: E402
from pdeflow.grid import Grid  # noqa: E402
from pdeflow.solvers import GridVelocity, integrate_flow_map, sample_solution  # noqa: E402
from pdeflow.solvers import _kernels_grid as kernels  # noqa: E402


def baseline_rk4(solution, x0, t0, t1, steps):
    """Vectorised numpy RK4 on scipy RegularGridInterpolator, cubic Hermite in time."""
    grid, times = solution.grid, solution.times
    axes = [grid.axis_centers(a) for a in range(grid.dim)]
    v = np.moveaxis(solution.velocity, 1, -1)                    # (nt, n0, n1, 2)
    dv = np.gradient(v, times, axis=0, edge_order=2)             # three-point derivatives
    interps = [RegularGridInterpolator(axes, np.concatenate([v[k], dv[k]], axis=-1),
                                       bounds_error=False, fill_value=None)
               for k in range(len(times))]

    def velocity(t, x):
        k = min(max(np.searchsorted(times, t, side="right") - 1, 0), len(times) - 2)
        span = times[k + 1] - times[k]
        s = (t - times[k]) / span
        lo, hi = interps[k](x), interps[k + 1](x)
        a0, a1 = 2 * s ** 3 - 3 * s ** 2 + 1, 3 * s ** 2 - 2 * s ** 3
        b0, b1 = span * (s ** 3 - 2 * s ** 2 + s), span * (s ** 3 - s ** 2)
        return a0 * lo[:, :2] + a1 * hi[:, :2] + b0 * lo[:, 2:] + b1 * hi[:, 2:]

    h, x = (t1 - t0) / steps, x0.copy()
    for i in range(steps):
        t = t0 + i * h
        k1 = velocity(t, x)
        k2 = velocity(t + h / 2, x + h / 2 * k1)
        k3 = velocity(t + h / 2, x + h / 2 * k2)
        k4 = velocity(t + h, x + h * k3)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def per_cpu(cpu, work):
    """Median particle-steps per CPU-second of each case."""
    return "  per CPU-second: " + ", ".join(f"{name} {work / np.median(sec):.3e}"
                                           for name, sec in cpu.items())


def call_overhead(solution, x, t, repeats):
    """Time of GridVelocity.__call__ against its bare gather kernel on the same points."""
    gv = GridVelocity(solution)
    out = np.empty_like(x)
    k, w = kernels.time_segment(gv.times, t, gv.cubic)

    def bare():
        kernels.gather_2d(gv.packed, 2, k, w, gv.off, gv.cnt, gv.lower, gv.inv_h, x, out)
    gv(t, x)
    bare()
    times = interleave({"GridVelocity.__call__": lambda: gv(t, x), "bare gather_2d": bare},
                       repeats)
    print(f"\none velocity evaluation at {len(x)} points (numba threads "
          f"{numba.get_num_threads()}):")
    print(report(times, work=len(x), unit="points/s", reference="bare gather_2d"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--particles", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline-particles", type=int, default=20_000,
                        help="the scipy baseline integrates the first N particles only (its "
                             "rate per particle-step is compared; see the module docstring)")
    parser.add_argument("--baseline-threaded", action="store_true",
                        help="also time the scipy baseline in the 2-thread round")
    args = parser.parse_args()
    print(machine_line())

    eq = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
    flow = GaussianMixtureFlow(eq, GaussianMixture.isotropic(
        [0.3, 0.3, 0.4], [[0.8, 0.0], [-0.6, 0.5], [0.0, -0.7]], [0.3, 0.35, 0.4]))
    t0, t1 = 0.1, 0.6
    grid = Grid.cube(4.0, 256, 2)
    solution = sample_solution(flow, grid, np.linspace(t0, t1, 11))
    x0 = flow.at(t0).sample(args.particles, 0)
    x0 = x0[np.abs(x0).max(1) < 3.0]
    n, dt = len(x0), (t1 - t0) / args.steps
    work = n * args.steps
    lower, spacing = grid.lower[0], grid.spacing[0]
    prepared = flow_map_peer.prepare(solution.velocity, solution.times)
    print(f"particles {n}, RK4 steps {args.steps}, grid 256^2, 11 snapshots, cubic Hermite "
          "in time")

    start = time.perf_counter()
    integrate_flow_map(solution, x0[:10], [t0, t1], dt=dt)
    compile_ours = time.perf_counter() - start
    start = time.perf_counter()
    flow_map_peer.flow_map(prepared, lower, spacing, x0[:10], t0, t1, args.steps)
    compile_peer = time.perf_counter() - start
    print(f"first call (compile or cache load + 10 particles): pdeflow {compile_ours:.2f} s, "
          f"peer {compile_peer:.2f} s (the peer does not cache)")

    results = {}

    def ours():
        results["pdeflow"] = integrate_flow_map(solution, x0, [t0, t1], dt=dt).final

    def peer():   # from the same GridSolution as pdeflow: its preparation is timed too
        prep = flow_map_peer.prepare(solution.velocity, solution.times)
        results["peer"] = flow_map_peer.flow_map(prep, lower, spacing, x0, t0, t1, args.steps)

    nb = min(n, args.baseline_particles)

    def base():
        results["baseline"] = baseline_rk4(solution, x0[:nb], t0, t1, args.steps)

    base_name = f"baseline (scipy) x{n / nb:.2f}"   # times scaled to all n particles
    rounds = [(1, {"pdeflow": ours, "peer (numba)": peer, base_name: base})]
    if numba.config.NUMBA_NUM_THREADS >= 2:
        threaded = {"pdeflow": ours, "peer (numba)": peer}
        if args.baseline_threaded:
            threaded[base_name] = base
        rounds.append((2, threaded))
    serial_base_cpu = None
    for threads, cases in rounds:
        numba.set_num_threads(threads)
        cpu = {}
        times = interleave(cases, args.repeats, cpu=cpu)
        if base_name in times:
            times[base_name] *= n / nb
            cpu[base_name] *= n / nb
        print(f"\nnumba threads {threads}: particle-steps/s (wall); baseline on {nb} particles, "
              "its seconds scaled by n / nb")
        print(report(times, work=work, unit="particle-steps/s", reference="pdeflow"))
        print(per_cpu(cpu, work))
        r, lo, hi = ratio(times, "peer (numba)", "pdeflow")
        per = cpu["peer (numba)"] / cpu["pdeflow"]
        print(f"  pdeflow / peer speed: {1 / r:.2f}x wall (per repeat {1 / hi:.2f}-{1 / lo:.2f}), "
              f"{np.median(cpu['peer (numba)']) / np.median(cpu['pdeflow']):.2f}x per CPU-second "
              f"(per repeat {per.min():.2f}-{per.max():.2f})")
        if base_name in cpu:
            serial_base_cpu = cpu[base_name] if threads == 1 else serial_base_cpu
            per = cpu[base_name] / cpu["pdeflow"]
            print(f"  pdeflow / baseline per CPU-second: "
                  f"{np.median(cpu[base_name]) / np.median(cpu['pdeflow']):.1f}x "
                  f"(per repeat {per.min():.1f}-{per.max():.1f})")
        elif serial_base_cpu is not None:
            print(f"  pdeflow / serial-round baseline per CPU-second: "
                  f"{np.median(serial_base_cpu) / np.median(cpu['pdeflow']):.1f}x")
    to_base = np.abs(results["pdeflow"][:nb] - results["baseline"]).max()
    print(f"\nmax |pdeflow - peer| {np.abs(results['pdeflow'] - results['peer']).max():.1e}, "
          f"max |pdeflow - baseline| {to_base:.1e}")
    numba.set_num_threads(1)
    call_overhead(solution, x0, 0.33, args.repeats)
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
