"""pdeflow: ground-truth PDE solutions for validating diffusion-based generative models.

The physics lives in :mod:`pdeflow.equations`, closed-form solutions in :mod:`pdeflow.exact`,
grids in :mod:`pdeflow.grid`; numba solvers in :mod:`pdeflow.solvers` and the torch geometry of
decoders in :mod:`pdeflow.geometry`; the HDF5 store in :mod:`pdeflow.io`, learned fields in
:mod:`pdeflow.learn`; metrics in :mod:`pdeflow.validation`; the epsilon study in
:mod:`pdeflow.study`. docs/architecture.md draws the layers.
"""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("pdeflow")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"

__all__ = ["__version__", "validate"]


def __getattr__(name):
    # pdeflow.validate is loaded on first use, so that ``import pdeflow`` stays light (no torch)
    if name == "validate":
        from .modelcheck.validate import validate

        return validate
    raise AttributeError(f"module 'pdeflow' has no attribute {name!r}")
