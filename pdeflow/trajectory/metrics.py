"""Metrics of a fitted trajectory model against the true flow of a :class:`SnapshotData`.

* :func:`heldout_distances` - exact W1 / W2 between the model's prediction at the held-out time
  (the first training snapshot transported) and the held-out snapshot, with the finite-sample
  floor: the same distances between the held-out snapshot and an independent true sample.
* :func:`trajectory_error` - RMS over particles of ``|X_hat(t; x_0) - X(t; x_0)|`` at every truth
  time, the model started from the true particles x_0.
* :func:`velocity_error` - ``||v_hat(t, .) - v(t, .)||_{L2(rho_t)}`` at every truth time,
  estimated on the true particles X(t; x_0) ~ rho_t; also relative to ``||v(t, .)||_{L2(rho_t)}``.
* :func:`kinetic_energy_report` - ``int_0^T E|v|^2 dt`` of the model (along its own paths) and of the
  truth (trapezoid rule on the truth grid), and the Benamou-Brenier lower bound
  sum_k W2^2(rho_{t_k}, rho_{t_{k+1}}) / (t_{k+1} - t_k), estimated on the true particles at the
  observation times (on the same particles it is <= the truth's energy up to quadrature error).
* :func:`evaluate` - all of them as one flat dict of numbers.

Models provide ``velocity(t, x)`` and ``transport(x0, times)`` (numpy, physical units).
"""
from __future__ import annotations

import numpy as np

from ..validation.metrics import wasserstein1, wasserstein2

__all__ = ["heldout_distances", "trajectory_error", "velocity_error", "kinetic_energy_report",
           "evaluate"]


def _rms(a, b) -> np.ndarray:
    return np.sqrt(np.mean(np.sum((a - b) ** 2, axis=-1), axis=-1))


def heldout_distances(model, data, paths=None) -> dict:
    """W1, W2 at the held-out time and their floors ``w1_floor``, ``w2_floor`` (length units).

    ``paths``: optional (M, n, d) model paths from truth_positions[0] (a permutation of the first
    snapshot) at truth_times, to avoid integrating again."""
    if data.held_out is None:
        raise ValueError("data.held_out is None: the data set has no held-out time")
    h = data.held_out
    if paths is None:
        predicted = model.transport(data.snapshots[0], data.times[[0, h]])[-1]
    else:
        predicted = paths[data.snapshot_index[h]]
    observed, independent = data.snapshots[h], data.reference[h]
    return {"w1": wasserstein1(predicted, observed), "w2": wasserstein2(predicted, observed),
            "w1_floor": wasserstein1(independent, observed),
            "w2_floor": wasserstein2(independent, observed)}


def trajectory_error(model, data, paths=None) -> np.ndarray:
    """(M,) RMS position error at the truth times (length units); zero at t = 0 by construction.
    ``paths``: optional precomputed model paths (M, n, d) from truth_positions[0]."""
    predicted = model.transport(data.truth_positions[0], data.truth_times) if paths is None \
        else paths
    return _rms(predicted, data.truth_positions)


def velocity_error(model, data) -> tuple:
    """((M,) absolute, (M,) relative) L2(rho_t) velocity errors at the truth times."""
    learned = np.stack([model.velocity(t, x) for t, x in zip(data.truth_times,
                                                               data.truth_positions)])
    absolute = _rms(learned, data.truth_velocities)
    return absolute, absolute / _rms(data.truth_velocities, 0.0)


def _time_integral(values, times) -> float:
    return float(np.sum((values[1:] + values[:-1]) * np.diff(times)) / 2)


def kinetic_energy_report(model, data, paths=None) -> dict:
    """``model``, ``truth``: ``int E|v|^2 dt``; ``bound``: sum_k W2^2 / dt_k over all K snapshots.
    ``paths``: optional precomputed model paths (M, n, d) from truth_positions[0]."""
    if paths is None:
        paths = model.transport(data.truth_positions[0], data.truth_times)
    speed2 = np.array([np.mean(np.sum(model.velocity(t, x) ** 2, -1))
                       for t, x in zip(data.truth_times, paths)])
    truth2 = np.mean(np.sum(data.truth_velocities ** 2, -1), axis=-1)
    # the bound between the true marginals, estimated on the truth's own particles: independent
    # snapshots would add their sampling floor W2^2 / dt to every term
    marginals = data.truth_positions[data.snapshot_index]
    bound = sum(wasserstein2(a, b) ** 2 / (tb - ta) for a, b, ta, tb in
                zip(marginals[:-1], marginals[1:], data.times[:-1], data.times[1:]))
    return {"model": _time_integral(speed2, data.truth_times),
            "truth": _time_integral(truth2, data.truth_times), "bound": float(bound)}


def evaluate(model, data) -> dict:
    """Flat dict: held-out distances (if any), trajectory error (RMS over time ``traj_rms``, at
    the end ``traj_end``, at the snapshot times ``traj_snap``), velocity errors (``vel_rel``,
    time-RMS of the relative error) and the kinetic energies."""
    paths = model.transport(data.truth_positions[0], data.truth_times)
    out = heldout_distances(model, data, paths) if data.held_out is not None else {}
    traj = trajectory_error(model, data, paths)
    _, relative = velocity_error(model, data)
    energy = kinetic_energy_report(model, data, paths)
    out.update(traj_rms=float(np.sqrt(np.mean(traj ** 2))), traj_end=float(traj[-1]),
               traj_snap=float(np.sqrt(np.mean(traj[data.snapshot_index] ** 2))),
               vel_rel=float(np.sqrt(np.mean(relative ** 2))), energy=energy["model"],
               energy_truth=energy["truth"], energy_bound=energy["bound"])
    return out
