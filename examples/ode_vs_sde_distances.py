"""Debiased distances for the ODE-vs-SDE study: can the measurement see W2^2 = 0.002?

Reads result files of ``examples/ode_vs_sde.py --keep-samples`` (ODE, SDE and two exact
reference sample sets of n points each, per run and per exact-score floor) and reports, side by
side, for the pairs ODE-SDE, SDE-target and ODE-target:

* exact W2^2 (POT emd) at n points, minus its plug-in bias, measured as W2^2 between two
  independent exact samples of the same law rho_{t_min} at the same n (``--draws`` pairs:
  mean = the bias subtracted, sd = its spread over draws);
* the Sinkhorn divergence S_eps (eps absolute, length^2) at n points, with its same-law value
  measured the same way;
* the seed paper's 64 x 64 histogram W2^2 on the fixed box [-2, 2]^2 (points outside dropped and
  counted), with its same-law value at every n used.

Also the eps bias of S_eps against the closed-form W2^2 of a Gaussian pair (pdeflow gaussian_w2),
and the score error profile e(t) of every run. Results are cached per run in ``--cache`` (JSON,
written atomically), so the script can be rerun as runs finish.

    PYTHONPATH=. python examples/ode_vs_sde_distances.py /work/runs/odesde/*.h5

The defaults (exact W2 up to n = 4000, Sinkhorn at n = 2000, 5 draws each) take minutes per file
(the same-law Sinkhorn biases alone were about 400 s): a line is printed before and after every
estimator and run, so a long step shows what it is doing.

Quick run (tested): python examples/ode_vs_sde_distances.py results/ode_vs_sde.h5 --exact-n 200
    --sinkhorn-n 200 --histogram-n 200 --draws 2 --eps 0.05 --tol 1e-4  -- under 60 s on 2 cores (measured 14 s)
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from pdeflow.io import atomic_file
from pdeflow.reproductions.ode_vs_sde import StudyConfig, load_results, make_truth
from pdeflow.validation import (gaussian_w2, histogram_w2sq, same_law_bias, sinkhorn_divergence,
                                wasserstein)

PAIRS = (("ode_sde", "ode", "sde"), ("sde_target", "sde", "ref_a"),
         ("ode_target", "ode", "ref_a"))


def estimators(args) -> dict:
    """name -> (distance(x, y) in length^2, n, pairs); one entry per (kind, n). The costly ones
    (exact at n > 1000, Sinkhorn) are evaluated on the ODE-SDE pair only."""
    out, all_pairs, main = {}, tuple(p for p, _, _ in PAIRS), ("ode_sde",)
    for n in args.exact_n:
        out[f"exact_n{n}"] = (lambda x, y: wasserstein(x, y) ** 2, n,
                              all_pairs if n <= 1000 else main)
    for n in args.sinkhorn_n:
        out[f"sinkhorn_eps{args.eps:g}_n{n}"] = (
            lambda x, y: sinkhorn_divergence(x, y, args.eps, tol=args.tol), n, main)
    for n in args.histogram_n:
        out[f"hist64_n{n}"] = (lambda x, y: histogram_w2sq(x, y).w2sq, n, all_pairs)
    return out


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", help="results of ode_vs_sde.py --keep-samples")
    p.add_argument("--exact-n", type=int, nargs="*", default=[1000, 4000])
    p.add_argument("--sinkhorn-n", type=int, nargs="*", default=[2000])
    p.add_argument("--histogram-n", type=int, nargs="*", default=[1000, 4000, 20000])
    p.add_argument("--eps", type=float, default=0.01, help="Sinkhorn eps (length^2)")
    p.add_argument("--tol", type=float, default=1e-5, help="Sinkhorn marginal tolerance (L1)")
    p.add_argument("--draws", type=int, default=5, help="same-law pairs per (estimator, n)")
    p.add_argument("--out", default="results/ode_vs_sde_distances",
                   help="folder of the cache (created)")
    p.add_argument("--cache", default=None, help="the cache file (default: "
                   "<out>/ode_vs_sde_distances.json)")
    p.add_argument("--only-bias", action="store_true", help="compute only the same-law biases")
    return p.parse_args(argv)


def _load_cache(path) -> dict:
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {"bias": {}, "runs": {}, "gauss": {}}


def _save_cache(path, cache) -> None:
    atomic_file(path, lambda tmp: open(tmp, "w").write(json.dumps(cache, indent=1)))


def measure_bias(cache, ests, truth, t_min, draws, path) -> None:
    """Same-law values of every estimator at its n on exact samples of rho_{t_min}."""
    for name, (dist, n, _) in ests.items():
        if name in cache["bias"]:
            continue
        t0 = time.perf_counter()
        print(f"bias {name}: {draws} same-law pairs of {n} points ...", flush=True)
        b = same_law_bias(dist, lambda m, rng: truth.sample(t_min, m, rng), n, draws,
                          seed=[7, n])
        cache["bias"][name] = {"n": n, "mean": b.mean, "sd": b.sd, "values": b.values.tolist(),
                               "seconds": time.perf_counter() - t0}
        _save_cache(path, cache)
        print(f"bias {name}: {b.mean:.5f} +- {b.sd:.5f} ({time.perf_counter() - t0:.0f} s)",
              flush=True)


def gaussian_check(cache, args, path) -> None:
    """S_eps minus its same-law value vs the closed-form W2^2 of a Gaussian pair whose scales
    match the mixture's components at t_min (sd ~ 0.17); n = the first --sinkhorn-n."""
    if not args.sinkhorn_n or "sinkhorn" in cache["gauss"]:
        return
    n, rng = args.sinkhorn_n[0], np.random.default_rng(11)
    print(f"Gaussian pair: Sinkhorn divergence and exact W2 at n = {n}, {args.draws} draws "
          "each ...", flush=True)
    ma, ca = np.zeros(2), np.diag([0.03, 0.03])
    mb, cb = np.array([0.04, 0.03]), np.diag([0.02, 0.045])
    truth = gaussian_w2(ma, ca, mb, cb) ** 2
    draw = lambda m, c: rng.multivariate_normal(m, c, n)  # noqa: E731
    raw = [sinkhorn_divergence(draw(ma, ca), draw(mb, cb), args.eps, tol=args.tol)
           for _ in range(args.draws)]
    same = [sinkhorn_divergence(draw(ma, ca), draw(ma, ca), args.eps, tol=args.tol)
            for _ in range(args.draws)]
    exact = [wasserstein(draw(ma, ca), draw(mb, cb)) ** 2 for _ in range(args.draws)]
    exact_same = [wasserstein(draw(ma, ca), draw(ma, ca)) ** 2 for _ in range(args.draws)]
    cache["gauss"]["sinkhorn"] = {
        "n": n, "eps": args.eps, "w2sq_closed_form": truth, "raw": raw, "same_law": same,
        "exact_raw": exact, "exact_same_law": exact_same}
    _save_cache(path, cache)


