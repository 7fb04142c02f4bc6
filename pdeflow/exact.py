"""Closed-form solutions, velocities and flow maps (DESIGN.md section 4).

* :class:`GaussianMixture` and :class:`GaussianMixtureFlow`: Gaussian mixtures stay Gaussian
  mixtures under the heat / Fokker-Planck flow, so density, score and velocity are exact at every
  time; a single Gaussian also has an exact (linear) flow map.
* :class:`Barenblatt` (free porous medium, D = 1, kappa = 0) and :class:`ConfinedBarenblatt`
  (D = 1, kappa = 1): self-similar compactly supported solutions with radial flow maps.
* :func:`truncated_power_integral` and :func:`porous_stationary_level`: mass formulas (defined in
  :mod:`pdeflow.equations`, beside the stationary state they fix, and re-exported here).

All functions take points as ``(n, d)`` arrays and times in the equation's time units.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .conventions import DiffusionConvention, TimeChangedFokkerPlanck
from .equations import (FokkerPlanck, GradientFlow, PorousMedium, _check_dim, _check_positive,
                        porous_stationary_level, truncated_power_integral)

__all__ = [
    "truncated_power_integral", "porous_stationary_level",
    "GaussianMixture", "GaussianMixtureFlow", "gaussian_moments", "ou_transition",
    "Barenblatt", "ConfinedBarenblatt", "corrupt_mixture", "CorruptedMixture",
    "LowRankGaussianMixture", "CorruptedLowRankMixture",
]


def _as_points(x, dim: int, name: str = "x") -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"{name} must have shape (n, {dim}), got {x.shape}")
    return x


def _check_time(t: float, name: str = "t", minimum: float = 0.0) -> float:
    t = float(t)
    if not (math.isfinite(t) and t >= minimum):
        raise ValueError(f"{name} must be a finite time >= {minimum}, got {t}")
    return t


# ----------------------------------------------------------------------------------------------
# Mass formulas
# ----------------------------------------------------------------------------------------------
# ----------------------------------------------------------------------------------------------
# Gaussian mixtures under heat / Fokker-Planck
# ----------------------------------------------------------------------------------------------
def ou_transition(equation: FokkerPlanck, t):
    """(decay, variance) of the transition over a time t: X_t = decay X_0 + N(0, variance I),
    decay = e^{-kappa t}, variance = (D/kappa)(1 - e^{-2 kappa t})  (2 D t when kappa = 0);
    :meth:`pdeflow.equations.FokkerPlanck.transition`.

    ``t`` is a float or a numpy array of times >= 0 (elementwise); returns floats or arrays.
    """
    _require_linear(equation)
    return equation.transition(t)


def gaussian_moments(equation: FokkerPlanck, mean, cov, t: float):
    """Mean and covariance at time t of a Gaussian N(mean, cov) under ``equation``:
    mu_t = decay mu,  Sigma_t = decay^2 Sigma + variance I  (:func:`ou_transition`).

    ``mean`` (..., d) and ``cov`` (..., d, d) may stack several components."""
    decay, added = ou_transition(equation, _check_time(t))
    mean = np.asarray(mean, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    return decay * mean, decay ** 2 * cov + added * np.eye(cov.shape[-1])


def _require_linear(equation: GradientFlow):
    if not isinstance(equation, FokkerPlanck):
        raise ValueError(f"equation must be Heat or FokkerPlanck for Gaussian closed forms, "
                         f"got {type(equation).__name__}")


def _logsumexp(a: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
    """log sum_k exp(a_k) along ``axis`` of a real array: the algorithm of
    scipy.special.logsumexp (Blanchard, Higham & Higham 2021: the maximal terms are kept out of
    the sum, log1p of the rest; the direct log sum exp where that is not finite), with the same
    operations and so the same values bit for bit, without its argument handling, which costs
    more than the sum itself at a thousand points (0.7 ms a call, paid at every step of an
    exact flow)."""
    peak = np.max(a, axis=axis, keepdims=True)
    is_peak = a == peak
    count = np.sum(is_peak, axis=axis, keepdims=True, dtype=a.dtype)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rest = np.sum(np.exp(np.where(is_peak, -np.inf, a) - peak), axis=axis, keepdims=True)
        rest = np.where(rest == 0, rest, rest / count)
        out = np.log1p(rest) + np.log(count) + peak
        finite = np.isfinite(out)
        if not finite.all():
            out = np.where(finite, out, np.log(np.sum(np.exp(a), axis=axis, keepdims=True)))
    return out if keepdims else np.squeeze(out, axis=axis)


def _apply_each(matrices: np.ndarray, x: np.ndarray) -> np.ndarray:
    """M_k x_n for every point and matrix, (n, K, d), by one matrix product."""
    k, d, _ = matrices.shape
    return (x @ matrices.reshape(k * d, d).T).reshape(len(x), k, d)


def _sqrtm_spd(mat: np.ndarray, inverse: bool = False) -> np.ndarray:
    """Symmetric square root (or inverse square root) of SPD matrices (..., d, d)."""
    w, v = np.linalg.eigh(mat)
    w = w ** (-0.5 if inverse else 0.5)
    return (v * w[..., None, :]) @ np.swapaxes(v, -1, -2)


@dataclass(frozen=True)
class GaussianMixture:
    """sum_k w_k N(means_k, covariances_k) in R^d.

    Parameters
    ----------
    weights : (K,) positive, summing to 1 (within 1e-10; the total mass is ``mass``).
    means : (K, d)
    covariances : (K, d, d) symmetric positive definite.
    mass : total mass (default 1); density() is scaled by it.

    Any dimension d >= 1 (the grid solvers need d <= 3, a mixture does not). Isotropic and
    diagonal covariances are evaluated in O(n K d); full ones by one matrix product per call.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    mass: float = 1.0

    def __post_init__(self):
        w = np.atleast_1d(np.asarray(self.weights, dtype=np.float64))
        mu = np.atleast_2d(np.asarray(self.means, dtype=np.float64))
        cov = np.asarray(self.covariances, dtype=np.float64)
        k, d = mu.shape
        if cov.shape != (k, d, d):
            raise ValueError(f"covariances must have shape {(k, d, d)}, got {cov.shape}")
        if w.shape != (k,) or np.any(~np.isfinite(w)) or np.any(w <= 0):
            raise ValueError(f"weights must be {k} positive numbers, got {w}")
        if abs(w.sum() - 1.0) > 1e-10:
            raise ValueError(f"weights must sum to 1 (scale with mass=...), they sum to {w.sum()}")
        if not np.all(np.isfinite(mu)) or not np.all(np.isfinite(cov)):
            raise ValueError("means and covariances must be finite")
        if not np.allclose(cov, np.swapaxes(cov, -1, -2)) or np.any(np.linalg.eigvalsh(cov) <= 0):
            raise ValueError("covariances must be symmetric positive definite")
        if d < 1:
            raise ValueError(f"means must have at least one column, got shape {mu.shape}")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "means", mu)
        object.__setattr__(self, "covariances", cov)
        object.__setattr__(self, "mass", _check_positive("mass", self.mass))
        # isotropic components (Sigma_k = c_k I, e.g. smoothed empirical measures with many
        # components) get an O(n K) matrix-product path instead of K batched solves
        variances = np.diagonal(cov, axis1=-2, axis2=-1)[:, 0]
        isotropic = np.array_equal(cov, variances[:, None, None] * np.eye(d))
        object.__setattr__(self, "_isotropic_variances", variances if isotropic else None)
        diagonal = np.diagonal(cov, axis1=-2, axis2=-1)                    # (K, d)
        is_diagonal = not isotropic and np.array_equal(cov, diagonal[:, :, None] * np.eye(d))
        object.__setattr__(self, "_diagonal_variances", diagonal if is_diagonal else None)

    @classmethod
    def isotropic(cls, weights, means, stds, mass: float = 1.0) -> "GaussianMixture":
        """Components N(means_k, stds_k^2 I); ``stds`` (K,) or a scalar, each finite and > 0."""
        means = np.atleast_2d(np.asarray(means, dtype=np.float64))
        stds = np.asarray(stds, dtype=np.float64)
        if stds.ndim > 1 or stds.size not in (1, len(means)):
            raise ValueError(f"stds must be a scalar or one per component ({len(means)}), got "
                             f"shape {stds.shape}")
        if not np.all(np.isfinite(stds) & (stds > 0)):
            raise ValueError(f"stds must be finite and > 0 (a standard deviation), got "
                             f"{stds.ravel()[~(np.isfinite(stds.ravel()) & (stds.ravel() > 0))][:3]}")
        stds = np.broadcast_to(stds, means.shape[:1])
        covs = stds[:, None, None] ** 2 * np.eye(means.shape[1])
        return cls(weights, means, covs, mass)

    @classmethod
    def empirical(cls, samples, bandwidth: float) -> "GaussianMixture":
        """The empirical measure of ``samples`` (N, d) smoothed by N(0, bandwidth^2 I)."""
        samples = np.atleast_2d(np.asarray(samples, dtype=np.float64))
        bandwidth = _check_positive("bandwidth", bandwidth)
        n = len(samples)
        return cls.isotropic(np.full(n, 1.0 / n), samples, np.full(n, bandwidth))

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def _component_log_pdf(self, x) -> np.ndarray:
        """log N_k(x) for every point and component, shape (n, K)."""
        x = _as_points(x, self.dim)
        if self._isotropic_variances is not None:
            var = self._isotropic_variances
            sq = ((x * x).sum(1)[:, None] + (self.means * self.means).sum(1)[None]
                  - 2.0 * x @ self.means.T)                               # |x - mu_k|^2, (n, K)
            return -0.5 * (np.maximum(sq, 0.0) / var + self.dim * np.log(2 * math.pi * var))
        if self._diagonal_variances is not None:                          # sum_j (x_j - mu_kj)^2 / c_kj
            inv = 1.0 / self._diagonal_variances
            sq = (x * x) @ inv.T - 2.0 * x @ (self.means * inv).T + (self.means ** 2 * inv).sum(1)
            log_det = np.log(self._diagonal_variances).sum(1)
            return -0.5 * (np.maximum(sq, 0.0) + log_det + self.dim * math.log(2 * math.pi))
        chol = np.linalg.cholesky(self.covariances)                       # (K, d, d)
        whiten = np.linalg.inv(chol)                                       # L_k^{-1}, once
        # L_k^{-1}(x - mu_k) for all points by one matrix product per component (BLAS), not
        # n K small solves
        solved = _apply_each(whiten, x) - np.einsum("kij,kj->ki", whiten, self.means)[None]
        log_det = 2 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(-1)
        return -0.5 * ((solved ** 2).sum(-1) + log_det + self.dim * math.log(2 * math.pi))

    def log_density(self, x) -> np.ndarray:
        """log rho(x), shape (n,), including the total mass."""
        return (_logsumexp(self._component_log_pdf(x) + np.log(self.weights), axis=1)
                + math.log(self.mass))

    def density(self, x) -> np.ndarray:
        """rho(x), shape (n,)."""
        return np.exp(self.log_density(x))

    def posterior(self, x) -> np.ndarray:
        """Component responsibilities p_k(x) = w_k N_k(x) / sum_j w_j N_j(x), shape (n, K)."""
        log_post = self._component_log_pdf(x) + np.log(self.weights)
        return np.exp(log_post - _logsumexp(log_post, axis=1, keepdims=True))

    def score(self, x) -> np.ndarray:
        """grad log rho(x), shape (n, d): the posterior-weighted -Sigma_k^{-1}(x - mu_k)."""
        x = _as_points(x, self.dim)
        post = self.posterior(x)                                           # (n, K)
        if self._isotropic_variances is not None:                          # -sum_k p_k (x - mu_k) / c_k
            scaled = post / self._isotropic_variances
            return scaled @ self.means - scaled.sum(1)[:, None] * x
        if self._diagonal_variances is not None:
            inv = 1.0 / self._diagonal_variances
            return post @ (self.means * inv) - (post @ inv) * x
        precision = np.linalg.inv(self.covariances)                       # (K, d, d), once
        shift = np.einsum("kij,kj->ki", precision, self.means)             # P_k mu_k
        return post @ shift - np.einsum("nk,nki->ni", post, _apply_each(precision, x))

    def sample(self, n: int, seed) -> np.ndarray:
        """``n`` samples (n, d) of the normalised mixture; ``seed`` int or numpy Generator."""
        rng = np.random.default_rng(seed)
        comp = rng.choice(len(self.weights), size=int(n), p=self.weights)
        chol = np.linalg.cholesky(self.covariances)
        noise = rng.standard_normal((int(n), self.dim))
        out = self.means[comp]
        for k in np.unique(comp):       # one product per component, not an (n, d, d) gather
            rows = comp == k
            out[rows] += noise[rows] @ chol[k].T
        return out

    def evolve(self, equation: FokkerPlanck, t: float) -> "GaussianMixture":
        """This mixture transported by ``equation`` to time t (weights unchanged)."""
        if equation.dim != self.dim:
            raise ValueError(f"equation.dim = {equation.dim} differs from the mixture's {self.dim}")
        means, covs = gaussian_moments(equation, self.means, self.covariances, t)  # all K at once
        return self._with_moments(means, covs)

    def _with_moments(self, means: np.ndarray, covs: np.ndarray) -> "GaussianMixture":
        """This mixture's weights and mass with new moments of the same structure (isotropic,
        diagonal or full), without the constructor's checks: transport by a linear equation,
        Sigma_t = a^2 Sigma + b^2 I, keeps covariances SPD and keeps each structure. (The
        checks, an eigendecomposition among them, cost half of an exact flow's time.)"""
        out = object.__new__(GaussianMixture)
        diagonal = np.diagonal(covs, axis1=-2, axis2=-1)
        for name, value in (("weights", self.weights), ("means", means), ("covariances", covs),
                            ("mass", self.mass),
                            ("_isotropic_variances", None if self._isotropic_variances is None
                             else diagonal[:, 0]),
                            ("_diagonal_variances", None if self._diagonal_variances is None
                             else diagonal)):
            object.__setattr__(out, name, value)
        return out


