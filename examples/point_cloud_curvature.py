"""Point-cloud curvature against the exact scalar curvature, and the radial flattening autoencoder.

Writes ``table.md`` (the validation table beside the published numbers), ``results.json`` and
``curvature.png`` (estimated vs exact R on the torus, and the torus coloured by each) and
``flattening.png`` (radial flattening of a sphere cap against the exact log map).

    PYTHONPATH=. python examples/point_cloud_curvature.py --out results/point_cloud_curvature
    PYTHONPATH=. python examples/point_cloud_curvature.py --quick     # about 5 min under load
    PYTHONPATH=. python examples/point_cloud_curvature.py --samplings 4 --out ...   # medium

Quick run (tested): python examples/point_cloud_curvature.py --quick  -- under 900 s on 2 cores (measured 300 s)
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
from scipy.linalg import orthogonal_procrustes

from pdeflow.io import atomic_file
from pdeflow.pointcloud import flattening as fl
from pdeflow.pointcloud.benchmark import (NOISES, PUBLISHED, Estimators, ambient_study,
                                          decoder_study, sign_study, surface_study)


def _write(path: str, text: str) -> None:
    atomic_file(path, lambda tmp: tmp.write_text(text))     # never a half-written file


def _pm(row, key, digits=3):
    v, sd = row[key], row.get(key + "_sd", np.nan)
    if not np.isfinite(v):
        return "-"
    return f"{v:.{digits}f} ± {sd:.{digits}f}" if np.isfinite(sd) and row["n"] > 1 else \
        f"{v:.{digits}f}"


def _markdown(rows, head, cells) -> str:
    """A markdown table: ``head`` column titles, ``cells(row)`` the row's cell strings."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(cells(r)) + " |" for r in rows])


def _f(row, key, digits=3):
    v = row.get(key, np.nan)
    return "-" if not np.isfinite(v) else f"{v:.{digits}f}"


def surface_markdown(rows) -> str:
    return _markdown(rows, ["surface", "noise", "estimator", "Pearson r", "published r",
                            "r boundary-only", "r beyond boundary", "sign acc. (abs R > 0.1)",
                            "sign acc. interior", "flat twin: mean ± sd",
                            "flat twin: share < 0 (interior)"],
                     lambda r: [r["surface"], f"{r['noise']:.2f}", r["estimator"],
                                _pm(r, "pearson"),
                                "-" if not np.isfinite(r["published"]) else f"{r['published']:.3f}",
                                _f(r, "r_boundary"), _f(r, "r_beyond"), _pm(r, "sign"),
                                _f(r, "sign_interior"),
                                f"{r['twin_mean']:.3g} ± {r['twin_sd']:.2g}",
                                _f(r, "twin_negative", 2)])


def sign_markdown(rows) -> str:
    out = ["| dim | estimator | sign acc. (saddles + spheres) | saddles | spheres | "
           "plane value (mean ± sd) | sphere value | saddle value | saddle Pearson r |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['dim']} | {r['estimator']} | {r['sign']:.3f} | {r['sign_saddle']:.2f} | "
                   f"{r['sign_sphere']:.2f} | {r['plane_value']:.3g} ± {r['plane_sd']:.2g} | "
                   f"{r['sphere_value']:.3g} | {r['saddle_value']:.3g} | "
                   f"{r['saddle_pearson']:.3f} |")
    for w in ("diffusion", "ball_volume"):
        mine = [r["sign"] for r in rows if r["estimator"] == w]
        out.append(f"\nOverall sign accuracy, {w}: {np.mean(mine):.3f} "
                   f"(published {PUBLISHED[(w, 'sign')]:.3f}).")
    return "\n".join(out)


def ambient_markdown(rows) -> str:
    return _markdown(rows, ["ambient D", "noise", "estimator", "Pearson r", "Spearman",
                            "sign acc."],
                     lambda r: [str(r["ambient_dim"]), f"{r['noise']:.2f}", r["estimator"],
                                _pm(r, "pearson"), _pm(r, "spearman"), _pm(r, "sign")])


