"""The conventions of diffusion and flow-matching models (DESIGN.md sections 3b and 3c).

Every convention is a Gaussian corruption x_t = a(t) x_0 + b(t) z, z ~ N(0, I), in the model's
own time t. :class:`DiffusionConvention` derives everything from a, b and their rates once: the
forward SDE (f = a'/a, g^2), the probability-flow velocity, the reverse SDE, and the maps between
the score s = grad log p_t and every prediction type a network is trained on
(:data:`PREDICTIONS`: ``score``, ``epsilon``, ``v``, ``sample``, ``velocity``, ``denoiser``).

The published continuous conventions live here (:class:`VP`, :class:`SubVP`, :class:`VE`,
:class:`EDM`, :class:`FlowMatching`, pdeflow's own :class:`FokkerPlanckConvention`); schedules
given as data (callables, ``alphas_cumprod`` tables, named DDPM / cosine / scaled-linear tables,
Karras sigmas) are built in :mod:`pdeflow.schedules`. VP, VE, EDM and pdeflow's own are the
Fokker-Planck equation (D, kappa) on a clock: :func:`ou_transition_coefficients` is its transition,
defined here once and used by :meth:`pdeflow.equations.FokkerPlanck.transition`.

This module is numpy only and imports nothing from pdeflow; :mod:`pdeflow.equations` re-exports
its names (the old import paths keep working).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DiffusionConvention", "TimeChangedFokkerPlanck", "FokkerPlanckConvention", "VP", "SubVP",
    "VE", "EDM", "FlowMatching", "CONVENTIONS", "PREDICTIONS", "ou_transition_coefficients",
]

#: the prediction types a network may be trained on (:meth:`DiffusionConvention.score_from`)
PREDICTIONS = ("score", "epsilon", "v", "sample", "velocity", "denoiser")


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def _check_nonnegative(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def ou_transition_coefficients(D: float, kappa: float, s):
    """(decay, variance) of dX = -kappa X ds + sqrt(2 D) dW over a time s:
    X_s = decay X_0 + N(0, variance I), decay = e^{-kappa s},
    variance = (D/kappa)(1 - e^{-2 kappa s})  (2 D s when kappa = 0).

    ``s`` is a float or a numpy array of times >= 0 (elementwise); returns floats or arrays.
    """
    s = np.asarray(s, dtype=np.float64)
    if not np.all(np.isfinite(s) & (s >= 0)):
        raise ValueError("t must be finite times >= 0")
    variance = 2.0 * D * s if kappa == 0 else -(D / kappa) * np.expm1(-2.0 * kappa * s)
    decay = np.exp(-kappa * s)
    if s.ndim == 0:
        return float(decay), float(variance)
    return decay, variance


def _times(t) -> np.ndarray:
    t = np.asarray(t, dtype=np.float64)
    if not np.all(np.isfinite(t)):
        raise ValueError("t must be finite times")
    return t


class DiffusionConvention:
    """A Gaussian corruption x_t = a(t) x_0 + b(t) z, z ~ N(0, I), in the model's own time t.

    Subclasses define the scale a(t), the noise level b(t) and their time derivatives; every other
    quantity is derived here once, for ``t`` a float or an array (elementwise):

    * forward drift coefficient f(t) = a'/a (the SDE drift is f(t) x);
    * squared diffusion g^2(t) = 2 b b' - 2 (a'/a) b^2 (negative when the noise grows as t
      decreases, as for flow matching);
    * probability-flow velocity v = f x - (g^2 / 2) s, with s = grad log p_t;
    * reverse-SDE drift (time running from noise to data) f x - g^2 s;
    * noise prediction eps = -b s; EDM denoiser D(x / a, b / a) = (x + b^2 s) / a (Tweedie).

    Attributes
    ----------
    generates_forward : bool
        False when the data sit at small t and generation runs towards decreasing t (diffusions);
        True when generation runs towards increasing t (flow matching, data at t = 1).
    """

    generates_forward = False
    name = "convention"

    # -- the schedule (subclasses) -----------------------------------------------------------
    def scale(self, t):
        """a(t)."""
        raise NotImplementedError

    def scale_rate(self, t):
        """a'(t)."""
        raise NotImplementedError

    def noise(self, t):
        """b(t)."""
        raise NotImplementedError

    def noise_rate(self, t):
        """b'(t)."""
        raise NotImplementedError

    # -- derived once ------------------------------------------------------------------------
    def drift_coefficient(self, t):
        """f(t) = a'(t) / a(t): the forward SDE drift is f(t) x."""
        t = _times(t)
        return self.scale_rate(t) / self.scale(t)

    def diffusion_squared(self, t):
        """g^2(t) = d(b^2)/dt - 2 f b^2 (the forward SDE is dx = f x dt + g dW when >= 0)."""
        t = _times(t)
        b = self.noise(t)
        return 2.0 * b * self.noise_rate(t) - 2.0 * self.drift_coefficient(t) * b * b

    def diffusion(self, t):
        """g(t) = sqrt(g^2); ValueError where g^2 < 0 (no forward SDE in this time direction)."""
        g2 = self.diffusion_squared(t)
        if np.any(g2 < 0):
            raise ValueError(f"{self.name} has g^2 < 0 at t = {t}: its noise grows as t decreases, "
                             "so it has no forward SDE in its own time")
        return np.sqrt(g2)

    @staticmethod
    def _column(values, x):
        values = np.asarray(values, dtype=np.float64)
        return values[..., None] if values.ndim else values

    def velocity_from_score(self, t, score, x):
        """Probability-flow velocity v = f x - (g^2 / 2) s; ``score``, ``x`` (n, d), ``t`` float
        or (n,)."""
        c = self._column
        return c(self.drift_coefficient(t), x) * x - c(0.5 * self.diffusion_squared(t), x) * score

    def score_from_velocity(self, t, velocity, x):
        """s = (f x - v) / (g^2 / 2), the inverse of :meth:`velocity_from_score` (g^2 != 0)."""
        c = self._column
        return (c(self.drift_coefficient(t), x) * x - velocity) / c(0.5 * self.diffusion_squared(t), x)

    def reverse_drift(self, t, score, x):
        """Drift f x - g^2 s of the reverse-time SDE (integrated from noise to data)."""
        c = self._column
        return c(self.drift_coefficient(t), x) * x - c(self.diffusion_squared(t), x) * score

    def reverse_rate(self, t):
        """gamma(t) >= 0 of the reverse SDE x <- x + v dt + gamma s abs(dt) + sqrt(2 gamma abs(dt)) z,
        which keeps the marginals for any gamma; abs(g^2) / 2 is the usual reverse SDE."""
        return 0.5 * np.abs(self.diffusion_squared(t))

    def noise_from_score(self, t, score):
        """DDPM noise prediction eps = -b s."""
        return -self._column(self.noise(t), score) * score

    def score_from_noise(self, t, eps):
        """s = -eps / b."""
        return -eps / self._column(self.noise(t), eps)

    def denoiser_sigma(self, t):
        """The EDM noise level sigma = b / a of the rescaled input x / a."""
        t = _times(t)
        return self.noise(t) / self.scale(t)

    def score_from_denoiser(self, t, denoised, x):
        """s = (a D - x) / b^2 with D = D(x / a, b / a) the EDM denoiser output (E[x_0 | x_t])."""
        c = self._column
        return (c(self.scale(t), x) * denoised - x) / c(self.noise(t) ** 2, x)

    def denoiser_from_score(self, t, score, x):
        """D = (x + b^2 s) / a (Tweedie)."""
        c = self._column
        return (x + c(self.noise(t) ** 2, x) * score) / c(self.scale(t), x)

    def sampling_times(self, t_start: float, t_end: float, steps: int) -> np.ndarray:
        """``steps + 1`` times from ``t_start`` to ``t_end`` for the samplers (uniform in t)."""
        return np.linspace(t_start, t_end, int(steps) + 1)

    #: the model time interval a schedule given as data is defined on (None: any t >= 0 where
    #: a > 0 or b > 0)
    time_range = None

    # -- every prediction type <-> the score (DESIGN.md section 3c) ----------------------------
    def score_from(self, prediction: str, t, output, x):
        """The score s = grad log p_t(x) from a network's ``output`` of type ``prediction``.

        With x = a x_0 + b eps (``x``, ``output`` (n, d), ``t`` float or (n,)):

        ==========  ==================================  ==========================================
        prediction  the network predicts                s
        ==========  ==================================  ==========================================
        score       s                                   output
        epsilon     eps = -b s  (DDPM)                  -eps / b
        v           v = a eps - b x_0 (Salimans-Ho)     -(b x + a v) / (b (a^2 + b^2))
        sample      x_0 = (x + b^2 s) / a  (Tweedie)    (a x_0 - x) / b^2
        denoiser    D = x_0 (EDM D(x / a, b / a))       (a D - x) / b^2
        velocity    v = f x - (g^2 / 2) s               (f x - v) / (g^2 / 2)
        ==========  ==================================  ==========================================

        v-prediction in this general form gives eps = (b x + a v) / (a^2 + b^2) and
        x_0 = (a x - b v) / (a^2 + b^2) for any schedule (Salimans and Ho's a^2 + b^2 = 1 is the
        special case). Exact inverse: :meth:`prediction_from_score`.
        """
        c = self._column
        if prediction == "score":
            return np.asarray(output, dtype=np.float64) * 1.0
        if prediction == "epsilon":
            return self.score_from_noise(t, output)
        if prediction == "v":
            a, b = c(self.scale(t), x), c(self.noise(t), x)
            return -(b * x + a * output) / (b * (a * a + b * b))
        if prediction in ("sample", "denoiser"):
            return self.score_from_denoiser(t, output, x)
        if prediction == "velocity":
            return self.score_from_velocity(t, output, x)
        raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")

    def prediction_from_score(self, prediction: str, t, score, x):
        """What a network of type ``prediction`` outputs when its score is ``score`` (the exact
        inverse of :meth:`score_from`; see there for the formulas)."""
        c = self._column
        if prediction == "score":
            return np.asarray(score, dtype=np.float64) * 1.0
        if prediction == "epsilon":
            return self.noise_from_score(t, score)
        if prediction == "v":
            a, b = c(self.scale(t), x), c(self.noise(t), x)
            # v = a eps - b x_0 with eps = -b s and x_0 = (x + b^2 s) / a
            return -a * b * score - b * (x + b * b * score) / a
        if prediction in ("sample", "denoiser"):
            return self.denoiser_from_score(t, score, x)
        if prediction == "velocity":
            return self.velocity_from_score(t, score, x)
        raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")