@dataclass(frozen=True)
class GaussianMixtureFlow:
    """The exact heat / Fokker-Planck solution started from a Gaussian mixture at t = 0."""

    equation: FokkerPlanck
    initial: GaussianMixture

    def __post_init__(self):
        _require_linear(self.equation)
        if self.equation.dim != self.initial.dim:
            raise ValueError(f"equation.dim = {self.equation.dim} differs from the mixture's "
                             f"{self.initial.dim}")

    def at(self, t: float) -> GaussianMixture:
        return self.initial.evolve(self.equation, t)

    def density(self, t: float, x) -> np.ndarray:
        return self.at(t).density(x)

    def score(self, t: float, x) -> np.ndarray:
        return self.at(t).score(x)

    def velocity(self, t: float, x) -> np.ndarray:
        """v(t, x) = -(D s + kappa x), shape (n, d)."""
        x = _as_points(x, self.initial.dim)
        return self.equation.velocity_from_score(self.score(t, x), x)

    def flow_map(self, t: float, x, t0: float = 0.0) -> np.ndarray:
        """Y(t; t0, x) = mu_t + Sigma_t^{1/2} Sigma_{t0}^{-1/2} (x - mu_{t0}) for a single
        Gaussian (the Sigma_t all commute, so this is the flow of the velocity field)."""
        if len(self.initial.weights) != 1:
            raise ValueError("the closed-form flow map exists for a single Gaussian only; "
                             f"this mixture has {len(self.initial.weights)} components")
        x = _as_points(x, self.initial.dim)
        start, end = self.at(t0), self.at(t)
        linear = _sqrtm_spd(end.covariances[0]) @ _sqrtm_spd(start.covariances[0], inverse=True)
        return end.means[0] + (x - start.means[0]) @ linear.T


