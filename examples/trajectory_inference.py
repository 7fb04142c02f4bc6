"""Trajectory inference against true Lagrangian flow maps: MIOFlow, OT-CFM, displacement
interpolation on snapshot data sets of pdeflow's problems (docs/trajectory_inference.md).

Writes the table (each method x each data set, 3 seeds, mean +- sd, training time) as markdown
and the figure of true vs learned trajectories.

    python examples/trajectory_inference.py --quick [--out results/trajectory_inference]
    (--out docs/img refreshes the docs figure)

Quick run (tested): python examples/trajectory_inference.py --quick  -- under 900 s on 2 cores (measured 248 s)
"""
import argparse
import json
import os
import time

import numpy as np  # noqa: E402
import torch  # noqa: E402

from pdeflow.io import atomic_file  # noqa: E402
from pdeflow.plotting import plot_trajectories  # noqa: E402
from pdeflow.trajectory import (DisplacementInterpolation, FULL_BUDGET, QUICK_BUDGET,  # noqa: E402
                                evaluate, format_table, make_snapshots, run_table)


def reference_columns(n, problems, seeds=(0, 1, 2), K=6, held_out=3):
    """The columns that need no training (truth energy, training-time bound, displacement
    interpolation's errors and energy, the stay-put and exact-OT references) on the data sets
    of a table run (seed 1000 + s): to restate a table whose networks are not retrained."""
    rows = []
    for problem in problems:
        for seed in seeds:
            data = make_snapshots(problem, K=K, n=n, held_out=held_out, seed=1000 + seed)
            rows.append({"problem": problem, "method": "displacement", "seed": seed,
                         **evaluate(DisplacementInterpolation().fit(data), data),
                         "train_seconds": np.nan})
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small training budget (< 5 min)")
    parser.add_argument("--out", default="results/trajectory_inference",
                        help="folder for the table and PNG (docs/img refreshes the docs figure)")
    parser.add_argument("--references-only", action="store_true",
                        help="only the columns that need no training, on the full table's data")
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    budget = QUICK_BUDGET if args.quick else FULL_BUDGET
    start = time.perf_counter()
    if args.references_only:
        from pdeflow.trajectory import TABLE_PROBLEMS
        table = format_table(reference_columns(budget["n"], TABLE_PROBLEMS))
        path = os.path.join(args.out, "trajectory_references.md")
        atomic_file(path, lambda tmp: tmp.write_text(table + "\n"))
        print(table)
        return
    rows, first = run_table(budget=budget)
    table = format_table(rows)
    name = "trajectory_inference" + ("_quick" if args.quick else "")
    atomic_file(os.path.join(args.out, name + ".md"),
                lambda tmp: tmp.write_text(f"budget: {json.dumps(budget)}\n\n{table}\n"))
    plot_trajectories(first, os.path.join(args.out, name + ".png"),
                      methods=("displacement", "MIOFlow", "OT-CFM"))
    print(f"budget: {json.dumps(budget)}")
    print(table)
    print(f"wall time {time.perf_counter() - start:.0f} s; wrote {args.out}/{name}.md/.png")


if __name__ == "__main__":
    main()
