"""Learn the velocity of a 2-D Gaussian-mixture Fokker-Planck flow three ways and report epsilon.

Equation: FokkerPlanck(D = 1/2, kappa = 1) (score-based diffusion f = -x, g = 1), t in [0.05, 1],
initial law: a two-component Gaussian mixture. Trained fields:

1. regression of VelocityMLP on the exact velocity;
2. DSM with a conservative score s = grad phi (PotentialScore), w_R = 0;
3. the same with the log-Fokker-Planck residual, w_R = 0.1 (exact Laplacian).

For each: eps_v^2 = int int |v_theta - v|^2 rho_t dx dt on held-out points (+- standard error); for
the DSM models also eps_s^2 (score error; eps_v = D eps_s) and the mean squared residual.
Writes learned_velocity.png into --out (default results/learn_velocity; --out docs/img refreshes
the docs figure). About 2 minutes on one CPU core at the default 2000 steps:

    PYTHONPATH=. python examples/learn_velocity.py [--steps 2000] [--out results/learn_velocity]

Quick run (tested): python examples/learn_velocity.py --steps 100  -- under 60 s on 2 cores (measured 14 s)
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from pdeflow.equations import FokkerPlanck
from pdeflow.exact import GaussianMixture, GaussianMixtureFlow
from pdeflow.learn import (PotentialMLP, PotentialScore, ScoreVelocity, VelocityMLP, field_error,
                           fit_dsm, fit_regression, fp_residual, gaussian_mixture_target)

T0, T1, STEPS = 0.05, 1.0, 2000


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=STEPS, help="training steps per model")
    parser.add_argument("--out", default="results/learn_velocity",
                        help="folder for learned_velocity.png (docs/img refreshes the docs figure)")
    args = parser.parse_args(argv)
    out = Path(args.out) / "learned_velocity.png"
    torch.set_num_threads(1)
    eq = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
    flow = GaussianMixtureFlow(eq, GaussianMixture.isotropic([0.4, 0.6], [[-1.0, 0.0], [1.0, 0.5]],
                                                             [0.3, 0.4]))
    v_target = gaussian_mixture_target(flow, T0, T1)
    s_target = gaussian_mixture_target(flow, T0, T1, "score")
    zero = lambda t, x: np.zeros_like(x)
    print(f"reference: v = 0 gives {field_error(zero, v_target)}")
    rows, models = [], {}
    start = time.perf_counter()
    net = VelocityMLP(2, (64, 64), seed=0)
    res = fit_regression(net, v_target, steps=args.steps, lr=3e-3, n_train=32768, seed=0)
    rows.append(("regression, VelocityMLP", res.epsilon, None, None, res.seconds))
    models["regression"] = net
    data = flow.initial.sample(20000, 1)
    for w_r in (0.0, 0.1):
        score = PotentialScore(PotentialMLP(2, (64, 64), activation="softplus", beta=10.0, seed=0))
        res = fit_dsm(score, eq, data, T0, T1, steps=args.steps, lr=3e-3, residual_weight=w_r,
                      score_target=s_target, seed=0)
        vel = ScoreVelocity(score, eq)
        eps_v = field_error(vel, v_target, seed=[0, 1])  # same points as eps_s: eps_v = D eps_s
        batch = v_target.draw(2048, 7)
        r = fp_residual(score.potential, eq, torch.as_tensor(batch.t, dtype=torch.float32),
                        torch.as_tensor(batch.x, dtype=torch.float32))
        rows.append((f"DSM, grad phi, w_R = {w_r:g}", eps_v, res.epsilon,
                     float(r.detach().pow(2).mean()), res.seconds))
        models[f"DSM w_R={w_r:g}"] = vel
    print(f"trained in {time.perf_counter() - start:.0f} s\n")
    print("| model | eps_v^2 (+- se) | eps_s^2 (+- se) | E[R^2] | train s |")
    print("|---|---|---|---|---|")
    for name, ev, es, r2, sec in rows:
        es_txt = f"{es.eps2:.4f} +- {es.stderr:.4f}" if es else "-"
        r2_txt = f"{r2:.3g}" if r2 is not None else "-"
        print(f"| {name} | {ev.eps2:.4f} +- {ev.stderr:.4f} | {es_txt} | {r2_txt} | {sec:.0f} |")
    plot(flow, models, out)


def plot(flow, models, out):
    g = np.linspace(-2.2, 2.2, 15)
    xx, yy = np.meshgrid(g, g)
    pts = np.stack([xx.ravel(), yy.ravel()], 1)
    fig, axes = plt.subplots(1, 1 + len(models), figsize=(4 * (1 + len(models)), 4))
    t = 0.1
    fields = {"exact": flow.velocity(t, pts), **{k: m(t, pts) for k, m in models.items()}}
    dens = flow.density(t, pts).reshape(xx.shape)
    for ax, (name, v) in zip(axes, fields.items()):
        ax.contourf(xx, yy, dens, levels=12, cmap="Greys")
        ax.quiver(pts[:, 0], pts[:, 1], v[:, 0], v[:, 1], color="C3")
        ax.set_title(f"{name}, t = {t}")
        ax.set_aspect("equal")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
