"""Backward samplers: flow samples of rho(T) back to an earlier time with the alpha-family.

For linear diffusion (Heat / Fokker-Planck) the reverse-time family (DESIGN.md section 3, tau = T - t)

    dY = [kappa Y + (1 + alpha) D s(T - tau, Y)] dtau + sqrt(2 alpha D) dW,   alpha >= 0,

has the forward marginals in reverse for every alpha. alpha = 0 is the probability-flow ODE
dY/dtau = -v(T - tau, Y), the Lagrangian backward flow, which is also the only meaningful member
for the porous medium. The drift and noise come from
:meth:`pdeflow.equations.FokkerPlanck.reverse_drift` / ``reverse_noise``; the score is recovered
from the same forward velocity source with ``score_from_velocity``, so one source (a finite-volume
solution, a closed form, a torch network or any callable) drives every alpha.

Integrators: alpha = 0 goes through :func:`~pdeflow.solvers.flow_map.integrate_flow_map` (RK4 or
adaptive Dormand-Prince) or a fixed-step Euler step; alpha > 0 uses Euler-Maruyama (weak order 1).
"""
from __future__ import annotations

import math

import numpy as np

from ..equations import FokkerPlanck, GradientFlow
from .flow_map import FlowMap, _check_times, as_velocity, integrate_flow_map
from .interpolation import _as_points

__all__ = ["sample_backward", "score_velocity"]

_METHODS = ("rk4", "dopri5", "euler")


def score_velocity(equation: FokkerPlanck, score):
    """The forward velocity v(t, x) = -(D s + kappa x) of a score source, as a callable.

    ``score`` is a callable ``s(t, x)`` (numpy points (n, d) in, (n, d) out) or an object with a
    ``.score(t, x)`` method (e.g. :class:`pdeflow.exact.GaussianMixtureFlow`). The relation is
    :meth:`pdeflow.equations.FokkerPlanck.velocity_from_score`.
    """
    if not isinstance(equation, FokkerPlanck):
        raise ValueError("equation must be Heat or FokkerPlanck (a score defines a velocity only "
                         f"for linear diffusion), got {type(equation).__name__}")
    fn = score.score if callable(getattr(score, "score", None)) else score
    if not callable(fn):
        raise ValueError(f"score must be callable s(t, x) or have .score(t, x), got "
                         f"{type(score).__name__}")

    def velocity(t, x):
        return equation.velocity_from_score(np.asarray(fn(t, x), dtype=np.float64), x)

    velocity.__qualname__ = f"score_velocity({getattr(fn, '__qualname__', type(fn).__name__)})"
    return velocity


