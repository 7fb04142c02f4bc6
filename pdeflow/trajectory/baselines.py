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

from ._flows import NeuralFlow, sample_batch
from .losses import ot_plan

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

    def fit(self, data) -> "OTCFM":
        """Train on the training snapshots of ``data`` (a SnapshotData); returns self."""
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
                for _ in range(self.steps):
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
        clouds = [data.snapshots[k] for k in indices]
        if len({len(c) for c in clouds}) != 1:
            raise ValueError("displacement interpolation needs snapshots of equal size")
        rows = np.arange(len(clouds[0]))
        atoms = [clouds[0]]
        for a, b in zip(clouds[:-1], clouds[1:]):
            cost = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
            match = ot_plan(cost).argmax(1)      # the plan of equal uniform clouds: a permutation
            rows = match[rows]
            atoms.append(b[rows])
        self.atoms, self.knots = np.stack(atoms), data.times[indices].astype(np.float64)
        self.train_seconds = time.perf_counter() - start
        return self

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
    """The true flow as a model (``velocity``, ``transport``): its metrics are the floors."""

    def __init__(self, flow):
        self.flow, self.train_seconds = flow, 0.0

    def fit(self, data) -> "Oracle":
        return self

    def velocity(self, t: float, x) -> np.ndarray:
        return self.flow.velocity(t, np.asarray(x, dtype=np.float64))

    def transport(self, x0, times) -> np.ndarray:
        times = np.asarray(times, dtype=np.float64)
        if times[0] != 0:
            raise ValueError(f"the oracle transports from t = 0, got times[0] = {times[0]}")
        if len(times) == 1:
            return np.asarray(x0, dtype=np.float64)[None]
        return self.flow.push(np.asarray(x0, dtype=np.float64), times)
