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

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from pdeflow.trajectory.table import FULL_BUDGET, QUICK_BUDGET, format_table, run_table  # noqa: E402


def figure(first, path, count=25):
    problems = [p for p in first if first[p][0].dim == 2]
    methods = ["displacement", "MIOFlow", "OT-CFM"]
    fig, axes = plt.subplots(len(problems), len(methods), figsize=(4 * len(methods),
                                                                   3.6 * len(problems)))
    for row, problem in zip(np.atleast_2d(axes), problems):
        data, models = first[problem]
        x0 = data.truth_positions[0][:count]
        truth = data.truth_positions[:, :count]
        for ax, method in zip(row, methods):
            learned = models[method].transport(x0, data.truth_times)
            ax.scatter(*data.snapshots[-1].T, s=2, c="0.8")
            for i in range(count):
                ax.plot(truth[:, i, 0], truth[:, i, 1], "k-", lw=0.8)
                ax.plot(learned[:, i, 0], learned[:, i, 1], "r-", lw=0.8)
            ax.plot(*x0.T, "k.", ms=3)
            ax.set_title(f"{problem}: {method}", fontsize=9)
            ax.set_aspect("equal")
    fig.suptitle("true (black) vs learned (red) trajectories from the same starting points; "
                 "grey: last snapshot", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small training budget (< 5 min)")
    parser.add_argument("--out", default="results/trajectory_inference",
                        help="folder for the table and PNG (docs/img refreshes the docs figure)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    budget = QUICK_BUDGET if args.quick else FULL_BUDGET
    start = time.perf_counter()
    rows, first = run_table(budget=budget)
    table = format_table(rows)
    name = "trajectory_inference" + ("_quick" if args.quick else "")
    with open(os.path.join(args.out, name + ".md"), "w") as f:
        f.write(f"budget: {json.dumps(budget)}\n\n{table}\n")
    figure(first, os.path.join(args.out, name + ".png"))
    print(f"budget: {json.dumps(budget)}")
    print(table)
    print(f"wall time {time.perf_counter() - start:.0f} s; wrote {args.out}/{name}.md/.png")


if __name__ == "__main__":
    main()
