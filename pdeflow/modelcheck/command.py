"""The ``pdeflow validate`` and ``pdeflow problems`` commands (argparse construction and
handlers; :func:`add_parsers` is called by :mod:`pdeflow.cli`).

``pdeflow validate --model MODULE:FACTORY [--kind KIND] --problem NAME [--out DIR] [--json FILE]
[--samples N] [--seed S] [--device D]``: FACTORY() returns the model; MODULE is a dotted module
name or a path to a ``.py`` file; ``diffusers:``, ``k-diffusion:`` and ``torchcfm:`` prefixes load
library models (:func:`pdeflow.modelcheck.adapters.load_model`). Errors print one line to stderr and
exit with status 2.
``pdeflow problems``: one line per catalogue problem (name, exact/certified, dim, description).
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import time
from pathlib import Path

from .protocol import KINDS

__all__ = ["add_parsers", "load_factory"]


def load_factory(spec: str):
    """The model returned by FACTORY() of ``"MODULE:FACTORY"`` (MODULE dotted or a .py path)."""
    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError(f"--model must be MODULE:FACTORY, got {spec!r}")
    module_name, factory_name = spec.rsplit(":", 1)
    if not module_name or not factory_name:
        raise ValueError(f"--model must be MODULE:FACTORY, got {spec!r}")
    try:
        if module_name.endswith(".py") or "/" in module_name:
            path = Path(module_name)
            if not path.is_file():
                raise ValueError(f"--model file {module_name!r} does not exist")
            loader = importlib.util.spec_from_file_location(f"_pdeflow_model_{path.stem}", path)
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ValueError:
        raise
    except Exception as err:            # the user's module failed to import: say so in one line
        raise ValueError(f"--model: importing {module_name!r} failed: {type(err).__name__}: "
                         f"{err}") from err
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        raise ValueError(f"--model: {module_name!r} has no callable {factory_name!r}")
    try:
        model = factory()
    except Exception as err:
        raise ValueError(f"--model: {spec}() failed: {type(err).__name__}: {err}") from err
    if isinstance(model, type):
        raise ValueError(f"--model: {spec}() returned the class {model.__name__}, not a model: "
                         f"return an instance ({model.__name__}(...)) or a function")
    return model


def _validate(args) -> int:
    from ..problems import get
    from ..io import output_folder
    from .validate import validate

    try:
        from .adapters import load_model

        output_folder(args.out, "validate")
        problem = get(args.problem)
        model = load_model(args.model, load_factory)
        if model is None:
            model = load_factory(args.model)
        start = time.perf_counter()
        report = validate(model, problem, kind=args.kind, samples=args.samples, seed=args.seed,
                          device=args.device, progress=not args.quiet, name=args.model)
    except ValueError as err:
        print(f"pdeflow validate: {err}".replace("\n", " "), file=sys.stderr)
        return 2
    paths = report.save(args.out)
    if args.json:
        report.write_json(args.json)
    print(report.text())
    print(f"\nvalidated in {time.perf_counter() - start:.1f} s; wrote "
          f"{', '.join(str(p) for p in paths.values())}"
          + (f" and {args.json}" if args.json else ""))
    return 0


def _problems(args) -> int:
    from ..problems import listing

    print("\n".join(listing()))
    return 0


def add_parsers(sub) -> None:
    """Add ``validate`` and ``problems`` to an argparse subparsers object."""
    validate = sub.add_parser(
        "validate", help="check a user's score / velocity / noise / denoiser model against the "
                         "truth of a catalogue problem",
        description="Error profile e(t), eps2_score / eps2_velocity, W2 / sliced W2 / MMD of "
                    "ODE and SDE samples with their floors, flow-map error (docs/validate.md).")
    validate.add_argument("--model", required=True,
                          help="MODULE:FACTORY; FACTORY() returns the model (MODULE dotted or a "
                               ".py path); or diffusers:DIR, diffusers:MODULE:FACTORY, "
                               "k-diffusion:MODULE:FACTORY, torchcfm:MODULE:FACTORY for models "
                               "of those libraries (docs/validate.md)")
    validate.add_argument("--kind", choices=KINDS,
                          help="what the model predicts (default: the library model's own kind, "
                               "else score)")
    validate.add_argument("--problem", required=True, help="catalogue name (pdeflow problems)")
    validate.add_argument("--out", default="results", help="folder for validation.{h5,png,txt} "
                                                           "(default: results)")
    validate.add_argument("--json", help="also write the summary as JSON to this file")
    validate.add_argument("--samples", type=int, default=10000,
                          help="points per profile node and generated samples (default: 10000)")
    validate.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    validate.add_argument("--device", help="torch device for a module, e.g. cpu or cuda:0")
    validate.add_argument("--quiet", action="store_true", help="no progress bars")
    validate.set_defaults(func=_validate)
    problems = sub.add_parser("problems", help="list the catalogue problems",
                              description="One line per problem: name, exact/certified, "
                                          "dimension, description.")
    problems.set_defaults(func=_problems)
