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

The conventions of diffusion and flow-matching models (VP, VE, EDM, ...) live in
:mod:`pdeflow.conventions` and are re-exported here under their old names.

Conventions: points are ``(..., d)`` arrays (coordinates on the last axis); ``D`` is a diffusion
coefficient (length^2 / time), ``kappa`` a confinement rate (1 / time).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

# the conventions of diffusion models moved to pdeflow.conventions; their old import path
# (pdeflow.equations.VP, ...) keeps working through these re-exports
from .conventions import (CONVENTIONS, EDM, VE, VP, DiffusionConvention, FlowMatching,
                          FokkerPlanckConvention, SubVP, TimeChangedFokkerPlanck,
                          _check_nonnegative, _check_positive, ou_transition_coefficients)

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
def _real(name: str, value) -> float:
    """``value`` as a float; TypeError naming ``name`` unless it is a real number (a Python or
    numpy int or float, or a 0-d real array; not a string, None, a bool or a complex)."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    return float(value)


def as_real_array(values, name: str) -> np.ndarray:
    """``values`` as a float64 array; TypeError naming ``name`` if they are complex, strings,
    None or anything else that is not an array of real numbers (nothing dropped silently)."""
    array = np.asarray(values) if not isinstance(values, (str, bytes)) else None
    if array is None or array.dtype.kind not in "biuf":
        kind = type(values).__name__ if array is None else f"dtype {array.dtype}"
        raise TypeError(f"{name} must be an array of real numbers, got {kind}"
                        + (" (a complex density is refused: its imaginary part would be "
                           "dropped)" if array is not None and array.dtype.kind == "c" else ""))
    return array.astype(np.float64, copy=False)


def _check_positive(name: str, value: float) -> float:
    value = _real(name, value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def _check_nonnegative(name: str, value: float) -> float:
    value = _real(name, value)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


#: the largest dimension of a porous-medium equation: its radial and closed-form solutions work
#: in any dimension (grid solvers stop at 3, :func:`~pdeflow.solvers.finite_volume.solve`
#: checks the grid)
POROUS_MAX_DIM = 128


def _check_dim(dim: int, max_dim: int = 3) -> int:
    allowed = "1, 2 or 3" if max_dim == 3 else f"an integer in 1..{max_dim}"
    if isinstance(dim, bool) or not isinstance(dim, numbers.Real):
        raise TypeError(f"dim must be {allowed}, got {type(dim).__name__} {dim!r}")
    if int(dim) != dim or not 1 <= dim <= max_dim:
        raise ValueError(f"dim must be {allowed}, got {dim}")
    return int(dim)


def check_density(rho, name: str = "rho", strictly_positive: bool = False) -> np.ndarray:
    """Return ``rho`` as a float64 array if it is finite and non-negative (or positive)."""
    rho = as_real_array(rho, name)
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
        return ou_transition_coefficients(self.D, self.kappa, t)

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
        m = _real("m", self.m)
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
