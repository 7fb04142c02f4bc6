"""pdeflow.trajectory: trajectory inference (MIOFlow, OT-CFM, displacement interpolation) checked
against true flows: snapshot data sets pushed by true flow maps, the methods, metrics vs the truth."""
from .baselines import DisplacementInterpolation, OTCFM, Oracle
from .losses import density_loss, kinetic_energy, ot_loss
from .energy import converged_energy
from .metrics import evaluate, heldout_distances, kinetic_energy_report, trajectory_error, \
    trajectory_references, training_bound, velocity_error
from .mioflow import MIOFlow
from .snapshots import PROBLEMS, SnapshotData, TrueFlow, load_snapshots, make_snapshots, \
    rotational_drift, save_snapshots, true_flow
from .table import BUDGETS, FULL_BUDGET, QUICK_BUDGET, TABLE_PROBLEMS, format_table, \
    run_table  # the dicts stay importable here; documented in pdeflow.trajectory.table
from .user import load_arrays, snapshot_data

__all__ = [
    "SnapshotData", "snapshot_data", "load_arrays", "TrueFlow", "run_table", "format_table",
    "trajectory_references", "training_bound", "converged_energy", "make_snapshots",
    "save_snapshots", "load_snapshots", "true_flow",
    "rotational_drift", "ot_loss", "density_loss", "kinetic_energy", "MIOFlow",
    "OTCFM", "DisplacementInterpolation", "Oracle", "heldout_distances", "trajectory_error",
    "velocity_error", "kinetic_energy_report", "evaluate",
]