# ----------------------------------------------------------------------------------------------
# Barenblatt solutions of the porous medium
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Barenblatt:
    """Free Barenblatt solution of d_t u = Lap(u^m) (D = 1, kappa = 0) in R^d:

    ``u(t, x) = t^{-a} (C - k |x|^2 t^{-2b})_+^{1/(m-1)}``,
    a = d / (d(m-1) + 2), b = a / d, k = a (m-1) / (2 m d).

    The velocity is v = -grad p = b x / t inside the support (0 outside, where p = 0); the support
    radius is R(t) = sqrt(C/k) t^b and the flow map is radial, Y(t; t0, x) = x R(t) / R(t0).
    """

    m: float
    dim: int
    C: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "C", _check_positive("C", self.C))
        object.__setattr__(self, "dim", _check_dim(self.dim))
        self.equation  # validates m

    @classmethod
    def from_mass(cls, m: float, dim: int, mass: float) -> "Barenblatt":
        """The free Barenblatt solution carrying ``mass``."""
        unit = cls(m, dim, 1.0)
        exponent = 1.0 / (unit.power + dim / 2.0)
        return cls(m, dim, (_check_positive("mass", mass) / unit.mass) ** exponent)

    @property
    def equation(self) -> PorousMedium:
        return PorousMedium(m=self.m, D=1.0, kappa=0.0, dim=self.dim)

    @property
    def a(self) -> float:
        return self.dim / (self.dim * (self.m - 1.0) + 2.0)

    @property
    def b(self) -> float:
        return self.a / self.dim

    @property
    def k(self) -> float:
        return self.a * (self.m - 1.0) / (2.0 * self.m * self.dim)

    @property
    def power(self) -> float:
        return 1.0 / (self.m - 1.0)

    @property
    def mass(self) -> float:
        """Total mass (time independent) = truncated_power_integral(C, k, 1/(m-1), d)."""
        return truncated_power_integral(self.C, self.k, self.power, self.dim)

    def support_radius(self, t) -> float:
        t = _check_time(t, minimum=np.finfo(float).tiny)
        return math.sqrt(self.C / self.k) * t ** self.b

    def density(self, t: float, x) -> np.ndarray:
        """u(t, x), shape (n,)."""
        t = _check_time(t, minimum=np.finfo(float).tiny)
        r2 = (_as_points(x, self.dim) ** 2).sum(-1)
        base = np.maximum(self.C - self.k * r2 * t ** (-2 * self.b), 0.0)
        return t ** (-self.a) * base ** self.power

    def velocity(self, t: float, x) -> np.ndarray:
        """v = -grad p: b x / t inside the support, 0 outside; shape (n, d)."""
        t = _check_time(t, minimum=np.finfo(float).tiny)
        x = _as_points(x, self.dim)
        inside = (x ** 2).sum(-1) < self.support_radius(t) ** 2
        return np.where(inside[:, None], self.b * x / t, 0.0)

    def flow_map(self, t: float, x, t0: float) -> np.ndarray:
        """Y(t; t0, x) = x R(t) / R(t0) for x in the support at t0; shape (n, d)."""
        return _as_points(x, self.dim) * (self.support_radius(t) / self.support_radius(t0))


