import numpy as np

from pdeflow.cli import main
from pdeflow.io import load_solution


def test_demo_writes_a_valid_solution_and_figure(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--n", "40", "--quiet"]) == 0
    solution = load_solution(tmp_path / "porous_medium_2d.h5")
    assert (tmp_path / "porous_medium_2d.png").stat().st_size > 10_000
    assert solution.grid.shape == (40, 40)
    assert abs(solution.mass[-1] / solution.mass[0] - 1) < 1e-12
    assert solution.density.min() >= 0
    assert np.all(np.diff(solution.energy) <= 1e-12)
    assert "wrote" in capsys.readouterr().out
