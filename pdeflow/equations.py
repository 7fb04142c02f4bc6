"""The physics, defined once.

Every equation in pdeflow is a gradient flow (DESIGN.md section 3)::

    d_t rho = div(rho grad xi),   xi = D F'(rho) + kappa |x|^2 / 2,   v = -grad xi

=========================  ===============  =======================  =================================
family                     F(rho)           F'(rho)                  stationary state (kappa > 0)
=========================  ===============  =======================  =================================
Heat (kappa = 0)           rho log rho      log rho                  none
FokkerPlanck (kappa > 0)   rho log rho      log rho                  N(0, (D/kappa) I), scaled to mass
PorousMedium (m > 1)       rho^m/(m-1)      m rho^(m-1)/(m-1) = p    D p = (C - kappa|x|^2/2)_+
=========================  ===============  =======================  =================================

The scalar functions :func:`entropy_density`, :func:`entropy_derivative`,
:func:`porous_density` and :func:`porous_pressure` use only arithmetic that numpy, torch and
numba all accept, so the numba kernels compile these very functions instead of copying them.

Conventions: points are ``(..., d)`` arrays (coordinates on the last axis); ``D`` is a diffusion
coefficient (length^2 / time), ``kappa`` a confinement rate (1 / time).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "GradientFlow", "Heat", "FokkerPlanck", "PorousMedium",
    "entropy_density", "entropy_derivative", "porous_density", "porous_pressure",
    "porous_diffusivity", "truncated_power_integral", "log_truncated_power_integral",
    "porous_stationary_level",
    "DiffusionConvention", "TimeChangedFokkerPlanck", "FokkerPlanckConvention", "VP", "SubVP",
    "VE", "EDM", "FlowMatching", "CONVENTIONS",
]


# ----------------------------------------------------------------------------------------------
# Scalar building blocks (numpy / torch / numba compatible)
# ----------------------------------------------------------------------------------------------
def entropy_density(rho):
    """F(rho) = rho log rho (with 0 log 0 = 0 left to the caller: rho must be positive)."""
    return rho * np.log(rho)


def entropy_derivative(rho):
    """F'(rho) = log rho for the linear (heat / Fokker-Planck) family."""
    return np.log(rho)


def porous_density(rho, m):
    """F(rho) = rho^m / (m - 1) for the porous medium."""
    return rho ** m / (m - 1.0)


def porous_pressure(rho, m):
    """F'(rho) = m rho^(m-1) / (m - 1), the porous-medium pressure p."""
    # m = 2, 3 by multiplication: the finite-volume kernels compile this with numba, where a pow
    # with a run-time exponent dominates a cell update; x and x * x are the correctly rounded
    # x ** 1 and x ** 2, so results do not change
    k = m - 1.0
    power = rho * 1.0 if k == 1.0 else (rho * rho if k == 2.0 else rho ** k)
    return m / k * power


def porous_diffusivity(rho, m):
    """rho F''(rho) = m rho^(m-1): Lap(rho^m) = div(m rho^(m-1) grad rho), so D times this is
    the effective diffusion coefficient that bounds the explicit time step (1 for rho log rho)."""
    k = m - 1.0
    return m * (rho * 1.0 if k == 1.0 else (rho * rho if k == 2.0 else rho ** k))


# ----------------------------------------------------------------------------------------------
# Checks shared by every equation
# ----------------------------------------------------------------------------------------------
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


#: the largest dimension of a porous-medium equation: its radial and closed-form solutions work
#: in any dimension (grid solvers stop at 3, :func:`~pdeflow.solvers.finite_volume.solve`
#: checks the grid)
POROUS_MAX_DIM = 128


def _check_dim(dim: int, max_dim: int = 3) -> int:
    if int(dim) != dim or not 1 <= dim <= max_dim:
        allowed = "1, 2 or 3" if max_dim == 3 else f"an integer in 1..{max_dim}"
        raise ValueError(f"dim must be {allowed}, got {dim}")
    return int(dim)


def check_density(rho, name: str = "rho", strictly_positive: bool = False) -> np.ndarray:
    """Return ``rho`` as a float64 array if it is finite and non-negative (or positive)."""
    rho = np.asarray(rho, dtype=np.float64)
    if not np.all(np.isfinite(rho)):
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    if strictly_positive and not np.all(rho > 0):
        raise ValueError(f"{name} must be > 0 everywhere for this equation (log rho is used); "
                         f"min is {rho.min():.3e}")
    if np.any(rho < 0):
        raise ValueError(f"{name} must be >= 0 everywhere; min is {rho.min():.3e}")
    return rho


