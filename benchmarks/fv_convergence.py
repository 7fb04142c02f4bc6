"""Accuracy study of the finite-volume solver: L1 errors against the closed forms under grid
refinement, fitted orders, the markdown table of docs/scheme.md and docs/img/fv_convergence.png.

Usage: python benchmarks/fv_convergence.py [--out docs/img/fv_convergence.png]
(about two minutes on one core; the same studies are asserted in tests/test_finite_volume.py)
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from _fv_studies import fitted_order, gaussian_errors, porous_errors  # noqa: E402

GRIDS = {1: (50, 100, 200, 400), 2: (24, 48, 96), 3: (16, 24, 32, 48)}
PM_GRIDS = {1: (40, 80, 160, 320), 2: (24, 48, 96, 192), 3: (16, 24, 32, 48)}


def cases():
    for dim in (1, 2, 3):
        for kappa in ((0.0, 1.0) if dim == 1 else (1.0,)):
            for flux in ("upwind", "scharfetter-gummel"):
                name = "heat" if kappa == 0 else "Fokker-Planck"
                label = f"{dim}-D Gaussian {name}, {flux}"
                width = 6.0 if dim < 3 else 5.0
                yield label, GRIDS[dim], (lambda ns, d=dim, k=kappa, f=flux, w=width:
                                          gaussian_errors(d, k, ns, flux=f, half_width=w))
        for m in (1.5, 2.0, 3.0):
            for confined in (False, True):
                label = f"{dim}-D Barenblatt m={m:g} {'confined' if confined else 'free'}"
                yield label, PM_GRIDS[dim], (lambda ns, d=dim, mm=m, c=confined:
                                             porous_errors(mm, d, c, ns))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/img/fv_convergence.png")
    args = parser.parse_args()
    rows = []
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharey=True)
    print("| case | grids n | L1 error (finest) | fitted order | seconds |")
    print("|---|---|---|---|---|")
    for label, ns, study in cases():
        start = time.perf_counter()
        errors = study(ns)
        order = fitted_order(ns, errors)
        seconds = time.perf_counter() - start
        rows.append((label, ns, errors, order))
        print(f"| {label} | {', '.join(map(str, ns))} | {errors[-1]:.2e} | {order:.2f} | "
              f"{seconds:.1f} |", flush=True)
        ax = axes[int(label[0]) - 1]
        style = "--" if "Gaussian" in label else "-"
        ax.loglog(ns, errors, style, marker="o", ms=3, label=f"{label[4:]} ({order:.2f})")
    for dim, ax in enumerate(axes, start=1):
        ns = np.array(GRIDS[dim], dtype=float)
        ax.loglog(ns, 0.5 * (ns / ns[0]) ** -2, "k:", label="order 2")
        ax.loglog(ns, 0.05 * (ns / ns[0]) ** -1, "k-.", label="order 1")
        ax.set(title=f"{dim}-D", xlabel="cells per axis n")
        ax.legend(fontsize=6, loc="lower left")
    axes[0].set_ylabel("L1 error (Barenblatt: relative to mass)")
    fig.tight_layout()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return rows


if __name__ == "__main__":
    main()
