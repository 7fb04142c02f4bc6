"""ODE-vs-SDE agreement of a learned conservative score vs the Fokker-Planck residual weight w_R.

Reproduces the seed study (docs/ode_vs_sde.md): FokkerPlanck(D=1/2, kappa=1) in 2-D (f = -x,
g = 1), T = 10, phi-network (t, x) -> 80 -> 80 -> 80 -> 1 with Softplus(beta=100) trained by DSM +
w_R E[R^2], 800 Euler (ODE) / Euler-Maruyama (SDE) steps from N(0, I/2) at T down to t_min.
For each (target, w_R, seed): eps^2 of the score against the truth and squared W2 (exact, POT) of
SDE-vs-ODE, SDE-vs-target, ODE-vs-target, with the plug-in bias W2^2(target, target') at the same n.

    PYTHONPATH=. python examples/ode_vs_sde.py --quick              # smoke run (2-3 min)
    PYTHONPATH=. python examples/ode_vs_sde.py                      # the docs table (~30 min)
    PYTHONPATH=. python examples/ode_vs_sde.py --report results/ode_vs_sde.h5   # table + figure
    # issue 18: resumable long runs that keep their samples, then the debiased distances
    PYTHONPATH=. python examples/ode_vs_sde.py --targets gaussian_mixture --weights 10 \
        --seed-list 0 --steps 20000 --n-samples 20000 --keep-samples --checkpoint-dir ckpt \
        --resume --out results/w10_s0.h5
    PYTHONPATH=. python examples/ode_vs_sde_distances.py results/w10_s0.h5

Writes results/ode_vs_sde.h5 (--out; after every run, atomically), then prints the tables
(markdown) and saves ode_vs_sde.png and ode_vs_sde_profile.png (score error e(t)) beside it
(``--figure docs/img/ode_vs_sde.png`` refreshes the docs figures).

Quick run (tested): python examples/ode_vs_sde.py --quick  -- under 600 s on 2 cores (measured 170 s)
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time

import numpy as np
import torch

from pdeflow.learn.toy_targets import TOY_TARGETS
from pdeflow.reproductions.ode_vs_sde import (StudyConfig, evaluate_model, floor_case,
                                           load_results, make_truth, model_from_checkpoint,
                                           profile_record, profile_times, run_case,
                                           save_results, train_model)
from pdeflow.reproductions.checkpoint import TorchCheckpoint

WEIGHTS = (0.0, 0.1, 1.0, 10.0)
METRICS = (("w2sq_ode_sde", "W2^2 ODE-SDE"), ("w2sq_sde_target", "W2^2 SDE-target"),
           ("w2sq_ode_target", "W2^2 ODE-target"), ("eps2", "eps^2 [t_min, T]"),
           ("eps2_early", "eps^2 [t_min, 1]"))


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000, help="Adam steps per network")
    p.add_argument("--batch", type=int, default=256, help="DSM batch size")
    p.add_argument("--seeds", type=int, default=3, help="seeds per (target, w_R)")
    p.add_argument("--seed-list", default=None,
                   help="comma-separated seeds to run (overrides --seeds), e.g. 1,2")
    p.add_argument("--checkpoint-dir", default=None,
                   help="save each network's training state there every --checkpoint-every "
                        "steps (atomically); with --resume an interrupted run continues")
    p.add_argument("--checkpoint-every", type=int, default=1000)
    p.add_argument("--keep-checkpoints", action="store_true",
                   help="keep every checkpoint as <name>_step<k>.pt (networks part-way through "
                        "the schedule; see --evaluate)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the checkpoints in --checkpoint-dir and keep the runs "
                        "already in --out (bit-for-bit the same networks as an uninterrupted run)")
    p.add_argument("--keep-samples", action="store_true",
                   help="store the ODE / SDE / two reference sample sets (n-samples each) in "
                        "--out, for the debiased distances of ode_vs_sde_distances.py")
    p.add_argument("--no-floors", action="store_true",
                   help="skip the exact-score floors (another process of the same study ran them)")
    p.add_argument("--evaluate", nargs="*", default=None, metavar="CKPT",
                   help="no training: sample and measure the networks of these checkpoint "
                        "files (e.g. part-way through a schedule) with --n-samples points; "
                        "rows get the checkpoint's step")
    p.add_argument("--floor-seeds", default=None,
                   help="with --evaluate and no checkpoints: only the exact-score floors of "
                        "these comma-separated seeds (--targets, --n-samples points)")
    p.add_argument("--n-distance", type=int, default=0,
                   help="points per set for the exact W2 columns (0: all n-samples)")
    p.add_argument("--targets", default=",".join(TOY_TARGETS), help="comma-separated names")
    p.add_argument("--weights", default=",".join(str(w) for w in WEIGHTS), help="w_R values")
    p.add_argument("--n-samples", type=int, default=1000, help="points per sample set (W2)")
    p.add_argument("--floor-reference", type=int, default=1000,
                   help="reference points of the empirical truth used for the exact-score floor")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 150 steps, 1 seed, 2 weights, 400 points, 200 sampler steps")
    p.add_argument("--out", default="results/ode_vs_sde.h5")
    p.add_argument("--figure", default=None, help="the figure (default: beside the results "
                   "file, its name with .png; docs/img/ode_vs_sde.png refreshes the docs figure)")
    p.add_argument("--report", default=None, help="only print the table / draw the figure of "
                   "an existing results file")
    p.add_argument("--add-profiles", default=None, help="retrain every network of an existing "
                   "results file (deterministic: the stored DSM loss is checked), add its score-"
                   "error profile e(t) and any missing exact-score floors, rewrite the file")
    return p.parse_args(argv)


def config_from(args) -> tuple:
    weights = tuple(float(w) for w in args.weights.split(","))
    targets = tuple(args.targets.split(","))
    if args.quick:
        cfg = StudyConfig(steps=150, batch_size=args.batch, n_samples=400, sampler_steps=200,
                          n_eval=512, n_reference=1000)
        return cfg, targets, (0.0, 10.0), (0,)
    cfg = StudyConfig(steps=args.steps, batch_size=args.batch, n_samples=args.n_samples,
                      n_distance=args.n_distance)
    seeds = (tuple(int(s) for s in args.seed_list.split(",")) if args.seed_list
             else tuple(range(args.seeds)))
    return cfg, targets, weights, seeds


def _checkpoint(args, cfg, name: str, w: float, seed: int):
    if not args.checkpoint_dir:
        return None
    path = os.path.join(args.checkpoint_dir, f"{name}_wR{w:g}_seed{seed}.pt")
    identity = {"target": name, "w_R": w, "seed": seed, "config": dataclasses.asdict(cfg)}
    return TorchCheckpoint(path, args.checkpoint_every, identity, resume=args.resume,
                           keep=args.keep_checkpoints)


def run(args) -> str:
    torch.set_num_threads(1)
    cfg, targets, weights, seeds = config_from(args)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    meta = {"targets": targets, "weights": weights, "seeds": list(seeds), "host": platform.node(),
            "profile_times": profile_times(cfg).tolist(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"), "load_at_start": os.getloadavg()[0]}
    floor_cfg = dataclasses.replace(cfg, n_reference=min(cfg.n_reference, args.floor_reference))
    truths = {name: make_truth(name, cfg) for name in targets}
    records, floors, start = [], [], time.perf_counter()
    if args.resume and os.path.exists(args.out):
        runs, old_floors, _, old_meta = load_results(args.out)
        records, floors = rows_of(runs), rows_of(old_floors)
        meta["runs_before_resume"] = old_meta
    done = {(r["target"], float(r["w_R"]), int(r["seed"])) for r in records}
    have_floor = {(f["target"], int(f["seed"])) for f in floors}
    for seed in seeds:
        for name in targets:
            if (name, seed) in have_floor or args.no_floors:
                continue
            t0 = time.perf_counter()
            floors.append(floor_case(name, seed, floor_cfg, keep_samples=args.keep_samples))
            print(f"floor {name} seed={seed}: " + ", ".join(
                f"{k}={v:.4f}" for k, v in floors[-1].items() if k.startswith("w2sq"))
                + f" ({time.perf_counter() - t0:.0f} s)", flush=True)
    for seed in seeds:
        for name in targets:
            for w in weights:
                if (name, w, seed) in done:
                    continue
                t0 = time.perf_counter()
                records.append(run_case(name, w, seed, cfg, truths[name],
                                        checkpoint=_checkpoint(args, cfg, name, w, seed),
                                        keep_samples=args.keep_samples))
                records[-1]["wall_seconds"] = time.perf_counter() - t0
                meta["seconds"] = time.perf_counter() - start
                meta["load_now"] = os.getloadavg()[0]
                save_results(args.out, records, floors, cfg, meta)
                r = records[-1]
                print(f"{name:16s} w_R={w:<5g} seed={seed} eps2={r['eps2']:.3f} "
                      f"ode-sde={r['w2sq_ode_sde']:.4f} sde-tgt={r['w2sq_sde_target']:.4f} "
                      f"ode-tgt={r['w2sq_ode_target']:.4f} bias={r['w2sq_bias']:.4f} "
                      f"train {r['train_seconds']:.0f} s ({time.perf_counter() - t0:.0f} s)",
                      flush=True)
    print(f"total {time.perf_counter() - start:.0f} s", flush=True)
    return args.out


def evaluate(args) -> str:
    """Rows of --evaluate: one per checkpoint, measured like a finished run."""
    import json

    torch.set_num_threads(1)
    records, floors, start = [], [], time.perf_counter()
    if args.floor_seeds:
        cfg = StudyConfig(n_samples=args.n_samples, n_distance=args.n_distance)
        for seed in (int(s) for s in args.floor_seeds.split(",")):
            for name in args.targets.split(","):
                t0 = time.perf_counter()
                floors.append(floor_case(name, seed, cfg, keep_samples=args.keep_samples))
                floors[-1]["wall_seconds"] = time.perf_counter() - t0
                save_results(args.out, records, floors, cfg, {
                    "profile_times": profile_times(cfg).tolist(),
                    "seconds": time.perf_counter() - start})
                print(f"floor {name} seed={seed}: ode-sde={floors[-1]['w2sq_ode_sde']:.4f} "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)
        return args.out
    for path in args.evaluate:
        identity = json.loads(torch.load(path, weights_only=False)["identity"])
        cfg_dict = {**identity["config"], "hidden": tuple(identity["config"]["hidden"]),
                    "n_samples": args.n_samples, "n_distance": args.n_distance}
        cfg = StudyConfig(**cfg_dict)
        name, w, seed = identity["target"], float(identity["w_R"]), int(identity["seed"])
        model, step = model_from_checkpoint(path, cfg, seed)
        t0 = time.perf_counter()
        record = evaluate_model(model, name, w, seed, cfg, make_truth(name, cfg),
                                keep_samples=args.keep_samples)
        record.update({"step": float(step), "schedule_steps": float(cfg.steps),
                       "wall_seconds": time.perf_counter() - t0})
        records.append(record)
        meta = {"checkpoints": list(args.evaluate[:len(records)]),
                "profile_times": profile_times(cfg).tolist(),
                "seconds": time.perf_counter() - start, "load_now": os.getloadavg()[0]}
        save_results(args.out, records, floors, cfg, meta)
        print(f"{path}: step {step} w_R={w:g} seed={seed} eps2_profile="
              f"{record['eps2_profile']:.4f} ode-sde={record['w2sq_ode_sde']:.4f} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    return args.out


def rows_of(columns: dict) -> list:
    """Columns (dict of arrays) back to a list of row dicts."""
    n = len(columns["target"])
    return [{k: (v[i].item() if np.ndim(v[i]) == 0 and not isinstance(v[i], str) else v[i])
             for k, v in columns.items()} for i in range(n)]


def add_profiles(path: str) -> str:
    """Retrain the networks of ``path``, add e(t) profiles and the floors of every seed."""
    torch.set_num_threads(1)
    runs, floors, cfg_dict, meta = load_results(path)
    cfg_dict["hidden"] = tuple(cfg_dict["hidden"])
    cfg = StudyConfig(**cfg_dict)
    records, floor_rows = rows_of(runs), rows_of(floors)
    floor_cfg = dataclasses.replace(cfg, n_reference=min(cfg.n_reference, 1000))
    have = {(f["target"], int(f["seed"])) for f in floor_rows}
    for seed in sorted({int(r["seed"]) for r in records}):
        for name in dict.fromkeys(r["target"] for r in records):
            if (name, seed) not in have:
                floor_rows.append(floor_case(name, seed, floor_cfg))
    truths = {name: make_truth(name, cfg) for name in dict.fromkeys(runs["target"])}
    blank = {"profile": np.full(len(profile_times(cfg)), np.nan), "eps2_profile": np.nan,
             "eps2_profile_early": np.nan}
    for r in records:
        for key, value in blank.items():
            r.setdefault(key, value)
    start = time.perf_counter()
    for r in records:
        model, result = train_model(r["target"], r["w_R"], int(r["seed"]), cfg)
        tail = max(1, cfg.steps // 10)
        loss = float(np.mean(result.extra["dsm"][-tail:]))
        if not np.isclose(loss, r["dsm_loss"], rtol=1e-6, atol=0):
            raise RuntimeError(f"retrained {r['target']} w_R={r['w_R']} seed={r['seed']} is not "
                               f"the stored network (DSM loss {loss} vs {r['dsm_loss']})")
        r.update(profile_record(model, truths[r["target"]], cfg, int(r["seed"])))
        meta["profile_times"] = profile_times(cfg).tolist()
        meta["profile_seconds"] = time.perf_counter() - start
        save_results(path, records, floor_rows, cfg, meta)
        print(f"{r['target']:16s} w_R={r['w_R']:<5g} seed={int(r['seed'])} "
              f"eps2_profile={r['eps2_profile']:.4f} early={r['eps2_profile_early']:.4f} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    return path


def metrics_of(runs: dict) -> tuple:
    """The table's columns: eps^2 by quadrature of the profile when the file has it."""
    if "eps2_profile" in runs and np.all(np.isfinite(runs["eps2_profile"])):
        return METRICS[:3] + (("eps2_profile", "eps^2 [t_min, T]"),
                              ("eps2_profile_early", "eps^2 [t_min, 1]"))
    return METRICS


