"""pdeflow.trajectory: trajectory inference (MIOFlow, OT-CFM, displacement interpolation) checked
against true flows: snapshot data sets pushed by true flow maps, the methods, metrics vs the truth."""
from .baselines import DisplacementInterpolation, OTCFM, Oracle
from .losses import density_loss, kinetic_energy, ot_loss
from .metrics import evaluate, heldout_distances, kinetic_energy_report, trajectory_error, \
    velocity_error
from .mioflow import MIOFlow
from .snapshots import SnapshotData, load_snapshots, make_snapshots, rotational_drift, \
    save_snapshots, true_flow

__all__ = [
    "SnapshotData", "make_snapshots", "save_snapshots", "load_snapshots", "true_flow",
    "rotational_drift", "ot_loss", "density_loss", "kinetic_energy", "MIOFlow",
    "OTCFM", "DisplacementInterpolation", "Oracle", "heldout_distances", "trajectory_error",
    "velocity_error", "kinetic_energy_report", "evaluate",
]
