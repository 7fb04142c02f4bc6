"""Examples that cannot rot (issue 28): every script in examples/ documents its quickest command
and a time bound on one docstring line,

    Quick run (tested): python examples/NAME.py ARGS  -- under N s on 2 cores (measured M s)

(the command may continue on lines indented by four spaces) and this file runs exactly that
command (``--out`` pointed at a temporary folder) in a fresh
working directory: it must exit 0 within N s, write its files under ``--out`` only (the working
directory stays empty, so nothing lands in docs/img or results/ of the repository) and create
``--out`` itself. Runs measured at up to DEFAULT_SUITE_SECONDS run in the default suite, longer
ones are ``slow`` (``make test-all``). The bounds leave room for a loaded machine (about 4x the
measured time, at least 30 s): the measurements were taken with other jobs on the same 2 cores.
"""
from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
QUICK = re.compile(r"Quick run \(tested\):\s+(?:PYTHONPATH=\. )?python examples/(?P<name>\w+)\.py"
                   r"(?P<args>(?:[^\n]|\n    )*?)\s+--\s+under (?P<bound>\d+) s on 2 cores \(measured "
                   r"(?P<measured>[\d.]+) s\)")
#: Examples whose quick run was measured at most this long run in the default suite.
DEFAULT_SUITE_SECONDS = 5
#: Examples that write no files (they print): run without --out.
PRINT_ONLY = {"certified_truth", "heat_default_path"}
#: --out names a file for these (the results HDF5); the rest take a folder.
OUT_FILE = {"ode_vs_sde": "ode_vs_sde.h5"}


def quick_run(path: Path) -> dict:
    """The documented quick run of the example at ``path`` (name, args, bound, measured)."""
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    found = QUICK.search(doc)
    assert found, f"{path.name}: no 'Quick run (tested): ... -- under N s on 2 cores " \
                  f"(measured M s)' line in its docstring"
    assert found["name"] == path.stem, found.group(0)
    return dict(name=path.stem, args=shlex.split(found["args"]), bound=int(found["bound"]),
                measured=float(found["measured"]))


RUNS = [quick_run(p) for p in EXAMPLES]


def _params():
    for run in RUNS:
        marks = [] if run["measured"] <= DEFAULT_SUITE_SECONDS else [pytest.mark.slow]
        yield pytest.param(run, id=run["name"], marks=marks)


def _python(args, cwd, timeout):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    result = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=timeout)
    return result, time.perf_counter() - start


def _prepare(name: str, cwd: Path) -> None:
    """Inputs of the examples that read another example's output."""
    if name == "ode_vs_sde_distances":          # the quick ODE-vs-SDE run with its samples
        result, _ = _python([str(ROOT / "examples/ode_vs_sde.py"), "--quick", "--keep-samples",
                             "--out", str(cwd / "results/ode_vs_sde.h5")], cwd, 900)
        assert result.returncode == 0, result.stderr[-3000:]
    if name == "study_replot":                  # a tiny epsilon study
        code = ("from pdeflow.study import EpsilonStudy, StudyConfig; EpsilonStudy(StudyConfig("
                "equations=['fokker-planck'], dim=1, grid_n=32, n_snapshots=4, T=3.0, "
                "n_samples=50, budgets=[], alphas=[], eps=[0.1, 0.3, 1.0], "
                "perturbations=['cell-noise'])).run('results', workers=1, progress=False)")
        result, _ = _python(["-c", code], cwd, 600)
        assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.parametrize("run", list(_params()))
def test_quick_run_finishes_in_its_documented_time_and_writes_only_under_out(run, tmp_path):
    name, cwd, out = run["name"], tmp_path / "cwd", tmp_path / "out" / "nested"
    cwd.mkdir()
    _prepare(name, cwd)
    before = sorted(p.relative_to(cwd) for p in cwd.rglob("*"))
    args = [str(ROOT / "examples" / f"{name}.py"), *run["args"]]
    if name not in PRINT_ONLY:
        args += ["--out", str(out / OUT_FILE[name]) if name in OUT_FILE else str(out)]
    result, seconds = _python(args, cwd, timeout=2 * run["bound"] + 60)
    assert result.returncode == 0, (result.stdout[-2000:], result.stderr[-3000:])
    assert seconds < run["bound"], f"{name}: {seconds:.0f} s > documented {run['bound']} s"
    after = sorted(p.relative_to(cwd) for p in cwd.rglob("*"))
    assert after == before, f"{name} wrote outside --out: {set(after) - set(before)}"
    if name not in PRINT_ONLY:
        assert out.is_dir() and any(out.iterdir()), f"{name} wrote nothing under --out"
    assert "Traceback" not in result.stderr


def test_every_example_has_a_quick_run_with_a_bound_above_its_measured_time():
    assert len(RUNS) == len(EXAMPLES) >= 24
    for run in RUNS:
        assert run["measured"] < run["bound"], run


def test_no_example_writes_into_docs_img_unless_asked():
    for path in EXAMPLES:
        for line in path.read_text().splitlines():
            if "default=" in line and "docs/img" in line:
                raise AssertionError(f"{path.name}: a default under docs/img: {line.strip()}")
