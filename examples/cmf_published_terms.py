"""CMF vs the rectangular flow (RF) on the published terms: the square flow for the sphere and
both MACS formulas.

Configurations (``--config``):

* ``square_sphere`` - the CMF authors' sphere: points on the unit sphere in R^3 sampled as in
  their ``cmf/datasets/two_d.py`` (azimuth and polar angle uniform; ``sphere(law="polar")``),
  10 000 training points, and a *square* flow (d = D = 3, :class:`SquareFlow`): 5 affine
  couplings (hidden 10) and a learned diagonal-Gaussian prior (their ``prior = "affine"``), as
  their ``config/two_d.py`` ("non-square": 5 flat Real-NVP layers, ``latent_dimension=3`` from
  their README command, regularization_param = metric_regularization_param = 1, lr 1e-3);
* ``square_moebius`` - their Moebius band (R = 1, offset uniform in [-0.05, 0.05]) with the same
  square flow;
* ``injective_sphere`` / ``injective_moebius`` - the existing pdeflow set-up of
  ``examples/cmf_sphere_moebius.py`` (manifold in R^6 on a random 3-plane, d = 3 < D = 6).

Each run writes one JSON file (command, seed, wall and CPU seconds, every diagnostic) to
``--out``; ``--summarise DIR`` prints the markdown tables of all runs found there.
Diagnostics on held-out points (``u`` = standard-normal base coordinates, where the authors read
G; ``z`` = latent coordinates before the prior):

* MACS (words) - :func:`macs` on G(z) (mean |cosine| between distinct columns of J, per point,
  then averaged; invariant under latent axis rescaling, so the same in u for a diagonal prior);
* MACS (authors) - :func:`macs_authors` on J(u) (their ``visualizer.py``), and on J(z);
* usage - mean G_kk(u) (the authors' G_kk), spread usage mean G_kk(z) Var z_k, their dimension
  at 5 % of the largest and smallest/largest ratio; local dim (per point, on G(u));
  lambda_min/lambda_max of G(u) (median); axis alignment of the squeezed direction: median over
  points of max_k |v_k| for the unit eigenvector v of the smallest eigenvalue of G(u)
  (1 = the squeeze is a latent axis, 1/sqrt(3) = the most oblique);
* W2 (exact, POT) between 500 model samples and 500 held-out points.

Usage:
    PYTHONPATH=. python examples/cmf_published_terms.py --config square_sphere --seeds 0,1,2 \\
        --out results/cmf_published_terms
    PYTHONPATH=. python examples/cmf_published_terms.py --config square_sphere --seeds 0 \\
        --steps 10000 --batch 1000 --tag _10000steps_b1000 --out results/cmf_published_terms
    PYTHONPATH=. python examples/cmf_published_terms.py --summarise results/cmf_published_terms

Quick run (tested): python examples/cmf_published_terms.py --config square_sphere --seeds 0 --steps 50  -- under 180 s on 2 cores (measured 43 s)
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from pdeflow.geometry import datasets as ds
from pdeflow.io import atomic_file
from pdeflow.manifold_flows import (InjectiveFlow, SquareFlow, intrinsic_dimension,
                                    inverse_condition, jacobian_at, latent_usage,
                                    local_dimension, macs, macs_authors, method_config,
                                    spread_usage, train_cmf)
from pdeflow.validation.metrics import wasserstein2

LABEL = {"cmf": "CMF", "rectangular": "RF"}


def _square_data(kind: str, n: int) -> torch.Tensor:
    if kind == "sphere":
        return ds.sphere(n, 0, law="polar")
    return ds.moebius_band(n, 0, radius=1.0, half_width=0.05)


CONFIGS = {
    "square_sphere": dict(data=lambda n: _square_data("sphere", n), n_train=10_000, n_test=1000,
                          square=True, dtype=torch.float64, lr=1e-3, batch=256, steps=2000,
                          beta=1.0, flow=dict(n_layers=5, hidden=10, prior_layers=0)),
    "square_moebius": dict(data=lambda n: _square_data("moebius", n), n_train=10_000,
                           n_test=1000, square=True, dtype=torch.float64, lr=1e-3, batch=256,
                           steps=2000, beta=1.0, flow=dict(n_layers=5, hidden=10, prior_layers=0)),
    "injective_sphere": dict(data=lambda n: ds.random_isometric_embedding(ds.sphere(n, 0), 6, 1),
                             n_train=2000, n_test=500, square=False, dtype=torch.float32,
                             lr=3e-3, batch=128, steps=1000, beta=50.0,
                             flow=dict(n_layers=4, hidden=32, prior_layers=4, prior_hidden=32)),
    "injective_moebius": dict(data=lambda n: ds.random_isometric_embedding(
                                  ds.moebius_band(n, 0), 6, 1),
                              n_train=2000, n_test=500, square=False, dtype=torch.float32,
                              lr=3e-3, batch=128, steps=1000, beta=50.0,
                              flow=dict(n_layers=4, hidden=32, prior_layers=4, prior_hidden=32)),
}


def squeeze_alignment(G: torch.Tensor) -> torch.Tensor:
    """Per point, max_k |v_k| of the unit eigenvector v of the smallest eigenvalue of G (n, d, d)."""
    _, vecs = torch.linalg.eigh(G)
    return vecs[:, :, 0].abs().max(-1).values


def _ratio(u: torch.Tensor) -> float:
    return (u.min() / u.max()).item()


def evaluate(flow, x_test: torch.Tensor, seed: int) -> dict:
    """Held-out diagnostics of a trained flow (see the module docstring)."""
    z = flow.project(x_test).detach()
    u = flow.project_base(x_test).detach()
    J_z = jacobian_at(flow.decode, z).detach()
    J_u = jacobian_at(flow.decode_base, u).detach()
    G_z, G_u = J_z.transpose(1, 2) @ J_z, J_u.transpose(1, 2) @ J_u
    usage_u, spread = latent_usage(G_u), spread_usage(G_z, z)
    with torch.no_grad():
        recon = ((x_test - flow.reconstruct(x_test)) ** 2).sum(1).mean().item()
        samples = flow.sample(500, torch.Generator().manual_seed(10_000 + seed))
    w2 = wasserstein2(samples.double().numpy(), x_test[:500].double().numpy())
    return {"macs_words": macs(G_z), "macs_words_u": macs(G_u),
            "macs_authors_u": macs_authors(J_u), "macs_authors_z": macs_authors(J_z),
            "usage_u": usage_u.tolist(), "spread": spread.tolist(),
            "usage_z": latent_usage(G_z).tolist(),
            "dim_usage_u": intrinsic_dimension(usage_u), "ratio_usage_u": _ratio(usage_u),
            "dim_spread": intrinsic_dimension(spread), "ratio_spread": _ratio(spread),
            "local_dim_u": local_dimension(G_u).double().mean().item(),
            "inv_cond_u": inverse_condition(G_u).median().item(),
            "alignment_u": squeeze_alignment(G_u).median().item(),
            "latent_var_u": u.var(0).tolist(), "recon": recon, "w2": w2}


def run(config: str, method: str, seed: int, steps: int | None, out: Path, argv: list,
        tag: str = "", batch: int | None = None) -> dict:
    cfg = dict(CONFIGS[config])
    steps = steps or cfg["steps"]
    cfg["batch"] = batch or cfg["batch"]
    x = cfg["data"](cfg["n_train"] + cfg["n_test"]).to(cfg["dtype"])
    x_train, x_test = x[:cfg["n_train"]], x[cfg["n_train"]:]
    if cfg["square"]:
        flow = SquareFlow(x.shape[1], seed=seed, **cfg["flow"])
    else:
        flow = InjectiveFlow(3, x.shape[1], seed=seed, **cfg["flow"])
    flow = flow.to(cfg["dtype"])
    t0, c0 = time.perf_counter(), time.process_time()
    hist = train_cmf(flow, x_train, method_config(method, beta=cfg["beta"]), steps=steps,
                     batch_size=cfg["batch"], lr=cfg["lr"], seed=seed, progress=False)
    train_wall, train_cpu = time.perf_counter() - t0, time.process_time() - c0
    res = evaluate(flow, x_test, seed)
    last = hist[-50:]
    res["final"] = {k: float(np.mean([h[k] for h in last])) for k in last[0]}
    res["loss_curve"] = [float(np.mean([h["loss"] for h in hist[i:i + 50]]))
                         for i in range(0, len(hist), 50)]  # mean loss per block of 50 steps
    res.update(config=config + tag, method=method, seed=seed, steps=steps, batch=cfg["batch"],
               lr=cfg["lr"], command="PYTHONPATH=. python examples/cmf_published_terms.py "
               + " ".join(argv), train_wall_s=train_wall, train_cpu_s=train_cpu,
               total_wall_s=time.perf_counter() - t0, total_cpu_s=time.process_time() - c0)
    path = out / f"{config}{tag}_{method}_s{seed}.json"
    atomic_file(path, lambda p: Path(p).write_text(json.dumps(res, indent=1)))
    print(f"{config} {method} seed {seed}: MACS words {res['macs_words']:.4f} authors(u) "
          f"{res['macs_authors_u']:.4f} usage_u/max "
          f"{np.round(np.array(res['usage_u']) / max(res['usage_u']), 3).tolist()} "
          f"{res['total_wall_s']:.0f} s wall", flush=True)
    return res


def _fmt(vals, digits=3):
    vals = np.asarray(vals, dtype=float)
    sd = vals.std(ddof=1) if len(vals) > 1 else 0.0
    return f"{vals.mean():.{digits}g} ± {sd:.2g}"


def summarise(folder: Path) -> str:
    """Markdown tables (mean ± sd over seeds, per-seed usages, run log) of every JSON in folder."""
    runs = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    groups: dict = {}
    for r in runs:
        groups.setdefault((r["config"], r["method"]), []).append(r)
    main = ["| config | method | seeds | MACS words | MACS authors (u) | MACS authors (z) | "
            "dim G_kk(u) | min/max G_kk(u) | dim spread | min/max spread | local dim | "
            "λmin/λmax | alignment | W2 |", "|" + "---|" * 14]
    per_seed = ["| config | method | seed | MACS words | MACS authors (u) | G_kk(u) / max | "
                "spread / max | λmin/λmax |", "|" + "---|" * 8]
    log = ["| config | method | seed | steps | batch | train wall [s] | train CPU [s] | "
           "total CPU [s] |", "|" + "---|" * 8]
    norm = lambda v: ", ".join(f"{a:.3f}" for a in np.asarray(v) / max(v))  # noqa: E731
    for (config, method), rs in sorted(groups.items()):
        col = lambda k: [r[k] for r in rs]  # noqa: E731
        dims = lambda k: "/".join(map(str, col(k)))  # noqa: E731
        main.append(f"| {config} | {LABEL[method]} | {len(rs)} | {_fmt(col('macs_words'))} | "
                    f"{_fmt(col('macs_authors_u'))} | {_fmt(col('macs_authors_z'))} | "
                    f"{dims('dim_usage_u')} | {_fmt(col('ratio_usage_u'))} | "
                    f"{dims('dim_spread')} | {_fmt(col('ratio_spread'))} | "
                    f"{_fmt(col('local_dim_u'))} | {_fmt(col('inv_cond_u'))} | "
                    f"{_fmt(col('alignment_u'))} | {_fmt(col('w2'))} |")
        for r in sorted(rs, key=lambda r: r["seed"]):
            per_seed.append(f"| {config} | {LABEL[method]} | {r['seed']} | {r['macs_words']:.4f} | "
                            f"{r['macs_authors_u']:.4f} | {norm(r['usage_u'])} | "
                            f"{norm(r['spread'])} | {r['inv_cond_u']:.2e} |")
            log.append(f"| {config} | {LABEL[method]} | {r['seed']} | {r['steps']} | {r['batch']} "
                       f"| {r['train_wall_s']:.0f} | {r['train_cpu_s']:.0f} | "
                       f"{r['total_cpu_s']:.0f} |")
    total = sum(r["total_cpu_s"] for r in runs)
    return "\n".join(main + [""] + per_seed + [""] + log
                     + ["", f"total CPU: {total:.0f} s over {len(runs)} runs"])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", choices=sorted(CONFIGS))
    p.add_argument("--methods", default="cmf,rectangular")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--steps", type=int, default=None, help="default: the config's")
    p.add_argument("--batch", type=int, default=None, help="default: the config's")
    p.add_argument("--out", default="results/cmf_published_terms", help="folder of the JSON "
                   "files (created)")
    p.add_argument("--tag", default="", help="suffix of the config name in files and tables")
    p.add_argument("--summarise", default=None, help="print the tables of the runs in this folder")
    args = p.parse_args(argv)
    if args.summarise:
        print(summarise(Path(args.summarise)))
        return None
    if args.config is None:
        p.error("--config is required unless --summarise is given")
    torch.set_num_threads(1)
    out = Path(args.out)
    results = []
    for seed in (int(s) for s in args.seeds.split(",")):
        for method in args.methods.split(","):
            results.append(run(args.config, method, seed, args.steps, out, argv, args.tag,
                               args.batch))
    return results


if __name__ == "__main__":
    main()
