"""Schedules as data: a :class:`~pdeflow.conventions.DiffusionConvention` from what a user has
(DESIGN.md section 3c).

* :class:`FunctionSchedule` - callables a(t), b(t) (and optionally a'(t), b'(t); otherwise
  fourth-order finite differences that stay inside ``time_range``).
* :class:`DiscreteSchedule` - a table ``alphas_cumprod`` (abar_n, n = 0 ... N-1, or the betas with
  :meth:`DiscreteSchedule.from_betas`) as diffusers / DDPM models are trained on it:
  a = sqrt(abar), b = sqrt(1 - abar).
* :func:`ddpm_linear`, :func:`scaled_linear`, :func:`cosine` - the named tables (1000 steps by
  default); :func:`karras` - the EDM / k-diffusion sigma range with Karras steps (an
  :class:`~pdeflow.conventions.EDM`); :func:`karras_sigmas` - the Karras noise levels;
  :data:`SCHEDULES` - all of them by name.

**The timestep convention of a table** (stated, never guessed): the model time t *is* the integer
timestep n, as a float, t in [0, N-1] (what a diffusers ``UNet2DModel`` receives); the table
entries sit at the integers. Between two entries log abar is linear in t, so beta(t) =
-d log abar / dt = log(abar_n / abar_{n+1}) is constant on [n, n+1): the continuous VP SDE
dx = -beta x / 2 dt + sqrt(beta) dW whose marginals at the integers are exactly the table's
(a(n) = sqrt(abar_n)). At an integer the rates a', b' are those of the step above (the last step
at t = N-1). Times outside [0, N-1] raise ValueError.
"""
from __future__ import annotations

import math

import numpy as np

from .conventions import EDM, DiffusionConvention, _check_positive, _times

__all__ = ["FunctionSchedule", "DiscreteSchedule", "ddpm_linear", "scaled_linear", "cosine",
           "karras", "karras_sigmas", "SCHEDULES"]


class FunctionSchedule(DiffusionConvention):
    """A convention x_t = a(t) x_0 + b(t) z from user callables.

    Parameters
    ----------
    scale, noise : callables t -> a(t), b(t) on numpy arrays (elementwise).
    scale_rate, noise_rate : callables t -> a'(t), b'(t), or None: then the fourth-order central
        difference (f(t-2h) - 8 f(t-h) + 8 f(t+h) - f(t+2h)) / (12 h), h = 1e-3 (t_max - t_min),
        shifted to a one-sided fourth-order stencil within 2h of an end of ``time_range`` (relative
        error about 1e-10 for smooth schedules; give the rates when you have them).
    time_range : (t_min, t_max), where a and b are defined.
    generates_forward : True when generation runs towards increasing t (data at t_max).
    name : str.
    """

    def __init__(self, scale, noise, *, time_range, scale_rate=None, noise_rate=None,
                 generates_forward: bool = False, name: str = "schedule"):
        for label, fn in (("scale", scale), ("noise", noise), ("scale_rate", scale_rate),
                          ("noise_rate", noise_rate)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{label} must be callable, got {type(fn).__name__}")
        lo, hi = (float(v) for v in time_range)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"time_range must be finite (t_min, t_max) with t_min < t_max, got "
                             f"{time_range}")
        self._a, self._b, self._da, self._db = scale, noise, scale_rate, noise_rate
        self._range = (lo, hi)
        self.generates_forward = bool(generates_forward)
        self.name = str(name)

    @property
    def time_range(self):
        return self._range

    def _inside(self, t):
        t = _times(t)
        lo, hi = self._range
        tol = 1e-12 * max(1.0, abs(lo), abs(hi))
        if np.any((t < lo - tol) | (t > hi + tol)):
            raise ValueError(f"t must be in the schedule's time_range [{lo}, {hi}], got "
                             f"[{t.min()}, {t.max()}]")
        return t

    def _call(self, fn, t):
        t = self._inside(t)
        value = np.asarray(fn(t), dtype=np.float64)
        return np.broadcast_to(value, t.shape) * 1.0 if t.ndim else float(value)

    def _rate(self, fn, t):
        t = self._inside(t)
        lo, hi = self._range
        h = 1e-3 * (hi - lo)
        # centre the 5-point stencil at t, or shift it inside the range near an end
        shift = np.clip(t, lo + 2 * h, hi - 2 * h) - t
        centre = t + shift                       # stencil centre; shift / h in [-2, 2]
        u = -shift / h                           # position of t relative to the centre, in h
        nodes = np.arange(-2, 3)
        values = np.stack([np.asarray(fn(centre + k * h), dtype=np.float64) * np.ones_like(t)
                           for k in nodes])
        # derivative at centre + u h of the quartic through the 5 nodes (Lagrange weights)
        weights = _lagrange_derivative_weights(nodes, np.asarray(u))
        out = (weights * values).sum(0) / h
        return out if t.ndim else float(out)

    def scale(self, t):
        return self._call(self._a, t)

    def noise(self, t):
        return self._call(self._b, t)

    def scale_rate(self, t):
        return self._call(self._da, t) if self._da is not None else self._rate(self._a, t)

    def noise_rate(self, t):
        return self._call(self._db, t) if self._db is not None else self._rate(self._b, t)

    def reverse_rate(self, t):
        g2 = self.diffusion_squared(t)
        return 0.5 * np.abs(g2)

    def __repr__(self) -> str:
        return f"FunctionSchedule({self.name!r}, time_range={self._range})"


