"""Reproduce the canonical-manifold-flow (CMF) seed result against the rectangular flow (RF).

Data: the unit 2-sphere and a Moebius band, each isometrically embedded in R^6 on a random
3-plane (so that a latent dimension d = 3 is still < D), plus sklearn's offline 8x8 digits.
Each method is trained from the same seeds; on held-out points we report

* MACS - mean |G_ij| / sqrt(G_ii G_jj), i != j (0 = orthogonal latent basis);
* dim  - number of latent directions with mean G_kk > 5 % of the largest (intrinsic-dim estimate);
* min/max usage - smallest over largest mean G_kk (a collapsed direction gives ~0);
* dim / min/max of the *spread* usage mean G_kk * Var(z_k) (ambient variance a direction
  carries; unchanged by a rescaling of a latent axis, which raw G_kk is not);
* local dim - per-point number of directions with G_kk > 5 % of that point's largest, averaged;
* lmin/lmax - median over points of lambda_min(G) / lambda_max(G) (degeneracy of G in any basis);
* recon - mean ||x - g(g^+(x))||^2;
* W2 - exact 2-Wasserstein distance (POT, linear programme) between model samples and
  held-out data points.

Usage:  PYTHONPATH=. python examples/cmf_sphere_moebius.py [--steps 1000] [--seeds 3] [--no-digits]
        [--prior-layers 4] [--gamma 1] [--out results/cmf_sphere_moebius] [--no-figures]
Writes cmf_*.png and cmf_tables.md (the markdown tables, also printed) into --out (created;
``--out docs/img`` refreshes the docs figures).

Quick run (tested): python examples/cmf_sphere_moebius.py --steps 40 --seeds 1 --data sphere --digits-steps 20  -- under 160 s on 2 cores (measured 40 s)
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from pdeflow.geometry import datasets as ds
from pdeflow.manifold_flows.cmf import method_config, train
from pdeflow.manifold_flows.diagnostics import (intrinsic_dimension, inverse_condition, latent_usage,
                                          local_dimension, macs, metric_at, plot_metric,
                                          plot_traversals, plot_usage, spread_usage,
                                          traversal_grid)
from pdeflow.manifold_flows.injective_flow import InjectiveFlow
from pdeflow.validation.metrics import wasserstein2

TOYS = {"sphere": ds.sphere, "moebius": ds.moebius_band}
LABEL = {"cmf": "CMF", "rectangular": "RF", "conformal": "conformal", "two_step": "two-step"}


def w2_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Exact W2 between two equal-weight point clouds (n, D), (m, D)."""
    return wasserstein2(a.double().numpy(), b.double().numpy())


def evaluate(flow, x_test, seed: int, rel_threshold: float = 0.05) -> dict:
    """Held-out diagnostics of a trained flow (see module docstring)."""
    z = flow.project(x_test).detach()
    G = metric_at(flow.decode, z).detach()
    usage, spread = latent_usage(G), spread_usage(G, z)
    with torch.no_grad():
        recon = ((x_test - flow.reconstruct(x_test)) ** 2).sum(1).mean().item()
        samples = flow.sample(len(x_test), torch.Generator().manual_seed(10_000 + seed))
    return {"macs": macs(G), "dim": intrinsic_dimension(usage, rel_threshold),
            "usage_ratio": (usage.min() / usage.max()).item(),
            "dim_spread": intrinsic_dimension(spread, rel_threshold),
            "spread_ratio": (spread.min() / spread.max()).item(),
            "local_dim": local_dimension(G, rel_threshold).double().mean().item(),
            "inv_cond": inverse_condition(G).median().item(),
            "recon": recon, "w2": w2_distance(samples, x_test), "usage": usage, "spread": spread,
            "G": G}


def run_one(x_train, x_test, d, method, seed, steps, flow_kw, lr, progress, gamma=None):
    flow = InjectiveFlow(d, x_train.shape[1], seed=seed, **flow_kw)
    flow = flow.to(x_train.dtype)
    cfg = method_config(method)
    if gamma is not None and cfg.gamma > 0:  # the rectangular flow keeps gamma = 0
        cfg = method_config(method, gamma=gamma)
    t0 = time.perf_counter()
    train(flow, x_train, cfg, steps=steps, batch_size=128, lr=lr, seed=seed, progress=progress)
    out = evaluate(flow, x_test, seed)
    out["seconds"] = time.perf_counter() - t0
    out["flow"] = flow
    return out


