"""The demo figure (pdeflow.plotting.plot_snapshots) has a colour bar and an arrow scale."""
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from pdeflow import plotting  # noqa: E402
from pdeflow.equations import FokkerPlanck  # noqa: E402
from pdeflow.grid import Grid  # noqa: E402
from pdeflow.solvers.finite_volume import solve  # noqa: E402


def test_two_d_snapshots_carry_a_colour_bar_and_an_arrow_key(tmp_path, monkeypatch):
    from matplotlib.quiver import QuiverKey

    grid = Grid.cube(3.0, 24, 2)
    x = grid.points()
    rho0 = np.exp(-((x - 0.5) ** 2).sum(1) / 0.5).reshape(grid.shape) + 1e-3
    solution = solve(FokkerPlanck(D=0.5, kappa=1.0, dim=2), grid, rho0, [0.0, 0.1, 0.3])
    figures = []
    real_close = plotting.plt.close
    monkeypatch.setattr(plotting.plt, "close", lambda fig: figures.append(fig))
    path = plotting.plot_snapshots(solution, tmp_path / "s.png")
    real_close(figures[0])
    assert path.stat().st_size > 1000
    fig = figures[0]
    panels = [ax for ax in fig.axes if ax.get_title().startswith("t = ")]
    bars = [ax for ax in fig.axes if ax.get_ylabel() == "density rho"]
    assert len(panels) == 3 and len(bars) == 1
    keys = [a for a in panels[-1].get_children() if isinstance(a, QuiverKey)]
    assert len(keys) == 1 and keys[0].text.get_text().startswith("|v| = ")


@pytest.mark.parametrize("value,key", [(2.7, 2.0), (0.9, 0.5), (1.0, 1.0), (7.3e-3, 5e-3),
                                       (19.99, 10.0)])
def test_the_arrow_key_is_a_round_speed_not_above_the_largest(value, key):
    assert plotting._round_down(value) == pytest.approx(key, rel=1e-12)