@dataclass(frozen=True)
class TimeChangedFokkerPlanck(DiffusionConvention):
    """A convention that is pdeflow's per-coordinate Fokker-Planck (D, kappa) run on a clock s(t):
    a = e^{-kappa s}, b^2 = (D / kappa)(1 - e^{-2 kappa s}) (2 D s for heat), from
    :func:`~pdeflow.conventions.ou_transition_coefficients`. Then f = -kappa s', g^2 = 2 D s'.

    Subclasses define :meth:`clock` s(t) and :meth:`clock_rate` s'(t).
    """

    D: float = 0.5
    kappa: float = 0.5

    #: True when a and b are the OU transition on the clock (False for sub-VP, which only
    #: shares the VP clock and scale)
    ou_marginal = True
    #: (D, kappa) a published convention is tied to (None: free)
    fixed = None

    def __post_init__(self):
        object.__setattr__(self, "D", _check_positive("D", self.D))
        object.__setattr__(self, "kappa", _check_nonnegative("kappa", self.kappa))
        if self.fixed is not None and (self.D, self.kappa) != self.fixed:
            raise ValueError(f"{type(self).__name__} has (D, kappa) = {self.fixed}, got "
                             f"D = {self.D}, kappa = {self.kappa}")

    def transition(self, s):
        """(decay, variance) of the per-coordinate Fokker-Planck (D, kappa) over a clock time s
        (:func:`~pdeflow.conventions.ou_transition_coefficients`, the formula behind
        :meth:`pdeflow.equations.FokkerPlanck.transition`)."""
        return ou_transition_coefficients(self.D, self.kappa, s)

    def clock(self, t):
        """s(t), in the Fokker-Planck time."""
        raise NotImplementedError

    def clock_rate(self, t):
        """s'(t)."""
        raise NotImplementedError

    def _transition(self, t):
        return self.transition(self.clock(_times(t)))

    def scale(self, t):
        return self._transition(t)[0]

    def noise(self, t):
        return np.sqrt(self._transition(t)[1])

    def scale_rate(self, t):
        return -self.kappa * self.clock_rate(t) * self.scale(t)

    def noise_rate(self, t):
        b = self.noise(t)
        return self.clock_rate(t) * (self.D - self.kappa * b * b) / b

    def drift_coefficient(self, t):
        return -self.kappa * self.clock_rate(_times(t))

    def diffusion_squared(self, t):
        return 2.0 * self.D * self.clock_rate(_times(t))