def _fmt(vals, digits=3):
    vals = np.asarray(vals, dtype=float)
    return f"{vals.mean():.{digits}g} ± {vals.std(ddof=1) if len(vals) > 1 else 0.0:.2g}"


def table(results: dict) -> str:
    """Markdown table of mean ± sd over seeds; results[(data, method)] = list of dicts."""
    rows = ["| data | method | MACS | dim G_kk | min/max G_kk | dim spread | min/max spread | "
            "local dim | lmin/lmax | recon | W2 | s/run |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (data, method), runs in results.items():
        col = lambda k: [r[k] for r in runs]  # noqa: E731
        dims = lambda k: "/".join(map(str, col(k)))  # noqa: E731
        rows.append(f"| {data} | {LABEL[method]} | {_fmt(col('macs'))} | {dims('dim')} | "
                    f"{_fmt(col('usage_ratio'))} | {dims('dim_spread')} | "
                    f"{_fmt(col('spread_ratio'))} | {_fmt(col('local_dim'))} | "
                    f"{_fmt(col('inv_cond'))} | {_fmt(col('recon'))} | {_fmt(col('w2'))} | "
                    f"{np.mean(col('seconds')):.0f} |")
    return "\n".join(rows)


def seed_table(results: dict) -> str:
    """Per-seed usages normalised by their largest entry: raw mean G_kk and spread usage."""
    rows = ["| data | method | seed | G_kk / max | spread / max |", "|---|---|---|---|---|"]
    norm = lambda u: ", ".join(f"{v:.3f}" for v in (u / u.max()).tolist())  # noqa: E731
    for (data, method), runs in results.items():
        for s, r in enumerate(runs):
            rows.append(f"| {data} | {LABEL[method]} | {s} | {norm(r['usage'])} | "
                        f"{norm(r['spread'])} |")
    return "\n".join(rows)


def run_toys(steps, seeds, methods, n_train=2000, n_test=500, progress=True, img_dir=None,
             datasets=tuple(TOYS), prior_layers=4, gamma=None, img_tag=""):
    """Train every method on every toy manifold for ``seeds`` seeds; ``prior_layers = 0`` makes
    the latent prior a learned diagonal Gaussian, ``gamma`` overrides the CMF penalty weight;
    figures (seed 0) are written to ``img_dir`` with ``img_tag`` appended to their names."""
    flow_kw = {"n_layers": 4, "hidden": 32, "prior_layers": prior_layers, "prior_hidden": 32}
    results = {}
    if img_dir is not None:
        Path(img_dir).mkdir(parents=True, exist_ok=True)
    for data in datasets:
        sampler = TOYS[data]
        x = ds.random_isometric_embedding(sampler(n_train + n_test, 0), 6, 1).float()
        x_train, x_test = x[:n_train], x[n_train:]
        for method in methods:
            runs = [run_one(x_train, x_test, 3, method, s, steps, flow_kw, 3e-3, progress, gamma)
                    for s in range(seeds)]
            results[(data, method)] = runs
            print(f"{data:8s} {method:12s} MACS {[round(r['macs'], 4) for r in runs]} "
                  f"usage {[np.round(r['usage'].double().numpy(), 4).tolist() for r in runs]} "
                  f"spread {[np.round(r['spread'].double().numpy(), 4).tolist() for r in runs]}", flush=True)
        if img_dir is not None:
            plot_usage({LABEL[m]: results[(data, m)][0]["usage"] for m in methods},
                       f"{img_dir}/cmf_usage_{data}{img_tag}.png")
            plot_usage({LABEL[m]: results[(data, m)][0]["spread"] for m in methods},
                       f"{img_dir}/cmf_spread_usage_{data}{img_tag}.png", ylabel="mean G_kk * Var(z_k)")
            for m in methods:
                flow = results[(data, m)][0]["flow"]
                grid = traversal_grid(flow.decode, 3, n_steps=9, span=1.5, dtype=torch.float32)
                plot_traversals(grid, f"{img_dir}/cmf_traversal_{data}_{m}{img_tag}.png", data=x_test)
                plot_metric(results[(data, m)][0]["G"], f"{img_dir}/cmf_metric_{data}_{m}{img_tag}.png")
    return results


def run_digits(steps, d, methods, seed=0, progress=True, img_dir=None):
    """Digits (64-D): MACS and per-latent usage for each method (one seed)."""
    x, _ = ds.load_digits()
    x = x.float()
    pixel_mean = ds.load_digits(standardize=False)[0].float().mean(0)  # added back for display
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    x_train, x_test = x[perm[:1497]], x[perm[1497:]]
    flow_kw = {"n_layers": 4, "hidden": 64, "prior_layers": 4, "prior_hidden": 32}
    if img_dir is not None:
        Path(img_dir).mkdir(parents=True, exist_ok=True)
    out = {}
    for method in methods:
        out[method] = run_one(x_train, x_test, d, method, seed, steps, flow_kw, 1e-3, progress)
    if img_dir is not None:
        plot_usage({LABEL[m]: out[m]["usage"] for m in methods}, f"{img_dir}/cmf_usage_digits.png")
        for m in methods:
            grid = traversal_grid(out[m]["flow"].decode, d, n_steps=7, span=1.5, dtype=torch.float32)
            plot_traversals(grid + pixel_mean, f"{img_dir}/cmf_traversal_digits_{m}.png", image_shape=(8, 8))
    return out


def digits_table(out: dict, d: int) -> str:
    rows = ["| method | MACS | dim G_kk | G_kk (sorted, / max) | dim spread | spread (sorted, / max) "
            "| recon | W2 | s |", "|---|---|---|---|---|---|---|---|---|"]
    srt = lambda u: ", ".join(f"{v:.2f}" for v in np.sort(u.numpy())[::-1] / u.max().item())  # noqa: E731
    for m, r in out.items():
        rows.append(f"| {LABEL[m]} | {r['macs']:.3f} | {r['dim']} / {d} | {srt(r['usage'])} | "
                    f"{r['dim_spread']} / {d} | {srt(r['spread'])} | {r['recon']:.3g} | "
                    f"{r['w2']:.3g} | {r['seconds']:.0f} |")
    return "\n".join(rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--methods", default="cmf,rectangular")
    p.add_argument("--digits-steps", type=int, default=600)
    p.add_argument("--digits-d", type=int, default=8)
    p.add_argument("--no-digits", action="store_true")
    p.add_argument("--data", default="sphere,moebius", help="toy data sets ('' for none)")
    p.add_argument("--out", default="results/cmf_sphere_moebius",
                   help="folder for the figures and cmf_tables.md (created; docs/img refreshes "
                        "the docs figures)")
    p.add_argument("--no-figures", action="store_true", help="write no figures")
    p.add_argument("--prior-layers", type=int, default=4, help="0: diagonal Gaussian prior")
    p.add_argument("--img-tag", default="", help="suffix of the toy figures' file names")
    p.add_argument("--gamma", type=float, default=None, help="CMF penalty weight (default 1)")

    p.add_argument("--quiet", action="store_true", help="no tqdm bars")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    img_dir = None if args.no_figures else str(out)
    torch.set_num_threads(1)
    methods = args.methods.split(",")
    toys, text = {}, ""
    if args.data:
        toys = run_toys(args.steps, args.seeds, methods, progress=not args.quiet,
                        img_dir=img_dir, datasets=args.data.split(","),
                        prior_layers=args.prior_layers, gamma=args.gamma, img_tag=args.img_tag)
        text = (f"Toy manifolds in R^6, d = 3, {args.steps} steps, {args.seeds} seeds, prior layers "
                f"{args.prior_layers}, gamma {args.gamma or 1.0}\n\n{table(toys)}\n\n{seed_table(toys)}\n")
    digits = None
    if not args.no_digits:
        digits = run_digits(args.digits_steps, args.digits_d, methods, progress=not args.quiet,
                            img_dir=img_dir)
        text += (f"\nDigits (D = 64), d = {args.digits_d}, {args.digits_steps} steps, seed 0\n\n"
                 f"{digits_table(digits, args.digits_d)}\n")
    print(text)
    (out / "cmf_tables.md").write_text(text)
    print(f"wrote {out / 'cmf_tables.md'}" + ("" if args.no_figures else " and the figures"))
    return toys, digits


if __name__ == "__main__":
    main()
