"""The memorisation limit: the exact empirical score returns the training set.

A score-based generator (Fokker-Planck, f = -x, g = 1, i.e. D = 1/2, kappa = 1, 2-D) trained on N
samples of a three-component Gaussian mixture can at best learn the *empirical* optimal score, the
score of the N-point measure diffused to time t. pdeflow knows it in closed form, so we can flow
samples of rho_T back with it (probability-flow ODE, adaptive Dormand-Prince, T = 3 down to
t_min) and see what comes out. Smoothing the empirical measure with a bandwidth h moves the model
away from that optimum; for each (N, h) we report

* eps_truth - L2(rho_t) error of the model velocity against the true one on [t_min, T];
* eps_emp   - its distance to the exact empirical optimum (h = 0);
* median ratio / fraction - nearest-training over nearest-fresh distance of generated points
  (about 1: new samples; -> 0: copies), fraction below 1/3;
* W2 gen / W2 train - exact W2 of the generated points, and of the training set itself, to fresh
  target samples.

Usage:  PYTHONPATH=. python examples/memorisation_limit.py [--quick] [--out results/memorisation_limit]
Writes memorisation_limit.png into --out (docs/img refreshes the docs figure) and prints a
markdown table.

Quick run (tested): python examples/memorisation_limit.py --quick  -- under 70 s on 2 cores (measured 17 s)
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from pdeflow.equations import FokkerPlanck  # noqa: E402
from pdeflow.exact import GaussianMixture, GaussianMixtureFlow  # noqa: E402
from pdeflow.solvers import sample_backward  # noqa: E402
from pdeflow.study.memorisation_limit import memorisation_point  # noqa: E402

EQUATION = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
TARGET = GaussianMixture.isotropic([0.5, 0.3, 0.2], [[-1.0, 0.0], [1.0, 0.3], [0.0, 1.2]],
                                   [0.3, 0.25, 0.35])
T, T_MIN = 3.0, 1e-4


def scatter(ax, n_train, bandwidth, seed=0):
    """Generated points (dots) over the training set (crosses) for one model."""
    rng = np.random.default_rng(seed)
    training = TARGET.sample(n_train, rng)
    model = GaussianMixtureFlow(EQUATION, GaussianMixture.empirical(training, max(bandwidth, 1e-6)))
    start = GaussianMixtureFlow(EQUATION, TARGET).at(T).sample(400, rng)
    generated = sample_backward(EQUATION, model, start, [T, T_MIN], method="dopri5", rtol=1e-4,
                                atol=1e-6).final
    ax.scatter(*generated.T, s=4, c="tab:blue", label="generated (400)")
    ax.scatter(*training.T, s=18, marker="x", c="tab:red", label=f"training (N = {n_train})")
    ax.set_title(f"N = {n_train}, h = {bandwidth:g}" + (" (exact empirical score)"
                                                       if bandwidth == 0 else ""))
    ax.set_aspect("equal")
    ax.legend(loc="best", fontsize=7, framealpha=0.9)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="two N, three h (seconds)")
    parser.add_argument("--out", default="results/memorisation_limit",
                        help="folder for the PNG (docs/img refreshes the docs figure)")
    args = parser.parse_args(argv)
    sizes = [100, 400] if args.quick else [100, 400, 1600]
    bandwidths = [0.0, 0.05, 0.2] if args.quick else [0.0, 0.01, 0.03, 0.1, 0.3]
    rows = []
    start = time.perf_counter()
    for n_train in sizes:
        for h in bandwidths:
            rows.append(memorisation_point(EQUATION, TARGET, n_train, h, T=T, t_min=T_MIN,
                                           n_generate=500, seed=0))
    elapsed = time.perf_counter() - start
    print(f"T = {T}, t_min = {T_MIN}, 500 generated points per row, seed 0 ({elapsed:.0f} s)\n")
    print("| N | h | eps_truth | eps_emp | median ratio | fraction < 1/3 | W2 gen | W2 train |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r.n_train} | {r.bandwidth:g} | {r.eps_truth:.3f} | {r.eps_empirical:.3f} | "
              f"{r.median_ratio:.3f} | {r.fraction:.2f} | {r.w2_target:.3f} | "
              f"{r.w2_training:.3f} |")

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    scatter(axes[0], 100, 0.0)
    scatter(axes[1], 100, 0.2)
    for n_train in sizes:
        sel = [r for r in rows if r.n_train == n_train]
        axes[2].plot([r.eps_truth for r in sel], [r.fraction for r in sel], "o-",
                     label=f"N = {n_train}")
        for r in sel:
            axes[2].annotate(f"h={r.bandwidth:g}", (r.eps_truth, r.fraction), fontsize=6,
                             textcoords="offset points", xytext=(3, 3))
    axes[2].set_xscale("log")
    axes[2].xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes[2].set_xlabel("eps_truth = ||v_model - v||_L2(rho_t), t in [t_min, T]")
    axes[2].set_ylabel("fraction of generated points that copy a training point")
    axes[2].set_title("memorisation vs epsilon, by N")
    axes[2].legend()
    fig.tight_layout()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "memorisation_limit.png", dpi=110)
    print(f"\nwrote {out / 'memorisation_limit.png'}")


if __name__ == "__main__":
    main()