@dataclass(frozen=True)
class ConfinedBarenblatt:
    """Confined Barenblatt solution of d_t rho = Lap(rho^m) + div(x rho) (D = 1, kappa = 1):

    rho(t, x) = e^{d t} u(tau(t), e^t x),  tau(t) = tau0 + (e^{lambda t} - 1) / lambda,
    lambda = d(m-1) + 2, with ``u`` the free Barenblatt profile of level C.

    It relaxes to the stationary state of :class:`~pdeflow.equations.PorousMedium` with the same
    mass. The velocity is v = b e^{lambda t} x / tau(t) - x inside the support, -x outside; the
    flow map is radial, Y(t; t0, x) = x R(t) / R(t0) with R(t) = e^{-t} R_free(tau(t)).
    """

    m: float
    dim: int
    C: float = 1.0
    tau0: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "tau0", _check_positive("tau0", self.tau0))

    @property
    def profile(self) -> Barenblatt:
        return Barenblatt(self.m, self.dim, self.C)

    @property
    def equation(self) -> PorousMedium:
        return PorousMedium(m=self.m, D=1.0, kappa=1.0, dim=self.dim)

    @property
    def rate(self) -> float:
        """lambda = d (m - 1) + 2."""
        return self.dim * (self.m - 1.0) + 2.0

    @property
    def mass(self) -> float:
        return self.profile.mass

    def tau(self, t: float) -> float:
        t = _check_time(t)
        return self.tau0 + math.expm1(self.rate * t) / self.rate

    def support_radius(self, t: float) -> float:
        return math.exp(-t) * self.profile.support_radius(self.tau(t))

    def density(self, t: float, x) -> np.ndarray:
        x = _as_points(x, self.dim)
        return math.exp(self.dim * t) * self.profile.density(self.tau(t), math.exp(t) * x)

    def velocity(self, t: float, x) -> np.ndarray:
        x = _as_points(x, self.dim)
        tau = self.tau(t)
        inside = (x ** 2).sum(-1) < self.support_radius(t) ** 2
        spread = self.profile.b * math.exp(self.rate * t) / tau
        return np.where(inside[:, None], spread * x, 0.0) - x

    def flow_map(self, t: float, x, t0: float) -> np.ndarray:
        return _as_points(x, self.dim) * (self.support_radius(t) / self.support_radius(t0))


