"""The ``pdeflow`` command line.

``pdeflow study [config.toml] [--flags]``  runs an epsilon study (default: porous medium m = 2 in
2-D from a three-component mixture plus its Fokker-Planck counterpart) and writes
results/epsilon_study.{h5,png,txt}; flags override the TOML file's values; a killed run started
again computes only the missing points.
``pdeflow demo``  solves a 2-D porous-medium problem from a three-component Gaussian mixture and
writes its HDF5 file and a PNG of density and velocity at a few times.
``pdeflow trajectory DATA``  the trajectory-inference table and figure for your snapshots (.npz)
or a built-in problem.
``pdeflow curvature POINTS``  the point-cloud curvature table and figure for your point cloud.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from .io import output_folder
from .problems import demo_problem

__all__ = ["main", "build_parser", "demo_problem"]


#: Fewest cells per axis of ``pdeflow demo`` (the mixture's support must clear the wall layer).
DEMO_MIN_N = 8


def _error(command: str, err) -> int:
    """Print ``err`` as the one-line error of ``pdeflow command``; the exit status 2."""
    print(f"pdeflow {command}: error: {err}".replace("\n", " "), file=sys.stderr)
    return 2


def _demo(args) -> int:
    from .io import save_solution
    from .plotting import plot_snapshots
    from .solvers.finite_volume import solve

    try:
        if args.n < DEMO_MIN_N:
            raise ValueError(f"--n must be an integer >= {DEMO_MIN_N} (cells per axis), got "
                             f"{args.n}")
        out = output_folder(args.out, "demo")
        equation, grid, rho0, times = demo_problem(args.n)
    except ValueError as err:
        return _error("demo", err)
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


def _study_help() -> dict:
    """Help text of every study flag: meaning, allowed values (the default is appended)."""
    from .study.config import EQUATIONS, INITIAL_DATA, PERTURBATIONS

    return {
        "equations": f"equations solved from the same initial data; comma-separated, from "
                     f"{', '.join(EQUATIONS)}",
        "eps": "ladder of velocity-error sizes (L2(rho) norm), >= 2 distinct values > 0, "
               "comma-separated",
        "seeds": "seeds of perturbation directions, network initialisations and samples; "
                 "distinct integers >= 0, comma-separated",
        "perturbations": f"perturbation kinds, comma-separated, from {', '.join(PERTURBATIONS)} "
                         "(rotation needs dim >= 2)",
        "budgets": "network training budgets (steps), distinct integers >= 1, comma-separated; "
                   "empty (--budgets ,) skips the network route",
        "hidden": "hidden layer widths of the trained networks, integers >= 1, comma-separated",
        "alphas": "extra stochasticity levels alpha > 0 of the backward sampler (linear equations "
                  "only; alpha = 0 always runs), comma-separated",
        "m": "porous-medium exponent, > 1 (give m or m-a)",
        "m_a": "dimension-aware porous exponent, > 0: m = 1 + m_a / dim (give m or m-a)",
        "D": "diffusion coefficient, > 0",
        "kappa": "confinement strength of the potential kappa r^2 / 2, >= 0 (0 only with "
                 "equations heat)",
        "dim": "space dimension: 1, 2 or 3",
        "initial": f"initial data: one of {', '.join(INITIAL_DATA)} (samples needs --samples-file)",
        "samples_file": "samples (n, dim) as .npy or comma-separated .csv, inside the box; "
                        "only with --initial samples",
        "holdout": "share of the samples file kept aside as fresh samples, in [0, 1)",
        "n_train": "training-set size of --initial empirical, integer >= 1",
        "bandwidth": "width of the Gaussian smoothing the samples (grid length units), > 0",
        "half_width": "the box is [-half-width, half-width]^dim, > 0",
        "grid_n": "finite-volume cells per axis, integer >= 8",
        "T": "time horizon, > 0 (must bring the confined equations near their stationary state)",
        "n_snapshots": "stored snapshot times on [0, T], integer >= 3",
        "stationary_tolerance": "relative W2 distance to the stationary state that T must reach, "
                                "> 0",
        "n_samples": "backward samples per point (exact W2 on these), integer >= 10",
        "dt": "backward-sampler time step, 0 < dt < T",
        "l1_coarsen": "density L1 on a grid coarser by this factor; must divide grid-n",
        "data_seed": "seed of the empirical training set and of the holdout split, integer >= 0",
        "lr": "Adam learning rate of the networks, > 0 (decayed 10x over a run)",
    }


def _default_text(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value) or "empty"
    return str(value)


def _list(kind):
    def parse(text):
        items = [item.strip() for item in text.split(",") if item.strip()]
        try:
            return [kind(item) for item in items]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {_KIND_NAMES[kind]}s, got {text!r}") from None
    parse.__name__ = f"comma-separated {kind.__name__} list"
    return parse


_KIND_NAMES = {int: "integer", float: "number", str: "name"}
_SPECIAL_DEFAULTS = {
    "perturbations": "the smooth and rough kinds that exist in dim; early-time and front are opt-in",
    "m": "2, unless m-a is given"}


def _add_study_parser(sub):
    import dataclasses

    from .study.config import StudyConfig

    study = sub.add_parser(
        "study", help="run an epsilon study (default: porous m = 2 + Fokker-Planck in 2-D)",
        description="Epsilon study: W2, flow-map error and density L1 of backward samples "
                    "against the size eps of the velocity error (docs/epsilon_study.md). "
                    "Flags override the values of the config file before they are checked.")
    study.add_argument("config", nargs="?",
                       help="TOML file with the keys below (underscores, e.g. half_width), at "
                            "the top level or under [study]; default: none (built-in defaults)")
    defaults = {f.name: f.default for f in dataclasses.fields(StudyConfig)}
    helps = _study_help()
    for name, kind in {**_LISTS, **_SCALARS}.items():
        parse = _list(kind) if name in _LISTS else kind
        metavar = ("LIST" if name in _LISTS else
                   {int: "INT", float: "NUMBER", str: "NAME"}[kind])
        if name == "samples_file":
            metavar = "PATH"
        study.add_argument(f"--{name.replace('_', '-')}", dest=name, type=parse, default=None,
                           metavar=metavar,
                           help=f"{helps[name]} (default: "
                                f"{_SPECIAL_DEFAULTS.get(name) or _default_text(defaults[name])})")
    study.add_argument("--scheduler", metavar="ADDRESS",
                       help="Dask scheduler address tcp://host:port to run the points on "
                            "(default: local processes)")
    study.add_argument("--workers", type=int, metavar="INT",
                       help="local worker processes, integer >= 1; 1 runs in this process "
                            "(default: one per core)")
    study.add_argument("--out", default="results", metavar="DIR",
                       help="output folder for epsilon_study.{h5,png,txt} and the cache of "
                            "finished points (default: results)")
    study.add_argument("--quiet", action="store_true", help="no progress bars (default: off)")
    study.set_defaults(func=_study)


def _study_values(args) -> dict:
    """The config file's values (unchecked) with the flags given on top."""
    from .study.config import StudyConfig

    values = StudyConfig.read_toml(args.config) if args.config else {}
    flags = {k: getattr(args, k) for k in {**_LISTS, **_SCALARS} if getattr(args, k) is not None}
    values.update(flags)
    if "m_a" in flags and "m" not in flags:      # a flag replaces the file's choice
        values.pop("m", None)
    if "m" in flags and "m_a" not in flags:
        values.pop("m_a", None)
    return values


