"""Generate samples with a field, in the convention's own time (numpy).

* :func:`probability_flow` - the ODE dx/dt = v(t, x) on a given time grid (RK4 or Heun), in
  either direction (decreasing t for diffusions, increasing t for flow matching).
* :func:`reverse_sde` - Euler-Maruyama of the reverse SDE from noise to data,
  x <- x + v dt + gamma s abs(dt) + sqrt(2 gamma abs(dt)) z, with gamma(t) =
  :meth:`~pdeflow.conventions.DiffusionConvention.reverse_rate` (abs(g^2) / 2 for diffusions, i.e.
  the drift f x - g^2 s and noise g of Anderson's reverse SDE; any gamma >= 0 keeps the marginals).

Points are (n, d) arrays; ``times`` is a 1-D grid from the start time to the end time.
"""
from __future__ import annotations

import numpy as np

from ..progress import progress_bar

__all__ = ["probability_flow", "reverse_sde", "METHODS"]

#: the integrators of :func:`probability_flow`
METHODS = ("rk4", "heun")


def _check(times, x):
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or len(times) < 2 or not np.all(np.isfinite(times)):
        raise ValueError(f"times must be a finite 1-D grid of >= 2 times, got shape {times.shape}")
    steps = np.diff(times)
    if not (np.all(steps > 0) or np.all(steps < 0)):
        raise ValueError("times must be strictly monotone")
    x = np.array(x, dtype=np.float64)
    if x.ndim != 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"x must be a finite (n, d) array, got shape {x.shape}")
    return times, x


def probability_flow(velocity, times, x, *, method: str = "rk4", progress: bool = False,
                     label: str = "ODE") -> np.ndarray:
    """Integrate dx/dt = ``velocity(t, x)`` over ``times`` from ``x`` (n, d); returns (n, d).

    ``method`` ``"rk4"`` (4 calls per step) or ``"heun"`` (2 calls per step).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    times, x = _check(times, x)
    for t0, t1 in progress_bar(list(zip(times[:-1], times[1:])), desc=label,
                                progress=progress, leave=False):
        h = t1 - t0
        k1 = velocity(t0, x)
        if method == "heun":
            k2 = velocity(t1, x + h * k1)
            x = x + 0.5 * h * (k1 + k2)
            continue
        k2 = velocity(t0 + 0.5 * h, x + 0.5 * h * k1)
        k3 = velocity(t0 + 0.5 * h, x + 0.5 * h * k2)
        k4 = velocity(t1, x + h * k3)
        x = x + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def reverse_sde(fields, rate, times, x, seed, *, progress: bool = False,
                label: str = "SDE") -> np.ndarray:
    """Euler-Maruyama of the reverse SDE over ``times`` from ``x`` (n, d); returns (n, d).

    ``fields(t, x) -> (score, velocity)`` (one model call per step), ``rate(t) -> gamma >= 0``,
    ``seed`` int or numpy Generator.
    """
    times, x = _check(times, x)
    rng = np.random.default_rng(seed)
    for t0, t1 in progress_bar(list(zip(times[:-1], times[1:])), desc=label,
                                progress=progress, leave=False):
        dt = t1 - t0
        score, vel = fields(t0, x)
        gamma = float(rate(t0))
        x = x + vel * dt + gamma * abs(dt) * score \
            + np.sqrt(2.0 * gamma * abs(dt)) * rng.standard_normal(x.shape)
    return x
