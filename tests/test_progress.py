"""Progress bars only where someone watches (issue 28): a redirected stderr gets no
carriage-return updates, and every bar in pdeflow/ goes through pdeflow.progress.progress_bar."""
import io
import re
import subprocess
import sys
from pathlib import Path

import pdeflow
from pdeflow.progress import progress_bar

ROOT = Path(__file__).resolve().parents[1]


def test_a_bar_into_a_file_stays_silent():
    sink = io.StringIO()                    # not a terminal
    bar = progress_bar(range(50), desc="work", file=sink)
    assert sum(1 for _ in bar) == 50
    bar.close()
    assert sink.getvalue() == ""
    assert list(progress_bar(range(3), progress=False)) == [0, 1, 2]


def test_progress_false_is_the_only_way_to_turn_a_bar_off():
    import pytest

    with pytest.raises(TypeError, match="progress=False"):
        progress_bar(range(3), disable=True)


_SCRIPT = """
import numpy as np
from pdeflow import validate
from pdeflow.equations import Heat
from pdeflow.grid import Grid
from pdeflow.problems import get
from pdeflow.solvers.finite_volume import solve

grid = Grid.cube(5.0, 32, 1)
rho0 = np.exp(-grid.points()[:, 0] ** 2).reshape(grid.shape)
solve(Heat(D=0.5, dim=1), grid, rho0, np.linspace(0.0, 0.2, 6), progress=True)
problem = get("vp-separated-1d")
validate(problem.score, problem, "score", samples=200, profile_points=5, ode_steps=10,
         sde_steps=20, w2_points=200, progress=True)
print("done")
"""


def test_redirected_stderr_receives_no_carriage_return_updates(tmp_path):
    """The issue's case: pdeflow.validate wrote about 120 updates (8 kB) into a redirected
    stderr; the finite-volume solve's bar likewise."""
    log = tmp_path / "stderr.log"
    with open(log, "wb") as err:
        result = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=ROOT, stderr=err,
                                stdout=subprocess.PIPE, timeout=300,
                                env={**__import__("os").environ, "NUMBA_NUM_THREADS": "1"})
    text = log.read_bytes()
    assert result.returncode == 0, text.decode(errors="replace")[-2000:]
    assert result.stdout.strip().endswith(b"done")
    assert b"\r" not in text and b"it/s" not in text, text[:500]


def test_every_bar_in_the_package_goes_through_progress_bar():
    package = Path(pdeflow.__file__).parent
    pattern = re.compile(r"\btqdm\(|from tqdm|import tqdm")
    offenders = [f"{p.relative_to(package)}:{n}" for p in sorted(package.rglob("*.py"))
                 if p.name != "progress.py"
                 for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []
