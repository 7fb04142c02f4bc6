"""What pdeflow says when the input is wrong or a run is under-resolved: a tour.

Each step makes one mistake a newcomer makes and prints the one-line error (or warning) it
gets; nothing is computed silently wrong. Takes a few seconds.

    python examples/bad_inputs_tour.py [--out results/bad_inputs_tour]

Quick run (tested): python examples/bad_inputs_tour.py  -- under 80 s on 2 cores (measured 19 s)
"""
import argparse
import warnings
from pathlib import Path

import numpy as np

import torch

from pdeflow.cli import main as pdeflow_main
from pdeflow.equations import Heat, PorousMedium
from pdeflow.exact import GaussianMixture
from pdeflow.geometry.curvature import scalar_curvature
from pdeflow.grid import Grid
from pdeflow.problems import load_samples
from pdeflow.solvers import integrate_flow_map
from pdeflow.solvers.finite_volume import solve
from pdeflow.study import EpsilonStudy, StudyConfig
from pdeflow.validation.metrics import gaussian_w2, sinkhorn_w2
from pdeflow.validation.rates import fit_rate

SMALL = dict(equations=["fokker-planck"], dim=1, grid_n=32, n_snapshots=4, T=3.0, n_samples=50,
             budgets=[], alphas=[], eps=[0.1, 0.3], perturbations=["cell-noise"])


def attempt(label, call):
    try:
        call()
    except (ValueError, TypeError) as err:
        print(f"{label:<34} {type(err).__name__}: {err}")
    else:
        print(f"{label:<34} accepted")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="results/bad_inputs_tour",
                        help="folder for the files it writes (created)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    attempt("TOML dim = true", lambda: StudyConfig(**SMALL | {"dim": True}))
    attempt("seeds = [0.7]", lambda: StudyConfig(**SMALL | {"seeds": [0.7]}))
    samples = out / "far.csv"
    np.savetxt(samples, np.array([[0.0], [0.4], [25.0]]), delimiter=",")
    attempt("a sample far outside the box", lambda: StudyConfig(
        **SMALL | {"initial": "samples", "samples_file": str(samples)}))
    attempt("negative variance in gaussian_w2", lambda: gaussian_w2([0.0], -1.0, [0.0], 1.0))
    attempt("negative std in a mixture", lambda: GaussianMixture.isotropic([1.0], [[0.0]], -0.3))

    # physical parameters and initial densities of the wrong type or range
    grid = Grid.cube(2.0, 16, 1)
    attempt("D = '0.5' (a string)", lambda: Heat(D="0.5", dim=1))
    attempt("m = None", lambda: PorousMedium(m=None, dim=1))
    attempt("a complex initial density", lambda: solve(Heat(D=0.5, dim=1), grid,
                                                       np.ones(16) * (1 + 1j), [0.0, 0.1]))
    inside = np.abs(grid.points()[:, 0]) < 1.0
    attempt("rho0 ~ 1e120: rho^m overflows", lambda: solve(
        PorousMedium(m=2.0, kappa=1.0, dim=1), grid, np.where(inside, 1e120, 0.0), [0.0, 0.1]))
    attempt("a velocity returning NaN", lambda: integrate_flow_map(
        lambda t, x: x * np.nan, np.ones((3, 1)), [0.0, 1.0], method="dopri5"))
    header = out / "with_header.csv"
    header.write_text("x\n0.1\n0.2\n")
    attempt("a samples file with a header", lambda: load_samples(header, 1))
    decoder = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(),
                                  torch.nn.Linear(8, 3)).double()
    attempt("curvature: float32 z, float64 net", lambda: scalar_curvature(decoder,
                                                                           torch.zeros(4, 2)))
    print(f"{'Sinkhorn of two identical points':<34} {sinkhorn_w2([[0.0, 0.0]], [[0.0, 0.0]])}")

    print("\n$ pdeflow demo --n 1   (exit code, then the message)")
    print("exit", pdeflow_main(["demo", "--n", "1", "--out", str(out)]))

    print("\n$ pdeflow study --workers 0   (exit code, then the message)")
    print("exit", pdeflow_main(["study", "--workers", "0", "--dim", "1", "--out", str(out)]))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_rate([0.1, 0.1, 0.3, 0.3], [1.0, 1.1, 2.0, 2.1])
        StudyConfig(**SMALL | {"initial": "empirical", "n_train": 20, "bandwidth": 0.05})
    print()
    for w in caught:
        print(f"{w.category.__name__}: {w.message}")

    # the cache follows the samples file's contents, not its name
    data = out / "points.csv"
    np.savetxt(data, np.random.default_rng(0).normal(0, 0.5, (40, 1)), delimiter=",")
    config = StudyConfig(**SMALL | {"initial": "samples", "samples_file": str(data),
                                    "bandwidth": 0.3})
    before = EpsilonStudy(config).key
    np.savetxt(data, np.random.default_rng(1).normal(0, 0.5, (40, 1)), delimiter=",")
    print(f"\ncache key before / after editing {data.name}: {before} / {EpsilonStudy(config).key}")


if __name__ == "__main__":
    main()
