"""The comparison table: each method x each data set x seeds, mean +- sd, training time."""
from __future__ import annotations

import time

import numpy as np

from ..progress import progress_bar
from .baselines import DisplacementInterpolation, OTCFM, Oracle
from ._flows import show_progress
from .metrics import evaluate, trajectory_references
from .mioflow import MIOFlow
from .snapshots import SnapshotData, make_snapshots

__all__ = ["TABLE_PROBLEMS", "QUICK_BUDGET", "FULL_BUDGET", "BUDGETS", "METRICS", "run_table",
           "format_table"]

#: the data sets of the table (the known-answer ``ou_gaussian`` is in the tests)
TABLE_PROBLEMS = ("heat_1d", "fokker_planck_mixture", "ou_mixture_5d", "porous_mixture",
                  "rotational")
#: the budget of ``--quick``: particles per snapshot, MIOFlow local / global epochs, OT-CFM steps
QUICK_BUDGET = {"n": 200, "mioflow": {"local_epochs": 8, "global_epochs": 2},
                "otcfm": {"steps": 80}}
#: the budget of the full table (about 36 min here)
FULL_BUDGET = {"n": 300, "mioflow": {"local_epochs": 100, "global_epochs": 20},
               "otcfm": {"steps": 1000}}
#: the columns of :func:`format_table`: each error beside its scale (docs/trajectory_inference.md)
METRICS = ("w1", "w1_floor", "w2", "traj_rms", "traj_stay", "traj_ot", "traj_uvp", "traj_end",
           "vel_rel", "energy", "energy_truth", "energy_bound", "train_seconds")
#: the budget names accepted by :func:`run_table` (and ``pdeflow trajectory --budget``)
BUDGETS = {"quick": QUICK_BUDGET, "full": FULL_BUDGET}


def _methods(budget, seed):
    return {"truth (floor)": None, "displacement": DisplacementInterpolation(seed),
            "MIOFlow": MIOFlow(seed=seed, **budget["mioflow"]),
            "OT-CFM": OTCFM(seed=seed, **budget["otcfm"])}


def _budget(budget) -> dict:
    if budget is None:
        return QUICK_BUDGET
    if isinstance(budget, str):
        if budget not in BUDGETS:
            raise ValueError(f"budget must be one of {sorted(BUDGETS)} or a dict, got {budget!r}")
        return BUDGETS[budget]
    if not isinstance(budget, dict) or not {"n", "mioflow", "otcfm"} <= set(budget):
        raise ValueError("budget must be 'quick', 'full' or a dict with keys n, mioflow, otcfm")
    return budget


def run_table(problems=TABLE_PROBLEMS, seeds=(0, 1, 2), budget=None, *, K: int = 6,
              held_out: int = 3, progress: bool | None = None):
    """Rows (dicts: problem, method, seed, the metrics of :func:`evaluate`, train_seconds) and
    the data sets of the first seed with their fitted models (for figures).

    ``problems``: built-in problem names (each seed draws its own data set of ``budget["n"]``
    particles per snapshot at ``K`` times with ``held_out``) and/or your own
    :class:`SnapshotData` (from :func:`~pdeflow.trajectory.snapshot_data`; each seed refits the
    methods with that seed on the same data; its own ``held_out`` is used). ``budget``:
    "quick" (default), "full" or a dict like :data:`QUICK_BUDGET`. ``progress``: tqdm bars
    (None: only on a terminal)."""
    budget = _budget(budget)
    if isinstance(problems, (str, SnapshotData)):
        problems = [problems]
    if len(problems) == 0 or len(seeds) == 0:
        raise ValueError("problems and seeds must not be empty")
    for p in problems:
        if not isinstance(p, (str, SnapshotData)):
            raise TypeError(f"problems must hold problem names or SnapshotData, got "
                            f"{type(p).__name__}")
    names = [p if isinstance(p, str) else p.name for p in problems]
    if len(set(names)) != len(names):
        raise ValueError(f"problems must have distinct names, got {names}")
    bar = show_progress(progress)
    rows, first = [], {}
    jobs = [(p, s) for p in problems for s in seeds]
    for problem, seed in progress_bar(jobs, progress=bar, desc="table"):
        if isinstance(problem, str):
            data = make_snapshots(problem, K=K, n=budget["n"], held_out=held_out,
                                  seed=1000 + seed)
        else:
            data = problem
        references = trajectory_references(data)
        first.setdefault(data.name, (data, {}))
        for name, model in _methods(budget, seed).items():
            model = Oracle() if model is None else model
            start = time.perf_counter()
            model.fit(data) if name in ("truth (floor)", "displacement") else \
                model.fit(data, progress=progress if bar else False)
            seconds = time.perf_counter() - start
            rows.append({"problem": data.name, "method": name, "seed": seed,
                         **evaluate(model, data, references), "train_seconds": seconds})
            if seed == seeds[0]:
                first[data.name][1][name] = model
    return rows, first


def format_table(rows, metrics=METRICS) -> str:
    """Markdown table of mean +- sd over seeds per (problem, method)."""
    keys = list(dict.fromkeys((r["problem"], r["method"]) for r in rows))
    if not rows:
        raise ValueError("rows must not be empty")
    lines = ["| data set | method | " + " | ".join(metrics) + " |",
             "|---|---|" + "---|" * len(metrics)]
    for problem, method in keys:
        group = [r for r in rows if r["problem"] == problem and r["method"] == method]
        cells = []
        for m in metrics:
            values = np.array([r.get(m, np.nan) for r in group], dtype=float)
            if not np.isfinite(values).any():
                cells.append("-")
                continue
            sd = values.std(ddof=1) if len(values) > 1 else 0.0
            cells.append(f"{values.mean():.3f} ± {sd:.3f}")
        lines.append(f"| {problem} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