@dataclass(frozen=True)
class FokkerPlanckConvention(TimeChangedFokkerPlanck):
    """pdeflow's own dX = -kappa X dt + sqrt(2 D) dW (heat when kappa = 0): clock s = t."""

    D: float = 0.5
    kappa: float = 1.0
    name = "fokker-planck"

    def clock(self, t):
        return _times(t)

    def clock_rate(self, t):
        return np.ones_like(_times(t))


@dataclass(frozen=True)
class VP(TimeChangedFokkerPlanck):
    """Variance preserving (score_sde VPSDE, DDPM): dx = -beta x / 2 dt + sqrt(beta) dW,
    beta(t) = beta_min + t (beta_max - beta_min) on [0, 1]; Fokker-Planck(D = kappa = 1/2) on the
    clock s = int_0^t beta."""

    beta_min: float = 0.1
    beta_max: float = 20.0
    D: float = 0.5
    kappa: float = 0.5
    name = "vp"
    fixed = (0.5, 0.5)

    def __post_init__(self):
        super().__post_init__()
        _check_nonnegative("beta_min", self.beta_min)
        if not self.beta_max >= self.beta_min:
            raise ValueError(f"beta_max must be >= beta_min, got {self.beta_max} < {self.beta_min}")

    def beta(self, t):
        """beta(t) = beta_min + t (beta_max - beta_min)."""
        return self.beta_min + _times(t) * (self.beta_max - self.beta_min)

    def clock(self, t):
        t = _times(t)
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t * t

    def clock_rate(self, t):
        return self.beta(t)


