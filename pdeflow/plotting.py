"""Figures of grid solutions (matplotlib, written as PNG files)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never opens a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["plot_snapshots"]


def plot_snapshots(solution, path, indices=None, arrows: int = 20, title: str | None = None) -> Path:
    """Density (colour) and velocity (arrows) of a 1-D or 2-D GridSolution at a few snapshots.

    Parameters
    ----------
    solution : GridSolution
    path : where the PNG goes.
    indices : snapshot indices to draw (default: up to four spread over the run).
    arrows : arrows per axis in 2-D (velocity is drawn only where rho > 1e-3 max rho).

    2-D panels share one colour scale (the colour bar, density) and one arrow scale (the key
    under the last panel: an arrow of a round speed |v| drawn to that scale).
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
