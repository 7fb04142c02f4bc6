"""What every catalogue problem offers: a time-dependent law rho_t with a known score and
velocity, exact samples, and where its truth comes from.

A problem lives in the time of its convention (:class:`~pdeflow.conventions.DiffusionConvention`):
diffusions carry the data at ``t_min`` and the noise at ``T``; flow matching (``generates_forward``)
the noise at ``t_min`` and the data at ``T``. Points are (n, dim) arrays, times floats or (n,)
arrays (DESIGN.md section 6).
"""
from __future__ import annotations

import math

import numpy as np

from ..exact import CorruptedMixture

__all__ = ["Problem", "ExactMixtureProblem"]


class Problem:
    """Base of the catalogue problems.

    Attributes
    ----------
    name : str
        Catalogue name (:func:`pdeflow.problems.get`).
    dim : int
    t_min, T : float
        The time interval, in the convention's own time.
    truth : str
        ``"exact"`` (closed form) or ``"certified"`` (a numerical solve with an error estimate).
    description : str
        One line.
    convention : DiffusionConvention or None
        None for nonlinear flows (porous medium): only a velocity exists, no score or SDE.
    kinds : tuple of str
        Model kinds this problem can check (``score``, ``velocity``, ``noise`` = ``epsilon``,
        ``v``, ``sample``, ``denoiser``).
    """

    name = "problem"
    truth = "exact"
    description = ""
    kinds = ("score", "velocity", "noise", "epsilon", "v", "sample", "denoiser")

    def __init__(self, name: str, dim: int, t_min: float, T: float, convention, description: str):
        if not (math.isfinite(t_min) and math.isfinite(T) and 0 <= t_min < T):
            raise ValueError(f"need 0 <= t_min < T, got t_min = {t_min}, T = {T}")
        self.name, self.dim, self.t_min, self.T = name, int(dim), float(t_min), float(T)
        self.convention, self.description = convention, description

    # -- the generative direction ------------------------------------------------------------
    @property
    def generates_forward(self) -> bool:
        return bool(self.convention is not None and self.convention.generates_forward)

    @property
    def data_time(self) -> float:
        """The time of the data end (where samplers stop)."""
        return self.T if self.generates_forward else self.t_min

    @property
    def noise_time(self) -> float:
        """The time of the noise end (where samplers start)."""
        return self.t_min if self.generates_forward else self.T

    def profile_times(self, n: int) -> np.ndarray:
        """``n`` increasing times in [t_min, T], log-spaced towards the data end (from t_min = 0,
        as for the integer timesteps of a DDPM table, log-spaced in t + (T - t_min) / 1000)."""
        if self.generates_forward:
            return np.sort(1.0 - np.geomspace(1.0 - self.t_min, 1.0 - self.T, int(n)))
        if self.t_min > 0:
            return np.geomspace(self.t_min, self.T, int(n))
        offset = 1e-3 * (self.T - self.t_min)
        times = np.geomspace(self.t_min + offset, self.T + offset, int(n)) - offset
        times[0], times[-1] = self.t_min, self.T
        return times

    # -- the truth (subclasses) --------------------------------------------------------------
    def score(self, t, x) -> np.ndarray:
        """grad log rho_t(x), (n, dim)."""
        raise NotImplementedError

    def velocity(self, t, x) -> np.ndarray:
        """The probability-flow (marginal) velocity, (n, dim)."""
        raise NotImplementedError

    def sample(self, t: float, n: int, seed) -> np.ndarray:
        """``n`` samples (n, dim) of rho_t; ``seed`` int or numpy Generator."""
        raise NotImplementedError

    def velocity_truth_error(self, t: float, x):
        """Estimated error ``|v_truth - v|`` per point (n,), or None for a closed form."""
        return None

    def check_time(self, t: float, name: str = "t") -> float:
        t = float(t)
        if not self.t_min - 1e-12 <= t <= self.T * (1 + 1e-12):
            raise ValueError(f"{name} = {t} is outside [{self.t_min}, {self.T}] of {self.name}")
        return t

    def line(self) -> str:
        """``name  truth  dim  description``, as ``pdeflow problems`` prints it."""
        return f"{self.name:28s} {self.truth:9s} {self.dim:4d}  {self.description}"

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.name!r}, dim={self.dim}, t in [{self.t_min}, "
                f"{self.T}], truth={self.truth!r})")


class ExactMixtureProblem(Problem):
    """A Gaussian mixture data law under a convention: the exact
    :class:`~pdeflow.exact.CorruptedMixture`."""

    truth = "exact"

    def __init__(self, name, convention, initial, t_min, T, description):
        super().__init__(name, initial.dim, t_min, T, convention, description)
        self.flow = CorruptedMixture(convention, initial)

    @property
    def initial(self):
        return self.flow.initial

    def score(self, t, x):
        return self.flow.score(t, x)

    def velocity(self, t, x):
        return self.flow.velocity(t, x)

    def sample(self, t: float, n: int, seed):
        return self.flow.sample(self.check_time(t), n, seed)