@dataclass(frozen=True)
class SubVP(VP):
    """sub-VP (score_sde subVPSDE): a as VP, b = 1 - a^2; g^2 = beta (1 - e^{-2 int beta})."""

    name = "sub-vp"
    ou_marginal = False

    def noise(self, t):
        return -np.expm1(-self.clock(_times(t)))       # 1 - a^2 = 1 - e^{-s}

    def noise_rate(self, t):
        t = _times(t)
        return self.beta(t) * np.exp(-self.clock(t))   # -2 a a'

    def diffusion_squared(self, t):
        return DiffusionConvention.diffusion_squared(self, t)


@dataclass(frozen=True)
class VE(TimeChangedFokkerPlanck):
    """Variance exploding (NCSN, score_sde VESDE): x_t = x_0 + sigma(t) z,
    sigma(t) = sigma_min (sigma_max / sigma_min)^t on [0, 1]; heat (D = 1/2) on the clock
    s = sigma^2, so g^2 = d sigma^2 / dt = 2 sigma^2 log(sigma_max / sigma_min)."""

    sigma_min: float = 0.01
    sigma_max: float = 50.0
    D: float = 0.5
    kappa: float = 0.0
    name = "ve"
    fixed = (0.5, 0.0)

    def __post_init__(self):
        super().__post_init__()
        _check_positive("sigma_min", self.sigma_min)
        if not self.sigma_max > self.sigma_min:
            raise ValueError(f"sigma_max must be > sigma_min, got {self.sigma_max}")

    def sigma(self, t):
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** _times(t)

    def clock(self, t):
        return self.sigma(t) ** 2

    def clock_rate(self, t):
        return 2.0 * math.log(self.sigma_max / self.sigma_min) * self.sigma(t) ** 2


