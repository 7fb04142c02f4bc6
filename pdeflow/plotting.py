"""Figures (matplotlib, written atomically as PNG files): grid solutions; true vs learned
trajectories, with the one-call trajectory report (table + figure) for built-in problems or your
own snapshots."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never opens a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["plot_snapshots", "plot_trajectories", "trajectory_report", "plot_curvature",
           "curvature_report"]


def plot_snapshots(solution, path, indices=None, arrows: int = 20, title: str | None = None) -> Path:
    """Density (colour) and velocity (arrows) of a 1-D or 2-D GridSolution at a few snapshots.

    2-D panels share one colour scale (the colour bar, for the density) and one arrow scale (the
    key under the last panel: an arrow of a round speed ``|v|`` drawn to that scale).

    Parameters
    ----------
    solution : GridSolution
    path : where the PNG goes.
    indices : snapshot indices to draw (default: up to four spread over the run).
    arrows : arrows per axis in 2-D (velocity is drawn only where rho > 1e-3 max rho).
    """
    grid = solution.grid
    if grid.dim not in (1, 2):
        raise ValueError(f"plot_snapshots draws 1-D or 2-D solutions, got dim = {grid.dim}")
    nt = len(solution.times)
    if indices is None:
        indices = sorted(set(np.linspace(0, nt - 1, min(nt, 4)).round().astype(int)))
    fig, axes = plt.subplots(1, len(indices), figsize=(4 * len(indices) + 0.8, 3.8),
                             squeeze=False, layout="constrained")
    # one colour scale and one arrow scale for all panels, so panels compare at a glance
    rho_max = float(solution.density[indices].max())
    speed_max = max(_max_speed(solution, k) for k in indices)
    for ax, k in zip(axes[0], indices):
        if grid.dim == 1:
            _draw_1d(ax, solution, k, rho_max, speed_max)
        else:
            image, arrows_drawn = _draw_2d(ax, solution, k, arrows, rho_max, speed_max)
        ax.set_title(f"t = {solution.times[k]:.3g}")
    if grid.dim == 2:
        fig.colorbar(image, ax=list(axes[0]), label="density rho", shrink=0.9)
        if speed_max > 0:       # the arrow scale: a round speed drawn to the panels' scale
            key = _round_down(speed_max)
            axes[0][-1].quiverkey(arrows_drawn, X=0.86, Y=-0.13, U=key, label=f"|v| = {key:g}",
                                  labelpos="W", coordinates="axes", color="black",
                                  fontproperties={"size": 9})
    fig.suptitle(title or type(solution.equation).__name__)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _round_down(value: float) -> float:
    """The largest of 1, 2, 5 x 10^k not above ``value`` (> 0): the arrow key's speed."""
    exponent = 10.0 ** np.floor(np.log10(value))
    return float(max(f * exponent for f in (1, 2, 5) if f * exponent <= value * (1 + 1e-12)))


def _occupied(solution, k) -> np.ndarray:
    """Cells where the density is not negligible (velocity is drawn only there)."""
    rho = solution.density[k]
    return rho > 1e-3 * rho.max()


def _max_speed(solution, k) -> float:
    speed = np.sqrt((solution.velocity[k] ** 2).sum(0))[_occupied(solution, k)]
    return float(speed.max()) if speed.size else 0.0


def _draw_1d(ax, solution, k, rho_max, speed_max):
    x = solution.grid.axis_centers(0)
    ax.plot(x, solution.density[k], color="C0", label="density")
    ax.set_ylim(0, 1.05 * rho_max)
    ax.set_xlabel("x")
    twin = ax.twinx()
    velocity = np.where(_occupied(solution, k), solution.velocity[k, 0], np.nan)
    twin.plot(x, velocity, color="C3", lw=0.8, label="velocity")
    twin.set_ylim(-1.05 * speed_max - 1e-300, 1.05 * speed_max + 1e-300)
    twin.set_ylabel("v", color="C3")


