"""Metrics of a fitted trajectory model against the true flow of a :class:`SnapshotData`, each
with the scale that makes it readable.

* :func:`heldout_distances` - exact W1 / W2 between the model's prediction at the held-out time
  (the first training snapshot transported) and the held-out snapshot, with the finite-sample
  floor: the same distances between the held-out snapshot and an independent true sample.
* :func:`trajectory_error` - RMS over particles of ``|X_hat(t; x_0) - X(t; x_0)|`` at every truth
  time, the model started from the true particles x_0.
* :func:`trajectory_references` - the scales of that error: ``stay`` (a model that does not move:
  ``|X(t) - X(t_0)|``), ``ot`` (exact-OT displacement interpolation of the *true* particles at
  the training times: what the best marginal-only method reaches without sampling noise, zero
  up to the time discretisation where the true map is the OT map) and the per-time variance
  ``E|X(t) - E X(t)|^2`` of the L2-UVP ``100 E|err|^2 / Var``.
* :func:`velocity_error` - ``||v_hat(t, .) - v(t, .)||_{L2(rho_t)}`` at every truth time,
  estimated on the true particles X(t; x_0) ~ rho_t; also relative to ``||v(t, .)||_{L2(rho_t)}``.
* :func:`kinetic_energy_report` - ``int E|v|^2 dt`` of the model along its own paths (its own
  ``kinetic_energy(x0, times)`` when it has one, e.g. displacement interpolation's exact
  piecewise-constant energy; otherwise converged quadrature, :mod:`.energy`), the truth's
  (``data.truth_energy``, converged quadrature) and the Benamou-Brenier lower bound
  ``sum_k W2^2(rho_{t_k}, rho_{t_{k+1}}) / (t_{k+1} - t_k)`` over consecutive **training** times,
  estimated on the true particles (so the held-out time, which no model is fitted to, is not in
  it). Every path between the first and last training marginals has at least this energy.
* :func:`evaluate` - all of them as one flat dict of numbers.

Models provide ``velocity(t, x)`` and ``transport(x0, times)`` (numpy, physical units).
"""
from __future__ import annotations

import numpy as np

from ..validation.metrics import wasserstein1, wasserstein2
from .baselines import DisplacementInterpolation
from .energy import converged_energy, truth_energy

__all__ = ["heldout_distances", "trajectory_error", "trajectory_references", "velocity_error",
           "kinetic_energy_report", "evaluate"]


def _rms(a, b) -> np.ndarray:
    return np.sqrt(np.mean(np.sum((a - b) ** 2, axis=-1), axis=-1))


def heldout_distances(model, data, paths=None) -> dict:
    """W1, W2 at the held-out time and their floors ``w1_floor``, ``w2_floor`` (length units;
    NaN without ``data.reference``).

    ``paths``: optional (M, n, d) model paths from truth_positions[0] at truth_times, to avoid
    integrating again."""
    if data.held_out is None:
        raise ValueError("data.held_out is None: the data set has no held-out time")
    h = data.held_out
    if paths is None:
        predicted = model.transport(data.snapshots[0], data.times[[0, h]])[-1]
    else:
        predicted = paths[data.snapshot_index[h]]
    observed = data.snapshots[h]
    out = {"w1": wasserstein1(predicted, observed), "w2": wasserstein2(predicted, observed),
           "w1_floor": np.nan, "w2_floor": np.nan}
    if data.reference is not None:
        out.update(w1_floor=wasserstein1(data.reference[h], observed),
                   w2_floor=wasserstein2(data.reference[h], observed))
    return out


def trajectory_error(model, data, paths=None) -> np.ndarray:
    """(M,) RMS position error at the truth times (length units); zero at t = 0 by construction.
    ``paths``: optional precomputed model paths (M, n, d) from truth_positions[0]."""
    predicted = model.transport(data.truth_positions[0], data.truth_times) if paths is None \
        else paths
    return _rms(predicted, data.truth_positions)


def trajectory_references(data) -> dict:
    """The scales of :func:`trajectory_error` (each (M,), length units except ``variance``):
    ``stay`` RMS ``|X(t) - X(t_0)|``; ``ot`` the error of exact-OT displacement interpolation of
    the true particles at the training times; ``variance`` ``E|X(t) - E X(t)|^2``."""
    truth = data.truth_positions
    stay = _rms(truth, truth[0])
    ot = DisplacementInterpolation().fit_marginals(
        truth[data.snapshot_index[data.train_indices]], data.times[data.train_indices])
    ot_error = _rms(ot.transport(truth[0], data.truth_times), truth)
    variance = np.mean(np.sum((truth - truth.mean(1, keepdims=True)) ** 2, -1), -1)
    return {"stay": stay, "ot": ot_error, "variance": variance}


