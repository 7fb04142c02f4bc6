"""Blob method throughput: velocity evaluations per second for N = 1e3, 1e4, 1e5 particles,
direct (numba, O(N^2)) and particle-mesh (CIC + scipy.fft, O(N + M log M)) paths, and the
crossover N. One "step" here is one velocity evaluation (a forward-Euler step; an RK4 step is 4).

Setup: 2-D porous medium m = 2, particles ~ N(0, 0.5^2 I), delta = 2 h with h = N^(-1/2) (the
lattice spacing of N particles on [-1, 1]^2 scaled by the spread), mesh cells_per_delta = 4.

    PYTHONPATH=. python benchmarks/bench_blob.py [--dim 2] [--max-direct 100000]
"""
import argparse
import os
import time

import numpy as np

from pdeflow.equations import PorousMedium
from pdeflow.solvers.blob import DIRECT_MAX, BlobVelocity


def timed(func, repeats):
    """Median wall and CPU seconds of func() over repeats (after one warm-up call)."""
    func()
    wall, cpu = [], []
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        func()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return np.median(wall), np.median(cpu)


def _once(func):
    w, c = time.perf_counter(), time.process_time()
    func()
    return time.perf_counter() - w, time.process_time() - c


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dim", type=int, default=2)
    parser.add_argument("--max-direct", type=int, default=30_000,
                        help="largest N timed on the direct path; beyond it the time is "
                             "extrapolated as N^2 from the largest measured N (marked 'est.')")
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[1_000, 2_000, 3_000, 10_000, 30_000, 100_000])
    args = parser.parse_args()
    eq = PorousMedium(m=2.0, dim=args.dim)
    rng = np.random.default_rng(0)
    print(f"blob velocity evaluations/s, d = {args.dim}, cores {os.cpu_count()}, "
          f"auto threshold DIRECT_MAX = {DIRECT_MAX[args.dim]}")
    print(f"{'N':>7} {'delta':>7} {'path':>6} {'wall s':>9} {'cpu s':>9} {'evals/s':>10}")
    rows = {}
    largest = None
    for n in args.sizes:
        x = rng.standard_normal((n, args.dim)) * 0.5
        masses = np.full(n, 1.0 / n)
        delta = 2.0 * 2.0 / n ** (1.0 / args.dim)
        for path in ["direct", "mesh"]:
            if path == "direct" and n > args.max_direct:
                wall = rows[(largest, "direct")] * (n / largest) ** 2
                print(f"{n:>7} {delta:>7.4f} {path:>6} {wall:>9.1f} {'est.':>9} {1 / wall:>10.4f}")
                continue
            blob = BlobVelocity(eq, masses, delta, path)
            if path == "mesh":
                try:
                    blob(0.0, x)  # raises if the mesh would exceed MESH_MAX_CELLS
                except ValueError as err:
                    print(f"{n:>7} {delta:>7.4f} {path:>6} skipped: {err}")
                    continue
            repeats = 1 if (path == "direct" and n >= 10_000) else 3
            wall, cpu = timed(lambda: blob(0.0, x), repeats) if repeats > 1 else \
                _once(lambda: blob(0.0, x))
            rows[(n, path)] = wall
            if path == "direct":
                largest = n
            print(f"{n:>7} {delta:>7.4f} {path:>6} {wall:>9.4f} {cpu:>9.4f} {1 / wall:>10.4f}")
    faster = [n for n in sorted({k[0] for k in rows})
              if (n, "direct") in rows and rows[(n, "mesh")] < rows[(n, "direct")]]
    print(f"mesh faster than direct from N = {faster[0] if faster else 'never (in range)'}")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