# ----------------------------------------------------------------------------------------------
# The equations
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class GradientFlow:
    """Common interface of the gradient flows d_t rho = div(rho grad xi).

    Subclasses define :meth:`F` and :meth:`dF`; everything else (potential, velocity, energy)
    is derived here once.
    """

    D: float = 1.0
    kappa: float = 0.0
    dim: int = 1

    #: True for the heat / Fokker-Planck family (linear PDE, SDE with constant noise).
    is_linear = True
    #: the largest ``dim`` accepted
    max_dim = 3

    def __post_init__(self):
        object.__setattr__(self, "D", _check_positive("D", self.D))
        object.__setattr__(self, "kappa", _check_nonnegative("kappa", self.kappa))
        object.__setattr__(self, "dim", _check_dim(self.dim, self.max_dim))

    # -- the free energy --------------------------------------------------------------------
    def F(self, rho):
        """Internal energy density F(rho); ``rho`` any shape."""
        raise NotImplementedError

    def dF(self, rho):
        """F'(rho); ``rho`` any shape."""
        raise NotImplementedError

    def external_potential(self, x, axis: int = -1):
        """Confinement ``kappa |x|^2 / 2``; ``x`` holds coordinates along ``axis``."""
        return 0.5 * self.kappa * (x * x).sum(axis)

    def chemical_potential(self, rho, x, axis: int = -1):
        """``xi = D F'(rho) + kappa |x|^2 / 2``, pointwise; ``rho`` (...), ``x`` (..., d) on ``axis``."""
        return self.D * self.dF(rho) + self.external_potential(x, axis)

    # -- derived quantities on a grid -------------------------------------------------------
    def velocity(self, rho, grid) -> np.ndarray:
        """Cell-centred v = -grad xi of a grid density ``rho`` ``(*shape)`` -> ``(d, *shape)``.

        Central differences in the interior, one-sided at the walls (second order where rho is
        smooth). The finite-volume solver reports its own face velocities; this is the
        post-processing used for arbitrary densities.
        """
        rho = check_density(rho, strictly_positive=self.is_linear)
        xi = self.chemical_potential(rho, grid.coordinates(), axis=0)
        grads = np.gradient(xi, *grid.spacing, edge_order=2)
        grads = grads if isinstance(grads, (list, tuple)) else [grads]
        return -np.stack(grads)

    def energy(self, rho, grid) -> float:
        """``E(rho) = int D F(rho) + kappa |x|^2/2 rho dx`` by the midpoint rule on ``grid``."""
        rho = check_density(rho)
        internal = np.zeros_like(rho)
        positive = rho > 0  # F(0) = 0 for both families
        internal[positive] = self.F(rho[positive])
        density = self.D * internal + self.external_potential(grid.coordinates(), axis=0) * rho
        return float(density.sum() * grid.cell_volume)

    def stationary_density(self, x, mass: float = 1.0):
        """Stationary state at points ``x`` (..., d), normalised to ``mass``."""
        raise NotImplementedError

    def _require_confinement(self):
        if self.kappa <= 0:
            raise ValueError(f"{type(self).__name__} with kappa = 0 has no stationary state; "
                             "use kappa > 0")

    # -- stochastic (Lagrangian) form -------------------------------------------------------
    def drift(self, x):
        """SDE drift b(x) = -kappa x; ``x`` (n, d)."""
        return -self.kappa * x