def summarise(runs: dict) -> list:
    """Rows (target, w_R, n_seeds, {metric: (mean, sd)}) from the run columns."""
    rows = []
    keys = [m for m, _ in metrics_of(runs)] + ["w2sq_bias", "eps2", "eps2_early"]
    for name in dict.fromkeys(runs["target"]):
        for w in sorted(set(runs["w_R"][runs["target"] == name])):
            sel = (runs["target"] == name) & (runs["w_R"] == w)
            stats = {key: (runs[key][sel].mean(), runs[key][sel].std(ddof=1) if sel.sum() > 1
                           else float("nan")) for key in dict.fromkeys(keys)}
            rows.append((name, w, int(sel.sum()), stats))
    return rows


def table(rows, floors, metrics=METRICS) -> str:
    head = ("| target | w_R | seeds | " + " | ".join(label for _, label in metrics)
            + " | plug-in bias |\n|" + "---|" * (len(metrics) + 4))
    lines = [head]
    for name, w, k, stats in rows:
        cells = " | ".join(f"{stats[m][0]:.4f} +- {stats[m][1]:.4f}" for m, _ in metrics)
        lines.append(f"| {name} | {w:g} | {k} | {cells} | {stats['w2sq_bias'][0]:.4f} |")
    lines.append("")
    lines.append("| target (exact score) | seeds | W2^2 ODE-SDE | W2^2 SDE-target | "
                 "W2^2 ODE-target | plug-in bias |\n|---|---|---|---|---|---|")
    for name, k, stats in floor_summary(floors):
        lines.append(f"| {name} | {k} | " + " | ".join(f"{stats[m][0]:.4f} +- {stats[m][1]:.4f}"
                                                        for m in FLOOR_KEYS) + " |")
    return "\n".join(lines)


