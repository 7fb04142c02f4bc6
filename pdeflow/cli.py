"""The ``pdeflow`` command line.

``pdeflow demo``  solves a 2-D porous-medium problem from a three-component Gaussian mixture and
writes its HDF5 file and a PNG of density and velocity at a few times.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .problems import demo_problem

__all__ = ["main", "demo_problem"]


def _demo(args) -> int:
    from .io import save_solution
    from .plotting import plot_snapshots
    from .solvers.finite_volume import solve

    equation, grid, rho0, times = demo_problem(args.n)
    out = Path(args.out)
    start = time.perf_counter()
    solution = solve(equation, grid, rho0, times, progress=not args.quiet)
    elapsed = time.perf_counter() - start
    h5 = save_solution(out / "porous_medium_2d.h5", solution)
    png = plot_snapshots(solution, out / "porous_medium_2d.png",
                         title="Confined porous medium m = 2 from a 3-component mixture")
    d = solution.diagnostics
    print(f"solved {type(equation).__name__}(m={equation.m}) on {grid.shape} to t = {times[-1]} "
          f"in {elapsed:.2f} s ({d.get('steps')} steps)")
    print(f"mass drift {abs(solution.mass[-1] / solution.mass[0] - 1):.2e}, "
          f"energy {solution.energy[0]:.4f} -> {solution.energy[-1]:.4f}, "
          f"min density {solution.density.min():.2e}")
    print(f"wrote {h5} and {png}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="pdeflow", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="solve a 2-D porous-medium problem, write HDF5 + PNG")
    demo.add_argument("--out", default="results", help="output folder (default: results)")
    demo.add_argument("--n", type=int, default=128, help="cells per axis (default: 128)")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(func=_demo)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
