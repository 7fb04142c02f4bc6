"""Your own snapshots as a :class:`~pdeflow.trajectory.SnapshotData`.

:func:`snapshot_data` takes observation times and snapshots (arrays) and the truth in one of two
forms: true trajectories (positions on a time grid that contains every observation time), or a
true velocity ``v(t, x)`` which is integrated from the first snapshot's particles (dopri5 at
``rtol``, with a companion solve at ``100 rtol`` for the truth's error estimate). The truth's
kinetic energy is then computed by converged quadrature; from trajectories alone it is the
energy of the piecewise-linear paths (a lower bound that converges at second order as the grid
is refined; recorded in ``params["truth_energy"]``).

:func:`load_arrays` reads the same arrays from a ``.npz`` file (keys ``times``, ``snapshots``,
optional ``truth_times``, ``truth_positions``, ``truth_velocities``, ``reference``) or from an
HDF5 file written by :func:`~pdeflow.trajectory.save_snapshots`.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..solvers import integrate_flow_map
from .energy import refine
from .snapshots import SnapshotData, flow_energy, load_snapshots

__all__ = ["snapshot_data", "load_arrays", "ARRAY_KEYS"]

#: the array names of a user's ``.npz`` file (the first two are required)
ARRAY_KEYS = ("times", "snapshots", "truth_times", "truth_positions", "truth_velocities",
              "reference")


def _path_energy(times, positions) -> float:
    steps = np.diff(positions, axis=0)
    return float(np.sum(np.mean(np.sum(steps ** 2, -1), -1) / np.diff(times)))


def snapshot_data(times, snapshots, *, held_out: int | None = None, velocity=None,
                  truth_times=None, truth_positions=None, truth_velocities=None,
                  reference=None, substeps: int = 4, rtol: float = 1e-8,
                  name: str = "user") -> SnapshotData:
    """A checked :class:`SnapshotData` from your arrays.

    Parameters
    ----------
    times : (K,) observation times, strictly increasing (time units).
    snapshots : (K, n, d) observed particles, unpaired (length units).
    held_out : None or an interior index 1..K-2 left out of training.
    velocity : optional true velocity, callable ``v(t, x)`` with x (m, d) -> (m, d).
    truth_times, truth_positions : optional true trajectories (M,), (M, n_t, d);
        ``truth_times`` must contain every observation time (never moved to the nearest).
    truth_velocities : optional (M, n_t, d) true velocities on the trajectories (computed from
        ``velocity`` when that is given).
    reference : optional (K, n_r, d) independent true sample at every observation time (the
        finite-sample floor of the held-out distances).
    substeps : truth times per observation interval when the truth is integrated from
        ``velocity`` (integer >= 1).
    rtol : relative tolerance of that integration (> 0).
    name : label of the data set in the table.

    Either ``truth_positions`` (with ``truth_times``) or ``velocity`` is required.
    """
    if truth_positions is None and velocity is None:
        raise ValueError("truth_positions and velocity are both None: give the true "
                         "trajectories (truth_times, truth_positions) or a true velocity")
    if (truth_times is None) != (truth_positions is None):
        raise ValueError("truth_times and truth_positions must be given together")
    if velocity is not None and not callable(velocity):
        raise TypeError(f"velocity must be a callable v(t, x), got {type(velocity).__name__}")
    if int(substeps) != substeps or substeps < 1:
        raise ValueError(f"substeps must be an integer >= 1, got {substeps}")
    if not (math.isfinite(rtol) and rtol > 0):
        raise ValueError(f"rtol must be a finite number > 0, got {rtol}")
    # a first check of times, snapshots and held_out before any integration
    probe = SnapshotData(name, times, snapshots, held_out, times, snapshots, None, None,
                         float("nan"))
    times, snapshots = probe.times, probe.snapshots

    def push(x0, grid, tol=rtol):
        return integrate_flow_map(velocity, x0, grid, method="dopri5", rtol=tol,
                                  atol=tol * 1e-2).positions

    params = {"source": "user arrays", "n": int(snapshots.shape[1]), "K": len(times)}
    error = float("nan")
    if truth_positions is None:
        truth_times = refine(times, int(substeps))
        x0 = snapshots[0].copy()
        truth_positions = push(x0, truth_times)
        companion = push(x0, truth_times, 100 * rtol)
        error = float(np.sqrt(np.mean(np.sum((truth_positions - companion) ** 2, -1))))
        params["truth"] = f"velocity integrated by dopri5 rtol {rtol} (companion {100 * rtol})"
    else:
        params["truth"] = "user trajectories"
    data = SnapshotData(name, times, snapshots, held_out, truth_times, truth_positions,
                        truth_velocities, reference, error, params)
    if velocity is not None:
        if data.truth_velocities is None:
            data.truth_velocities = np.stack([np.asarray(velocity(t, x), dtype=np.float64) for
                                              t, x in zip(data.truth_times,
                                                          data.truth_positions)])
            data.__post_init__()
        energy, info = flow_energy(velocity, lambda x, g: push(x, g), data.truth_positions[0],
                                   data.truth_times)
    else:
        energy = _path_energy(data.truth_times, data.truth_positions)
        info = {"method": "piecewise-linear paths on truth_times (a lower bound; refine the "
                          "grid or give the velocity for the exact energy)"}
    data.truth_energy = energy
    data.params["truth_energy"] = info
    return data


def load_arrays(path) -> dict:
    """The arrays of a user's ``.npz`` file (keys :data:`ARRAY_KEYS`; ``times`` and
    ``snapshots`` required, unknown keys refused) or of a ``trajectory_snapshots`` HDF5 file,
    as keyword arguments of :func:`snapshot_data`."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path {str(path)!r} is not a file")
    if path.suffix in (".h5", ".hdf5"):
        data = load_snapshots(path)
        return {k: getattr(data, k) for k in ARRAY_KEYS}
    if path.suffix != ".npz":
        raise ValueError(f"path must end in .npz, .h5 or .hdf5, got {path.name!r}")
    with np.load(path, allow_pickle=False) as f:
        unknown = sorted(set(f.files) - set(ARRAY_KEYS))
        if unknown:
            raise ValueError(f"{path.name}: unknown arrays {unknown}; allowed: {list(ARRAY_KEYS)}")
        missing = [k for k in ARRAY_KEYS[:2] if k not in f.files]
        if missing:
            raise ValueError(f"{path.name}: missing arrays {missing} (times (K,), snapshots "
                             "(K, n, d) are required)")
        return {k: f[k] for k in ARRAY_KEYS if k in f.files}