def _draw_2d(ax, solution, k, arrows, rho_max, speed_max):
    grid = solution.grid
    rho = solution.density[k]
    extent = (grid.lower[0], grid.upper[0], grid.lower[1], grid.upper[1])
    image = ax.imshow(rho.T, origin="lower", extent=extent, cmap="viridis", aspect="equal",
                      vmin=0, vmax=rho_max)
    step = tuple(max(1, n // arrows) for n in grid.shape)
    xs, ys = grid.axis_centers(0)[::step[0]], grid.axis_centers(1)[::step[1]]
    vel = solution.velocity[k][:, ::step[0], ::step[1]]
    mask = _occupied(solution, k)[::step[0], ::step[1]]
    X, Y = np.meshgrid(xs, ys, indexing="ij")
    spacing = min(h * s for h, s in zip(grid.spacing, step))
    # the fastest arrow of the whole figure spans one arrow spacing
    drawn = ax.quiver(X[mask], Y[mask], vel[0][mask], vel[1][mask], color="white", width=0.004,
                      angles="xy", scale_units="xy", scale=max(speed_max, 1e-300) / spacing)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return image, drawn


TRAJECTORY_METHODS = ("displacement", "MIOFlow", "OT-CFM")


def plot_trajectories(first, path, count: int = 25, methods=TRAJECTORY_METHODS) -> Path:
    """True (black) vs learned (red) trajectories from the same starting points, one row per data
    set of ``first`` (the second value of :func:`pdeflow.trajectory.run_table`), one column per
    method; 1-D data are drawn as x(t), higher dimensions by their first two coordinates (grey:
    the last snapshot). Returns ``path``."""
    from .io import atomic_file

    if not first:
        raise ValueError("first must hold at least one data set")
    fig, axes = plt.subplots(len(first), len(methods), squeeze=False,
                             figsize=(4 * len(methods), 3.6 * len(first)))
    for row, (name, (data, models)) in zip(axes, first.items()):
        x0 = data.truth_positions[0][:count]
        truth = data.truth_positions[:, :count]
        t = data.truth_times
        for ax, method in zip(row, methods):
            if method not in models:
                ax.set_axis_off()
                continue
            learned = models[method].transport(x0, t)
            if data.dim == 1:
                ax.plot(t, truth[:, :, 0], "k-", lw=0.8)
                ax.plot(t, learned[:, :, 0], "r-", lw=0.8)
                ax.set_xlabel("t")
            else:
                ax.scatter(*data.snapshots[-1][:, :2].T, s=2, c="0.8")
                ax.plot(truth[:, :, 0], truth[:, :, 1], "k-", lw=0.8)
                ax.plot(learned[:, :, 0], learned[:, :, 1], "r-", lw=0.8)
                ax.plot(*x0[:, :2].T, "k.", ms=3)
                ax.set_aspect("equal")
            ax.set_title(f"{name}: {method}", fontsize=9)
    fig.suptitle("true (black) vs learned (red) trajectories from the same starting points; "
                 "grey: last snapshot", fontsize=10)
    fig.tight_layout()
    atomic_file(path, lambda tmp: fig.savefig(tmp, dpi=90))
    plt.close(fig)
    return Path(path)


def trajectory_report(problems, out, *, seeds=(0,), budget="quick", name: str = "trajectory",
                      progress: bool | None = None) -> dict:
    """The trajectory-inference table and figure in one call, for built-in problem names and/or
    your own :class:`~pdeflow.trajectory.SnapshotData` (see
    :func:`pdeflow.trajectory.snapshot_data`).

    Writes ``out/<name>.md`` (the markdown table of
    :func:`pdeflow.trajectory.format_table`, every error beside its scale) and
    ``out/<name>.png`` (:func:`plot_trajectories`). Returns ``{"rows", "table", "markdown",
    "figure"}``."""
    import json

    from .io import atomic_file
    from .trajectory.table import _budget, format_table, run_table

    budget = _budget(budget)
    rows, first = run_table(problems, seeds=seeds, budget=budget, progress=progress)
    table = format_table(rows)
    out = Path(out)
    text = f"budget: {json.dumps(budget)}; seeds: {list(seeds)}\n\n{table}\n"
    md = atomic_file(out / f"{name}.md", lambda tmp: tmp.write_text(text))
    png = plot_trajectories(first, out / f"{name}.png")
    return {"rows": rows, "table": table, "markdown": md, "figure": png}


def plot_curvature(points, estimates: dict, path, exact=None) -> Path:
    """The cloud coloured by each estimate (first three principal coordinates; and by the exact
    R when given) and, with ``exact``, each estimate against it. Returns ``path``."""
    from .io import atomic_file

    x = np.asarray(points, dtype=np.float64)
    centred = x - x.mean(0)
    coords = centred @ np.linalg.svd(centred, full_matrices=False)[2][:3].T
    if coords.shape[1] < 3:
        coords = np.hstack([coords, np.zeros((len(x), 3 - coords.shape[1]))])
    panels = ([("exact R", exact)] if exact is not None else []) + list(estimates.items())
    rows = 2 if exact is not None else 1
    fig = plt.figure(figsize=(4.2 * len(panels), 3.8 * rows))
    for i, (title, values) in enumerate(panels):
        ax = fig.add_subplot(rows, len(panels), 1 + i, projection="3d")
        s = ax.scatter(*coords.T, c=values, s=3, cmap="coolwarm")
        ax.set_title(title, fontsize=9)
        fig.colorbar(s, ax=ax, shrink=0.6)
        if exact is not None and i > 0:
            ax = fig.add_subplot(rows, len(panels), len(panels) + 1 + i)
            ax.scatter(exact, values, s=2, alpha=0.4)
            ax.set_xlabel("exact R")
            ax.set_ylabel(title)
            ax.set_title(f"Pearson r = {np.corrcoef(exact, values)[0, 1]:.3f}", fontsize=9)
    fig.tight_layout()
    atomic_file(path, lambda tmp: fig.savefig(tmp, dpi=90))
    plt.close(fig)
    return Path(path)


CURVATURE_COLUMNS = ("estimator", "mean", "sd", "pearson", "spearman", "sign", "sign_interior",
                     "r_boundary", "r_beyond", "twin_mean", "twin_negative", "seconds")


def curvature_report(points, dim: int, out, *, exact=None, boundary=None, twin=None,
                     which=("diffusion", "ball_volume", "quadric"), name: str = "curvature",
                     tau: float = 0.1) -> dict:
    """The point-cloud curvature table and figure in one call for your cloud ``points`` (N, D)
    of intrinsic dimension ``dim``: every estimator of ``which`` (signed diffusion curvature,
    Hickok-Blumberg ball volume, local quadric fitting), with the scores of
    :func:`pdeflow.pointcloud.cloud_scores` where ``exact`` (N,), ``boundary`` (N,, geodesic
    distance to the boundary) and ``twin`` (a flat PointCloud with R = 0, the same boundary
    and sampling) are given. Writes ``out/<name>.md``, ``out/<name>.png`` and
    ``out/<name>.npz`` (the estimates); returns ``{"rows", "table", "estimates", ...paths}``."""
    from .io import atomic_file
    from .pointcloud.benchmark import evaluate_cloud

    rows, estimates = evaluate_cloud(points, dim, exact, boundary=boundary, twin=twin,
                                     which=tuple(which), tau=tau)
    for r in rows:
        r["mean"], r["sd"] = float(np.mean(estimates[r["estimator"]])), \
            float(np.std(estimates[r["estimator"]]))
    lines = ["| " + " | ".join(CURVATURE_COLUMNS) + " |", "|" + "---|" * len(CURVATURE_COLUMNS)]
    for r in rows:
        cells = [r["estimator"]] + ["-" if not np.isfinite(r[c]) else f"{r[c]:.3g}"
                                    for c in CURVATURE_COLUMNS[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    out = Path(out)
    header = (f"points: {np.shape(points)}, dim {dim}; exact R: {exact is not None}; boundary: "
              f"{boundary is not None}; flat twin: {twin is not None}")
    md = atomic_file(out / f"{name}.md", lambda tmp: tmp.write_text(f"{header}\n\n{table}\n"))
    npz = atomic_file(out / f"{name}.npz", lambda tmp: np.savez(tmp, **estimates))
    png = plot_curvature(points, estimates, out / f"{name}.png", exact)
    return {"rows": rows, "table": table, "estimates": estimates, "markdown": md,
            "figure": png, "arrays": npz}
