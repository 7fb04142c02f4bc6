"""The documentation site: the API reference covers every ``__all__``; broken pages fail the build.

The full build is ``make docs`` (run by .ci/run); these tests check its generator and its
failure modes on tiny projects, in a few seconds.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from pathlib import Path

import pytest

import pdeflow

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
apigen = importlib.import_module("apigen")


def all_lists() -> dict[str, list[str]]:
    """``__all__`` of pdeflow and of every public module and subpackage, walked independently."""
    found = {"pdeflow": list(pdeflow.__all__)}
    for info in pkgutil.walk_packages(pdeflow.__path__, "pdeflow."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        if hasattr(module, "__all__"):
            found[info.name] = list(module.__all__)
    return found


def parse_pages(pages: dict[str, str]):
    """From generated reST: described dotted names and each module's summary targets."""
    described, summaries, module = set(), {}, None
    for text in pages.values():
        for line in text.splitlines():
            if m := re.match(r"\.\. automodule:: (\S+)", line):
                module = m.group(1)
                summaries[module] = []
            elif m := re.match(r"\.\. auto(?:class|function|data):: (\S+)", line):
                described.add(f"{module}.{m.group(1)}")
            elif (m := re.match(r"   ~?([\w.]+)$", line)) and module:
                target = m.group(1)
                if not target.startswith("pdeflow"):
                    target = f"{module}.{target}"
                summaries[module].append(target)
    return described, summaries


def _resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_reference_covers_every_all():
    lists = all_lists()
    assert {"pdeflow.solvers", "pdeflow.study", "pdeflow.grid", "pdeflow.cli"} <= set(lists)
    described, summaries = parse_pages(apigen.render(apigen.collect()))
    missing = []
    for module, names in lists.items():
        assert module in summaries, f"no API section for {module}"
        for name in names:
            here = f"{module}.{name}"
            linked = [t for t in summaries[module] if t.rsplit(".", 1)[1] == name]
            ok = here in described or any(
                t in described and _resolve(t) is _resolve(here) for t in linked)
            if not ok:
                missing.append(here)
    assert not missing, f"public names without an API entry: {missing}"


def test_each_object_is_described_once():
    described, _ = parse_pages(apigen.render(apigen.collect()))
    objects = [(_resolve(name), name) for name in described]
    by_id = {}
    for obj, name in objects:
        if isinstance(obj, (int, float, str, tuple)):
            continue                            # small constants may be shared values
        by_id.setdefault(id(obj), []).append(name)
    assert not [names for names in by_id.values() if len(names) > 1]


def test_a_name_added_to_all_appears(monkeypatch):
    import pdeflow.grid as grid

    def brand_new_helper():
        """A function that only this test adds."""

    brand_new_helper.__module__ = "pdeflow.grid"
    monkeypatch.setattr(grid, "brand_new_helper", brand_new_helper, raising=False)
    monkeypatch.setattr(grid, "__all__", [*grid.__all__, "brand_new_helper"])
    pages = apigen.render(apigen.collect())
    assert ".. autofunction:: brand_new_helper" in pages["pdeflow.grid.rst"]


def test_inventory_check_reports_a_missing_name(tmp_path):
    entries = apigen.collect()
    names = set()
    for entry in entries:
        names.add((entry.module, "module"))
        names.update((f"{entry.module}.{n}", "function") for n in entry.described)
    dropped = "pdeflow.grid.Grid"
    assert (dropped, "function") in names
    lines = [f"{name} {kind} api.html" for name, kind in sorted(names) if name != dropped]
    inventory = tmp_path / "objects.inv"
    inventory.write_text("# Sphinx inventory version 1\n# Project: p\n# Version: 0\n"
                         + "\n".join(lines) + "\n")
    assert apigen.missing_from_inventory(inventory) == [dropped]


SPHINX_NOISE = pytest.mark.filterwarnings("ignore::DeprecationWarning",
                                          "ignore::PendingDeprecationWarning")


def _tiny_site(tmp_path: Path, page: str, module_doc: str | None = None) -> int:
    """Build a one-page site with the real docs configuration (minus the API pages) under -W."""
    from sphinx.cmd.build import build_main

    src = tmp_path / "src"
    src.mkdir()
    conf = ROOT / "docs" / "conf.py"
    (src / "conf.py").write_text(
        f"__file__ = {str(conf)!r}\nexec(compile(open(__file__).read(), __file__, 'exec'))\n"
        "extensions.remove('apigen')\n")
    (src / "index.md").write_text("# Tiny\n\n```{toctree}\nother\n```\n\n" + page)
    (src / "other.md").write_text("# Other\n\nText.\n")
    if module_doc is not None:
        (tmp_path / "tinymod.py").write_text(f'def f(x):\n    """{module_doc}"""\n')
        sys.path.insert(0, str(tmp_path))
        (src / "index.md").write_text((src / "index.md").read_text()
                                      + "\n```{eval-rst}\n.. autofunction:: tinymod.f\n```\n")
    try:
        return build_main(["-b", "html", "-E", "-W", "--keep-going", "-q", str(src),
                           str(tmp_path / "out")])
    finally:
        if module_doc is not None:
            sys.path.remove(str(tmp_path))
            sys.modules.pop("tinymod", None)


@SPHINX_NOISE
def test_a_good_page_builds(tmp_path):
    assert _tiny_site(tmp_path, "See [the other page](other.md).\n",
                      "Sum ``|x|^2`` of the squares.") == 0


@SPHINX_NOISE
def test_a_broken_link_between_pages_fails_the_build(tmp_path):
    assert _tiny_site(tmp_path, "See [a page that is gone](gone.md).\n") != 0


@SPHINX_NOISE
def test_a_broken_docstring_fails_the_build(tmp_path):
    assert _tiny_site(tmp_path, "Text.\n", "Sum |x|^2 of the squares.") != 0


@SPHINX_NOISE
def test_a_broken_cross_reference_fails_the_build(tmp_path):
    assert _tiny_site(tmp_path, "Text.\n", "Like :func:`a_function_that_is_gone`.") != 0


def test_references_resolve_through_reexports_and_parent_packages(monkeypatch):
    known = {"pdeflow.solvers.backward.sample_backward": 0, "pdeflow.solvers.interpolation": 0,
             "pdeflow.study.config.StudyConfig.from_toml": 0}
    monkeypatch.setitem(apigen._ALIASES, "pdeflow.solvers.sample_backward",
                        "pdeflow.solvers.backward.sample_backward")
    resolve = apigen.resolve_target
    assert resolve("pdeflow.solvers.sample_backward", None, known) == \
        "pdeflow.solvers.backward.sample_backward"
    assert resolve("interpolation", "pdeflow.solvers.flow_map", known) == \
        "pdeflow.solvers.interpolation"
    assert resolve("from_toml", "pdeflow.study.config", known) == \
        "pdeflow.study.config.StudyConfig.from_toml"
    assert resolve("gone", "pdeflow.study.config", known) is None


def test_cli_reference_is_built_from_the_real_parser():
    import argparse

    from pdeflow.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert {"demo", "study"} <= set(commands.choices)
    page = (ROOT / "docs" / "cli.md").read_text()
    assert ":module: pdeflow.cli" in page and ":func: build_parser" in page
