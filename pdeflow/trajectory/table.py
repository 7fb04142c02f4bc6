"""The comparison table: each method x each data set x seeds, mean +- sd, training time."""
from __future__ import annotations

import time

import numpy as np

from ..progress import progress_bar
from .baselines import DisplacementInterpolation, OTCFM, Oracle
from .metrics import evaluate
from .mioflow import MIOFlow
from .snapshots import make_snapshots, true_flow

__all__ = ["TABLE_PROBLEMS", "QUICK_BUDGET", "FULL_BUDGET", "run_table", "format_table"]

#: the data sets of the table (the known-answer ``ou_gaussian`` is in the tests)
TABLE_PROBLEMS = ("heat_1d", "fokker_planck_mixture", "ou_mixture_5d", "porous_mixture",
                  "rotational")
#: the budget of ``--quick``: particles per snapshot, MIOFlow local / global epochs, OT-CFM steps
QUICK_BUDGET = {"n": 200, "mioflow": {"local_epochs": 8, "global_epochs": 2},
                "otcfm": {"steps": 80}}
#: the budget of the full table (about 36 min here)
FULL_BUDGET = {"n": 300, "mioflow": {"local_epochs": 100, "global_epochs": 20},
               "otcfm": {"steps": 1000}}
METRICS = ("w1", "w1_floor", "w2", "traj_rms", "traj_end", "vel_rel", "energy", "energy_bound",
           "train_seconds")


def _methods(budget, seed):
    return {"truth (floor)": None, "displacement": DisplacementInterpolation(seed),
            "MIOFlow": MIOFlow(seed=seed, **budget["mioflow"]),
            "OT-CFM": OTCFM(seed=seed, **budget["otcfm"])}


def run_table(problems=TABLE_PROBLEMS, seeds=(0, 1, 2), budget=None, *, K: int = 6,
              held_out: int = 3, progress: bool = True):
    """Rows (dicts: problem, method, seed, the metrics of :func:`evaluate`, train_seconds) and
    the data sets of the first seed (for figures). Each seed draws its own data set of
    ``budget["n"]`` particles per snapshot."""
    budget = QUICK_BUDGET if budget is None else budget
    rows, first = [], {}
    jobs = [(p, s) for p in problems for s in seeds]
    for problem, seed in progress_bar(jobs, progress=progress, desc="table"):
        data = make_snapshots(problem, K=K, n=budget["n"], held_out=held_out, seed=1000 + seed)
        first.setdefault(problem, (data, {}))
        for name, model in _methods(budget, seed).items():
            model = Oracle(true_flow(problem)) if model is None else model
            start = time.perf_counter()
            model.fit(data)
            seconds = time.perf_counter() - start
            rows.append({"problem": problem, "method": name, "seed": seed,
                         **evaluate(model, data), "train_seconds": seconds})
            if seed == seeds[0]:
                first[problem][1][name] = model
    return rows, first


def format_table(rows, metrics=METRICS) -> str:
    """Markdown table of mean +- sd over seeds per (problem, method)."""
    keys = list(dict.fromkeys((r["problem"], r["method"]) for r in rows))
    lines = ["| data set | method | " + " | ".join(metrics) + " |",
             "|---|---|" + "---|" * len(metrics)]
    for problem, method in keys:
        group = [r for r in rows if r["problem"] == problem and r["method"] == method]
        cells = []
        for m in metrics:
            values = np.array([r[m] for r in group], dtype=float)
            cells.append(f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0:.3f}")
        lines.append(f"| {problem} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
