"""Solve a 2-D confined porous-medium problem from a three-component Gaussian mixture.

Draws density and velocity at a few times, saves the run as HDF5, reads it back, and prints mass,
energy and the distance to the stationary state per snapshot. About ten seconds on a laptop CPU
(plus a one-off numba compile that is cached afterwards).

    python examples/porous_medium_2d.py [--n 128] [--out results/examples]

Quick run (tested): python examples/porous_medium_2d.py --n 64  -- under 30 s on 2 cores (measured 3 s)
"""
import argparse
from pathlib import Path

import numpy as np

from pdeflow.problems import demo_problem
from pdeflow.io import load_solution, save_solution
from pdeflow.plotting import plot_snapshots
from pdeflow.solvers.finite_volume import solve


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=128, help="cells per axis")
    parser.add_argument("--out", default="results/examples", help="output folder")
    args = parser.parse_args()
    out = Path(args.out)

    equation, grid, rho0, times = demo_problem(args.n)
    times = np.array([0.0, 0.02, 0.1, 0.3, 1.0, 3.0])
    solution = solve(equation, grid, rho0, times, progress=True)
    path = save_solution(out / "porous_medium_2d.h5", solution)
    solution = load_solution(path)                      # what an analysis script would do

    stationary = grid.sample_field(lambda x: equation.stationary_density(x, solution.mass[0]))
    print(f"{'t':>6} {'mass':>14} {'energy':>10} {'L1 to stationary':>17}")
    for t, rho, mass, energy in zip(solution.times, solution.density, solution.mass,
                                    solution.energy):
        print(f"{t:6.2f} {mass:14.12f} {energy:10.5f} {grid.integrate(np.abs(rho - stationary)):17.3e}")
    png = plot_snapshots(solution, out / "porous_medium_2d.png", indices=[0, 1, 2, 4],
                         title="Porous medium m = 2, kappa = 1, from a three-component mixture")
    print(f"wrote {path} and {png}")


if __name__ == "__main__":
    main()
