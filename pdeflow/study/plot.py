"""The epsilon study's figure: one row per problem and alpha.

Columns: (1) W2(rho_eps(0), rho_0) against eps for every route, the eps = 0 baseline as a
horizontal line labelled as the baseline, the plug-in floor (W2 between two n-samples of rho_0)
as a band of mean +- one standard deviation over its draws, and on the deterministic panels
(alpha = 0) only the seed's conjectured bound C / log(1 + 1/eps)^(1/4) anchored at the largest
eps; (2) W2 to the eps = 0 samples and the flow-map error with their fitted power laws, the
resolution limit 3 x truth_flow_map_error as a grey band, unresolved points hollow grey;
(3) generated samples at eps = 0 and at the largest eps (smooth and rough) over rho_0.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .config import row_group  # noqa: E402
from .theory import theory_curve  # noqa: E402

__all__ = ["plot_study"]

_STYLE = {"smooth": ("C0", "o"), "rough": ("C3", "s"), "targeted": ("C1", "D"),
          "network": ("C2", "^")}


def plot_study(result, path) -> Path:
    """Write the figure of a :class:`~pdeflow.study.result.StudyResult` to ``path``."""
    panels = sorted({(r["problem"], r["alpha"]) for r in result.rows})
    fig, axes = plt.subplots(len(panels), 3, figsize=(15, 4.2 * len(panels)), squeeze=False)
    for row_axes, (problem, alpha) in zip(axes, panels):
        idx = [i for i, r in enumerate(result.rows) if r["problem"] == problem
               and r["alpha"] == alpha]
        _w2_panel(row_axes[0], result, idx, f"{problem}, alpha = {alpha:g}", problem, alpha)
        _gap_panel(row_axes[1], result, idx, problem, alpha)
        _samples_panel(row_axes[2], result, idx, problem)
    # fixed margins in inches (what tight_layout chose for this layout; it costs a second)
    width, height = fig.get_size_inches()
    fig.subplots_adjust(left=1.05 / width, right=1 - 0.15 / width, bottom=0.6 / height,
                        top=1 - 0.38 / height, wspace=0.2, hspace=0.26)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _w2_panel(ax, result, idx, title, problem, alpha):
    rows = [result.rows[i] for i in idx]
    for group, (colour, marker) in _STYLE.items():
        pts = [(r["eps"], r["w2"]) for r in rows if row_group(r) == group]
        if pts:
            ax.scatter(*zip(*pts), color=colour, marker=marker, s=18, label=group)
    base = [r["w2"] for r in rows if r["route"] == "baseline"]
    if base:
        ax.axhline(np.mean(base), color="k", ls=":", lw=1, label="baseline (eps = 0)")
    checks = result.checks.get(problem, {})
    floor, spread = checks.get("w2_plugin_floor"), checks.get("w2_plugin_floor_sd")
    if floor is not None and spread is not None:
        ax.axhspan(floor - spread, floor + spread, color="0.85", zorder=0,
                   label=f"plug-in floor {floor:.3f} +- {spread:.3f} "
                         f"({checks.get('w2_plugin_floor_draws', '?')} draws)")
    pert = [(r["eps"], r["w2"]) for r in rows if r["route"] == "perturbation"]
    if pert and alpha == 0:
        top = max(e for e, _ in pert)
        anchor = float(np.median([w for e, w in pert if e == top]))
        grid = np.geomspace(min(e for e, _ in pert), top, 50)
        ax.plot(grid, theory_curve(grid, top, anchor), "k--", lw=1,
                label="seed's bound C / log(1+1/eps)^(1/4) (ODE; exponent uncertain)")
    ax.set(xscale="log", yscale="log", xlabel="eps = ||v_eps - v||_L2(rho)",
           ylabel="W2(rho_eps(0), rho_0)", title=title)
    ax.legend(fontsize=7)


def _gap_panel(ax, result, idx, problem, alpha):
    rows = [result.rows[i] for i in idx]
    for group, (colour, marker) in _STYLE.items():
        pts = [(r["eps"], r["w2_gap"], r["flow_map"], r.get("resolved", -1)) for r in rows
               if row_group(r) == group]
        if not pts:
            continue
        eps, gap, fm, ok = map(np.array, zip(*pts))
        good = ok != 0
        ax.scatter(eps[good], fm[good], color=colour, marker=marker, s=18,
                   label=f"{group}: flow map")
        if (~good).any():
            ax.scatter(eps[~good], fm[~good], color="0.5", marker=marker, s=18,
                       facecolors="none", label=f"{group}: unresolved")
        ax.scatter(eps, gap, color=colour, marker="x", s=14, lw=0.7,
                   label=f"{group}: W2 gap")
        for fit in result.fits:
            if (fit["problem"], fit["alpha"], fit["group"], fit["metric"]) == \
                    (problem, alpha, group, "flow_map"):
                line = np.geomspace(eps.min(), eps.max(), 20)
                ax.plot(line, fit["prefactor"] * line ** fit["slope"], color=colour, lw=1,
                        label=f"slope {fit['slope']:.2f} [{fit['lo']:.2f}, {fit['hi']:.2f}]")
    ax.set(xscale="log", yscale="log")
    truth = result.checks.get(problem, {}).get("truth_flow_map_error")
    if truth is not None and truth > 0:
        lo, hi = ax.get_ylim()
        lo, hi = min(lo, 0.5 * truth), max(hi, 6 * truth)
        ax.axhspan(lo, 3 * truth, color="0.9", zorder=0,
                   label=f"unresolved: < 3 x truth error {truth:.2g}")
        ax.set_ylim(lo, hi)
    ax.set(xscale="log", yscale="log", xlabel="eps", ylabel="distance to the eps = 0 samples",
           title="flow-map error (filled; hollow grey: unresolved), W2 gap (x)")
    ax.legend(fontsize=6)


def _samples_panel(ax, result, idx, problem):
    rho0 = result.rho0.get(problem)
    cfg = result.config
    lim = cfg.half_width
    picks = [("baseline", None)] + [(g, None) for g in ("smooth", "rough")]
    rows = [(i, result.rows[i]) for i in idx]
    chosen = []
    for group, _ in picks:
        cands = [(r["eps"], i) for i, r in rows if (r["route"] == "baseline" if group ==
                                                     "baseline" else row_group(r) == group)]
        if cands:
            chosen.append((group, max(cands)[1]))
    if cfg.dim == 1:
        x = np.linspace(-lim, lim, len(rho0)) if rho0 is not None else None
        if rho0 is not None:
            ax.plot(x, rho0, "k", lw=1, label="rho_0")
        for group, i in chosen:
            ax.hist(result.generated[i][:, 0], bins=60, density=True, histtype="step",
                    label=f"{group} eps = {result.rows[i]['eps']:.3g}")
    else:
        if rho0 is not None:
            image = rho0 if rho0.ndim == 2 else rho0.sum(axis=tuple(range(2, rho0.ndim)))
            ax.imshow(image.T, origin="lower", extent=(-lim, lim, -lim, lim), cmap="Greys")
        for (group, i), colour in zip(chosen, ("C1", "C0", "C3")):
            pts = result.generated[i][:300]
            ax.scatter(pts[:, 0], pts[:, 1], s=3, color=colour,
                       label=f"{group} eps = {result.rows[i]['eps']:.3g}")
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
    ax.set_title(f"{problem}: generated samples at t = 0")
    ax.legend(fontsize=7, markerscale=3)
