"""pdeflow.solvers: numba finite-volume solver and the GridSolution container."""
from .finite_volume import solve, stable_time_step, wall_mass_fraction
from .solution import GridSolution

__all__ = ["GridSolution", "solve", "stable_time_step", "wall_mass_fraction"]
