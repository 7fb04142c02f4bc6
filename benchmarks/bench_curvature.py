"""Time the scalar curvature of an MLP decoder per point: intrinsic vs extrinsic route.

Decoder: tanh MLP d -> 64 -> 64 -> D in float64, batch of points per call, one thread.
Prints the median wall time per point of each route (over `--repeats` calls of each, the two
routes interleaved call by call with benchmarks/_harness.py, after one warm-up call each) and the ratio intrinsic / extrinsic, for d in {2, 3, 8} and D in {3, 64, 784} (d <= D).

    PYTHONPATH=. python benchmarks/bench_curvature.py
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _harness import interleave, load_average  # noqa: E402

from pdeflow.geometry.curvature import scalar_curvature  # noqa: E402
from pdeflow.geometry.networks import mlp  # noqa: E402


def seconds_per_point(decoder, z, repeats):
    """Median seconds per point of each route, the two interleaved repeat by repeat."""
    def route(method):
        def run():
            with torch.no_grad():
                scalar_curvature(decoder, z, method)
        run()                                                # warm-up
        return run
    times = interleave({"extrinsic": route("extrinsic"), "intrinsic": route("intrinsic")},
                       repeats)
    return (statistics.median(times["extrinsic"]) / z.shape[0],
            statistics.median(times["intrinsic"]) / z.shape[0])


def main(repeats: int = 5, points: int = 32):
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, float64, {points} points per call, median of {repeats}")
    print(f"{'d':>2} {'D':>4} | {'extrinsic [ms/pt]':>17} | {'intrinsic [ms/pt]':>17} | "
          f"{'intr/extr':>9} | max|R_i - R_e| | max|R|")
    for d in (2, 3, 8):
        for D in (3, 64, 784):
            if d > D:
                print(f"{d:>2} {D:>4} | {'(d > D: undefined, ValueError)':>49}")
                continue
            dec = mlp([d, 64, 64, D], "tanh", seed=0, dtype=torch.float64)
            z = torch.randn(points, d, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
            te, ti = seconds_per_point(dec, z, repeats)
            with torch.no_grad():
                re, ri = scalar_curvature(dec, z, "extrinsic"), scalar_curvature(dec, z, "intrinsic")
            err, size = (ri - re).abs().max().item(), re.abs().max().item()
            print(f"{d:>2} {D:>4} | {1e3 * te:>17.3f} | {1e3 * ti:>17.3f} | {ti / te:>9.1f} | "
                  f"{err:>14.1e} | {size:.1e}", flush=True)
    print(f"load average: {load_average()}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--points", type=int, default=32)
    a = p.parse_args()
    main(a.repeats, a.points)
