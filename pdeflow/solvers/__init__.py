"""pdeflow.solvers: numba finite-volume and particle solvers, flow maps, interpolation, deposit."""
from .backward import sample_backward, score_velocity
from .blob import BlobVelocity, blob_solve
from .deposit import cloud_in_cell
from .finite_volume import solve, stable_time_step, wall_mass_fraction
from .flow_map import FlowMap, integrate_flow_map
from .interpolation import GridVelocity, interpolate_field, sample_solution
from .sde import euler_maruyama, ou_exact
from .solution import GridSolution

__all__ = [
    "GridSolution", "solve", "stable_time_step", "wall_mass_fraction",
    "BlobVelocity", "blob_solve", "cloud_in_cell", "FlowMap", "integrate_flow_map",
    "GridVelocity", "interpolate_field", "sample_solution", "euler_maruyama", "ou_exact",
    "sample_backward", "score_velocity",
]
