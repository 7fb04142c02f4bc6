"""Closed-form solutions, velocities and flow maps (DESIGN.md section 4).

* :class:`GaussianMixture` and :class:`GaussianMixtureFlow`: Gaussian mixtures stay Gaussian
  mixtures under the heat / Fokker-Planck flow, so density, score and velocity are exact at every
  time; a single Gaussian also has an exact (linear) flow map.
* :class:`Barenblatt` (free porous medium, D = 1, kappa = 0) and :class:`ConfinedBarenblatt`
  (D = 1, kappa = 1): self-similar compactly supported solutions with radial flow maps.
* :class:`AnisotropicBarenblatt`: the exact ellipsoidal porous flow with a symmetric linear
  drift K x, any dimension (the two above are its radial cases).
* :func:`truncated_power_integral` and :func:`porous_stationary_level`: mass formulas (defined in
  :mod:`pdeflow.equations`, beside the stationary state they fix, and re-exported here).

All functions take points as ``(n, d)`` arrays and times in the equation's time units.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .conventions import DiffusionConvention, TimeChangedFokkerPlanck
from .equations import (POROUS_MAX_DIM, FokkerPlanck, GradientFlow, PorousMedium, _check_dim,
                        _check_positive, log_truncated_power_integral, porous_stationary_level,
                        truncated_power_integral)

__all__ = [
    "truncated_power_integral", "porous_stationary_level",
    "GaussianMixture", "GaussianMixtureFlow", "gaussian_moments", "ou_transition",
    "Barenblatt", "ConfinedBarenblatt", "corrupt_mixture", "CorruptedMixture",
    "AnisotropicBarenblatt", "DisjointBarenblattMixture",
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
    operations (the same values to rounding; bit for bit where numpy's own loops agree), without
    its argument handling, which costs
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
        object.__setattr__(self, "dim", _check_dim(self.dim, PorousMedium.max_dim))
        object.__setattr__(self, "m", self.equation.m)  # validated (a real number > 1)

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
        profile = self.profile      # validates m, dim and C
        for name in ("m", "dim", "C"):
            object.__setattr__(self, name, getattr(profile, name))

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
# Anisotropic (ellipsoidal) Barenblatt flows, any dimension, with a linear drift K x
# ----------------------------------------------------------------------------------------------
def _check_matrix(name: str, value, dim: int, symmetric: bool = True) -> np.ndarray:
    """A finite (dim, dim) float64 matrix, symmetric within 1e-12 relative (then symmetrised
    exactly, a change at the level of rounding)."""
    mat = np.asarray(value, dtype=np.float64)
    if mat.shape != (dim, dim):
        raise ValueError(f"{name} must have shape ({dim}, {dim}), got {mat.shape}")
    if not np.all(np.isfinite(mat)):
        raise ValueError(f"{name} must be finite")
    if symmetric:
        scale = max(float(np.abs(mat).max()), np.finfo(float).tiny)
        if float(np.abs(mat - mat.T).max()) > 1e-12 * scale:
            raise ValueError(f"{name} must be symmetric (|{name} - {name}^T| <= 1e-12 "
                             f"max|{name}|), got an asymmetry of "
                             f"{float(np.abs(mat - mat.T).max()):.3e}")
        mat = 0.5 * (mat + mat.T)
    return mat


class AnisotropicBarenblatt:
    """Exact ellipsoidal porous flow in R^d, any d >= 1 (DESIGN.md section 4, with D):

        d_t rho = div( rho grad(D m/(m-1) rho^(m-1)) + rho K x ),   m > 1, D > 0, K symmetric,

    i.e. d_t rho = D Lap(rho^m) + div(rho K x); K = kappa I is
    :class:`~pdeflow.equations.PorousMedium` (m, D, kappa). The *pressure*

        P(t, x) = D m/(m-1) rho^(m-1) = ( c(t) - (x - mu(t))^T A(t) (x - mu(t)) )_+

    stays an ellipsoidal paraboloid, with A(t) symmetric positive definite and

        mu' = -K mu,
        c'  = (m-1) c (tr K - 2 tr A),
        A'  = -4 A^2 + A K + K A + (m-1)(tr K - 2 tr A) A

    (the ODEs of DESIGN.md section 4 for D = 1; they do not contain D: D enters only through
    rho = ((m-1) P / (D m))^(1/(m-1)), i.e. the mass carried by a given pressure, see
    docs/exact_porous.md). Inside the support the velocity v = -grad P - K x is affine,
    v = (2A - K)(x - mu) - K mu, and the flow map is X(t) = mu(t) + Phi(t) Phi(t0)^-1 (x - mu(t0))
    with Phi' = (2A - K) Phi, Phi(0) = I. The support ellipsoid is carried by Phi, so
    A/c = Phi^-T (A0/c0) Phi^-1, and mass conservation gives c = c0 det(Phi)^-(m-1): the only
    unknown is Phi, solving

        Phi' = 2 det(Phi)^-(m-1) Phi^-T A0 - K Phi,   Phi(0) = I.

    How the solution is computed (and how accurate it is):

    * A0 = a0 I and K = kappa I (the radial Barenblatt flows, any kappa): closed form,
      Phi = phi I, 1/a(t) = w(t) = w0 e^{-lambda kappa t} - (2/kappa) expm1(-lambda kappa t)
      (w0 + 2 lambda t for kappa = 0), lambda = d(m-1) + 2, phi = (w/w0)^(1/lambda),
      c = c0 phi^(-d(m-1)).
    * K = kappa I, any A0 = U diag(alpha) U^T: everything commutes with A0 and the flow reduces to
      one scalar J(t) with int_0^J prod_i (1 + 4 alpha_i u)^((m-1)/2) du
      = expm1(lambda kappa t)/(lambda kappa) (t for kappa = 0); then, with w_i = 1 + 4 alpha_i J,
      Phi = e^{-kappa t} U diag(sqrt w) U^T, c = c0 det(Phi)^-(m-1),
      A = (c/c0) Phi^-T A0 Phi^-1. J is integrated from J' = e^{lambda kappa t}
      prod_i w_i^(-(m-1)/2) by DOP853 (rtol 1e-13): cheap in any d.
    * general symmetric K: the Phi equation above (d^2 unknowns) by scipy's DOP853 (rtol 1e-12,
      atol 1e-14).

    Both integrations are extended on demand and kept as dense outputs (cached). Measured
    against the radial closed form (the integrators forced on radial data, d = 2-128,
    kappa in {0, 0.7, -0.3}, t up to 5): relative error of A, c and Phi below 3e-14 for the
    scalar path and below 3e-11 for the Phi path (d <= 32; tests/test_exact_anisotropic.py).
    The Phi path costs O(d^3) per step: about 0.05 s at d = 8, 0.5 s at d = 32 for t up to 5,
    several seconds at d = 128 (under load).

    Times: t >= 0 (t = 0 carries A0, c0, center); the flow exists for all t >= 0.

    Outside the support rho = 0, the pressure is 0, :meth:`velocity` returns -K x (the
    Darcy velocity with P = 0, as :class:`ConfinedBarenblatt` does) and :meth:`score` returns NaN.
    Points are (n, d) arrays, times floats.

    Parameters
    ----------
    m : float
        > 1 (any, e.g. 1 + alpha/d).
    A0 : ndarray, shape (d, d)
        Symmetric positive definite, the initial pressure's quadratic form (1/length^2).
    c0 : float
        > 0, the initial pressure at the centre (length^2/time: D p has units of a potential,
        the velocity is its gradient).
    K : ndarray, shape (d, d), or None
        Symmetric (1/time), None for 0 (free flow). Negative eigenvalues are allowed (an
        expelling drift).
    D : float
        > 0, the diffusion coefficient.
    center : ndarray, shape (d,), or None
        The initial centre mu(0); None for the origin.
    """

    def __init__(self, m, A0, c0, K=None, D: float = 1.0, center=None):
        m = float(m)
        if not (math.isfinite(m) and m > 1):
            raise ValueError(f"m must be a finite number > 1, got {m}")
        A0 = np.asarray(A0, dtype=np.float64)
        if A0.ndim != 2 or A0.shape[0] != A0.shape[1] or A0.shape[0] < 1:
            raise ValueError(f"A0 must be a square (d, d) matrix with d >= 1, got shape {A0.shape}")
        dim = A0.shape[0]
        A0 = _check_matrix("A0", A0, dim)
        eig_a = np.linalg.eigvalsh(A0)
        if not eig_a.min() > 0:
            raise ValueError(f"A0 must be symmetric positive definite; its smallest eigenvalue is "
                             f"{eig_a.min():.3e}")
        if not math.isfinite(float(c0)) or float(c0) <= 0:
            raise ValueError(f"c0 must be a finite number > 0 (the initial central pressure), "
                             f"got {c0}")
        K = np.zeros((dim, dim)) if K is None else _check_matrix("K", K, dim)
        center = (np.zeros(dim) if center is None else np.array(center, dtype=np.float64))
        if center.shape != (dim,) or not np.all(np.isfinite(center)):
            raise ValueError(f"center must be a finite ({dim},) vector, got shape {center.shape}")
        self.m, self.dim = m, dim
        self.c0 = _check_positive("c0", c0)
        self.D = _check_positive("D", D)
        self.A0, self.K, self.center = A0, K, center
        for array in (self.A0, self.K, self.center):
            array.flags.writeable = False
        self._k_eig = np.linalg.eigh(K)
        self._a_eig = np.linalg.eigh(A0)
        if np.array_equal(K, K[0, 0] * np.eye(dim)):
            radial = np.array_equal(A0, A0[0, 0] * np.eye(dim))
            self._mode = "radial" if radial else "commuting"
        else:
            self._mode = "general"
        self._segments = []          # (t_start, t_end, OdeSolution) of the Phi equation
        self._recent = {}            # t -> (A, c, mu, Phi), the last few times

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def with_mass(cls, m, A0, mass: float = 1.0, K=None, D: float = 1.0, center=None):
        """The flow whose initial support has the shape of ``A0`` and which carries ``mass``
        (c0 solved from :attr:`mass`; computed in logarithms, so d = 128 works)."""
        unit = cls(m, A0, 1.0, K, D, center)
        log_mass = math.log(_check_positive("mass", mass))
        exponent = unit._power + unit.dim / 2.0           # mass ~ c0^(1/(m-1) + d/2)
        return cls(m, A0, math.exp((log_mass - unit.log_mass) / exponent), K, D, center)

    @classmethod
    def isotropic(cls, m, dim: int, a0: float, c0: float, kappa: float = 0.0, D: float = 1.0,
                  center=None):
        """The radial flow A0 = a0 I, K = kappa I: the Barenblatt family, evaluated in closed
        form (``kappa = 0``: :class:`Barenblatt`; ``kappa = 1, D = 1``:
        :class:`ConfinedBarenblatt`; see :meth:`from_barenblatt`)."""
        dim = int(dim)
        if dim < 1:
            raise ValueError(f"dim must be an integer >= 1, got {dim}")
        eye = np.eye(dim)
        a0 = _check_positive("a0", a0)
        kappa = float(kappa)
        if not math.isfinite(kappa):
            raise ValueError(f"kappa must be finite, got {kappa}")
        return cls(m, a0 * eye, c0, kappa * eye, D, center)

    @classmethod
    def from_barenblatt(cls, solution, t_start: float):
        """The flow that equals ``solution`` (a :class:`Barenblatt` or
        :class:`ConfinedBarenblatt`, both D = 1) shifted in time: this flow at time s is
        ``solution`` at time ``t_start + s`` (t_start > 0 for the free one, >= 0 for the
        confined one). Its pressure m/(m-1) rho^(m-1) at t_start gives a0 and c0:

        free: c = m/(m-1) C t^(-a(m-1)), a0 = m/(m-1) k t^(-a(m-1) - 2b);
        confined (rho = e^{dt} u(tau, e^t x)): the same at tau(t), times e^{d(m-1)t} for c and
        e^{d(m-1)t + 2t} for a0; K = I.
        """
        if isinstance(solution, ConfinedBarenblatt):
            t = _check_time(t_start, "t_start")
            profile, tau, kappa = solution.profile, solution.tau(t), 1.0
            c_scale = math.exp(solution.dim * (solution.m - 1.0) * t)
            a_scale = c_scale * math.exp(2.0 * t)
        elif isinstance(solution, Barenblatt):
            tau = _check_time(t_start, "t_start", minimum=np.finfo(float).tiny)
            profile, kappa, c_scale, a_scale = solution, 0.0, 1.0, 1.0
        else:
            raise ValueError(f"solution must be a Barenblatt or ConfinedBarenblatt, got "
                             f"{type(solution).__name__}")
        m = profile.m
        level = m / (m - 1.0) * tau ** (-profile.a * (m - 1.0))
        c0 = c_scale * level * profile.C
        a0 = a_scale * level * profile.k * tau ** (-2.0 * profile.b)
        return cls.isotropic(m, profile.dim, a0, c0, kappa=kappa, D=1.0)

    # -- constants ---------------------------------------------------------------------------
    @property
    def _power(self) -> float:
        return 1.0 / (self.m - 1.0)

    @property
    def _q(self) -> float:
        """rho = (q P)^(1/(m-1)), q = (m-1)/(D m)."""
        return (self.m - 1.0) / (self.D * self.m)

    @property
    def equation(self):
        """:class:`~pdeflow.equations.PorousMedium` (m, D, kappa) when K = kappa I with
        kappa >= 0 and d <= ``POROUS_MAX_DIM`` (the dimensions PorousMedium accepts); None
        otherwise."""
        kappa = float(self.K[0, 0])
        if (self.dim > POROUS_MAX_DIM or kappa < 0
                or not np.array_equal(self.K, kappa * np.eye(self.dim))):
            return None
        return PorousMedium(m=self.m, D=self.D, kappa=kappa, dim=self.dim)

    @property
    def log_mass(self) -> float:
        """log of :attr:`mass`: ``q^(1/(m-1)) det(A0)^(-1/2) int (c0 - |z|^2)_+^(1/(m-1)) dz``."""
        _, logdet = np.linalg.slogdet(self.A0)
        return (self._power * math.log(self._q) - 0.5 * logdet
                + log_truncated_power_integral(self.c0, 1.0, self._power, self.dim))

    @property
    def mass(self) -> float:
        """Total mass (constant in time)."""
        return math.exp(self.log_mass)

    # -- the shape ODE -----------------------------------------------------------------------
    def _phi_rhs(self, t, y):
        phi = y.reshape(self.dim, self.dim)
        _, logdet = np.linalg.slogdet(phi)
        grow = np.linalg.solve(phi.T, self.A0)                  # Phi^-T A0
        return (2.0 * math.exp(-(self.m - 1.0) * logdet) * grow - self.K @ phi).ravel()

    def _j_rhs(self, t, y):
        """J' = e^{lambda kappa t} prod_i (1 + 4 alpha_i J)^(-(m-1)/2) (K = kappa I)."""
        alpha, _ = self._a_eig
        lam = self.dim * (self.m - 1.0) + 2.0
        log_w = np.log1p(4.0 * alpha * y[0]).sum()
        return [math.exp(lam * float(self.K[0, 0]) * t - 0.5 * (self.m - 1.0) * log_w)]

    def _dense(self, t: float) -> np.ndarray:
        """The unknown of the shape ODE at t (Phi raveled, or [J] when K = kappa I) from the
        cached dense output, integrating further when t lies beyond it."""
        from scipy.integrate import solve_ivp   # scipy.integrate: imported only when needed

        commuting = self._mode == "commuting"
        rhs = self._j_rhs if commuting else self._phi_rhs
        tol = (1e-13, 1e-20) if commuting else (1e-12, 1e-14)
        while not self._segments or t > self._segments[-1][1]:
            start = self._segments[-1][1] if self._segments else 0.0
            if self._segments:
                y0 = self._segments[-1][2](start)
            else:
                y0 = np.zeros(1) if commuting else np.eye(self.dim).ravel()
            end = max(t, 2.0 * start, 1.0)
            sol = solve_ivp(rhs, (start, end), y0, method="DOP853", rtol=tol[0], atol=tol[1],
                            dense_output=True)
            if not sol.success:
                raise RuntimeError(f"the shape ODE failed on [{start}, {end}]: {sol.message}")
            self._segments.append((start, end, sol.sol))
        for start, end, sol in self._segments:
            if t <= end:
                return sol(t)
        raise AssertionError("unreachable")

    def _radial_shape(self, t: float):
        """Closed form for A0 = a0 I, K = kappa I (class docstring)."""
        d, m = self.dim, self.m
        lam = d * (m - 1.0) + 2.0
        w0, kappa = 1.0 / self.A0[0, 0], float(self.K[0, 0])
        if kappa == 0.0:
            w = w0 + 2.0 * lam * t
        else:
            w = w0 * math.exp(-lam * kappa * t) - (2.0 / kappa) * math.expm1(-lam * kappa * t)
        phi = (w / w0) ** (1.0 / lam)
        eye = np.eye(d)
        return eye / w, self.c0 * (w / w0) ** (-d * (m - 1.0) / lam), phi * eye

    def _commuting_shape(self, t: float):
        """K = kappa I, any A0 = U diag(alpha) U^T (class docstring): from J(t),
        w_i = 1 + 4 alpha_i J, g = (e^{-d kappa t} prod sqrt(w_i))^(m-1) = det(Phi)^(m-1),
        A = e^{2 kappa t}/g U diag(alpha/w) U^T, c = c0/g, Phi = e^{-kappa t} U diag(sqrt w) U^T."""
        alpha, vecs = self._a_eig
        kappa = float(self.K[0, 0])
        jay = 0.0 if t == 0.0 else float(self._dense(t)[0])
        log_w = np.log1p(4.0 * alpha * jay)
        log_g = (self.m - 1.0) * (-self.dim * kappa * t + 0.5 * log_w.sum())
        A = (vecs * (math.exp(2.0 * kappa * t - log_g) * alpha / np.exp(log_w))) @ vecs.T
        phi = (vecs * (math.exp(-kappa * t) * np.exp(0.5 * log_w))) @ vecs.T
        return 0.5 * (A + A.T), self.c0 * math.exp(-log_g), phi

    def _state(self, t: float):
        """(A, c, mu, Phi) at time t, cached for the last few times."""
        t = _check_time(t)
        if t in self._recent:
            return self._recent[t]
        vals, vecs = self._k_eig
        mu = vecs @ (np.exp(-vals * t) * (vecs.T @ self.center))
        if self._mode == "radial":
            A, c, phi = self._radial_shape(t)
        elif self._mode == "commuting":
            A, c, phi = self._commuting_shape(t)
        else:
            phi = np.eye(self.dim) if t == 0.0 else self._dense(t).reshape(self.dim, self.dim)
            _, logdet = np.linalg.slogdet(phi)
            ratio = math.exp(-(self.m - 1.0) * logdet)           # c / c0
            inv = np.linalg.inv(phi)
            A = ratio * inv.T @ self.A0 @ inv
            A = 0.5 * (A + A.T)
            c = self.c0 * ratio
        state = (A, c, mu, phi)
        if len(self._recent) >= 16:
            self._recent.pop(next(iter(self._recent)))
        self._recent[t] = state
        return state

    def shape(self, t: float):
        """(A(t) (d, d), c(t) float, mu(t) (d,)): P = (c - (x-mu)^T A (x-mu))_+."""
        A, c, mu, _ = self._state(t)
        return A.copy(), float(c), mu.copy()

    def phi(self, t: float) -> np.ndarray:
        """Phi(t), (d, d): the linear part of the flow map from time 0."""
        return self._state(t)[3].copy()

    # -- pointwise quantities ----------------------------------------------------------------
    def _centred(self, t: float, x):
        A, c, mu, _ = self._state(t)
        y = _as_points(x, self.dim) - mu
        return y, A, c, c - np.einsum("ni,ni->n", y @ A, y)

    def pressure(self, t: float, x) -> np.ndarray:
        """P = D m/(m-1) rho^(m-1) = (c - (x-mu)^T A (x-mu))_+, shape (n,)."""
        return np.maximum(self._centred(t, x)[3], 0.0)

    def in_support(self, t: float, x) -> np.ndarray:
        """Boolean (n,): (x-mu)^T A (x-mu) < c (the open support)."""
        return self._centred(t, x)[3] > 0

    def relative_level(self, t: float, x) -> np.ndarray:
        """(x-mu)^T A (x-mu) / c, (n,): < 1 inside the support, and constant along the flow."""
        y, A, c, _ = self._centred(t, x)
        return np.einsum("ni,ni->n", y @ A, y) / c

    def density(self, t: float, x) -> np.ndarray:
        """rho = (q P)^(1/(m-1)), q = (m-1)/(D m); 0 outside the support; shape (n,)."""
        return (self._q * self.pressure(t, x)) ** self._power

    def log_density(self, t: float, x) -> np.ndarray:
        """log rho, shape (n,); -inf outside the support."""
        p = self.pressure(t, x)
        with np.errstate(divide="ignore"):
            return self._power * np.log(self._q * p)

    def velocity(self, t: float, x) -> np.ndarray:
        """v = -grad P - K x: (2A - K)(x - mu) - K mu inside the support, -K x outside
        (P = 0 there); shape (n, d)."""
        y, A, _, level = self._centred(t, x)
        x = y + self._state(t)[2]
        return np.where((level > 0)[:, None], 2.0 * y @ A, 0.0) - x @ self.K

    def affine_velocity(self, t: float, x) -> np.ndarray:
        """(2A - K)(x - mu) - K mu at every x, (n, d): :meth:`velocity` inside the support and
        its affine continuation outside (the field whose flow :meth:`flow_map` is everywhere;
        smooth across the front, so RK stages that stray past it see no jump)."""
        y, A, _, _ = self._centred(t, x)
        return 2.0 * y @ A - (y + self._state(t)[2]) @ self.K

    def score(self, t: float, x) -> np.ndarray:
        """grad log rho = -2/(m-1) A (x - mu) / P inside the support, NaN outside; (n, d)."""
        y, A, _, level = self._centred(t, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = -2.0 * self._power * (y @ A) / level[:, None]
        out[level <= 0] = np.nan
        return out

    def flow_map(self, t: float, x, t0: float = 0.0) -> np.ndarray:
        """X(t; t0, x) = mu(t) + Phi(t) Phi(t0)^-1 (x - mu(t0)), shape (n, d): the flow of
        :meth:`velocity` for x in the support at t0 (which it maps onto the support at t,
        keeping :meth:`relative_level`). For x outside, the same affine map is returned (not the
        flow of -K x)."""
        _, _, mu0, phi0 = self._state(t0)
        _, _, mu1, phi1 = self._state(t)
        linear = np.linalg.solve(phi0.T, phi1.T).T                # Phi(t) Phi(t0)^-1
        return mu1 + (_as_points(x, self.dim) - mu0) @ linear.T

    def flow_jacobian(self, t: float, t0: float = 0.0) -> np.ndarray:
        """dX/dx0 = Phi(t) Phi(t0)^-1, (d, d)."""
        return np.linalg.solve(self._state(t0)[3].T, self._state(t)[3].T).T

    def sample(self, t: float, n: int, seed) -> np.ndarray:
        """``n`` exact samples (n, d) of rho_t / mass: x = mu + sqrt(c) L^-T r u with A = L L^T,
        u uniform on the unit sphere and r^2 ~ Beta(d/2, 1/(m-1) + 1) (the law of ``|z|`` for
        density ``~ (1 - |z|^2)_+^(1/(m-1))`` in the unit ball). ``seed`` int or Generator."""
        n = int(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        A, c, mu, _ = self._state(t)
        rng = np.random.default_rng(seed)
        u = rng.standard_normal((n, self.dim))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        r = np.sqrt(rng.beta(self.dim / 2.0, self._power + 1.0, size=n))
        chol = np.linalg.cholesky(A)
        z = math.sqrt(c) * r[:, None] * u                          # in the ball |z| < sqrt(c)
        return mu + np.linalg.solve(chol.T, z.T).T

    def log_support_volume(self, t: float) -> float:
        """``log |{P > 0}| = log( pi^(d/2) / Gamma(d/2 + 1) c^(d/2) det(A)^(-1/2) )``."""
        A, c, _, _ = self._state(t)
        _, logdet = np.linalg.slogdet(A)
        half = self.dim / 2.0
        return half * math.log(math.pi * c) - math.lgamma(half + 1.0) - 0.5 * logdet

    def support_volume(self, t: float) -> float:
        """Volume of the support ellipsoid at t."""
        return math.exp(self.log_support_volume(t))

    def __repr__(self) -> str:
        return (f"AnisotropicBarenblatt(m={self.m}, dim={self.dim}, c0={self.c0}, D={self.D}, "
                f"K={'0' if not self.K.any() else 'nonzero'})")


# ----------------------------------------------------------------------------------------------
# Sums of AnisotropicBarenblatt flows with disjoint supports, exact until two supports touch
# ----------------------------------------------------------------------------------------------
def _separation(centre_gap, shape1, shape2):
    """max_{s in (0,1)} G(s), G(s) = g^T (S1/(1-s) + S2/s)^-1 g, for the ellipsoids
    {y : (y - mu_i)^T S_i^-1 (y - mu_i) <= 1}, g = mu_2 - mu_1 (``shape_i`` = S_i SPD).

    The Minkowski sum E1 - E2 (centred) is the intersection over s of the ellipsoids with shape
    S1/(1-s) + S2/s, so the supports are disjoint iff the maximum exceeds 1. In the basis that
    diagonalises S1 = L L^T and S2 = L U diag(lam) U^T L^T together,
    G(s) = sum_j z_j^2 s (1-s) / (s + (1-s) lam_j), z = U^T L^-1 g, a concave function of s.

    Returns (G(s*), s*, smallest eigenvalue of S1/(1-s*) + S2/s*): sqrt(lam_min) (sqrt(G) - 1)
    bounds the Euclidean gap between the two ellipsoids from below (for any s, the maximiser only
    makes the bound tightest)."""
    chol = np.linalg.cholesky(shape1)
    white = np.linalg.solve(chol, shape2)
    lam, vecs = np.linalg.eigh(np.linalg.solve(chol, white.T).T)      # L^-1 S2 L^-T
    z2 = (vecs.T @ np.linalg.solve(chol, centre_gap)) ** 2

    def value(s):
        return float(np.sum(z2 * s * (1.0 - s) / (s + (1.0 - s) * lam)))

    # golden-section search on the concave G over (0, 1)
    lo, hi = 0.0, 1.0
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = value(a), value(b)
    for _ in range(80):
        if fa < fb:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = value(b)
        else:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = value(a)
    s = a if fa >= fb else b
    best = max(fa, fb)
    lam_min = float(np.linalg.eigvalsh(shape1 / (1.0 - s) + shape2 / s).min())
    return best, s, lam_min


class DisjointBarenblattMixture:
    """The sum of :class:`AnisotropicBarenblatt` flows (same m, D and K) whose supports are
    disjoint: an exact solution of the same equation until two supports first touch (the
    equation is local, each component solves it on its support, the supports move with the
    flow). Every method refuses (ValueError naming t and the contact time) a time past the first
    contact.

    The first contact time is *certified*: the supports are proved disjoint on [0, t_lo] and
    overlapping at t_hi <= t_lo + rtol max(t_lo, 1). For K = kappa I (including 0) each support,
    seen in the frame z = e^{kappa t} x, is an ellipsoid with a fixed centre that grows
    monotonically, so disjointness, once lost, is never regained: bisection on the separation
    function is certified (about 40 evaluations). For a general K a march in time proves the
    supports disjoint step by step (slower: hundreds to thousands of steps). Each step of the march
    uses (i) a lower bound on the Euclidean gap between two ellipsoids from the separation
    function (``_separation``), (ii) an upper bound V on the speed of any point of either
    support over the step: with ``a = max(lambda_max(A(t)), (2|K| + (m-1)|tr K|)/4)``, which
    bounds lambda_max(A) for all later times (A' <= -4 A^2 + ...), and ``h <= 1/(2a + |K|)``,
    ``|v| <= e ((2a + |K|) R(t) + |K| |mu(t)|)``, R the largest semi-axis; so no contact happens
    within gap / (V_1 + V_2). ``contact_time`` is t_lo (the valid times are [0, t_lo]).

    Attributes: ``components``, ``dim``, ``m``, ``D``, ``K``, ``mass`` (sum) and ``log_mass``,
    ``weights``
    (mass fractions), ``contact_time``, ``contact_bracket`` (t_lo, t_hi), ``contact_pair``
    (i, j) or None, ``valid_until`` = min(contact_time, horizon) (inf for one component).

    Parameters
    ----------
    components : sequence of AnisotropicBarenblatt
        At least one, with equal m, D, K and dim, and pairwise disjoint closed supports at
        t = 0 (else ValueError).
    horizon : float
        > 0. The contact search stops there: if no two supports touch before it,
        ``contact_time`` is inf and times past ``horizon`` are refused as unchecked.
    rtol : float
        Relative width of the certified contact bracket (default 1e-10).
    """

    def __init__(self, components, horizon: float = 100.0, rtol: float = 1e-10):
        components = list(components)
        if not components or not all(isinstance(c, AnisotropicBarenblatt) for c in components):
            raise ValueError("components must be a non-empty sequence of AnisotropicBarenblatt")
        first = components[0]
        for k, comp in enumerate(components[1:], 1):
            if comp.dim != first.dim:
                raise ValueError(f"components must share dim; component {k} has {comp.dim}, "
                                 f"component 0 has {first.dim}")
            if comp.m != first.m or comp.D != first.D:
                raise ValueError(f"components must share m and D; component {k} has m = "
                                 f"{comp.m}, D = {comp.D}, component 0 m = {first.m}, "
                                 f"D = {first.D}")
            if not np.allclose(comp.K, first.K, rtol=1e-12, atol=1e-14):
                raise ValueError(f"components must share K; component {k} differs")
        self.components = tuple(components)
        self.horizon = _check_positive("horizon", horizon)
        self.rtol = _check_positive("rtol", rtol)
        self.dim, self.m, self.D, self.K = first.dim, first.m, first.D, first.K
        log_masses = np.array([c.log_mass for c in components])
        self.log_mass = float(_logsumexp(log_masses, axis=0))
        self.mass = math.exp(self.log_mass)
        self.weights = np.exp(log_masses - self.log_mass)     # finite where masses underflow
        for i in range(len(components)):
            for j in range(i + 1, len(components)):
                sep = self._pair_separation(i, j, 0.0)[0]
                if not sep > 1.0:
                    raise ValueError(f"components {i} and {j} have overlapping or touching "
                                     f"supports at t = 0 (separation {sep:.6g} <= 1); the sum is "
                                     "an exact solution only for disjoint supports")
        self.contact_time, self.contact_bracket, self.contact_pair = math.inf, None, None
        for i in range(len(components)):
            for j in range(i + 1, len(components)):
                bracket = self._contact(i, j, min(self.contact_time, self.horizon))
                if bracket is not None and bracket[0] < self.contact_time:
                    self.contact_time, self.contact_bracket = bracket[0], bracket
                    self.contact_pair = (i, j)
        # one component is an AnisotropicBarenblatt: valid for every t >= 0
        self.valid_until = (math.inf if len(components) == 1
                            else min(self.contact_time, self.horizon))

    # -- the contact time --------------------------------------------------------------------
    def _pair_separation(self, i, j, t):
        A1, c1, mu1 = self.components[i].shape(t)
        A2, c2, mu2 = self.components[j].shape(t)
        return _separation(mu2 - mu1, c1 * np.linalg.inv(A1), c2 * np.linalg.inv(A2))

    def _speed_bound(self, comp, t):
        """(V, h_max): every point of comp's support moves slower than V on [t, t + h_max]."""
        A, c, mu = comp.shape(t)
        eig = np.linalg.eigvalsh(A)
        k_norm = float(np.abs(np.linalg.eigvalsh(self.K)).max())
        a_max = max(float(eig.max()),
                    (2.0 * k_norm + (self.m - 1.0) * abs(float(np.trace(self.K)))) / 4.0)
        rate = 2.0 * a_max + k_norm
        radius = math.sqrt(c / float(eig.min()))
        return math.e * (rate * radius + k_norm * float(np.linalg.norm(mu))), 1.0 / rate

    def _contact(self, i, j, limit):
        """Certified (t_lo, t_hi) of the first contact of supports i and j before ``limit``, or
        None if they stay disjoint on [0, limit]."""
        if np.array_equal(self.K, self.K[0, 0] * np.eye(self.dim)):
            return self._contact_monotone(i, j, limit)
        return self._contact_march(i, j, limit)

    def _contact_monotone(self, i, j, limit):
        """K = kappa I: in the frame z = e^{kappa t} x each support is a fixed-centre ellipsoid
        growing monotonically (Phi = e^{-kappa t} (I + 4 J(t) A0)^(1/2), J increasing), so the
        supports, once touching, overlap for ever: bisection on the disjointness predicate."""
        def disjoint(t):
            return self._pair_separation(i, j, t)[0] > 1.0

        if disjoint(limit):
            return None
        lo, hi = 0.0, limit
        while hi - lo > self.rtol * max(lo, 1.0):
            mid = 0.5 * (lo + hi)
            if disjoint(mid):
                lo = mid
            else:
                hi = mid
        return lo, hi

    def _contact_march(self, i, j, limit):
        """General K: the certified march of the class docstring."""
        t = 0.0
        for _ in range(200000):
            sep, _, lam_min = self._pair_separation(i, j, t)
            if sep <= 1.0:        # reached by rounding at the contact itself
                return t, t
            gap = math.sqrt(lam_min) * (math.sqrt(sep) - 1.0)
            v1, h1 = self._speed_bound(self.components[i], t)
            v2, h2 = self._speed_bound(self.components[j], t)
            step = min(h1, h2, gap / (v1 + v2))
            if t >= limit:
                return None
            width = self.rtol * max(t, 1.0)
            if step < width:
                probe = t + width
                if self._pair_separation(i, j, probe)[0] <= 1.0:
                    return t, probe
            t = min(t + step, limit)
        raise RuntimeError(f"the contact search of components {i} and {j} did not converge "
                           f"(t = {t}); a grazing approach: pass a smaller horizon")

    def _check(self, t, name: str = "t") -> float:
        t = _check_time(t, name)
        if t > self.valid_until:
            if self.contact_pair is not None and self.contact_time <= self.horizon:
                raise ValueError(
                    f"{name} = {t} is past the first contact time {self.contact_time:.12g} of "
                    f"the supports of components {self.contact_pair[0]} and "
                    f"{self.contact_pair[1]}: the sum is no longer a solution there")
            raise ValueError(f"{name} = {t} is past the horizon {self.horizon} up to which the "
                             "supports were checked to stay disjoint (pass a larger horizon)")
        return t

    # -- pointwise quantities, by component ---------------------------------------------------
    def component_index(self, t: float, x) -> np.ndarray:
        """Index (n,) of the component whose support contains x at t, -1 outside all."""
        t = self._check(t)
        x = _as_points(x, self.dim)
        out = np.full(len(x), -1)
        for k, comp in enumerate(self.components):
            out[comp.in_support(t, x)] = k
        return out

    def in_support(self, t: float, x) -> np.ndarray:
        return self.component_index(t, x) >= 0

    def density(self, t: float, x) -> np.ndarray:
        """sum_k rho_k(t, x), shape (n,)."""
        t = self._check(t)
        return sum(comp.density(t, x) for comp in self.components)

    def log_density(self, t: float, x) -> np.ndarray:
        """log rho, (n,); -inf outside every support."""
        with np.errstate(divide="ignore"):
            return np.log(self.density(t, x))

    def pressure(self, t: float, x) -> np.ndarray:
        """D m/(m-1) rho^(m-1) = sum_k P_k (disjoint supports), (n,)."""
        t = self._check(t)
        return sum(comp.pressure(t, x) for comp in self.components)

    def _by_component(self, t, x, method, outside):
        index = self.component_index(t, x)
        x = _as_points(x, self.dim)
        out = outside(x)
        for k in np.unique(index[index >= 0]):
            rows = index == k
            out[rows] = getattr(self.components[k], method)(t, x[rows])
        return out

    def velocity(self, t: float, x) -> np.ndarray:
        """The velocity of the component whose support holds x; -K x outside all; (n, d)."""
        return self._by_component(t, x, "velocity", lambda y: -(y @ self.K))

    def nearest_component(self, t: float, x) -> np.ndarray:
        """Index (n,) of the component with the smallest relative level (x-mu_k)^T A_k
        (x-mu_k) / c_k at t: the component whose support holds x, if any."""
        t = self._check(t)
        levels = np.stack([comp.relative_level(t, x) for comp in self.components], axis=1)
        return np.argmin(levels, axis=1)

    def extended_velocity(self, t: float, x) -> np.ndarray:
        """:meth:`velocity` inside the supports; outside them the affine continuation
        (:meth:`AnisotropicBarenblatt.affine_velocity`) of the :meth:`nearest_component`:
        smooth across each front, for integrators whose stages may stray past it; (n, d)."""
        index = self.nearest_component(t, x)
        x = _as_points(x, self.dim)
        out = np.empty_like(x)
        for k in np.unique(index):
            rows = index == k
            out[rows] = self.components[k].affine_velocity(t, x[rows])
        return out

    def score(self, t: float, x) -> np.ndarray:
        """grad log rho of the component whose support holds x; NaN outside all; (n, d)."""
        return self._by_component(t, x, "score", lambda y: np.full_like(y, np.nan))

    def flow_map(self, t: float, x, t0: float = 0.0) -> np.ndarray:
        """X(t; t0, x) of the component whose support holds x at t0; NaN rows for points
        outside every support at t0; (n, d)."""
        t = self._check(t)
        index = self.component_index(self._check(t0, "t0"), x)
        x = _as_points(x, self.dim)
        out = np.full_like(x, np.nan)
        for k in np.unique(index[index >= 0]):
            rows = index == k
            out[rows] = self.components[k].flow_map(t, x[rows], t0=t0)
        return out

    def sample(self, t: float, n: int, seed) -> np.ndarray:
        """``n`` exact samples (n, d) of rho_t / mass: components drawn by mass, in random
        order; ``seed`` int or Generator."""
        t = self._check(t)
        rng = np.random.default_rng(seed)
        comp = rng.choice(len(self.components), size=int(n), p=self.weights)
        out = np.empty((int(n), self.dim))
        for k in np.unique(comp):
            rows = comp == k
            out[rows] = self.components[k].sample(t, int(rows.sum()), rng)
        return out

    def support_volume(self, t: float) -> float:
        t = self._check(t)
        return float(sum(comp.support_volume(t) for comp in self.components))

    def __repr__(self) -> str:
        return (f"DisjointBarenblattMixture({len(self.components)} components, dim={self.dim}, "
                f"m={self.m}, contact_time={self.contact_time:.6g})")


# ----------------------------------------------------------------------------------------------
# Low-rank-plus-diagonal Gaussian mixtures (image-sized exact problems)
# ----------------------------------------------------------------------------------------------
class LowRankGaussianMixture:
    """sum_k w_k N(mu_k, U_k U_k^T + diag(D_k)) in R^d, evaluated by Woodbury identities in
    O(n K d r) time and O(chunk d) memory (no d x d matrix is ever formed): per block of points
    two (n, d) x (d, K r) matrix products with all components' factors stacked, K passes over
    the points for the diagonal part, and r x r work per point; the r x r factors are computed
    once per law (so once per time in :class:`CorruptedLowRankMixture`).

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
        scaled = u * inv[:, :, None]                                       # Delta_k^-1 U_k
        inner = np.eye(u.shape[2]) + np.matmul(u.transpose(0, 2, 1), scaled)   # M_k (K, r, r)
        chol = np.linalg.cholesky(inner)                                   # (K, r, r)
        self._inv_diag = inv
        self._log_det = (np.log(diag).sum(1)
                         + 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(1))
        # the per-law (so per-time, see CorruptedLowRankMixture.at) small factors of _solve:
        # W = [Delta_1^-1 U_1 | ... | Delta_K^-1 U_K] (d, K r), its shift mu_k^T Delta_k^-1 U_k,
        # M_k^-1 (K, r, r) (M_k >= I: well conditioned) and Delta_k^-1 mu_k (K, d)
        k_, r_ = u.shape[0], u.shape[2]
        self._stacked = np.ascontiguousarray(scaled.transpose(1, 0, 2).reshape(d, k_ * r_))
        self._stacked_shift = np.einsum("kd,kdi->ki", mu, scaled)          # (K, r)
        eye = np.broadcast_to(np.eye(r_), inner.shape)
        self._inner_inv = np.linalg.solve(inner, eye)                     # (K, r, r)
        self._inner_inv = 0.5 * (self._inner_inv + self._inner_inv.transpose(0, 2, 1))
        self._inv_diag_mean = mu * inv                                     # (K, d)
        self._log_norm = np.log(w) - 0.5 * (self._log_det + d * math.log(2 * math.pi))

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
        """(log w_k N_k(x) (n, K), M_k^{-1} U_k^T Delta_k^{-1} (x - mu_k) (n, K, r)) for one
        block of points x (n, d): one (n, d) x (d, K r) product and, per component, one pass
        over x - mu_k for the diagonal part of the quadratic form (kept exact, not expanded)."""
        kk, r = self._inner_inv.shape[:2]
        proj = (x @ self._stacked).reshape(len(x), kk, r) - self._stacked_shift   # U^T D^-1 r
        small = np.einsum("nki,kij->nkj", proj, self._inner_inv)          # M^-1 U^T D^-1 r
        quad = np.empty((len(x), kk))
        for k in range(kk):                                                # K passes over x
            diff = x - self.means[k]
            quad[:, k] = np.einsum("nd,nd,d->n", diff, diff, self._inv_diag[k])
        quad -= np.einsum("nki,nki->nk", proj, small)                      # Woodbury
        return self._log_norm - 0.5 * quad, small

    def _score_block(self, post, small, x):
        """-sum_k p_k C_k^{-1}(x - mu_k) from the posterior (n, K) and ``small`` (n, K, r):
        C_k^{-1}(x - mu_k) = Delta_k^{-1}(x - mu_k) - Delta_k^{-1} U_k small_k."""
        weighted = (post[:, :, None] * small).reshape(len(x), -1)          # (n, K r)
        return (post @ self._inv_diag_mean - x * (post @ self._inv_diag)
                + weighted @ self._stacked.T)

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
            log_post, small = self._solve(block)
            post = np.exp(log_post - _logsumexp(log_post, axis=1, keepdims=True))
            out[start:start + len(block)] = self._score_block(post, small, block)
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