def _study(args) -> int:
    from .study.config import StudyConfig
    from .study.epsilon_study import EpsilonStudy
    from .study.executors import check_scheduler, check_workers

    try:
        values = _study_values(args)
        where = f"config {args.config} (flags on top): " if args.config else ""
        try:
            config = StudyConfig.from_dict(values)
        except ValueError as err:
            raise ValueError(f"{where}{err}") from None
        check_workers(args.workers)
        output_folder(args.out, "study")
        if args.scheduler is not None:
            check_scheduler(args.scheduler)
        study = EpsilonStudy(config)
    except ValueError as err:
        return _error("study", err)
    start = time.perf_counter()
    try:
        result = study.run(args.out, scheduler=args.scheduler, workers=args.workers,
                           progress=not args.quiet)
    except ValueError as err:        # found during the run (a samples file edited meanwhile, ...)
        return _error("study", err)
    except KeyboardInterrupt:
        points = study.cache_dir(args.out) / "points"
        kept = len(list(points.glob("*.h5"))) if points.is_dir() else 0
        print(f"\npdeflow study: interrupted after {time.perf_counter() - start:.1f} s; "
              f"{kept} of {len(study.points)} points are kept in {points}; the same command "
              "resumes", file=sys.stderr)
        return 130
    elapsed = time.perf_counter() - start
    out = Path(args.out)
    print(result.table())
    print(f"\nstudy of {len(result.rows)} points finished in {elapsed:.1f} s; wrote "
          f"{out / 'epsilon_study.h5'}, {out / 'epsilon_study.png'}, {out / 'epsilon_study.txt'}")
    return 0


