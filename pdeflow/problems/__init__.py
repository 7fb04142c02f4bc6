"""pdeflow.problems: the study's initial data and the catalogue of problems with a known truth.

* :mod:`~pdeflow.problems.initial_data` - the epsilon study's problems and initial data
  (:func:`three_component_mixture`, :func:`demo_problem`, ...), unchanged names.
* :mod:`~pdeflow.problems.catalogue` - :func:`get` a problem by name, :func:`names`,
  :func:`listing` (what ``pdeflow problems`` prints).
* :mod:`~pdeflow.problems.base` - :class:`Problem` (``dim``, ``t_min``, ``T``, ``score``,
  ``velocity``, ``sample``, ``truth``, ``description``) and the exact mixture problems.
* :mod:`~pdeflow.problems.mixtures` - the Gaussian-mixture data laws in 1-128 D.
* :mod:`~pdeflow.problems.certified` - finite-volume truths with a companion error estimate.
"""
from .base import ExactMixtureProblem, Problem
from .catalogue import get, listing, names
from .certified import CertifiedProblem
from .initial_data import (LINEAR_FLOOR, PRESENCE_CUTOFF, demo_problem, grid_initial_density,
                           load_samples, rings_density, three_component_mixture)

__all__ = ["three_component_mixture", "rings_density", "load_samples", "grid_initial_density",
           "demo_problem", "PRESENCE_CUTOFF", "LINEAR_FLOOR",
           "get", "names", "listing", "Problem", "ExactMixtureProblem", "CertifiedProblem"]
