"""Sphinx configuration of the pdeflow documentation (``make docs``)."""
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))

import pdeflow  # noqa: E402

project = "pdeflow"
author = "the pdeflow developers"
copyright = "2026, the pdeflow developers"
release = version = pdeflow.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinxarg.ext",
    "apigen",            # docs/_ext/apigen.py: the API pages from each module's __all__
    "mdlinks",           # docs/_ext/mdlinks.py: GitHub-style links between the markdown pages
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_scripts", "_ext", "img/*.md", "Thumbs.db", ".DS_Store"]

# MyST: the pages stay plain GitHub markdown; $...$ math as GitHub renders it.
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

# Docstrings: numpydoc style read by napoleon.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_preprocess_types = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
autodoc_default_options = {"show-inheritance": False}
autosummary_generate = False          # the pages are written by apigen, not by autosummary
# Cross references are checked (a broken :func:/:meth:/:mod:/:attr: between API pages fails the
# build), except class names: napoleon turns the free-text "name : description" lines of the
# docstrings into type references, which are not meant as links.
nitpicky = True
nitpick_ignore_regex = [("py:class", ".*")]

html_theme = "pydata_sphinx_theme"
html_title = f"pdeflow {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []
html_show_sourcelink = False