def _velocity_callable(spec: str):
    """``module:function`` (the module importable or a .py file path) -> the callable."""
    import importlib
    import importlib.util

    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"--velocity must be MODULE:FUNCTION or FILE.py:FUNCTION, got {spec!r}")
    try:
        if module_name.endswith(".py"):
            loader = importlib.util.spec_from_file_location("_pdeflow_user_velocity",
                                                            module_name)
            if loader is None or not Path(module_name).is_file():
                raise ImportError(f"no file {module_name}")
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"--velocity: cannot import {module_name!r} ({err})") from None
    function = getattr(module, attr, None)
    if not callable(function):
        raise ValueError(f"--velocity: {module_name!r} has no callable {attr!r}")
    return function


def _trajectory(args) -> int:
    from .plotting import trajectory_report
    from .trajectory import PROBLEMS, load_arrays, snapshot_data

    try:
        seeds = args.seeds or [0]
        if args.data in PROBLEMS:
            if args.velocity or args.held_out is not None:
                raise ValueError("--velocity and --held-out are for your own data, not a "
                                 "built-in problem")
            data, name = args.data, args.name or args.data
        else:
            arrays = load_arrays(args.data)
            velocity = _velocity_callable(args.velocity) if args.velocity else None
            name = args.name or Path(args.data).stem
            data = snapshot_data(**arrays, held_out=args.held_out, velocity=velocity,
                                 substeps=args.substeps, name=name)
        report = trajectory_report(data, args.out, seeds=seeds, budget=args.budget, name=name,
                                   progress=False if args.quiet else None)
    except (ValueError, TypeError) as err:
        print(f"pdeflow trajectory: error: {err}", file=sys.stderr)
        return 2
    print(report["table"])
    print(f"wrote {report['markdown']} and {report['figure']}")
    return 0


def _add_trajectory_parser(sub):
    p = sub.add_parser(
        "trajectory", help="trajectory-inference table + figure for your snapshots",
        description="Fit displacement interpolation, MIOFlow and OT-CFM to unpaired snapshots "
                    "and compare them with the truth, every error beside its scale "
                    "(docs/trajectory_inference.md).")
    p.add_argument("data", help="a .npz file with arrays times (K,), snapshots (K, n, d) and "
                                "truth_times + truth_positions (or give --velocity), optional "
                                "truth_velocities, reference; or a built-in problem name")
    p.add_argument("--velocity", metavar="MODULE:FUNCTION",
                   help="true velocity v(t, x) -> (n, d), from a module or FILE.py (default: "
                        "none; then the file must hold the true trajectories)")
    p.add_argument("--held-out", type=int, metavar="INT",
                   help="interior observation index 1..K-2 left out of training, for your data "
                        "(default: none; built-in problems: K = 6 with index 3 held out)")
    p.add_argument("--substeps", type=int, default=4, metavar="INT",
                   help="truth times per observation interval when integrating --velocity "
                        "(default: 4)")
    p.add_argument("--budget", choices=("quick", "full"), default="quick",
                   help="training budget of the networks (default: quick)")
    p.add_argument("--seeds", type=_list(int), metavar="LIST",
                   help="method seeds, comma-separated (default: 0)")
    p.add_argument("--name", help="data set label and output file stem (default: file stem)")
    p.add_argument("--out", default="results", metavar="DIR",
                   help="output folder for NAME.md and NAME.png (default: results)")
    p.add_argument("--quiet", action="store_true", help="no progress bars (default: off)")
    p.set_defaults(func=_trajectory)


