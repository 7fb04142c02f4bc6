"""Generate the API reference of pdeflow from the ``__all__`` of its modules.

Every module of pdeflow that defines ``__all__`` (private modules, whose name has a part starting
with ``_``, excepted) contributes its names. Each object is described once, in the module that
defines it when that module lists it in its ``__all__`` (else in the first module that lists it);
every other module that lists the same object shows it in its summary table as a link to that one
description, so a re-export (``pdeflow.solvers.solve`` of ``pdeflow.solvers.finite_volume.solve``)
is covered without a duplicate object description.

One page is written per top-level module (``pdeflow.grid``) and per subpackage
(``pdeflow.solvers`` with its submodules), under ``docs/api/``, each time Sphinx starts a build
(``builder-inited``); a name added to an ``__all__`` therefore appears without editing the docs.
Files are rewritten only when their text changes, so incremental builds stay incremental.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import posixpath
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Entry", "collect", "render", "write_pages", "missing_from_inventory", "resolve_target",
           "setup"]

PACKAGE = "pdeflow"


@dataclass
class Entry:
    """The public names of one module: ``module`` is its dotted name, ``names`` its ``__all__``;
    ``described`` the names whose description lives here, ``links`` maps the other names to the
    dotted path where they are described."""

    module: str
    names: list[str]
    described: list[str] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)


def public_modules(package: str = PACKAGE) -> list[str]:
    """Dotted names of the package and of its public modules, in walk order (parents first)."""
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def collect(package: str = PACKAGE) -> list[Entry]:
    """One `Entry` per public module with an ``__all__``, with each object given one home."""
    entries = []
    for name in public_modules(package):
        module = importlib.import_module(name)
        if hasattr(module, "__all__"):
            entries.append(Entry(name, list(module.__all__)))
    modules = {entry.module: importlib.import_module(entry.module) for entry in entries}
    homes: dict[tuple[str, int], str] = {}        # (name, id(object)) -> module describing it
    for entry in entries:                          # first pass: defining modules win
        for name in entry.names:
            obj = getattr(modules[entry.module], name)
            if getattr(obj, "__module__", None) == entry.module:
                homes.setdefault((name, id(obj)), entry.module)
    for entry in entries:                          # second pass: first lister of the rest
        for name in entry.names:
            obj = getattr(modules[entry.module], name)
            home = homes.setdefault((name, id(obj)), entry.module)
            if home == entry.module:
                entry.described.append(name)
            else:
                entry.links[name] = f"{home}.{name}"
    return entries


def _directive(obj) -> str:
    if inspect.isclass(obj):
        return "autoclass"
    if callable(obj):
        return "autofunction"
    return "autodata"


def _module_section(entry: Entry, level: str) -> list[str]:
    module = importlib.import_module(entry.module)
    title = f"``{entry.module}``"
    lines = [title, level * len(title), "", f".. automodule:: {entry.module}", "   :no-members:",
             "", f".. currentmodule:: {entry.module}", ""]
    if entry.names:
        lines += [".. autosummary::", ""]
        for name in entry.names:
            target = entry.links.get(name)
            if target and target.startswith(entry.module + "."):     # autosummary wants it relative
                target = target[len(entry.module) + 1:]
            lines.append(f"   ~{target}" if target else f"   {name}")
        lines.append("")
    for name in entry.described:
        directive = _directive(getattr(module, name))
        lines.append(f".. {directive}:: {name}")
        if directive == "autoclass":
            lines.append("   :members:")
        lines.append("")
    return lines


def render(entries: list[Entry], package: str = PACKAGE) -> dict[str, str]:
    """The reST text of each page, keyed by file name: ``index.rst`` and one page per top-level
    module or subpackage of ``package`` (the package's own ``__all__`` goes on ``index.rst``)."""
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        parts = entry.module.split(".")
        top = ".".join(parts[:2])
        groups.setdefault(top, []).append(entry)
    pages = {}
    for top, group in groups.items():
        if top == package:
            continue
        lines = []
        for i, entry in enumerate(group):
            lines += _module_section(entry, "=" if i == 0 else "-")
        pages[f"{top}.rst"] = "\n".join(lines)
    index = [".. Generated by docs/_ext/apigen.py from the __all__ of each module: do not edit.", "",
             "API reference", "=============", "",
             "Every name listed in the ``__all__`` of a public pdeflow module, one page per",
             "top-level module or subpackage (generated from the code at each build).", "",
             ".. toctree::", "   :maxdepth: 1", ""]
    index += [f"   {name[:-4]}" for name in sorted(pages)]
    index.append("")
    for entry in groups.get(package, []):
        index += _module_section(entry, "-")
    pages["index.rst"] = "\n".join(index)
    return {name: text if text.endswith("\n") else text + "\n" for name, text in pages.items()}


def write_pages(out: Path, package: str = PACKAGE) -> list[Path]:
    """Write the pages of `render` into folder ``out``; remove stale generated pages."""
    out.mkdir(parents=True, exist_ok=True)
    pages = render(collect(package), package)
    for stale in out.glob("*.rst"):
        if stale.name not in pages:
            stale.unlink()
    written = []
    for name, text in pages.items():
        path = out / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    return written


def missing_from_inventory(inventory: Path, package: str = PACKAGE) -> list[str]:
    """Public names that the built site does not describe, read from its ``objects.inv``.

    Each module with an ``__all__`` must be a ``py:module`` target and each of its names must be
    described there or at the place its summary links to; returns the missing dotted names.
    """
    from sphinx.util.inventory import InventoryFile

    with open(inventory, "rb") as stream:
        data = InventoryFile.load(stream, "", posixpath.join)
    python = set()
    for kind, items in data.items():
        if kind.startswith("py:"):
            python.update(items)
    missing = []
    for entry in collect(package):
        wanted = [entry.module] + [f"{entry.module}.{name}" for name in entry.described]
        wanted += list(entry.links.values())
        missing += [name for name in wanted if name not in python]
    return sorted(set(missing))


_ALIASES: dict[str, str] = {}      # re-exported dotted name -> where it is described


def _on_builder_inited(app) -> None:
    write_pages(Path(app.srcdir) / "api")
    _ALIASES.clear()
    for entry in collect():
        _ALIASES.update({f"{entry.module}.{name}": target for name, target in entry.links.items()})


def resolve_target(target: str, module: str | None, known) -> str | None:
    """The described name a docstring's ``:func:`target``` means, or None.

    Tries, in order: ``target`` itself, then ``target`` relative to ``module`` and to each of its
    parent packages (``:mod:`interpolation``` from ``pdeflow.solvers.flow_map``), each also
    through the re-exports (``pdeflow.solvers.sample_backward`` is described in
    ``pdeflow.solvers.backward``); then a member of a class of ``module`` (``:meth:`from_toml```
    in the docstring of ``pdeflow.study.config``) when exactly one matches.
    """
    target = target.lstrip("~.")
    candidates = [target]
    if module:
        parts = module.split(".")
        candidates += [".".join(parts[:i] + [target]) for i in range(len(parts), 0, -1)]
    for candidate in candidates:
        for name in (candidate, _ALIASES.get(candidate)):
            if name and name in known:
                return name
    if module:
        members = [name for name in known
                   if name.startswith(module + ".") and name.endswith("." + target)
                   and name.count(".") == module.count(".") + 2]
        if len(members) == 1:
            return members[0]
    return None


def _on_missing_reference(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    from sphinx.util.nodes import make_refnode

    domain = env.get_domain("py")
    known = {**domain.objects, **{name: None for name in domain.modules}}
    name = resolve_target(node["reftarget"], node.get("py:module"), known)
    if name is None:
        return None
    if name in domain.objects:
        docname, node_id = domain.objects[name].docname, domain.objects[name].node_id
    else:
        docname, node_id = domain.modules[name].docname, domain.modules[name].node_id
    return make_refnode(app.builder, node["refdoc"], docname, node_id, contnode, name)


def setup(app):
    """Sphinx entry point: regenerate ``docs/api/`` when a build starts; resolve docstring
    references to re-exported and module-relative names."""
    app.connect("builder-inited", _on_builder_inited)
    app.connect("missing-reference", _on_missing_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":         # python docs/_ext/apigen.py docs/_build/html/objects.inv
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))    # this checkout's pdeflow
    absent = missing_from_inventory(Path(sys.argv[1]))
    if absent:
        print(f"{len(absent)} public names missing from the API reference:", *absent, sep="\n  ")
        sys.exit(1)
    print(f"API reference: every name of every __all__ of {PACKAGE} is described")
