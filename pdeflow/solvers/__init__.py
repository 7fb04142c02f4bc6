"""pdeflow.solvers."""
from .blob import BlobVelocity, blob_solve
from .deposit import cloud_in_cell
from .flow_map import FlowMap, integrate_flow_map
from .interpolation import GridVelocity, interpolate_field, sample_solution
from .sde import euler_maruyama, ou_exact

__all__ = [
    "BlobVelocity", "blob_solve", "cloud_in_cell", "FlowMap", "integrate_flow_map",
    "GridVelocity", "interpolate_field", "sample_solution", "euler_maruyama", "ou_exact",
]
