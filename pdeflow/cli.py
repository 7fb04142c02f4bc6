"""The ``pdeflow`` command line.

``pdeflow study [config.toml] [--flags]``  runs an epsilon study (default: porous medium m = 2 in
2-D from a three-component mixture plus its Fokker-Planck counterpart) and writes
results/epsilon_study.{h5,png,txt}; flags override the TOML file's values; a killed run started
again computes only the missing points.
``pdeflow demo``  solves a 2-D porous-medium problem from a three-component Gaussian mixture and
writes its HDF5 file and a PNG of density and velocity at a few times.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .problems import demo_problem

__all__ = ["main", "build_parser", "demo_problem"]


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


_LISTS = {"equations": str, "eps": float, "seeds": int, "perturbations": str, "budgets": int,
          "hidden": int, "alphas": float}
_SCALARS = {"m": float, "m_a": float, "D": float, "kappa": float, "dim": int, "initial": str,
            "samples_file": str, "holdout": float, "n_train": int, "bandwidth": float,
            "half_width": float, "grid_n": int, "T": float, "n_snapshots": int,
            "stationary_tolerance": float, "n_samples": int, "dt": float, "l1_coarsen": int,
            "data_seed": int, "lr": float}


def _list(kind):
    def parse(text):
        items = [item for item in text.split(",") if item.strip()]
        return [kind(item) for item in items]
    parse.__name__ = f"comma-separated {kind.__name__} list"
    return parse


def _add_study_parser(sub):
    study = sub.add_parser(
        "study", help="run an epsilon study (default: porous m = 2 + Fokker-Planck in 2-D)",
        description="Epsilon study: W2, flow-map error and density L1 of backward samples "
                    "against the size eps of the velocity error (docs/epsilon_study.md).")
    study.add_argument("config", nargs="?", help="TOML file (keys of StudyConfig); flags override")
    for name, kind in {**_LISTS, **_SCALARS}.items():
        parse = _list(kind) if name in _LISTS else kind
        study.add_argument(f"--{name.replace('_', '-')}", dest=name, type=parse, default=None,
                           help="comma-separated list" if name in _LISTS else None)
    study.add_argument("--scheduler", help="Dask scheduler address tcp://host:port "
                                           "(default: local processes)")
    study.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    study.add_argument("--out", default="results", help="output folder (default: results)")
    study.add_argument("--quiet", action="store_true", help="no progress bars")
    study.set_defaults(func=_study)


def _study(args) -> int:
    from .study.epsilon_study import EpsilonStudy
    from .study.config import StudyConfig

    values = {}
    if args.config:
        values = StudyConfig.from_toml(args.config).to_dict()
    values.update({k: getattr(args, k) for k in {**_LISTS, **_SCALARS}
                   if getattr(args, k) is not None})
    if args.m_a is not None and args.m is None:      # a flag replaces the file's choice
        values.pop("m", None)
    if args.m is not None and args.m_a is None:
        values.pop("m_a", None)
    try:
        config = StudyConfig.from_dict(values)
    except ValueError as err:
        print(f"pdeflow study: {err}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    result = EpsilonStudy(config).run(args.out, scheduler=args.scheduler, workers=args.workers,
                                      progress=not args.quiet)
    elapsed = time.perf_counter() - start
    out = Path(args.out)
    print(result.table())
    print(f"\nstudy of {len(result.rows)} points finished in {elapsed:.1f} s; wrote "
          f"{out / 'epsilon_study.h5'}, {out / 'epsilon_study.png'}, {out / 'epsilon_study.txt'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``pdeflow`` command, with every subcommand (the CLI docs are built from it).

    Returns
    -------
    argparse.ArgumentParser
        Parsed arguments carry ``func``, the subcommand's handler taking the namespace.
    """
    parser = argparse.ArgumentParser(prog="pdeflow", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="solve a 2-D porous-medium problem, write HDF5 + PNG")
    demo.add_argument("--out", default="results", help="output folder (default: results)")
    demo.add_argument("--n", type=int, default=128, help="cells per axis (default: 128)")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(func=_demo)
    _add_study_parser(sub)
    from .modelcheck.command import add_parsers as add_modelcheck_parsers

    add_modelcheck_parsers(sub)   # pdeflow validate, pdeflow problems
    return parser


def main(argv=None) -> int:
    """Run the ``pdeflow`` command with ``argv`` (default: ``sys.argv[1:]``); return its exit code."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