def sample_backward(equation: GradientFlow, velocity, y, times, *, alpha: float = 0.0,
                    method: str | None = None, dt: float | None = None, rtol: float = 1e-6,
                    atol: float = 1e-9, seed=None, field: str = "cell",
                    outside: str = "raise") -> FlowMap:
    """Flow samples ``y`` of rho(times[0]) backward through the decreasing ``times``.

    Parameters
    ----------
    equation : the forward equation (its ``dim``; for alpha > 0 its D, kappa and reverse drift).
    velocity : the FORWARD velocity v(t, x): a GridSolution / GridVelocity, an object with
        ``.velocity(t, x)``, a :class:`pdeflow.learn.Field`, or a callable on numpy (n, d) points.
        For a score source wrap it with :func:`score_velocity`.
    y : (n, d) samples at time times[0].
    times : (nt,) strictly decreasing output times (physical time t, e.g. ``[T, t_min]``).
    alpha : >= 0. 0 is the probability-flow ODE (any equation); > 0 the stochastic members
        (Heat / FokkerPlanck only).
    method : alpha = 0: "rk4" (default; fixed step <= ``dt``), "dopri5" (adaptive, ``rtol`` /
        ``atol``) or "euler" (fixed step <= ``dt``). alpha > 0: "euler" (Euler-Maruyama, default).
    dt : maximum step in time units (required except for "dopri5").
    seed : int or numpy Generator; required for alpha > 0.
    field, outside : as in :func:`~pdeflow.solvers.flow_map.integrate_flow_map`.

    Returns
    -------
    FlowMap
        Positions (nt, n, d); ``.final`` is the sample at times[-1].
    """
    if not isinstance(equation, GradientFlow):
        raise ValueError(f"equation must be a pdeflow.equations GradientFlow, got "
                         f"{type(equation).__name__}")
    alpha = float(alpha)
    if not (math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha}")
    if alpha > 0 and not isinstance(equation, FokkerPlanck):
        raise ValueError(f"alpha > 0 is defined only for linear diffusion (Heat / FokkerPlanck); "
                         f"for {type(equation).__name__} use alpha = 0")
    method = method or ("rk4" if alpha == 0 else "euler")
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    if alpha > 0 and method != "euler":
        raise ValueError(f"alpha > 0 is integrated by Euler-Maruyama: method must be 'euler', "
                         f"got {method!r}")
    times = _check_times(times)
    if times[1] > times[0]:
        raise ValueError("times must be strictly decreasing (a backward sampler runs from T down)")
    y = _as_points(y, equation.dim, "y")
    sampler = {"sampler": "sample_backward", "alpha": alpha, "equation": repr(equation)}
    if method != "euler":
        flow = integrate_flow_map(velocity, y, times, method=method, dt=dt, rtol=rtol, atol=atol,
                                  field=field, outside=outside)
        flow.provenance.update(sampler)
        return flow
    if dt is None or not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a finite number > 0 for method 'euler', got {dt}")
    if alpha > 0 and seed is None:
        raise ValueError("seed (int or numpy Generator) is required for alpha > 0")
    if outside not in ("raise", "stop"):
        raise ValueError(f"outside must be 'raise' or 'stop', got {outside!r}")
    v, provenance, grid_velocity = as_velocity(velocity, field)
    box = None
    if grid_velocity is not None:
        grid_velocity.check_time(times.min(), "min(times)")
        grid_velocity.check_time(times.max(), "max(times)")
        box = (grid_velocity.lower, grid_velocity.upper)
        if not grid_velocity.grid.contains(y).all():
            raise ValueError("y: some starting points lie outside the grid box")
    positions, exit_index, steps = _euler_maruyama_reverse(equation, v, y, times, alpha, dt,
                                                           np.random.default_rng(seed), box)
    if box is not None and outside == "raise" and np.any(exit_index >= 0):
        raise ValueError(f"{np.count_nonzero(exit_index >= 0)} of {len(y)} particles left the "
                         "grid box; enlarge the grid or pass outside='stop'")
    provenance.update(sampler)
    provenance["integrator"] = {"method": "euler" if alpha == 0 else "euler-maruyama", "dt": dt,
                                "steps_per_particle": steps,
                                "seed": seed if isinstance(seed, (int, type(None))) else
                                "Generator"}
    return FlowMap(x0=y.copy(), times=times, positions=positions, provenance=provenance,
                   exit_index=exit_index if box is not None else None)


def _euler_maruyama_reverse(equation, v, y, times, alpha, dt, rng, box):
    """Fixed-step (stochastic) Euler in tau = times[0] - t; returns positions, exit index, steps.

    Particles that leave ``box`` are frozen at their last position inside it.
    """
    noise = equation.reverse_noise(alpha) if alpha > 0 else 0.0
    positions = np.empty((len(times),) + y.shape)
    positions[0] = x = y.copy()
    alive = np.ones(len(y), dtype=bool)
    exit_index = np.full(len(y), -1, dtype=np.int64)
    steps = 0
    for s in range(len(times) - 1):
        span = times[s] - times[s + 1]
        nsub = max(1, math.ceil(span / dt - 1e-9))
        h = span / nsub
        for k in range(nsub):
            t = times[s] - k * h
            vel = np.asarray(v(t, x), dtype=np.float64)
            if vel.shape != x.shape:
                raise ValueError(f"velocity returned shape {vel.shape}, expected {x.shape}")
            if alpha == 0:
                drift = -vel
            else:
                drift = equation.reverse_drift(equation.score_from_velocity(vel, x), x, alpha)
            x_new = x + h * drift
            if noise:
                x_new += math.sqrt(h) * noise * rng.standard_normal(x.shape)
            if box is not None:
                x_new[~alive] = x[~alive]
                gone = alive & ~np.all((x_new >= box[0]) & (x_new <= box[1]), axis=1)
                x_new[gone] = x[gone]
                alive &= ~gone
                exit_index[gone] = s + 1
            x = x_new
        steps += nsub
        positions[s + 1] = x
    return positions, exit_index, steps