@dataclass(frozen=True)
class EDM(TimeChangedFokkerPlanck):
    """EDM (Karras et al. 2022), k-diffusion: x_t = x_0 + t z (sigma(t) = t); heat (D = 1/2) on
    the clock s = t^2, g^2 = 2 t. Samplers use the Karras time steps with ``rho`` (7);
    ``sigma_min``, ``sigma_max`` (0.002, 80) are its noise range (:attr:`time_range`)."""

    D: float = 0.5
    kappa: float = 0.0
    rho: float = 7.0
    sigma_min: float = 0.002
    sigma_max: float = 80.0
    name = "edm"
    fixed = (0.5, 0.0)

    def __post_init__(self):
        super().__post_init__()
        _check_positive("rho", self.rho)
        _check_positive("sigma_min", self.sigma_min)
        if not self.sigma_max > self.sigma_min:
            raise ValueError(f"sigma_max must be > sigma_min, got {self.sigma_max} <= "
                             f"{self.sigma_min}")

    @property
    def time_range(self):
        return (float(self.sigma_min), float(self.sigma_max))

    def clock(self, t):
        return _times(t) ** 2

    def clock_rate(self, t):
        return 2.0 * _times(t)

    def sampling_times(self, t_start: float, t_end: float, steps: int) -> np.ndarray:
        """t_i = (t_start^(1/rho) + i/steps (t_end^(1/rho) - t_start^(1/rho)))^rho."""
        u = np.linspace(0.0, 1.0, int(steps) + 1)
        lo, hi = t_start ** (1 / self.rho), t_end ** (1 / self.rho)
        return (lo + u * (hi - lo)) ** self.rho


@dataclass(frozen=True)
class FlowMatching(DiffusionConvention):
    """Linear interpolant of rectified flow / torchcfm: x_t = t x_1 + (1 - t) x_0 with the source
    x_0 ~ N(0, I) at t = 0 and the data x_1 at t = 1 (a = t, b = 1 - t); generation runs forward.

    g^2 = -2 (1 - t) / t < 0 (the noise grows backwards in t); the reverse SDE uses the
    marginal-preserving Langevin rate gamma(t) = 1 - t, which vanishes at the data end.
    """

    generates_forward = True
    name = "flow-matching"

    def scale(self, t):
        return _times(t) * 1.0

    def scale_rate(self, t):
        return np.ones_like(_times(t))

    def noise(self, t):
        return 1.0 - _times(t)

    def noise_rate(self, t):
        return -np.ones_like(_times(t))

    def reverse_rate(self, t):
        return 1.0 - _times(t)


#: the conventions by name, default parameters
CONVENTIONS = {"vp": VP, "sub-vp": SubVP, "ve": VE, "edm": EDM, "flow-matching": FlowMatching,
               "fokker-planck": FokkerPlanckConvention}
