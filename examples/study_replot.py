"""Load a finished epsilon study's HDF5 file and analyse it without recomputing anything.

Re-draws the study figure, prints the rate fits, and draws one extra analysis: the amplification
(flow-map error) / eps for every perturbation kind, against eps - how much the backward flow
magnifies a velocity error of each shape.

    python examples/study_replot.py [results/epsilon_study.h5] [--out results/replot]

Quick run (tested): python examples/study_replot.py results/epsilon_study.h5  -- under 30 s on 2 cores (measured 2 s)
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pdeflow.study import StudyResult  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", nargs="?", default="results/epsilon_study.h5")
    parser.add_argument("--out", default="results/replot")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = StudyResult.load(args.path)
    print(f"{args.path}: {len(result.rows)} points, equations {result.config.equations}, "
          f"eps {list(result.config.eps)}")
    for f in result.fits:
        print(f"  {f['problem']:<14} alpha {f['alpha']:g} {f['group']:<8}{f['metric']:<9} "
              f"slope {f['slope']:.3f} [{f['lo']:.3f}, {f['hi']:.3f}]")
    result.plot(out / "study.png")
    panels = sorted({(r["problem"], r["alpha"]) for r in result.rows})
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.8), squeeze=False)
    for ax, (problem, alpha) in zip(axes[0], panels):
        rows = [r for r in result.rows if (r["problem"], r["alpha"]) == (problem, alpha)
                and r["route"] == "perturbation"]
        for kind in sorted({r["kind"] for r in rows}):
            sel = sorted((r["eps"], r["flow_map"] / r["eps"]) for r in rows if r["kind"] == kind)
            ax.plot(*zip(*sel), marker="o", label=kind)
        ax.set(xscale="log", yscale="log", xlabel="eps", ylabel="flow-map error / eps",
               title=f"{problem}, alpha = {alpha:g}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "amplification.png", dpi=100)
    print(f"wrote {out / 'study.png'} and {out / 'amplification.png'}")


if __name__ == "__main__":
    main()
