"""The memorisation limit and how eps and N trade off.

The initial data are the empirical measure of N samples of the three-component mixture smoothed
at a small bandwidth (0.15): the exact velocity of the Fokker-Planck flow from it is the
"empirical optimal score", and flowing rho_T back with it returns (close to) the training set.
For N = 25, 100, 400 and a ladder of eps, the memorisation ratio (median distance to the nearest
training point / to the nearest fresh sample; 1 = generalises, -> 0 = copies) shows how a velocity
error pushes generated points off the training set, and how that depends on N. 96^2 cells (the
bandwidth spans 1.8 cells). About 2 minutes on 2 cores.

    python examples/study_memorisation.py [--out results/memorisation] [--workers 2]
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pdeflow.validation import EpsilonStudy, StudyConfig  # noqa: E402

SIZES = (25, 100, 400)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="results/memorisation")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    out = Path(args.out)
    table = {}
    for n_train in SIZES:
        config = StudyConfig(equations=["fokker-planck"], initial="empirical", n_train=n_train,
                             bandwidth=0.15, grid_n=96, eps=[0.03, 0.1, 0.3, 1.0],
                             perturbations=["gradient", "cell-noise"], budgets=[], alphas=[],
                             n_samples=400)
        result = EpsilonStudy(config).run(out / f"N{n_train}", workers=args.workers,
                                          progress=False)
        for r in result.rows:
            table[(n_train, r["kind"], r["eps"])] = (r["mem_median"], r["mem_fraction"])
    kinds = ("gradient", "cell-noise")
    eps_values = sorted({e for (_, _, e) in table})
    lines = [f"{'N':>5} {'kind':<12}" + "".join(f"{'eps=' + format(e, 'g'):>12}"
                                               for e in eps_values)]
    for n_train in SIZES:
        for kind in ("exact",) + kinds:
            cells = [table.get((n_train, kind, e)) for e in eps_values]
            lines.append(f"{n_train:>5} {kind:<12}" + "".join(
                f"{c[0]:>12.3f}" if c else f"{'':>12}" for c in cells))
    text = "median memorisation ratio (1 = generalises, -> 0 = copies the training set)\n"
    text += "\n".join(lines)
    print(text)
    (out / "memorisation.txt").write_text(text + "\n")
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for n_train, colour in zip(SIZES, ("C0", "C1", "C2")):
        for kind, style in zip(kinds, ("-", "--")):
            pts = [(e, table[(n_train, kind, e)][0]) for e in eps_values if e > 0]
            ax.plot(*zip(*pts), style, marker="o", color=colour, label=f"N = {n_train}, {kind}")
        ax.axhline(table[(n_train, "exact", 0.0)][0], color=colour, lw=0.8, ls=":")
    ax.set(xscale="log", xlabel="eps", ylabel="median memorisation ratio",
           title="dotted: eps = 0 (FV empirical velocity)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "memorisation.png", dpi=100)
    print(f"wrote {out / 'memorisation.png'}")


if __name__ == "__main__":
    main()
