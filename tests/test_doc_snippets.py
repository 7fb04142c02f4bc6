"""Every ```python block of the README and of the docs pages runs, so a moved name breaks CI.

A block preceded (on its last non-blank line before the fence) by the HTML comment
``<!-- snippet: skip (reason) -->`` is too long for the default suite (mark any block that takes
more than a few seconds): only its imports are run, which still catches a renamed or moved name.
GitHub and the Sphinx site hide the comment. Each block runs in a fresh namespace in a temporary
working directory.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP = re.compile(r"^<!--\s*snippet:\s*skip\b.*-->\s*$")
FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\S*)")


def snippets(path: Path) -> list[tuple[int, str, bool]]:
    """(first line number, code, skip) of each ```python block of the markdown file ``path``."""
    lines = path.read_text().splitlines()
    found, i = [], 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, language = match.groups()
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith(fence)), len(lines))
        if language == "python":
            before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            found.append((i + 1, "\n".join(lines[i + 1:end]), bool(SKIP.match(before.strip()))))
        i = end + 1
    return found


CASES = [pytest.param(path, line, code, skip, id=f"{path.relative_to(ROOT)}:{line}")
         for path in PAGES for line, code, skip in snippets(path)]


def _imports_only(code: str) -> str:
    tree = ast.parse(code)
    tree.body = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    return ast.unparse(tree)


@pytest.mark.parametrize("path, line, code, skip", CASES)
def test_snippet_runs(path, line, code, skip, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                     # snippets may write files (results/, *.h5)
    source = _imports_only(code) if skip else code
    exec(compile(source, f"{path.name}:{line}", "exec"), {"__name__": "__snippet__"})


def test_pages_have_snippets():
    # The collector must see the known blocks (a broken fence regex would make the test vacuous).
    assert len(CASES) >= 5
    assert any(case.values[0] == ROOT / "README.md" for case in CASES)
    assert sum(not case.values[3] for case in CASES) >= 4       # most blocks really run


def test_skip_marker_is_recognised(tmp_path):
    page = "text\n\n<!-- snippet: skip (minutes) -->\n```python\nimport os\n```\n\n```python\nx = 1\n```\n"
    path = tmp_path / "page.md"
    path.write_text(page)
    assert [(skip, code) for _, code, skip in snippets(path)] == [(True, "import os"), (False, "x = 1")]