def decoder_markdown(rows) -> str:
    return _markdown(rows, ["surface", "estimator", "Pearson r", "Spearman", "sign acc.",
                            "samplings"],
                     lambda r: [f"{r['surface']} (gain {r['gain']})", r["estimator"],
                                _pm(r, "pearson"), _pm(r, "spearman"), _pm(r, "sign"),
                                str(r["n"])])


def flattening_study(quick: bool):
    """Train on a sphere cap (full loss and radial-only) and report errors vs the log map."""
    cap = fl.sphere_cap(200 if quick else 400, 0, cap_radius=1.0)
    steps = 600 if quick else 2000
    results = {"exact log map": fl.flattening_errors(cap, cap.log)}
    embeds = {}
    for name, cfg in [("full loss", fl.FlatteningConfig(steps=steps, lr=3e-3)),
                      ("radial only", fl.FlatteningConfig(steps=steps, lr=3e-3, w_rec=0.0,
                                                          w_affinity=0.0))]:
        z, _ = fl.train_flattening(cap, cfg)
        results[name], embeds[name] = fl.flattening_errors(cap, z), z
    patch = fl.torus_patch(150 if quick else 400, 0, patch_radius=0.6,
                           steps=16 if quick else 32)
    results["torus log map"] = fl.flattening_errors(patch, patch.log)
    z, _ = fl.train_flattening(patch, fl.FlatteningConfig(steps=steps, lr=3e-3))
    results["torus full loss"] = fl.flattening_errors(patch, z)
    return cap, embeds, results


def flattening_markdown(results) -> str:
    out = ["| case | radial RMSE | radial max | RMSE vs log map (aligned) | tangential stretch "
           "by radius bin | K r^2/6 |", "|---|---|---|---|---|---|"]
    for name, e in results.items():
        st = " / ".join(f"{v:.3f}" for v in e["tangential_stretch"])
        pr = " / ".join(f"{v:.3f}" for v in e["predicted"])
        out.append(f"| {name} | {e['radial_rmse']:.4f} | {e['radial_max']:.4f} | "
                   f"{e['log_rmse']:.4f} | {st} | {pr} |")
    radii = " / ".join(f"{v:.2f}" for v in results["exact log map"]["bin_radius"])
    out.append(f"\nCap bin radii: {radii}.")
    return "\n".join(out)


