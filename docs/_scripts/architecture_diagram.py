"""Draw the two diagrams of docs/architecture.md with matplotlib (no graphviz needed).

    python docs/_scripts/architecture_diagram.py      # writes docs/img/architecture_{layers,dataflow}.png

``architecture_layers.png``: the layers of the package, bottom (physics) to top (cli); an import may
only point down. ``architecture_dataflow.png``: the data flow of the main job, the epsilon study.
The boxes are the lists below; edit them here and rerun when the layout changes.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "img"

# (layer number, layer name, folders of the layer), bottom to top, as in docs/architecture.md.
LAYERS = [
    (0, "physics", ["equations", "exact", "grid"]),
    (1, "engines", ["solvers (numba)", "geometry (torch)"]),
    (2, "storage, learning", ["io", "learn", "manifold_flows", "ricci"]),
    (3, "metrics", ["validation"]),
    (4, "problems", ["problems"]),
    (5, "applications", ["study", "reproductions", "modelcheck", "trajectory", "pointcloud"]),
    (6, "figures", ["plotting"]),
    (7, "interface", ["cli"]),
]
COLOURS = ["#dbe9f6", "#c6dbef", "#deebd0", "#fde0c5", "#f2e1f0", "#fbd4d4", "#e8e8e8", "#d9d9d9"]

# The main job: (label, (x, y) centre); then the arrows between labels.
FLOW_BOXES = {
    "config": ("StudyConfig\n(TOML / dict / flags, validated first)", (0.5, 9.0)),
    "data": ("study.data: initial density rho_0 on the grid\n(mixture, rings, user samples)", (0.5, 7.8)),
    "solve": ("solvers.finite_volume.solve -> GridSolution\n(density, velocity, snapshots; cached by io)", (0.5, 6.6)),
    "perturb": ("study.perturbations\nv + eps w, ||w||_L2(rho) = 1", (0.22, 5.3)),
    "learn": ("learn: networks trained on the truth\n(achieved eps measured)", (0.78, 5.3)),
    "backward": ("solvers.backward.sample_backward\nalpha = 0 (ODE), alpha = 1 (SDE), from rho_T samples", (0.5, 4.0)),
    "metrics": ("validation.metrics: W2, flow-map error, density L1,\nmemorisation (one point = one row)", (0.5, 2.8)),
    "store": ("study.point_store (resumable HDF5)\nstudy.executors (processes / Dask)", (0.5, 1.6)),
    "result": ("study.result: rate fits (validation.rates), HDF5 + text table\nstudy.plot: PNG", (0.5, 0.4)),
}
FLOW_ARROWS = [("config", "data"), ("data", "solve"), ("solve", "perturb"), ("solve", "learn"),
               ("perturb", "backward"), ("learn", "backward"), ("backward", "metrics"),
               ("metrics", "store"), ("store", "result")]


def _box(ax, x, y, w, h, text, colour, fontsize=10):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=colour, edgecolor="#444444", linewidth=0.8))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _save(fig, ax, path: Path, xlim, ylim, title: str) -> Path:
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_axis_off()
    ax.set_title(title, fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def draw_layers(path: Path) -> Path:
    """The layer diagram: one row per layer, its folders as boxes, an arrow "imports" downwards."""
    fig, ax = plt.subplots(figsize=(8.4, 6.0))
    row_h, width = 0.8, 8.6
    for row, (number, name, folders) in enumerate(LAYERS):
        y = row * row_h
        ax.add_patch(FancyBboxPatch((0, y + 0.06), width, row_h - 0.12, boxstyle="round,pad=0.01",
                                    facecolor=COLOURS[number], edgecolor="none"))
        ax.text(0.12, y + row_h / 2, f"{number}  {name}", ha="left", va="center", fontsize=11,
                fontweight="bold")
        slot = (width - 2.4) / len(folders)
        for i, folder in enumerate(folders):
            _box(ax, 2.4 + slot * (i + 0.5), y + row_h / 2, min(slot - 0.15, 2.2), row_h - 0.3,
                 folder, "white", fontsize=9 if len(folders) > 4 else 10)
    top = len(LAYERS) * row_h
    ax.add_patch(FancyArrowPatch((width + 0.45, top - 0.2), (width + 0.45, 0.2), arrowstyle="-|>",
                                 mutation_scale=18, linewidth=1.5, color="#333333"))
    ax.text(width + 0.6, top / 2, "imports point down only\n(tests/test_architecture.py)",
            rotation=90, ha="left", va="center", fontsize=10)
    return _save(fig, ax, path, (-0.1, width + 1.2), (-0.1, top + 0.1),
                 "pdeflow: layers (an import may only point to a lower layer)")


def draw_dataflow(path: Path) -> Path:
    """The data flow of the epsilon study, from the config to the table and figure."""
    fig, ax = plt.subplots(figsize=(9, 8.2))
    wide, narrow, h = 0.62, 0.4, 0.8
    colour = {"config": COLOURS[5], "data": COLOURS[5], "solve": COLOURS[1], "perturb": COLOURS[5],
              "learn": COLOURS[2], "backward": COLOURS[1], "metrics": COLOURS[3],
              "store": COLOURS[5], "result": COLOURS[5]}
    for key, (text, (x, y)) in FLOW_BOXES.items():
        _box(ax, x, y, narrow if key in ("perturb", "learn") else wide, h, text, colour[key])
    for start, end in FLOW_ARROWS:
        (x0, y0), (x1, y1) = FLOW_BOXES[start][1], FLOW_BOXES[end][1]
        ax.add_patch(FancyArrowPatch((x0, y0 - h / 2), (x1, y1 + h / 2), arrowstyle="-|>",
                                     mutation_scale=14, linewidth=1.0, color="#333333",
                                     shrinkA=2, shrinkB=2))
    return _save(fig, ax, path, (-0.05, 1.05), (-0.2, 9.6),
                 "The main job: one epsilon study (colours: layer of the module)")


def main() -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    return [draw_layers(OUT / "architecture_layers.png"),
            draw_dataflow(OUT / "architecture_dataflow.png")]


if __name__ == "__main__":
    for written in main():
        print(f"wrote {written}")