FLOOR_KEYS = ("w2sq_ode_sde", "w2sq_sde_target", "w2sq_ode_target", "w2sq_bias")


def floor_summary(floors: dict) -> list:
    """Rows (target, n_seeds, {metric: (mean, sd)}) of the exact-score runs (none with
    ``--no-floors``)."""
    out = []
    for name in dict.fromkeys(floors.get("target", ())):
        sel = floors["target"] == name
        out.append((name, int(sel.sum()), {m: (floors[m][sel].mean(), floors[m][sel].std(ddof=1)
                                                if sel.sum() > 1 else float("nan"))
                                            for m in FLOOR_KEYS}))
    return out


def figure(rows, floors, path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r[0] for r in rows))
    fig, axes = plt.subplots(1, len(names) + 1, figsize=(4.2 * (len(names) + 1), 3.6))
    for ax, name in zip(axes, names):
        sub = [r for r in rows if r[0] == name]
        x = np.arange(len(sub))
        for key, label, style in (("w2sq_ode_sde", "ODE vs SDE", "o-"),
                                  ("w2sq_sde_target", "SDE vs target", "s--"),
                                  ("w2sq_ode_target", "ODE vs target", "^:")):
            ax.errorbar(x, [r[3][key][0] for r in sub], [r[3][key][1] for r in sub], fmt=style,
                        capsize=3, label=label)
        ax.axhline(np.mean([r[3]["w2sq_bias"][0] for r in sub]), color="grey", lw=1,
                   label="plug-in bias")
        for fname, _, stats in floor_summary(floors):
            if fname == name:
                ax.axhline(stats["w2sq_ode_sde"][0], color="k", ls="--", lw=0.8,
                           label="ODE vs SDE, exact score")
        ax.set_xticks(x, [f"{r[1]:g}" for r in sub])
        ax.set_yscale("log")
        ax.set_xlabel("w_R")
        ax.set_title(name)
    axes[0].set_ylabel("squared W2")
    axes[0].legend(fontsize=7)
    ax = axes[-1]
    for i, name in enumerate(names):
        sub = [r for r in rows if r[0] == name]
        quad = "eps2_profile" in sub[0][3]
        for key, style, label in ((("eps2_profile" if quad else "eps2"), "o-", "[t_min, T]"),
                                  (("eps2_profile_early" if quad else "eps2_early"), "s--",
                                   "[t_min, 1]")):
            ax.errorbar(np.arange(len(sub)) + 0.05 * i, [r[3][key][0] for r in sub],
                        [r[3][key][1] for r in sub], fmt=style, color=f"C{i}", capsize=3,
                        label=f"{name} {label}")
    ax.set_xticks(np.arange(len(sub)), [f"{r[1]:g}" for r in sub])
    ax.set_yscale("log")
    ax.set_xlabel("w_R")
    ax.set_title("score error eps^2 vs truth (mean +- sd)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def profile_figure(runs: dict, times, path: str) -> None:
    """e(t) = E|s_theta - s|^2 against t, mean over seeds, one panel per target."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(runs["target"]))
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), sharey=True)
    for ax, name in zip(np.atleast_1d(axes), names):
        for i, w in enumerate(sorted(set(runs["w_R"][runs["target"] == name]))):
            sel = (runs["target"] == name) & (runs["w_R"] == w)
            ax.loglog(times, runs["profile"][sel].mean(0), "o-", ms=3, color=f"C{i}",
                      label=f"w_R = {w:g}")
        ax.set_xlabel("t")
        ax.set_title(name)
    np.atleast_1d(axes)[0].set_ylabel("E|s_theta - s|^2 (mean over seeds)")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(path: str, figure_path: str) -> None:
    runs, floors, cfg, meta = load_results(path)
    rows = summarise(runs)
    print(f"config: {cfg}\nmeta: {meta}\n")
    print(table(rows, floors, metrics_of(runs)))
    figure(rows, floors, figure_path)
    print(f"\nfigure: {figure_path}")
    if "profile" in runs and np.all(np.isfinite(runs["profile"])):
        prof_path = figure_path.replace(".png", "_profile.png")
        profile_figure(runs, meta["profile_times"], prof_path)
        print(f"profile figure: {prof_path}")
        print("\n| target | w_R | " + " | ".join(f"t={t:.3g}" for t in meta["profile_times"][::4])
              + " |\n|" + "---|" * (2 + len(meta["profile_times"][::4])))
        for name, w, _, _ in rows:
            sel = (runs["target"] == name) & (runs["w_R"] == w)
            mean = runs["profile"][sel].mean(0)[::4]
            print(f"| {name} | {w:g} | " + " | ".join(f"{v:.3g}" for v in mean) + " |")


def main(argv=None):
    args = parse(argv)
    if args.evaluate is not None:
        evaluate(args)
        return
    path = args.report or (add_profiles(args.add_profiles) if args.add_profiles else run(args))
    report(path, args.figure or os.path.splitext(path)[0] + ".png")


if __name__ == "__main__":
    main()