def figure(rows, cap, embeds, path_curv: str, path_flat: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    firsts = {r["estimator"]: r["first"] for r in rows
              if r["surface"] == "torus" and r["noise"] == 0.0}
    cols = 1 + len(firsts)
    fig = plt.figure(figsize=(4.7 * cols, 8))
    cloud = next(iter(firsts.values()))[0]
    ax = fig.add_subplot(2, cols, 1, projection="3d")
    s = ax.scatter(*cloud.points.T, c=cloud.scalar, s=3, cmap="coolwarm")
    ax.set_title("torus, exact R")
    fig.colorbar(s, ax=ax, shrink=0.6, pad=0.16, label="R")   # pad: clear of the z labels
    for k, (w, (cl, est)) in enumerate(firsts.items()):
        ax = fig.add_subplot(2, cols, 2 + k, projection="3d")
        s = ax.scatter(*cl.points.T, c=est, s=3, cmap="coolwarm")
        ax.set_title(f"torus, {w} estimate")
        fig.colorbar(s, ax=ax, shrink=0.6, pad=0.16, label="estimate")
        ax = fig.add_subplot(2, cols, cols + 2 + k)
        ax.scatter(cl.scalar, est, s=2, alpha=0.4)
        r = np.corrcoef(cl.scalar, est)[0, 1]
        ax.set_xlabel("exact R")
        ax.set_ylabel(f"{w} estimate")
        ax.set_title(f"Pearson r = {r:.3f}")
    ax = fig.add_subplot(2, cols, cols + 1)
    ax.hist(cloud.scalar, 40)
    ax.set_xlabel("exact R on the torus (uniform in area)")
    fig.tight_layout()
    atomic_file(path_curv, lambda tmp: fig.savefig(tmp, dpi=110))
    plt.close(fig)

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    colour = cap.radius
    axes[0].scatter(*cap.log.T, c=colour, s=6)
    axes[0].set_title("exact log map (normal coordinates)")
    for ax, (name, z) in zip(axes[1:], embeds.items()):
        e = z - z[:1]
        q = orthogonal_procrustes(e, cap.log)[0]
        ax.scatter(*(e @ q).T, c=colour, s=6)
        ax.set_title(f"learned, {name} (aligned)")
    for ax in axes:
        ax.set_aspect("equal")
    fig.tight_layout()
    atomic_file(path_flat, lambda tmp: fig.savefig(tmp, dpi=110))
    plt.close(fig)


def _jsonable(rows):
    return [{k: v for k, v in r.items() if k != "first"} for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/point_cloud_curvature")
    parser.add_argument("--quick", action="store_true", help="1 sampling, fewer noises/dims")
    parser.add_argument("--samplings", type=int, default=20)
    parser.add_argument("--surfaces-only", action="store_true",
                        help="only the surface table (with flat twins, boundary-only predictor "
                             "and the quadric baseline)")
    parser.add_argument("--noises", default=None,
                        help="comma-separated noise levels of the surface table (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    n_s = 1 if args.quick else args.samplings
    est = Estimators()
    noises = (0.0, 0.25) if args.quick else NOISES
    if args.noises:
        noises = tuple(float(v) for v in args.noises.split(","))
    surf = surface_study(est, noises=noises, n_samplings=n_s, keep_first=True)
    t_surf = time.time() - t0
    if args.surfaces_only:
        text = (f"# Point-cloud curvature: surfaces only ({n_s} samplings, noises {noises}; "
                f"wall {t_surf:.0f} s)\n\n" + surface_markdown(surf) + "\n")
        _write(os.path.join(args.out, "surfaces.md"), text)
        _write(os.path.join(args.out, "surfaces.json"),
               json.dumps(_jsonable(surf), indent=1, default=float))
        print(text)
        return
    sign = sign_study(est, dims=(2, 4, 6) if args.quick else (2, 3, 4, 5, 6), n_samplings=n_s)
    t_sign = time.time() - t0 - t_surf
    amb = ambient_study(est, ambient_dims=(3, 100) if args.quick else (3, 10, 100),
                        n_samplings=n_s)
    t_amb = time.time() - t0 - t_surf - t_sign
    dec = decoder_study(est, n_samplings=2 if args.quick else n_s)
    t_dec = time.time() - t0 - t_surf - t_sign - t_amb
    cap, embeds, flat = flattening_study(args.quick)
    t_flat = time.time() - t0 - t_surf - t_sign - t_amb - t_dec
    text = "\n\n".join([
        f"# Point-cloud curvature ({'quick' if args.quick else f'{n_s} samplings'}; "
        f"wall {time.time() - t0:.0f} s: surfaces {t_surf:.0f}, sign {t_sign:.0f}, "
        f"ambient {t_amb:.0f}, decoders {t_dec:.0f}, flattening {t_flat:.0f})",
        "## Surfaces (2000 points, uniform in area; noise = ambient Gaussian sd)",
        surface_markdown(surf), "## Sign test at the centre point (2000 points)",
        sign_markdown(sign), "## Ambient dimension (torus, noise 0.1 in every coordinate)",
        ambient_markdown(amb),
        "## Random decoder surfaces (z -> (z, 0) + mlp(z), exact R by autograd)",
        decoder_markdown(dec), "## Radial flattening vs the exact log map",
        flattening_markdown(flat)]) + "\n"
    _write(os.path.join(args.out, "table.md"), text)
    flat_json = {k: {kk: (vv.tolist() if isinstance(vv, np.ndarray) else vv)
                     for kk, vv in v.items()} for k, v in flat.items()}
    _write(os.path.join(args.out, "results.json"), json.dumps(
        {"surfaces": _jsonable(surf), "sign": sign, "ambient": amb, "decoders": dec,
         "flattening": flat_json,
         "flat_laziness": {f"{k[0]}d_{k[1]}": v for k, v in est._flat.items()}},
        indent=1, default=float))
    figure(surf, cap, embeds, os.path.join(args.out, "curvature.png"),
           os.path.join(args.out, "flattening.png"))
    print(text)
    print(f"wrote {args.out} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