def _lagrange_derivative_weights(nodes, u):
    """Weights w_k(u) (len(nodes), *u.shape) with p'(u) = sum_k w_k f_k for the polynomial p
    through (nodes_k, f_k)."""
    nodes = np.asarray(nodes, dtype=np.float64)
    out = []
    for k, xk in enumerate(nodes):
        others = np.delete(nodes, k)
        denom = np.prod(xk - others)
        total = np.zeros_like(u, dtype=np.float64)
        for j in range(len(others)):
            rest = np.delete(others, j)
            total = total + np.prod([u - r for r in rest], axis=0)
        out.append(total / denom)
    return np.stack(out)


class DiscreteSchedule(DiffusionConvention):
    """A DDPM table abar_n (``alphas_cumprod``), n = 0 ... N-1, as a continuous convention.

    a = sqrt(abar), b = sqrt(1 - abar); the model time t is the integer timestep n (a float in
    [0, N-1]) and log abar is linear between entries (see the module docstring). Then
    f = a'/a = -beta(t)/2 and g^2 = beta(t) with beta(t) = log(abar_n / abar_{n+1}) on [n, n+1).

    Parameters
    ----------
    alphas_cumprod : (N,) strictly decreasing values in (0, 1), N >= 2.
    name : str.
    """

    def __init__(self, alphas_cumprod, name: str = "discrete"):
        abar = np.array(alphas_cumprod, dtype=np.float64).reshape(-1)
        if abar.size < 2 or not np.all(np.isfinite(abar)):
            raise ValueError(f"alphas_cumprod must be a finite 1-D table of >= 2 entries, got "
                             f"shape {np.shape(alphas_cumprod)}")
        if not np.all((abar > 0) & (abar < 1)):
            raise ValueError(f"alphas_cumprod must lie in (0, 1), got [{abar.min()}, "
                             f"{abar.max()}]")
        if not np.all(np.diff(abar) < 0):
            raise ValueError("alphas_cumprod must be strictly decreasing (noise grows with n)")
        self.alphas_cumprod = abar
        self._log = np.log(abar)
        self._slope = np.diff(self._log)          # (N-1,) d log abar / dt on [n, n+1)
        self.name = str(name)

    @classmethod
    def from_betas(cls, betas, name: str = "discrete") -> "DiscreteSchedule":
        """abar_n = prod_{i <= n} (1 - beta_i); ``betas`` (N,) in (0, 1)."""
        betas = np.array(betas, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(betas) & (betas > 0) & (betas < 1)):
            raise ValueError("betas must be finite numbers in (0, 1)")
        return cls(np.cumprod(1.0 - betas), name=name)

    @property
    def steps(self) -> int:
        """N, the number of table entries."""
        return len(self.alphas_cumprod)

    @property
    def time_range(self):
        return (0.0, float(self.steps - 1))

    @property
    def betas(self) -> np.ndarray:
        """(N,) beta_n = 1 - abar_n / abar_{n-1} (beta_0 = 1 - abar_0)."""
        abar = self.alphas_cumprod
        return 1.0 - abar / np.concatenate([[1.0], abar[:-1]])

    @property
    def sigmas(self) -> np.ndarray:
        """(N,) the k-diffusion noise levels sigma_n = sqrt((1 - abar_n) / abar_n) (the VE form
        x / a of the same corruption)."""
        return np.sqrt((1.0 - self.alphas_cumprod) / self.alphas_cumprod)

    def _segment(self, t):
        t = _times(t)
        hi = self.steps - 1
        tol = 1e-9 * hi
        if np.any((t < -tol) | (t > hi + tol)):
            raise ValueError(f"t must be a timestep in [0, {hi}] of {self.name}, got "
                             f"[{t.min()}, {t.max()}]")
        n = np.clip(np.floor(t), 0, hi - 1).astype(np.int64)
        return t, n

    def log_alphas_cumprod(self, t):
        """log abar(t), linear between the table entries."""
        t, n = self._segment(t)
        out = self._log[n] + (t - n) * self._slope[n]
        return out if out.ndim else float(out)

    def beta(self, t):
        """beta(t) = -d log abar / dt, constant on [n, n+1)."""
        t, n = self._segment(t)
        out = -self._slope[n]
        return out if out.ndim else float(out)

    def scale(self, t):
        return np.exp(0.5 * self.log_alphas_cumprod(t))

    def noise(self, t):
        return np.sqrt(-np.expm1(self.log_alphas_cumprod(t)))

    def scale_rate(self, t):
        return -0.5 * self.beta(t) * self.scale(t)

    def noise_rate(self, t):
        # b^2 = 1 - abar: 2 b b' = -abar' = beta abar
        return 0.5 * self.beta(t) * np.exp(self.log_alphas_cumprod(t)) / self.noise(t)

    def drift_coefficient(self, t):
        return -0.5 * self.beta(t)

    def diffusion_squared(self, t):
        return self.beta(t) * 1.0

    def timestep_of_sigma(self, sigma):
        """The model time t with sigma(t) = sqrt((1 - abar(t)) / abar(t)) = ``sigma`` (inverse of
        the piecewise log-linear abar; sigma within [sigma_0, sigma_{N-1}])."""
        sigma = np.asarray(sigma, dtype=np.float64)
        log_abar = -np.log1p(sigma * sigma)                # abar = 1 / (1 + sigma^2)
        lo, hi = self._log[-1], self._log[0]
        if np.any((log_abar < lo * (1 + 1e-12)) | (log_abar > hi * (1 - 1e-12))):
            raise ValueError(f"sigma must lie in [{self.sigmas[0]:.6g}, {self.sigmas[-1]:.6g}] "
                             f"of {self.name}")
        out = np.interp(-log_abar, -self._log, np.arange(self.steps, dtype=np.float64))
        return out if out.ndim else float(out)

    def __repr__(self) -> str:
        return f"DiscreteSchedule({self.name!r}, N={self.steps})"