def _curvature(args) -> int:
    import numpy as np

    from .plotting import curvature_report

    try:
        path = Path(args.points)
        if not path.is_file() or path.suffix not in (".npy", ".npz", ".csv"):
            raise ValueError(f"points must be an existing .npy, .npz or .csv file, got "
                             f"{args.points!r}")
        exact = boundary = None
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                unknown = sorted(set(f.files) - {"points", "exact", "boundary"})
                if unknown or "points" not in f.files:
                    raise ValueError(f"{path.name} must hold 'points' (N, D) and optionally "
                                     f"'exact', 'boundary' (N,); found {sorted(f.files)}")
                points = f["points"]
                exact = f["exact"] if "exact" in f.files else None
                boundary = f["boundary"] if "boundary" in f.files else None
        elif path.suffix == ".csv":
            points = np.loadtxt(path, delimiter=",", ndmin=2)
        else:
            points = np.load(path, allow_pickle=False)
        if args.exact:
            exact = np.load(args.exact, allow_pickle=False)
        which = args.estimators or ["diffusion", "ball_volume", "quadric"]
        report = curvature_report(points, args.dim, args.out, exact=exact, boundary=boundary,
                                  which=which, name=args.name or path.stem)
    except (ValueError, TypeError, OSError) as err:
        print(f"pdeflow curvature: error: {err}", file=sys.stderr)
        return 2
    print(report["table"])
    print(f"wrote {report['markdown']}, {report['figure']} and {report['arrays']}")
    return 0


def _add_curvature_parser(sub):
    p = sub.add_parser(
        "curvature", help="curvature estimators on your point cloud: table + figure",
        description="Scalar curvature of a sampled manifold by local quadric fitting, signed "
                    "diffusion curvature and Hickok-Blumberg ball volumes, scored against the "
                    "exact R when given (docs/point_cloud_curvature.md).")
    p.add_argument("points", help="points (N, D): .npy, .csv, or .npz with 'points' and "
                                  "optional 'exact' (N,) and 'boundary' (N,, distance to the "
                                  "boundary)")
    p.add_argument("--dim", type=int, required=True, metavar="INT",
                   help="intrinsic dimension, 1 <= dim <= D (quadric fitting is checked for 2)")
    p.add_argument("--exact", metavar="PATH", help="exact scalar curvature (N,) as .npy "
                                                   "(default: none)")
    p.add_argument("--estimators", type=_list(str), metavar="LIST",
                   help="comma-separated from diffusion, ball_volume, quadric (default: all)")
    p.add_argument("--name", help="output file stem (default: the points file's stem)")
    p.add_argument("--out", default="results", metavar="DIR",
                   help="output folder for NAME.md, NAME.png, NAME.npz (default: results)")
    p.set_defaults(func=_curvature)


_NUMBER_LIST = re.compile(r"^-[0-9.]")


def _join_negative_values(argv: list) -> list:
    """``--eps -0.1,1`` as ``--eps=-0.1,1``: argparse would take a value that starts with '-'
    (and is not a plain negative number) for an option."""
    out, i = [], 0
    value_flags = {f"--{name.replace('_', '-')}" for name in {**_LISTS, **_SCALARS}}
    while i < len(argv):
        token = argv[i]
        if token in value_flags and i + 1 < len(argv) and _NUMBER_LIST.match(argv[i + 1]):
            out.append(f"{token}={argv[i + 1]}")
            i += 2
            continue
        out.append(token)
        i += 1
    return out


_DESCRIPTION = """\
pdeflow: ground-truth PDE solutions (heat, Fokker-Planck, porous medium) to validate learned
score and velocity fields.

  pdeflow study [config.toml] [--flags]   run an epsilon study; flags override the file
  pdeflow demo                             solve a 2-D porous-medium problem, write HDF5 + PNG
  pdeflow validate --problem P --model M   check a model against a catalogue problem's truth
  pdeflow problems                         list the catalogue problems
  pdeflow trajectory DATA.npz              trajectory inference on your snapshots: table + figure
  pdeflow curvature POINTS.npy --dim 2     curvature estimators on your point cloud

"pdeflow COMMAND --help" lists the options of a command."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``pdeflow`` command, with every subcommand (the CLI docs are built from it).

    Returns
    -------
    argparse.ArgumentParser
        Parsed arguments carry ``func``, the subcommand's handler taking the namespace.
    """
    from . import __version__

    parser = argparse.ArgumentParser(prog="pdeflow", description=_DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"pdeflow {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="solve a 2-D porous-medium problem, write HDF5 + PNG")
    demo.add_argument("--out", default="results", help="output folder (default: results)")
    demo.add_argument("--n", type=int, default=128, help="cells per axis (default: 128)")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(func=_demo)
    _add_study_parser(sub)
    _add_trajectory_parser(sub)
    _add_curvature_parser(sub)
    from .modelcheck.command import add_parsers as add_modelcheck_parsers

    add_modelcheck_parsers(sub)   # pdeflow validate, pdeflow problems
    return parser


def main(argv=None) -> int:
    """Run the ``pdeflow`` command with ``argv`` (default: ``sys.argv[1:]``); return its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(_join_negative_values(argv))
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
