"""Stochastic particles for the linear Fokker-Planck / heat equation.

The equation d_t rho = D Lap rho + kappa div(x rho) is the law of the Ornstein-Uhlenbeck SDE
dX = -kappa X dt + sqrt(2 D) dW (DESIGN.md section 3). Two samplers, both seeded:

* :func:`euler_maruyama` - X_{k+1} = X_k + b(X_k) h + sqrt(2 D h) xi_k (weak order 1, strong
  order 1 for additive noise); drift and noise come from the equation object.
* :func:`ou_exact` - the exact Gaussian transition X_{t+s} = e^{-kappa s} X_t + sqrt(s_2(s)) xi,
  s_2(s) = (D/kappa)(1 - e^{-2 kappa s}) (2 D s for the heat equation), with the coefficients
  taken from :func:`pdeflow.exact.ou_transition`. No time-step error at all.
"""
from __future__ import annotations

import math

import numpy as np

from ..equations import FokkerPlanck
from ..exact import ou_transition
from .flow_map import FlowMap, _check_times
from .interpolation import _as_points

__all__ = ["euler_maruyama", "ou_exact"]


def _check_equation(equation, x0):
    if not isinstance(equation, FokkerPlanck):
        raise ValueError(f"equation must be Heat or FokkerPlanck, got {type(equation).__name__}")
    return _as_points(x0, equation.dim, "x0")


def _check_forward(times):
    times = _check_times(times)
    if times[1] < times[0]:
        raise ValueError("times must be strictly increasing for the SDE samplers")
    return times


def euler_maruyama(equation: FokkerPlanck, x0, times, dt: float, seed) -> FlowMap:
    """Euler-Maruyama paths sampled at ``times`` (increasing; times[0] is the start of x0 (n, d)).

    Each interval between output times is split into ceil(interval / dt) equal steps.
    ``seed`` is an int or numpy Generator. Returns a FlowMap with positions (nt, n, d).
    """
    x = _check_equation(equation, x0).copy()
    times = _check_forward(times)
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a finite number > 0, got {dt}")
    rng = np.random.default_rng(seed)
    positions = np.empty((len(times),) + x.shape)
    positions[0] = x
    for s in range(len(times) - 1):
        span = times[s + 1] - times[s]
        nsub = max(1, math.ceil(span / dt - 1e-9))
        h = span / nsub
        for _ in range(nsub):
            x = x + h * equation.drift(x) + math.sqrt(h) * equation.noise * rng.standard_normal(x.shape)
        positions[s + 1] = x
    return FlowMap(np.asarray(x0, dtype=np.float64).copy(), times, positions,
                   {"source": "euler_maruyama", "equation": repr(equation), "dt": dt,
                    "seed": seed if isinstance(seed, int) else "Generator"})


def ou_exact(equation: FokkerPlanck, x0, times, seed) -> FlowMap:
    """Exact OU transitions between consecutive ``times`` (increasing) from x0 (n, d)."""
    x = _check_equation(equation, x0).copy()
    times = _check_forward(times)
    rng = np.random.default_rng(seed)
    positions = np.empty((len(times),) + x.shape)
    positions[0] = x
    for s in range(len(times) - 1):
        decay, var = ou_transition(equation, times[s + 1] - times[s])
        x = decay * x + math.sqrt(var) * rng.standard_normal(x.shape)
        positions[s + 1] = x
    return FlowMap(np.asarray(x0, dtype=np.float64).copy(), times, positions,
                   {"source": "ou_exact", "equation": repr(equation),
                    "seed": seed if isinstance(seed, int) else "Generator"})