@dataclass(frozen=True, kw_only=True)
class FokkerPlanck(GradientFlow):
    """Linear Fokker-Planck d_t rho = D Lap rho + kappa div(x rho); law of
    dX = -kappa X dt + sqrt(2 D) dW. With kappa = 0 it is the heat equation."""

    def F(self, rho):
        return entropy_density(rho)

    def dF(self, rho):
        return entropy_derivative(rho)

    def stationary_density(self, x, mass: float = 1.0):
        """mass * N(0, (D/kappa) I) at ``x`` (..., d)."""
        self._require_confinement()
        mass = _check_positive("mass", mass)
        var = self.D / self.kappa
        r2 = (np.asarray(x, dtype=np.float64) ** 2).sum(-1)
        return mass * np.exp(-0.5 * r2 / var) / (2 * np.pi * var) ** (self.dim / 2)

    @property
    def noise(self) -> float:
        """Diffusion coefficient sqrt(2 D) of the SDE."""
        return math.sqrt(2.0 * self.D)

    def transition(self, t):
        """(decay, variance) of the transition over a time t: X_t = decay X_0 + N(0, variance I),
        decay = e^{-kappa t}, variance = (D/kappa)(1 - e^{-2 kappa t})  (2 D t when kappa = 0).

        ``t`` is a float or a numpy array of times >= 0 (elementwise); returns floats or arrays.
        """
        t = np.asarray(t, dtype=np.float64)
        if not np.all(np.isfinite(t) & (t >= 0)):
            raise ValueError("t must be finite times >= 0")
        kappa, D = self.kappa, self.D
        variance = 2.0 * D * t if kappa == 0 else -(D / kappa) * np.expm1(-2.0 * kappa * t)
        decay = np.exp(-kappa * t)
        if t.ndim == 0:
            return float(decay), float(variance)
        return decay, variance

    # -- score <-> velocity (linear family only) ---------------------------------------------
    def velocity_from_score(self, score, x):
        """v = -(D s + kappa x); ``score`` and ``x`` (..., d), numpy or torch."""
        return -(self.D * score + self.kappa * x)

    def score_from_velocity(self, velocity, x):
        """s = -(v + kappa x) / D; inverse of :meth:`velocity_from_score`."""
        return -(velocity + self.kappa * x) / self.D

    def reverse_drift(self, score, y, alpha: float):
        """Drift of the reverse-time alpha-family: kappa y + (1 + alpha) D s(T - tau, y)."""
        alpha = _check_nonnegative("alpha", alpha)
        return self.kappa * y + (1.0 + alpha) * self.D * score

    def reverse_noise(self, alpha: float) -> float:
        """Noise amplitude sqrt(2 alpha D) of the reverse-time alpha-family."""
        return math.sqrt(2.0 * _check_nonnegative("alpha", alpha) * self.D)

    def log_density_rate(self, lap_q, grad_q, x):
        """d_t q for q = log rho: ``D (Lap q + |grad q|^2) + kappa (d + x . grad q)``.

        ``lap_q`` (...), ``grad_q`` and ``x`` (..., d); numpy or torch (used by the
        Fokker-Planck residual regulariser).
        """
        return (self.D * (lap_q + (grad_q * grad_q).sum(-1))
                + self.kappa * (self.dim + (x * grad_q).sum(-1)))


@dataclass(frozen=True, kw_only=True)
class Heat(FokkerPlanck):
    """Heat equation d_t rho = D Lap rho (Fokker-Planck with kappa = 0)."""

    def __post_init__(self):
        super().__post_init__()
        if self.kappa != 0:
            raise ValueError(f"Heat has kappa = 0, got kappa = {self.kappa}; use FokkerPlanck")


@dataclass(frozen=True, kw_only=True)
class PorousMedium(GradientFlow):
    """Porous medium d_t rho = D Lap(rho^m) + kappa div(x rho), m > 1.

    The pressure is p = F'(rho) = m rho^(m-1) / (m-1) and ``v = -grad(D p + kappa |x|^2 / 2)``.
    """

    m: float = 2.0
    is_linear = False
    max_dim = POROUS_MAX_DIM

    def __post_init__(self):
        super().__post_init__()
        m = float(self.m)
        if not (math.isfinite(m) and m > 1):
            raise ValueError(f"m must be a finite number > 1 for the porous medium, got {m}")
        object.__setattr__(self, "m", m)

    @classmethod
    def dimension_aware(cls, a: float, dim: int, D: float = 1.0, kappa: float = 0.0):
        """The porous medium with m = 1 + a / dim (a > 0)."""
        a = _check_positive("a", a)
        return cls(D=D, kappa=kappa, dim=dim, m=1.0 + a / _check_dim(dim, POROUS_MAX_DIM))

    def F(self, rho):
        return porous_density(rho, self.m)

    def dF(self, rho):
        return porous_pressure(rho, self.m)

    def pressure(self, rho):
        """p = m rho^(m-1) / (m-1)."""
        return porous_pressure(rho, self.m)

    def density_from_pressure(self, p):
        """Inverse of :meth:`pressure`: rho = ((m-1) p / m)^(1/(m-1)), p >= 0."""
        return ((self.m - 1.0) * p / self.m) ** (1.0 / (self.m - 1.0))

    def stationary_density(self, x, mass: float = 1.0):
        """rho with ``D p(rho) = (C - kappa |x|^2 / 2)_+``, C fixed by ``mass``; ``x`` (..., d)."""
        self._require_confinement()
        level = porous_stationary_level(self, _check_positive("mass", mass))
        r2 = (np.asarray(x, dtype=np.float64) ** 2).sum(-1)
        p = np.maximum(level - 0.5 * self.kappa * r2, 0.0) / self.D
        return self.density_from_pressure(p)

    def noise_amplitude(self, rho):
        """sigma(rho) = sqrt(2 D rho^(m-1)): the law of dX = -kappa X dt + sigma(rho(X)) dW
        solves this equation (a McKean-Vlasov SDE)."""
        return np.sqrt(2.0 * self.D * rho ** (self.m - 1.0))