def velocity_error(model, data) -> tuple:
    """((M,) absolute, (M,) relative) L2(rho_t) velocity errors at the truth times (NaN when
    the data carry no true velocities)."""
    if data.truth_velocities is None:
        nan = np.full(len(data.truth_times), np.nan)
        return nan, nan
    learned = np.stack([model.velocity(t, x) for t, x in zip(data.truth_times,
                                                               data.truth_positions)])
    absolute = _rms(learned, data.truth_velocities)
    return absolute, absolute / _rms(data.truth_velocities, 0.0)


def training_bound(data) -> float:
    """Benamou-Brenier bound sum_k W2^2 / dt_k over consecutive training times, on the truth
    particles (independent snapshots would add their sampling floor W2^2 / dt to every term)."""
    k = data.train_indices
    marginals = data.truth_positions[data.snapshot_index[k]]
    times = data.times[k]
    return float(sum(wasserstein2(a, b) ** 2 / (tb - ta) for a, b, ta, tb in
                     zip(marginals[:-1], marginals[1:], times[:-1], times[1:])))


def model_energy(model, x0, times, rtol: float = 1e-3) -> float:
    """``int E|v|^2 dt`` of ``model`` along its own paths from x0 over ``times``: the model's
    ``kinetic_energy(x0, times)`` if it has one, else converged quadrature of its velocity on
    its paths recomputed on each refined grid."""
    if hasattr(model, "kinetic_energy"):
        return float(model.kinetic_energy(x0, times))

    def mean_speed2(grid):
        paths = model.transport(x0, grid)
        return np.array([np.mean(np.sum(model.velocity(t, x) ** 2, -1))
                         for t, x in zip(grid, paths)])
    return converged_energy(mean_speed2, times, rtol=rtol, max_doublings=4)[0]


def kinetic_energy_report(model, data, paths=None) -> dict:
    """``model``, ``truth``: ``int E|v|^2 dt`` over [t_0, t_K]; ``bound``: the Benamou-Brenier
    bound over the training times (:func:`training_bound`). ``paths`` is unused (kept for
    compatibility: energies are computed on refined grids)."""
    return {"model": model_energy(model, data.truth_positions[0], data.truth_times),
            "truth": truth_energy(data), "bound": training_bound(data)}


def evaluate(model, data, references: dict | None = None) -> dict:
    """Flat dict: held-out distances and floors (if a time is held out); trajectory error (RMS
    over time ``traj_rms``, at the end ``traj_end``, at the snapshot times ``traj_snap``) with its
    scales ``traj_stay``, ``traj_ot`` (RMS over time of :func:`trajectory_references`) and
    ``traj_uvp`` (100 x the time mean of E|err|^2 / Var, t > t_0: percent of the spread of the
    cloud); velocity errors (``vel_rel``, time-RMS of the relative error); the kinetic energies
    ``energy``, ``energy_truth``, ``energy_bound``. ``references``: precomputed
    :func:`trajectory_references` of ``data``."""
    paths = model.transport(data.truth_positions[0], data.truth_times)
    out = heldout_distances(model, data, paths) if data.held_out is not None else {}
    traj = trajectory_error(model, data, paths)
    ref = trajectory_references(data) if references is None else references
    _, relative = velocity_error(model, data)
    energy = kinetic_energy_report(model, data)
    moving = slice(1, None)

    def over_time(e):
        return float(np.sqrt(np.mean(e ** 2)))
    out.update(traj_rms=over_time(traj), traj_end=float(traj[-1]),
               traj_snap=over_time(traj[data.snapshot_index]),
               traj_stay=over_time(ref["stay"]), traj_ot=over_time(ref["ot"]),
               traj_uvp=float(100 * np.mean(traj[moving] ** 2 / ref["variance"][moving])),
               vel_rel=float(np.sqrt(np.mean(relative ** 2))), energy=energy["model"],
               energy_truth=energy["truth"], energy_bound=energy["bound"])
    return out
