"""pdeflow.problems: the study's initial data (initial_data) and the catalogue of named problems
with a known truth (catalogue.get / names / listing; base, mixtures, certified, porous, porous_radial)."""
from .base import ExactMixtureProblem, Problem
from .catalogue import get, listing, names
from .certified import CertifiedProblem
from .porous import ExactPorousProblem
from .porous_radial import RadialPorousProblem
from .initial_data import (LINEAR_FLOOR, PRESENCE_CUTOFF, capped_mixture_density, demo_problem,
                           grid_initial_density, load_samples, rings_density,
                           three_component_mixture)

__all__ = ["three_component_mixture", "capped_mixture_density", "rings_density", "load_samples",
           "grid_initial_density", "demo_problem", "PRESENCE_CUTOFF", "LINEAR_FLOOR",
           "get", "names", "listing", "Problem", "ExactMixtureProblem", "CertifiedProblem",
           "ExactPorousProblem", "RadialPorousProblem"]