# ----------------------------------------------------------------------------------------------
# Gaussian mixtures under a diffusion-model corruption x_t = a x_0 + b z (DESIGN.md section 3b)
# ----------------------------------------------------------------------------------------------
def corrupt_mixture(mixture: GaussianMixture, scale: float, noise: float) -> GaussianMixture:
    """The law of a X + b Z, X ~ ``mixture``, Z ~ N(0, I): components N(a mu_k,
    a^2 Sigma_k + b^2 I), same weights (``scale`` a >= 0, ``noise`` b >= 0, not both 0)."""
    a, b = float(scale), float(noise)
    if not (math.isfinite(a) and math.isfinite(b) and a >= 0 and b >= 0 and a + b > 0):
        raise ValueError(f"scale and noise must be finite, >= 0 and not both 0, got {a}, {b}")
    covs = a * a * mixture.covariances + b * b * np.eye(mixture.dim)
    return GaussianMixture(mixture.weights, a * mixture.means, covs, mixture.mass)


class CorruptedMixture:
    """The exact marginals p_t of x_t = a(t) x_0 + b(t) z for x_0 ~ a Gaussian mixture, under any
    :class:`~pdeflow.conventions.DiffusionConvention`.

    A convention that is a time-changed Fokker-Planck (VP, VE, EDM, pdeflow's own) is evolved by
    :func:`gaussian_moments` on its clock s(t), i.e. by the same OU transition as
    :class:`GaussianMixtureFlow`; the others (sub-VP, flow matching) by :func:`corrupt_mixture`.

    The velocity is the conditional expectation E[a' x_0 + b' z | x_t = x], per component
    a' mu_k + (a a' Sigma_k + b b' I) C_k^{-1} (x - a mu_k), C_k = a^2 Sigma_k + b^2 I: it equals
    the probability-flow velocity f x - (g^2 / 2) s wherever a > 0, and stays finite at a = 0
    (the flow-matching source).

    Parameters
    ----------
    convention : DiffusionConvention
    initial : GaussianMixture
        The data law x_0 (any dimension).
    """

    def __init__(self, convention: DiffusionConvention, initial: GaussianMixture):
        if not isinstance(convention, DiffusionConvention):
            raise ValueError(f"convention must be a DiffusionConvention, got "
                             f"{type(convention).__name__}")
        if not isinstance(initial, GaussianMixture):
            raise ValueError(f"initial must be a GaussianMixture, got {type(initial).__name__}")
        self.convention = convention
        self.initial = initial
        self._recent = {}      # the last few p_t (RK4 asks for each time two to four times)

    @property
    def dim(self) -> int:
        return self.initial.dim

    def at(self, t: float) -> GaussianMixture:
        """p_t as a GaussianMixture (t a float)."""
        t = float(t)
        if t not in self._recent:
            if len(self._recent) >= 8:
                self._recent.pop(next(iter(self._recent)))
            self._recent[t] = self._marginal(t)
        return self._recent[t]

    def _marginal(self, t: float) -> GaussianMixture:
        conv = self.convention
        if isinstance(conv, TimeChangedFokkerPlanck) and conv.ou_marginal:
            per_coordinate = FokkerPlanck(D=conv.D, kappa=conv.kappa, dim=1)
            means, covs = gaussian_moments(per_coordinate, self.initial.means,
                                           self.initial.covariances, float(conv.clock(t)))
            return GaussianMixture(self.initial.weights, means, covs, self.initial.mass)
        return corrupt_mixture(self.initial, conv.scale(t), conv.noise(t))

    def _per_time(self, t, x, evaluate):
        x = _as_points(x, self.dim)
        t = np.asarray(t, dtype=np.float64)
        if t.ndim == 0:
            return evaluate(float(t), x)
        if t.shape != (len(x),):
            raise ValueError(f"t must be a float or an ({len(x)},) array, got shape {t.shape}")
        out = np.empty_like(x)
        for value in np.unique(t):
            rows = t == value
            out[rows] = evaluate(float(value), x[rows])
        return out

    def density(self, t: float, x) -> np.ndarray:
        """p_t(x), shape (n,) (t a float)."""
        return self.at(t).density(x)

    def score(self, t, x) -> np.ndarray:
        """grad log p_t(x), (n, d); ``t`` a float or (n,)."""
        return self._per_time(t, x, lambda s, y: self.at(s).score(y))

    def velocity(self, t, x) -> np.ndarray:
        """The marginal velocity E[d x_t / dt | x_t = x], (n, d); ``t`` a float or (n,)."""
        return self._per_time(t, x, self._velocity)

    def _velocity(self, t: float, x) -> np.ndarray:
        conv, init = self.convention, self.initial
        a, da = float(conv.scale(t)), float(conv.scale_rate(t))
        b, db = float(conv.noise(t)), float(conv.noise_rate(t))
        marginal = self.at(t)
        post = marginal.posterior(x)                                      # (n, K)
        drift = da * (post @ init.means)
        if init._isotropic_variances is not None or init._diagonal_variances is not None:
            var = (init._diagonal_variances if init._diagonal_variances is not None
                   else init._isotropic_variances[:, None] * np.ones((1, self.dim)))
            ratio = (a * da * var + b * db) / (a * a * var + b * b)        # (K, d)
            return drift + (post @ ratio) * x - a * post @ (ratio * init.means)
        eye = np.eye(self.dim)
        ratio = np.linalg.solve(marginal.covariances, a * da * init.covariances + b * db * eye)
        shift = a * np.einsum("kij,kj->ki", ratio, init.means)            # a R_k mu_k
        return drift + np.einsum("nk,nki->ni", post, _apply_each(ratio, x)) - post @ shift

    def sample(self, t: float, n: int, seed) -> np.ndarray:
        """``n`` exact samples (n, d) of p_t; ``seed`` int or numpy Generator."""
        return self.at(t).sample(n, seed)