def ddpm_linear(steps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02):
    """DDPM (Ho et al. 2020) linear betas ``linspace(beta_start, beta_end, steps)``
    (diffusers ``beta_schedule="linear"``)."""
    steps = _check_steps(steps)
    return DiscreteSchedule.from_betas(np.linspace(beta_start, beta_end, steps), "ddpm-linear")


def scaled_linear(steps: int = 1000, beta_start: float = 0.00085, beta_end: float = 0.012):
    """Stable Diffusion's ``linspace(sqrt(beta_start), sqrt(beta_end), steps)^2`` (diffusers
    ``beta_schedule="scaled_linear"``)."""
    steps = _check_steps(steps)
    betas = np.linspace(math.sqrt(beta_start), math.sqrt(beta_end), steps) ** 2
    return DiscreteSchedule.from_betas(betas, "scaled-linear")


def cosine(steps: int = 1000, s: float = 0.008, max_beta: float = 0.999):
    """Nichol and Dhariwal (2021): abar(u) = f(u)/f(0), f(u) = cos^2((u + s)/(1 + s) pi/2), u = n/N,
    as betas beta_n = min(1 - f((n+1)/N) / f(n/N), ``max_beta``) (diffusers
    ``beta_schedule="squaredcos_cap_v2"``; the clip acts at the last steps)."""
    steps = _check_steps(steps)
    _check_positive("s", s)
    if not 0 < max_beta < 1:
        raise ValueError(f"max_beta must be in (0, 1), got {max_beta}")
    f = lambda u: np.cos((u + s) / (1.0 + s) * math.pi / 2.0) ** 2
    u = np.arange(steps + 1) / steps
    betas = np.minimum(1.0 - f(u[1:]) / f(u[:-1]), max_beta)
    return DiscreteSchedule.from_betas(betas, "cosine")


def karras_sigmas(n: int, sigma_min: float = 0.002, sigma_max: float = 80.0,
                  rho: float = 7.0) -> np.ndarray:
    """The ``n`` Karras et al. (2022) noise levels from ``sigma_max`` down to ``sigma_min``:
    (sigma_max^(1/rho) + i/(n-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho, i = 0 ... n-1
    (k-diffusion ``get_sigmas_karras`` without the appended 0)."""
    n = _check_steps(n)
    return EDM(sigma_min=sigma_min, sigma_max=sigma_max, rho=rho).sampling_times(
        sigma_max, sigma_min, n - 1)


def karras(sigma_min: float = 0.002, sigma_max: float = 80.0, rho: float = 7.0) -> EDM:
    """The EDM / k-diffusion convention x = x_0 + sigma z, time = sigma in [sigma_min, sigma_max],
    sampled on the Karras steps with ``rho``."""
    return EDM(sigma_min=sigma_min, sigma_max=sigma_max, rho=rho)


def _check_steps(steps) -> int:
    if int(steps) != steps or steps < 2:
        raise ValueError(f"steps must be an integer >= 2, got {steps}")
    return int(steps)


#: the named schedules: name -> factory() (default parameters)
SCHEDULES = {"ddpm-linear": ddpm_linear, "scaled-linear": scaled_linear, "cosine": cosine,
             "karras": karras}
