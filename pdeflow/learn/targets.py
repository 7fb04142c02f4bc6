"""Training data (t, x, v_true) drawn from a known solution: closed forms, grid solves, particles.

A *target* is anything with

* ``t_min, t_max`` - the time window [t_min, t_max] the error integral runs over, and
* ``draw(n, rng) -> Batch`` - ``n`` points: times, positions x ~ rho_t, and the true field there.

Every target here draws ``n_times`` independent times t_j ~ U[t_min, t_max] (or uniformly among
stored snapshots) and ``n / n_times`` points x ~ rho_{t_j} at each, so the sample mean of any
integrand g(t, x) times (t_max - t_min) is an unbiased Monte Carlo estimate of
int int g rho_t dx dt (mass-1 densities), and the per-time block means give an honest standard
error. :class:`TimeSliceTarget` is generic: it needs only ``sample(t, n, rng) -> (n, d)`` and
``truth(t, x) -> (n, d)``, so flow-map particles, a finite-volume solution or a closed form all
plug in the same way.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from ..exact import Barenblatt, ConfinedBarenblatt, GaussianMixtureFlow

__all__ = [
    "Batch", "TimeSliceTarget", "gaussian_mixture_target", "barenblatt_target",
    "grid_solution_target", "particle_target",
]


@dataclass(frozen=True)
class Batch:
    """Points with their times and true field.

    t : (n,) times; x : (n, d) positions; v : (n, d) true field (velocity or score) at (t, x);
    block : (n,) integer id of the time slice each point came from (for standard errors).
    """

    t: np.ndarray
    x: np.ndarray
    v: np.ndarray
    block: np.ndarray

    def __len__(self) -> int:
        return len(self.t)


def _check_window(t_min: float, t_max: float) -> tuple:
    t_min, t_max = float(t_min), float(t_max)
    if not (math.isfinite(t_min) and math.isfinite(t_max) and 0 <= t_min < t_max):
        raise ValueError(f"need finite times 0 <= t_min < t_max, got t_min={t_min}, t_max={t_max}")
    return t_min, t_max


@dataclass(frozen=True)
class TimeSliceTarget:
    """Generic target from a sampler of rho_t and the true field.

    Parameters
    ----------
    sample : ``sample(t, n, rng) -> (n, d)`` points distributed as rho_t (normalised).
    truth : ``truth(t, x) -> (n, d)`` true velocity (or score) at time t.
    t_min, t_max : time window.
    n_times : distinct times per draw (each draw uses n // n_times points per time, n_times >= 2).
    times : optional (nt,) stored times; if given, t_j is drawn uniformly among them instead of
        from U[t_min, t_max] (for snapshot data; the time integral is then the snapshot average).
    """

    sample: Callable
    truth: Callable
    t_min: float
    t_max: float
    n_times: int = 32
    times: np.ndarray | None = None

    def __post_init__(self):
        _check_window(self.t_min, self.t_max)
        if int(self.n_times) != self.n_times or self.n_times < 2:
            raise ValueError(f"n_times must be an integer >= 2, got {self.n_times}")

    @property
    def horizon(self) -> float:
        """t_max - t_min, the length of the time integral."""
        return self.t_max - self.t_min

    def draw(self, n: int, rng, n_times: int | None = None) -> Batch:
        """``n`` points (rounded down to a multiple of the number of time slices).

        ``n_times`` overrides the target's slice count for this draw (training pools use many
        slices so the network sees many times; error estimates need only a few dozen).
        """
        rng = np.random.default_rng(rng)
        n_times = self.n_times if n_times is None else int(n_times)
        per = int(n) // n_times
        if per < 1 or n_times < 2:
            raise ValueError(f"need n >= n_times >= 2, got n = {n}, n_times = {n_times}")
        if self.times is None:
            slices = rng.uniform(self.t_min, self.t_max, n_times)
        else:
            slices = rng.choice(np.asarray(self.times, dtype=np.float64), n_times)
        x = np.concatenate([np.asarray(self.sample(float(tj), per, rng), dtype=np.float64)
                            for tj in slices])
        t = np.repeat(slices, per)
        # one truth call per distinct time: snapshot data repeat their stored times (thousands
        # of slices, a few dozen times), and the truth is pointwise, so the values are the same
        v = None
        for tj in np.unique(slices):
            rows = np.flatnonzero(t == tj)
            values = np.asarray(self.truth(float(tj), x[rows]), dtype=np.float64)
            if v is None:
                v = np.empty((len(x),) + values.shape[1:])
            v[rows] = values
        block = np.repeat(np.arange(n_times), per)
        return Batch(t, x, v, block)


# ----------------------------------------------------------------------------------------------
# Closed forms
# ----------------------------------------------------------------------------------------------
def gaussian_mixture_target(flow: GaussianMixtureFlow, t_min: float, t_max: float,
                            quantity: str = "velocity", n_times: int = 32) -> TimeSliceTarget:
    """Target from the exact Gaussian-mixture heat / Fokker-Planck flow.

    ``quantity`` is 'velocity' (v = -(D s + kappa x)) or 'score' (grad log rho).
    """
    if quantity not in ("velocity", "score"):
        raise ValueError(f"quantity must be 'velocity' or 'score', got {quantity!r}")
    truth = flow.velocity if quantity == "velocity" else flow.score
    return TimeSliceTarget(lambda t, n, rng: flow.at(t).sample(n, rng), truth, t_min, t_max,
                           n_times)


def _sample_barenblatt(profile: Barenblatt, radius: float, n: int, rng) -> np.ndarray:
    """Points of density prop. to (1 - |y/R|^2)_+^p in a ball of radius R: |y/R|^2 ~ Beta(d/2, p+1)."""
    d = profile.dim
    r2 = rng.beta(d / 2.0, profile.power + 1.0, n)
    direction = rng.standard_normal((n, d))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    return radius * np.sqrt(r2)[:, None] * direction


def barenblatt_target(solution, t_min: float, t_max: float, n_times: int = 32) -> TimeSliceTarget:
    """Target from a :class:`~pdeflow.exact.Barenblatt` or :class:`~pdeflow.exact.ConfinedBarenblatt`
    (velocity only; rho_t is radial with profile ``(1 - |x|^2/R(t)^2)_+^{1/(m-1)}``)."""
    if not isinstance(solution, (Barenblatt, ConfinedBarenblatt)):
        raise ValueError(f"solution must be a Barenblatt or ConfinedBarenblatt, "
                         f"got {type(solution).__name__}")
    if isinstance(solution, Barenblatt) and t_min <= 0:
        raise ValueError(f"the free Barenblatt solution needs t_min > 0, got {t_min}")
    profile = solution if isinstance(solution, Barenblatt) else solution.profile

    def sample(t, n, rng):
        return _sample_barenblatt(profile, solution.support_radius(t), n, rng)

    return TimeSliceTarget(sample, solution.velocity, t_min, t_max, n_times)


# ----------------------------------------------------------------------------------------------
# Grid solutions and particles
# ----------------------------------------------------------------------------------------------
def grid_solution_target(solution, n_times: int = 32) -> TimeSliceTarget:
    """Target from a :class:`~pdeflow.solvers.solution.GridSolution`.

    x is drawn from the piecewise-constant density of a stored snapshot (cell with probability
    rho * cell volume / mass, uniform inside the cell); v is the cell-centred velocity,
    interpolated multilinearly (constant extrapolation in the half cells next to the walls).
    """
    grid = solution.grid
    density = np.asarray(solution.density, dtype=np.float64)
    if density.shape[1:] != grid.shape or np.any(density < 0) or not np.all(np.isfinite(density)):
        raise ValueError(f"solution.density must be finite, >= 0, shape (nt, *{grid.shape})")
    axes = [grid.axis_centers(i) for i in range(grid.dim)]
    times = np.asarray(solution.times, dtype=np.float64)

    def index(t):
        return int(np.argmin(np.abs(times - t)))

    samplers = {}   # snapshot -> its density sampler (cumulative distribution built once)

    def sample(t, n, rng):
        k = index(t)
        if k not in samplers:
            samplers[k] = grid.density_sampler(density[k])
        return samplers[k](n, rng)

    def truth(t, x):
        vel = solution.velocity[index(t)]
        clipped = np.clip(x, [a[0] for a in axes], [a[-1] for a in axes])
        return np.stack([RegularGridInterpolator(axes, vel[i])(clipped)
                         for i in range(grid.dim)], axis=1)

    return TimeSliceTarget(sample, truth, times[0], times[-1], n_times, times=times)


def particle_target(times, positions, truth: Callable, n_times: int = 32) -> TimeSliceTarget:
    """Target from particles ``positions`` (nt, N, d) at ``times`` (nt,) (e.g. flow-map output).

    Each draw picks stored times uniformly and resamples particles with replacement;
    ``truth(t, x)`` gives the velocity at a stored time.
    """
    times = np.asarray(times, dtype=np.float64)
    positions = np.asarray(positions, dtype=np.float64)
    if positions.ndim != 3 or positions.shape[0] != times.shape[0] or times.ndim != 1:
        raise ValueError(f"positions must have shape (nt, N, d) with nt = len(times) = "
                         f"{times.shape}, got {positions.shape}")
    if not np.all(np.isfinite(positions)):
        raise ValueError("positions must be finite")

    def sample(t, n, rng):
        k = int(np.argmin(np.abs(times - t)))
        return positions[k, rng.integers(0, positions.shape[1], n)]

    return TimeSliceTarget(sample, truth, times[0], times[-1], n_times, times=times)


# ----------------------------------------------------------------------------------------------
# Linear transition kernel (used by denoising score matching)
# ----------------------------------------------------------------------------------------------