# ----------------------------------------------------------------------------------------------
# Low-rank-plus-diagonal Gaussian mixtures (image-sized exact problems)
# ----------------------------------------------------------------------------------------------
class LowRankGaussianMixture:
    """sum_k w_k N(mu_k, U_k U_k^T + diag(D_k)) in R^d, evaluated by Woodbury identities in
    O(n K d r) time and O(chunk K d) memory (no d x d matrix is ever formed).

    With Delta = diag(D_k) and M_k = I_r + U_k^T Delta^{-1} U_k (r x r):
    C_k^{-1} = Delta^{-1} - Delta^{-1} U_k M_k^{-1} U_k^T Delta^{-1} and
    log det C_k = log det Delta + log det M_k.

    Parameters
    ----------
    weights : (K,) positive, summing to 1.
    means : (K, d).
    factors : (K, d, r) the low-rank parts U_k (r >= 1).
    diagonals : (K, d) positive, the diagonal parts D_k.
    chunk : points per block of the evaluation (memory).
    """

    def __init__(self, weights, means, factors, diagonals, chunk: int = 2048):
        w = np.atleast_1d(np.asarray(weights, dtype=np.float64))
        mu = np.atleast_2d(np.asarray(means, dtype=np.float64))
        u = np.asarray(factors, dtype=np.float64)
        diag = np.asarray(diagonals, dtype=np.float64)
        k, d = mu.shape
        if u.ndim != 3 or u.shape[:2] != (k, d) or u.shape[2] < 1:
            raise ValueError(f"factors must have shape ({k}, {d}, r) with r >= 1, got {u.shape}")
        if diag.shape != (k, d) or not np.all(np.isfinite(diag) & (diag > 0)):
            raise ValueError(f"diagonals must be ({k}, {d}) finite positive numbers")
        if w.shape != (k,) or not np.all(np.isfinite(w) & (w > 0)) or abs(w.sum() - 1) > 1e-10:
            raise ValueError(f"weights must be {k} positive numbers summing to 1, got {w}")
        if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(u))):
            raise ValueError("means and factors must be finite")
        if int(chunk) != chunk or chunk < 1:
            raise ValueError(f"chunk must be a positive integer, got {chunk}")
        self.weights, self.means, self.factors, self.diagonals = w, mu, u, diag
        self.chunk = int(chunk)
        inv = 1.0 / diag                                                   # (K, d)
        inner = np.eye(u.shape[2]) + np.einsum("kdi,kd,kdj->kij", u, inv, u)   # M_k
        self._inv_diag = inv
        self._chol = np.linalg.cholesky(inner)                             # (K, r, r)
        self._log_det = (np.log(diag).sum(1)
                         + 2.0 * np.log(np.diagonal(self._chol, axis1=1, axis2=2)).sum(1))

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    @property
    def rank(self) -> int:
        return self.factors.shape[2]

    def covariances(self) -> np.ndarray:
        """The dense (K, d, d) covariances (for tests in small d only)."""
        return (np.einsum("kdi,kei->kde", self.factors, self.factors)
                + self.diagonals[:, :, None] * np.eye(self.dim))

    def corrupted(self, scale: float, noise: float) -> "LowRankGaussianMixture":
        """The law of a X + b Z: means a mu_k, factors a U_k, diagonals a^2 D_k + b^2."""
        a, b = float(scale), float(noise)
        if not (math.isfinite(a) and math.isfinite(b) and a >= 0 and b >= 0 and a + b > 0):
            raise ValueError(f"scale and noise must be finite, >= 0 and not both 0, got {a}, {b}")
        if a == 0:
            raise ValueError("scale a = 0 leaves no low-rank part; use a > 0")
        return LowRankGaussianMixture(self.weights, a * self.means, a * self.factors,
                                      a * a * self.diagonals + b * b, self.chunk)

    def _solve(self, x):
        """(log w_k N_k(x) (n, K), C_k^{-1}(x - mu_k) (K, n, d)) for one block of points."""
        out_log, out_solved = [], []
        for k in range(len(self.weights)):
            r = x - self.means[k]
            y = r * self._inv_diag[k]                                      # Delta^{-1} r
            w = y @ self.factors[k]                                        # U^T Delta^{-1} r
            sol = np.linalg.solve(self._chol[k].T,
                                  np.linalg.solve(self._chol[k], w.T)).T   # M^{-1} w
            solved = y - (sol @ self.factors[k].T) * self._inv_diag[k]
            quad = (r * solved).sum(1)
            out_log.append(-0.5 * (quad + self._log_det[k] + self.dim * math.log(2 * math.pi))
                           + math.log(self.weights[k]))
            out_solved.append(solved)
        return np.stack(out_log, 1), np.stack(out_solved)

    def _blocks(self, x):
        x = _as_points(x, self.dim)
        for start in range(0, len(x), self.chunk):
            yield start, x[start:start + self.chunk]

    def log_density(self, x) -> np.ndarray:
        """log p(x), (n,)."""
        parts = [_logsumexp(self._solve(block)[0], axis=1) for _, block in self._blocks(x)]
        return np.concatenate(parts) if parts else np.empty(0)

    def density(self, x) -> np.ndarray:
        return np.exp(self.log_density(x))

    def posterior(self, x) -> np.ndarray:
        """Component responsibilities (n, K)."""
        parts = []
        for _, block in self._blocks(x):
            log_post = self._solve(block)[0]
            parts.append(np.exp(log_post - _logsumexp(log_post, axis=1, keepdims=True)))
        return np.concatenate(parts) if parts else np.empty((0, len(self.weights)))

    def score(self, x) -> np.ndarray:
        """grad log p(x) = -sum_k p_k(x) C_k^{-1}(x - mu_k), (n, d)."""
        x = _as_points(x, self.dim)
        out = np.empty_like(x)
        for start, block in self._blocks(x):
            log_post, solved = self._solve(block)
            post = np.exp(log_post - _logsumexp(log_post, axis=1, keepdims=True))
            out[start:start + len(block)] = -np.einsum("nk,knd->nd", post, solved)
        return out

    def sample(self, n: int, seed) -> np.ndarray:
        """``n`` samples (n, d): mu_k + U_k z_r + sqrt(D_k) z_d."""
        rng = np.random.default_rng(seed)
        n = int(n)
        comp = rng.choice(len(self.weights), size=n, p=self.weights)
        low = rng.standard_normal((n, self.rank))
        diag = rng.standard_normal((n, self.dim))
        out = self.means[comp] + np.sqrt(self.diagonals[comp]) * diag
        for k in np.unique(comp):
            rows = comp == k
            out[rows] += low[rows] @ self.factors[k].T
        return out


class CorruptedLowRankMixture(CorruptedMixture):
    """:class:`CorruptedMixture` for a :class:`LowRankGaussianMixture` data law: p_t is the
    low-rank mixture of a(t) X + b(t) Z, the velocity the probability-flow formula
    f x - (g^2 / 2) s (needs a(t) > 0)."""

    def __init__(self, convention: DiffusionConvention, initial: LowRankGaussianMixture):
        if not isinstance(convention, DiffusionConvention):
            raise ValueError(f"convention must be a DiffusionConvention, got "
                             f"{type(convention).__name__}")
        if not isinstance(initial, LowRankGaussianMixture):
            raise ValueError(f"initial must be a LowRankGaussianMixture, got "
                             f"{type(initial).__name__}")
        self.convention, self.initial, self._recent = convention, initial, {}

    def _marginal(self, t: float) -> LowRankGaussianMixture:
        conv = self.convention
        return self.initial.corrupted(conv.scale(t), conv.noise(t))

    def _velocity(self, t: float, x) -> np.ndarray:
        return self.convention.velocity_from_score(t, self.at(t).score(x), x)
