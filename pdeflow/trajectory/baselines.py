"""Baselines of trajectory inference: OT conditional flow matching and displacement interpolation.

* :class:`OTCFM` - OT-CFM (Tong et al. 2024) through the reference implementation, torchcfm's
  ``ExactOptimalTransportConditionalFlowMatcher``: per consecutive training pair, minibatch exact-OT
  pairs (x_a, x_b), a point x_s on the segment at s ~ U[0, 1] (Gaussian width sigma = 0.1), and
  the regression of v(t_a + s dt, x_s) on the segment velocity (x_b - x_a) / dt; one network for
  all pairs with time in units of the observation spacing (the torchcfm single-cell recipe:
  t shifted by the pair index), the runner's defaults: 3 hidden SELU layers of
  width 64, AdamW lr 1e-3, weight decay 1e-5, batch 128.
* :class:`DisplacementInterpolation` - the exact OT plan between whole consecutive training
  snapshots (equal sizes: a permutation) and straight lines between matched points.

Both expose ``velocity(t, x)`` and ``transport(x0, times)`` like :class:`~pdeflow.trajectory.MIOFlow`.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from scipy.spatial import cKDTree

from ..progress import progress_bar
from ._flows import NeuralFlow, sample_batch, show_progress
from .energy import truth_energy
from .losses import ot_plan
from .snapshots import _locate, flow_energy

__all__ = ["OTCFM", "DisplacementInterpolation", "Oracle"]


class OTCFM(NeuralFlow):
    """OT-CFM trainer and fitted flow.

    Parameters
    ----------
    sigma : width of the conditional path (0.1, the runner's sigma_min).
    hidden : hidden width (64); depth 3, SELU.
    lr, weight_decay : AdamW settings (1e-3, 1e-5).
    batch_size : points per snapshot per pair and step (128).
    steps : optimiser steps; each sums the losses of all training pairs.
    seed : int; network initialisation, batches and torchcfm's sampling.
    """

    def __init__(self, *, sigma: float = 0.1, hidden: int = 64, lr: float = 1e-3,
                 weight_decay: float = 1e-5, batch_size: int = 128, steps: int = 2000,
                 seed: int = 0):
        if not (np.isfinite(sigma) and sigma >= 0):
            raise ValueError(f"sigma must be a finite number >= 0, got {sigma}")
        if int(steps) != steps or steps < 1 or int(batch_size) != batch_size or batch_size < 2:
            raise ValueError(f"steps must be >= 1 and batch_size >= 2 (integers), got {steps}, "
                             f"{batch_size}")
        self.sigma, self.hidden, self.lr, self.weight_decay = sigma, hidden, lr, weight_decay
        self.batch_size, self.steps, self.seed = int(batch_size), int(steps), int(seed)
        self.history: list = []
        self.train_seconds = float("nan")

    def fit(self, data, progress: bool | None = None) -> "OTCFM":
        """Train on the training snapshots of ``data`` (a SnapshotData); returns self.
        ``progress``: a tqdm bar over the steps (None: only on a terminal)."""
        from torchcfm.conditional_flow_matching import ExactOptimalTransportConditionalFlowMatcher

        start = time.perf_counter()
        clouds, times = self._prepare(data, depth=3, activation="selu")
        optimiser = torch.optim.AdamW(self.net.parameters(), lr=self.lr,
                                      weight_decay=self.weight_decay)
        matcher = ExactOptimalTransportConditionalFlowMatcher(sigma=self.sigma)
        rng = np.random.default_rng(self.seed)
        with torch.random.fork_rng():          # torchcfm draws s and the plan samples from torch
            torch.manual_seed(self.seed)
            np_state = np.random.get_state()   # and POT / torchcfm from numpy's global state
            np.random.seed(self.seed)
            try:
                for _ in progress_bar(range(self.steps), desc="OT-CFM", leave=False,
                                      progress=show_progress(progress)):
                    loss = 0.0
                    for i in range(len(times) - 1):
                        x0 = sample_batch(rng, clouds[i], self.batch_size)
                        x1 = sample_batch(rng, clouds[i + 1], self.batch_size)
                        s, xs, us = matcher.sample_location_and_conditional_flow(x0, x1)
                        dt = times[i + 1] - times[i]
                        pred = self.net(times[i] + s * dt, xs)
                        loss = loss + ((pred - us / dt) ** 2).mean()
                    optimiser.zero_grad()
                    loss.backward()
                    optimiser.step()
                    self.history.append(float(loss.detach()))
            finally:
                np.random.set_state(np_state)
        self.net.eval()
        self.train_seconds = time.perf_counter() - start
        return self


class DisplacementInterpolation:
    """Straight lines between exactly OT-matched consecutive training snapshots.

    After ``fit``, ``atoms`` (K', n, d) holds the chained matched particles at the training
    times ``knots`` (K',). A point x off the atoms moves with its nearest atom at the start
    (``transport``) or at time t (``velocity``).
    """

    def __init__(self, seed: int = 0):
        self.seed = int(seed)   # unused: the method is deterministic (kept for a uniform API)
        self.train_seconds = float("nan")

    def fit(self, data) -> "DisplacementInterpolation":
        """Match every consecutive pair of training snapshots of ``data``; returns self."""
        start = time.perf_counter()
        indices = data.train_indices
        self.fit_marginals([data.snapshots[k] for k in indices], data.times[indices])
        self.train_seconds = time.perf_counter() - start
        return self

    def fit_marginals(self, clouds, knots) -> "DisplacementInterpolation":
        """Match consecutive clouds (a sequence of (n, d), equal n) observed at ``knots``
        (increasing); returns self."""
        if len({len(c) for c in clouds}) != 1:
            raise ValueError("displacement interpolation needs snapshots of equal size")
        rows = np.arange(len(clouds[0]))
        atoms = [np.asarray(clouds[0], dtype=np.float64)]
        for a, b in zip(clouds[:-1], clouds[1:]):
            cost = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
            match = ot_plan(cost).argmax(1)      # the plan of equal uniform clouds: a permutation
            rows = match[rows]
            atoms.append(np.asarray(b, dtype=np.float64)[rows])
        self.atoms, self.knots = np.stack(atoms), np.asarray(knots, dtype=np.float64)
        return self

    def kinetic_energy(self, x0, times) -> float:
        """Exact ``int E|v|^2 dt`` over [times[0], times[-1]] of the paths of ``transport``: the
        velocity of each path is constant on every interval between knots (length^2 / time)."""
        x0 = np.asarray(x0, dtype=np.float64)
        a, b = float(times[0]), float(times[-1])
        nearest = cKDTree(self.atoms_at(a)).query(x0)[1]
        total = 0.0
        for j in range(len(self.knots) - 1):
            dt = self.knots[j + 1] - self.knots[j]
            overlap = min(b, self.knots[j + 1]) - max(a, self.knots[j])
            if overlap > 0:
                step = (self.atoms[j + 1] - self.atoms[j])[nearest]
                total += overlap * np.mean(np.sum(step ** 2, -1)) / dt ** 2
        return float(total)

    def _interval(self, t: float) -> tuple:
        if not (self.knots[0] - 1e-12 <= t <= self.knots[-1] + 1e-12):
            raise ValueError(f"t = {t} is outside the fitted times [{self.knots[0]}, "
                             f"{self.knots[-1]}]")
        j = int(np.clip(np.searchsorted(self.knots, t, side="right") - 1, 0, len(self.knots) - 2))
        return j, (t - self.knots[j]) / (self.knots[j + 1] - self.knots[j])

    def atoms_at(self, t: float) -> np.ndarray:
        """Positions (n, d) of the matched particles at time t."""
        j, s = self._interval(float(t))
        return (1 - s) * self.atoms[j] + s * self.atoms[j + 1]

    def velocity(self, t: float, x) -> np.ndarray:
        """Velocity (n, d) of the nearest atom at time t, for points x (n, d)."""
        j, _ = self._interval(float(t))
        nearest = cKDTree(self.atoms_at(t)).query(np.asarray(x, dtype=np.float64))[1]
        return (self.atoms[j + 1] - self.atoms[j])[nearest] / (self.knots[j + 1] - self.knots[j])

    def transport(self, x0, times) -> np.ndarray:
        """Positions (M, n, d): x0 (n, d) at times[0] carried with its nearest atom's path."""
        x0 = np.asarray(x0, dtype=np.float64)
        start = self.atoms_at(times[0])
        nearest = cKDTree(start).query(x0)[1]
        offset = x0 - start[nearest]
        return np.stack([self.atoms_at(t)[nearest] + offset for t in times])


class Oracle:
    """The truth as a model (``velocity``, ``transport``): its metrics are the floors.

    ``flow``: a :class:`~pdeflow.trajectory.TrueFlow` (transports any points from t = 0), or
    None: then ``fit(data)`` keeps the data and the oracle replays its recorded truth (it
    transports exactly ``data.truth_positions[0]`` to times on ``data.truth_times``, its
    velocity is known on the recorded trajectories, its energy is ``data.truth_energy``).
    """

    def __init__(self, flow=None):
        self.flow, self.train_seconds, self.data = flow, 0.0, None

    def fit(self, data) -> "Oracle":
        self.data = data
        return self

    def _recorded(self, times, x=None) -> np.ndarray:
        data = self.data
        if data is None:
            raise ValueError("an Oracle without a flow replays its data: call fit(data) first")
        times = np.atleast_1d(np.asarray(times, dtype=np.float64))
        index = _locate(times, data.truth_times)
        if x is not None and not np.allclose(x, data.truth_positions[index[0]], rtol=0,
                                             atol=1e-12 * (1 + np.abs(x).max())):
            raise ValueError("an Oracle without a flow knows the truth only on the recorded "
                             "trajectories: x must be data.truth_positions at that time")
        return index

    def velocity(self, t: float, x) -> np.ndarray:
        if self.flow is not None:
            return self.flow.velocity(t, np.asarray(x, dtype=np.float64))
        if self.data.truth_velocities is None:
            return np.full(np.shape(x), np.nan)
        return self.data.truth_velocities[self._recorded(t, x)[0]]

    def transport(self, x0, times) -> np.ndarray:
        times = np.asarray(times, dtype=np.float64)
        if self.flow is None:
            index = self._recorded(times)
            if not np.allclose(x0, self.data.truth_positions[0], rtol=0, atol=1e-12 *
                               (1 + np.abs(x0).max())):
                raise ValueError("an Oracle without a flow transports only "
                                 "data.truth_positions[0]")
            if times[0] != self.data.truth_times[0]:
                raise ValueError(f"the oracle transports from t = {self.data.truth_times[0]}, "
                                 f"got times[0] = {times[0]}")
            return self.data.truth_positions[index]
        if times[0] != 0:
            raise ValueError(f"the oracle transports from t = 0, got times[0] = {times[0]}")
        if len(times) == 1:
            return np.asarray(x0, dtype=np.float64)[None]
        return self.flow.push(np.asarray(x0, dtype=np.float64), times)

    def kinetic_energy(self, x0, times) -> float:
        """The truth's energy over [times[0], times[-1]] from x0: by converged quadrature of the
        flow (:func:`~pdeflow.trajectory.snapshots.flow_energy`), or, without a flow, the
        data's ``truth_energy`` (x0 must then be the truth particles)."""
        if self.flow is not None:
            return flow_energy(self.flow.velocity, self.flow.push, np.asarray(x0, float),
                               np.asarray(times, float))[0]
        if self.data is None:
            raise ValueError("call fit(data) before kinetic_energy")
        return truth_energy(self.data)
