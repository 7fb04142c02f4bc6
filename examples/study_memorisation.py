"""The memorisation limit and how eps and N trade off.

Part 1 (closed form): the exact empirical score. rho_0 is the empirical measure of N samples of
the three-component mixture smoothed at bandwidth 0.02; under Fokker-Planck it stays a Gaussian
mixture, so its velocity is exact at every t (pdeflow.exact.GaussianMixtureFlow) and the
probability-flow ODE (adaptive Dormand-Prince) flows samples of rho_T back onto the training set.
A `gradient` perturbation of unit L2(rho_t dx dt) norm (measured by Monte Carlo with
pdeflow.learn.field_error) is added at eps = 0.1, 0.3, 1.

Part 2 (finite volume): the same question through the study engine. The initial data are the empirical measure of N samples of the three-component mixture smoothed
at a small bandwidth (0.15): the exact velocity of the Fokker-Planck flow from it is the
"empirical optimal score", and flowing rho_T back with it returns (close to) the training set.
For N = 25, 100, 400 and a ladder of eps, the memorisation ratio (median distance to the nearest
training point / to the nearest fresh sample; 1 = generalises, -> 0 = copies) shows how a velocity
error pushes generated points off the training set, and how that depends on N. 96^2 cells (the
bandwidth spans 1.8 cells). About 2 minutes on 2 free cores; measured 540 s on the shared
machine while a second copy ran.

    python examples/study_memorisation.py [--out results/memorisation] [--workers 2]

Quick run (tested): python examples/study_memorisation.py --workers 2  -- under 1800 s on 2 cores (measured 540 s)
"""
import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from pdeflow.study import EpsilonStudy, StudyConfig  # noqa: E402

SIZES = (25, 100, 400)
EPS = (0.0, 0.1, 0.3, 1.0)


def exact_empirical_limit():
    """Memorisation ratios with the exact empirical velocity (+ eps w): {(N, eps): (median, share)}."""
    import numpy as np

    from pdeflow.equations import FokkerPlanck
    from pdeflow.exact import GaussianMixture, GaussianMixtureFlow
    from pdeflow.grid import Grid
    from pdeflow.learn import field_error, gaussian_mixture_target
    from pdeflow.problems import three_component_mixture
    from pdeflow.solvers import sample_backward
    from pdeflow.solvers.interpolation import interpolate_field
    from pdeflow.validation import memorisation
    from pdeflow.study.perturbations import perturbation_field

    equation, horizon = FokkerPlanck(D=1.0, kappa=1.0, dim=2), 3.5
    mixture, grid = three_component_mixture(2), Grid.cube(4.0, 64, 2)
    w_grid = perturbation_field("gradient", grid, seed=0)
    out = {}
    for n_train in SIZES:
        training = mixture.sample(n_train, np.random.default_rng([0, n_train]))
        fresh = mixture.sample(n_train, np.random.default_rng([1, n_train]))
        flow = GaussianMixtureFlow(equation, GaussianMixture.empirical(training, 0.02))
        target = gaussian_mixture_target(flow, 0.0, horizon)
        norm = field_error(lambda t, x: flow.velocity(t[0], x)   # noqa: B023
                           + interpolate_field(w_grid, grid, x), target, 4096, seed=0).eps
        start = flow.at(horizon).sample(300, np.random.default_rng(2))
        for eps in EPS:
            def velocity(t, x, eps=eps, norm=norm, flow=flow):
                return flow.velocity(t, x) + (eps / norm) * interpolate_field(w_grid, grid, x)
            final = sample_backward(equation, velocity, start, [horizon, 0.0], method="dopri5",
                                    rtol=1e-4, atol=1e-6).final
            mem = memorisation(final, training, fresh)
            out[(n_train, eps)] = (mem.median_ratio, mem.fraction)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="results/memorisation")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    exact = exact_empirical_limit()
    lines = ["exact empirical score (bandwidth 0.02): median memorisation ratio "
             "(share of copies, ratio < 1/3)",
             f"{'N':>5}" + "".join(f"{'eps=' + format(e, 'g'):>16}" for e in EPS)]
    for n_train in SIZES:
        lines.append(f"{n_train:>5}" + "".join(
            f"{exact[(n_train, e)][0]:>9.3f} ({exact[(n_train, e)][1]:.2f})" for e in EPS))
    exact_text = "\n".join(lines)
    print(exact_text)
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
    text = exact_text + "\n\nfinite volume, bandwidth 0.15: median memorisation ratio "
    text += "(1 = generalises, -> 0 = copies the training set)\n"
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