def measure_runs(cache, ests, files, path) -> None:
    for fname in files:
        runs, floors, _, _ = load_results(fname)
        for kind, cols in (("run", runs), ("floor", floors)):
            if "ode" not in cols:
                continue
            for i in range(len(cols["target"])):
                w = float(cols["w_R"][i]) if kind == "run" else float("nan")
                step = int(cols["step"][i]) if "step" in cols else -1
                key = f"{kind}|{cols['target'][i]}|{w:g}|{int(cols['seed'][i])}|{step}"
                entry = cache["runs"].setdefault(key, {"kind": kind, "w_R": w,
                                                       "seed": int(cols["seed"][i])})
                if kind == "run":
                    entry["profile"] = np.asarray(cols["profile"][i]).tolist()
                    entry["step"] = float(cols["step"][i]) if "step" in cols else None
                    entry["eps2_profile"] = float(cols["eps2_profile"][i])
                    entry["eps2_profile_early"] = float(cols["eps2_profile_early"][i])
                for name, (dist, n, pairs) in ests.items():
                    for pair, a, b in PAIRS:
                        label = f"{pair}|{name}"
                        if label not in entry and pair in pairs and len(cols[a][i]) >= n:
                            entry[label] = float(dist(cols[a][i][:n], cols[b][i][:n]))
                            _save_cache(path, cache)
                print(f"{key}: " + ", ".join(f"{k}={v:.4f}" for k, v in entry.items()
                                             if k.startswith("ode_sde")), flush=True)


