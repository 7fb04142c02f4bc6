"""Keep the markdown pages' links GitHub-style and still resolve them in the site.

The README and ``benchmarks/README.md`` live outside ``docs/`` and are pulled into the site by
``{include}`` (``getting_started.md``, ``benchmarks.md``). Their links, and the docs pages' links to
them, are written for GitHub (``docs/scheme.md``, ``../benchmarks/README.md``). Before MyST parses a
page or an included file, this extension rewrites every relative link to a markdown file into the
path of the site page that shows that file, relative to the page being built; a link to a file
the site does not show is left alone, so MyST reports it as a broken link (and ``-W`` fails).
"""
from __future__ import annotations

import re
from pathlib import Path

__all__ = ["SHOWN_ELSEWHERE", "rewrite_links", "setup"]

# Files outside docs/ shown by a docs page (path relative to the repository root -> docname).
SHOWN_ELSEWHERE = {"README.md": "getting_started", "benchmarks/README.md": "benchmarks"}

_LINK = re.compile(r"(\]\()([^)\s#]+\.md)(#[^)\s]*)?(\))")


def rewrite_links(text: str, source: Path, page_dir: Path, srcdir: Path) -> str:
    """Rewrite the markdown links of ``text`` (read from file ``source``) for a page whose folder is
    ``page_dir``; ``srcdir`` is the Sphinx source folder (``docs/``), its parent the repository."""
    root = srcdir.parent

    def replace(match):
        target = match.group(2)
        if "://" in target:
            return match.group(0)
        resolved = (source.parent / target).resolve()
        try:
            rel_root = resolved.relative_to(root).as_posix()
        except ValueError:
            return match.group(0)
        if rel_root in SHOWN_ELSEWHERE:
            resolved = srcdir / (SHOWN_ELSEWHERE[rel_root] + ".md")
        elif not resolved.is_relative_to(srcdir):
            return match.group(0)
        new = Path(_relpath(resolved, page_dir)).as_posix()
        return f"{match.group(1)}{new}{match.group(3) or ''}{match.group(4)}"

    return _LINK.sub(replace, text)


def _relpath(path: Path, start: Path) -> str:
    import os
    return os.path.relpath(path, start)


def _on_source_read(app, docname, content):
    source = Path(app.env.doc2path(docname))
    if source.suffix == ".md":
        content[0] = rewrite_links(content[0], source, source.parent, Path(app.srcdir))


def _on_include_read(app, relative_path, parent_docname, content):
    source = (Path(app.srcdir) / relative_path).resolve()
    if source.suffix == ".md":
        page_dir = Path(app.env.doc2path(parent_docname)).parent
        content[0] = rewrite_links(content[0], source, page_dir, Path(app.srcdir))


def setup(app):
    """Sphinx entry point."""
    app.connect("source-read", _on_source_read)
    app.connect("include-read", _on_include_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
