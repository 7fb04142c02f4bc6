"""The layout of docs/architecture.md, checked by parsing every import in pdeflow/.

Each unit (a top-level module or subpackage) sits on a layer; an import may point to a lower layer
or inside its own unit, never sideways to another unit of the same layer or upwards. Imports inside
functions count too: a lazy import is still an arrow. No module may take part in an import circle.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pdeflow"

LAYERS = {
    # physics: numpy only, defined once
    "__init__": 0, "conventions": 0, "schedules": 0, "equations": 0, "exact": 0, "grid": 0,
    # the one progress-bar rule (tqdm on a terminal only), usable from every layer
    "progress": 0,
    # numerical engines: numba solvers; the torch geometry core of decoders (independent of solvers)
    "solvers": 1, "geometry": 1,
    # storage, learned fields, and the two torch systems built on the geometry core
    "io": 2, "learn": 2, "manifold_flows": 2, "ricci": 2,
    # the metric library
    "validation": 3,
    # named problems with a known truth (exact or certified)
    "problems": 4,
    # applications
    "study": 5, "reproductions": 5, "modelcheck": 5, "trajectory": 5, "pointcloud": 5,
    # interface: figures, then the command line on top of everything
    "plotting": 6, "cli": 7,
}
PHYSICS = {"__init__", "conventions", "schedules", "equations", "exact", "grid"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> set[str]:
    """Absolute names of the pdeflow modules imported by the file at ``path``."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "pdeflow"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "pdeflow":
                continue
            submodules = {f"{target}.{a.name}" for a in node.names
                          if _resolve(f"{target}.{a.name}") is not None}
            found |= submodules                   # ``from . import _kernels_fv`` imports a module,
            if len(submodules) < len(node.names):  # not the package around it
                found.add(target)
    return {name for name in found if _resolve(name) is not None and name != module}


def _resolve(name: str) -> Path | None:
    rel = Path(*name.split(".")[1:]) if "." in name else Path()
    for candidate in (PACKAGE / rel / "__init__.py", (PACKAGE / rel).with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_unit_has_a_layer():
    units = {_unit(m) for m in _graph()}
    assert units - set(LAYERS) == set(), "give each new subpackage a layer here and in docs"


def test_imports_point_only_downwards():
    wrong = []
    for module, targets in _graph().items():
        if module == "pdeflow":                       # the facade may re-export lazily
            continue
        for target in targets:
            src, dst = _unit(module), _unit(target)
            if src == dst or (src in PHYSICS and dst in PHYSICS):
                continue
            if LAYERS[dst] >= LAYERS[src]:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_no_import_circle():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in {"pdeflow"}:                    # the package docstring/version module
                continue
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert cycles == []


@pytest.mark.parametrize("init", sorted(PACKAGE.glob("*/__init__.py")), ids=lambda p: p.parent.name)
def test_each_subpackage_says_what_it_holds(init):
    doc = ast.get_docstring(ast.parse(init.read_text()))
    assert doc and doc.startswith(f"pdeflow.{init.parent.name}:"), "start with 'pdeflow.NAME: ...'"
    assert len(doc.splitlines()) <= 3