def tables(cache, ests) -> str:
    """Markdown: per (kind, w_R) mean +- sd over seeds of raw - bias, beside the bias."""
    groups = {}
    for key, e in cache["runs"].items():
        groups.setdefault((e["kind"], e["w_R"]), []).append(e)
    lines = []
    for pair, _, _ in PAIRS:
        lines.append(f"\n**{pair}** (debiased value = raw - same-law mean; mean +- sd over "
                     "seeds)\n")
        head = "| runs | seeds | " + " | ".join(ests) + " |"
        lines += [head, "|" + "---|" * (len(ests) + 2)]
        bias_cells = []
        for name in ests:
            b = cache["bias"].get(name)
            bias_cells.append(f"{b['mean']:.4f} +- {b['sd']:.4f}" if b else "-")
        lines.append("| same-law bias (mean +- sd over draws) | | " + " | ".join(bias_cells)
                     + " |")
        for (kind, w), es in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
            cells = []
            for name in ests:
                vals = [e[f"{pair}|{name}"] for e in es if f"{pair}|{name}" in e]
                b = cache["bias"].get(name)
                if not vals or not b:
                    cells.append("-")
                    continue
                deb = np.asarray(vals) - b["mean"]
                sd = deb.std(ddof=1) if len(deb) > 1 else float("nan")
                cells.append(f"{deb.mean():.4f} +- {sd:.4f} (raw {np.mean(vals):.4f})")
            label = f"w_R = {w:g}" if kind == "run" else "exact score (floor)"
            lines.append(f"| {label} | {len(es)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def profile_table(cache, times) -> str:
    groups = {}
    for e in cache["runs"].values():
        if e["kind"] == "run":
            groups.setdefault(e["w_R"], []).append(np.asarray(e["profile"]))
    idx = list(range(0, len(times), 4))
    lines = ["| w_R | seeds | " + " | ".join(f"t={times[i]:.3g}" for i in idx) + " |",
             "|" + "---|" * (len(idx) + 2)]
    for w in sorted(groups):
        p = np.stack(groups[w])
        lines.append(f"| {w:g} | {len(p)} | " + " | ".join(
            f"{p[:, i].mean():.3g} +- {p[:, i].std(ddof=1) if len(p) > 1 else float('nan'):.2g}"
            for i in idx) + " |")
    return "\n".join(lines)


def main(argv=None):
    torch.set_num_threads(1)
    args = parse(argv)
    ests = estimators(args)
    os.makedirs(args.out, exist_ok=True)
    args.cache = args.cache or os.path.join(args.out, "ode_vs_sde_distances.json")
    start = time.perf_counter()
    cache = _load_cache(args.cache)
    _, _, cfg_dict, meta = load_results(args.files[0])
    cfg_dict["hidden"] = tuple(cfg_dict["hidden"])
    cfg = StudyConfig(**cfg_dict)
    truth = make_truth("gaussian_mixture", cfg)
    measure_bias(cache, ests, truth, cfg.t_min, args.draws, args.cache)
    gaussian_check(cache, args, args.cache)
    if not args.only_bias:
        measure_runs(cache, ests, args.files, args.cache)
    print(tables(cache, ests))
    print()
    print(profile_table(cache, meta["profile_times"]))
    g = cache["gauss"].get("sinkhorn")
    if g:
        print(f"\nGaussian pair, n = {g['n']}, eps = {g['eps']}: closed-form W2^2 = "
              f"{g['w2sq_closed_form']:.5f}; S_eps raw {np.mean(g['raw']):.5f} +- "
              f"{np.std(g['raw'], ddof=1):.5f}, same-law {np.mean(g['same_law']):.5f} +- "
              f"{np.std(g['same_law'], ddof=1):.5f}; exact W2^2 raw {np.mean(g['exact_raw']):.5f}"
              f" +- {np.std(g['exact_raw'], ddof=1):.5f}, same-law "
              f"{np.mean(g['exact_same_law']):.5f} +- {np.std(g['exact_same_law'], ddof=1):.5f}")
    print(f"\n{time.perf_counter() - start:.0f} s; cache {args.cache}")


if __name__ == "__main__":
    main()