# ----------------------------------------------------------------------------------------------
# Mass formulas of the porous-medium stationary state
# ----------------------------------------------------------------------------------------------
def truncated_power_integral(level: float, k: float, power: float, dim: int) -> float:
    """``int_{R^d} (level - k |x|^2)_+^power dx``
    = level^(power + d/2) (pi / k)^(d/2) Gamma(power + 1) / Gamma(power + 1 + d/2)."""
    return math.exp(log_truncated_power_integral(level, k, power, dim))


def log_truncated_power_integral(level: float, k: float, power: float, dim: int) -> float:
    """The logarithm of :func:`truncated_power_integral` (finite where the value itself under- or
    overflows, e.g. d = 128 with power = d)."""
    level, k = _check_positive("level", level), _check_positive("k", k)
    half = dim / 2.0
    return ((power + half) * math.log(level) + half * math.log(math.pi / k)
            + math.lgamma(power + 1) - math.lgamma(power + 1 + half))


def porous_stationary_level(equation: PorousMedium, mass: float) -> float:
    """The constant C of the porous-medium stationary state D p(rho) = (C - kappa|x|^2/2)_+
    that carries ``mass``.

    ``rho = (q (C - kappa |x|^2 / 2)_+)^(1/(m-1))`` with q = (m-1)/(D m), so
    mass = q^(1/(m-1)) * truncated_power_integral(C, kappa/2, 1/(m-1), d), solved for C.
    """
    mass = _check_positive("mass", mass)
    power = 1.0 / (equation.m - 1.0)
    q = (equation.m - 1.0) / (equation.D * equation.m)
    # in logarithms: the unit-level mass under- or overflows in high dimension (d = 128, m = 1 + 1/d)
    log_unit = power * math.log(q) + log_truncated_power_integral(1.0, equation.kappa / 2.0, power,
                                                                  equation.dim)
    return math.exp((math.log(mass) - log_unit) / (power + equation.dim / 2.0))


# ----------------------------------------------------------------------------------------------
# The conventions of diffusion and flow-matching models (DESIGN.md section 3b)
# ----------------------------------------------------------------------------------------------
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


@dataclass(frozen=True)
class TimeChangedFokkerPlanck(DiffusionConvention):
    """A convention that is pdeflow's per-coordinate Fokker-Planck (D, kappa) run on a clock s(t):
    a = e^{-kappa s}, b^2 = (D / kappa)(1 - e^{-2 kappa s}) (2 D s for heat), from
    :meth:`FokkerPlanck.transition`. Then f = -kappa s', g^2 = 2 D s'.

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

    @property
    def equation(self) -> FokkerPlanck:
        """The 1-D equation acting on every coordinate (a and b do not depend on the dimension)."""
        return FokkerPlanck(D=self.D, kappa=self.kappa, dim=1)

    def clock(self, t):
        """s(t), in the Fokker-Planck time."""
        raise NotImplementedError

    def clock_rate(self, t):
        """s'(t)."""
        raise NotImplementedError

    def _transition(self, t):
        return self.equation.transition(self.clock(_times(t)))

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
    """EDM (Karras et al. 2022): x_t = x_0 + t z (sigma(t) = t); heat (D = 1/2) on the clock
    s = t^2, g^2 = 2 t. Samplers use the EDM time steps with rho = 7."""

    D: float = 0.5
    kappa: float = 0.0
    rho: float = 7.0
    name = "edm"
    fixed = (0.5, 0.0)

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
