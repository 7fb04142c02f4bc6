"""The memorisation limit of score-based generation, computed exactly.

With N training samples x_1..x_N of a target rho_0, the score that minimises the denoising loss
is the score of the *empirical* measure diffused to time t: an N-component Gaussian mixture whose
score :class:`pdeflow.exact.GaussianMixture` gives in closed form. Flowing samples of rho_T back
with it (probability-flow ODE) returns the training points: the generator memorises.

:func:`memorisation_point` measures that for one (N, bandwidth) pair. The bandwidth h smooths the
empirical measure, N(x_i, h^2 I) (h -> 0 is the exact empirical optimum), which moves the model
away from the empirical optimum by a measured epsilon; it reports

* ``eps_truth`` - the L2 error of the model velocity against the true velocity of rho_0's flow,
  ``eps^2 = int_{t_min}^T int |v_model - v|^2 rho_t dx dt`` (the epsilon of an epsilon study);
* ``eps_empirical`` - the same distance to the exact empirical-optimal velocity (h = 0);
* the memorisation ratios of the generated points (:func:`~pdeflow.validation.metrics.memorisation`,
  against N fresh samples) and the exact W2 of the generated points to fresh target samples.

Everything is exact except the Monte Carlo over x and the quadrature in t; randomness is seeded.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..equations import FokkerPlanck
from ..exact import GaussianMixture, GaussianMixtureFlow
from ..solvers.backward import sample_backward
from ..validation.metrics import memorisation, wasserstein2

__all__ = ["MemorisationPoint", "memorisation_point", "velocity_l2_error"]

# The exact empirical optimum is an N-atom measure; its flow at t >= t_min > 0 is a mixture of
# Gaussians of variance ~2 D t, so a bandwidth far below sqrt(2 D t_min) is numerically the same.
_EMPIRICAL_BANDWIDTH = 1e-6


@dataclass(frozen=True)
class MemorisationPoint:
    """One (n_train, bandwidth) point of the memorisation experiment (module docstring)."""

    n_train: int
    bandwidth: float
    eps_truth: float
    eps_empirical: float
    median_ratio: float
    fraction: float
    w2_target: float
    w2_training: float

    def as_dict(self) -> dict:
        return asdict(self)


def velocity_l2_error(velocity_a, velocity_b, truth: GaussianMixtureFlow, t_min: float, T: float,
                      n_times: int = 24, n_points: int = 400, seed=0) -> float:
    """``eps = sqrt( int_{t_min}^T E_{x ~ rho_t} |v_a(t, x) - v_b(t, x)|^2 dt )``, rho_t = ``truth``.

    The time integral uses the trapezoid rule on a geometric grid of ``n_times`` nodes (errors of
    score models concentrate at small t); each node averages over ``n_points`` exact samples.
    """
    if not (0 < t_min < T):
        raise ValueError(f"need 0 < t_min < T, got t_min = {t_min}, T = {T}")
    rng = np.random.default_rng(seed)
    times = np.geomspace(t_min, T, n_times)
    sq = np.empty(n_times)
    for i, t in enumerate(times):
        x = truth.at(t).sample(n_points, rng)
        sq[i] = ((velocity_a(t, x) - velocity_b(t, x)) ** 2).sum(1).mean()
    return math.sqrt(float(np.trapezoid(sq, times)))


def memorisation_point(equation: FokkerPlanck, target: GaussianMixture, n_train: int,
                       bandwidth: float, *, T: float = 3.0, t_min: float = 1e-3,
                       n_generate: int = 500, rtol: float = 1e-4, seed: int = 0
                       ) -> MemorisationPoint:
    """Generate ``n_generate`` points with the smoothed empirical score of ``n_train`` samples.

    Parameters
    ----------
    equation : the forward linear diffusion (e.g. FokkerPlanck(D=0.5, kappa=1, dim=2)).
    target : rho_0, a Gaussian mixture (its exact flow is the truth).
    n_train : N >= 2 training samples drawn from ``target`` with ``seed``.
    bandwidth : h >= 0; 0 is the exact empirical optimum.
    T, t_min : the generator flows samples of the true rho_T back to t_min (0 < t_min < T).
    n_generate : generated points (also the number of fresh points for W2).
    rtol : relative tolerance of the adaptive (Dormand-Prince) probability-flow ODE.
    """
    if not isinstance(equation, FokkerPlanck):
        raise ValueError(f"equation must be Heat or FokkerPlanck, got {type(equation).__name__}")
    if int(n_train) != n_train or n_train < 2:
        raise ValueError(f"n_train must be an integer >= 2, got {n_train}")
    if not (math.isfinite(bandwidth) and bandwidth >= 0):
        raise ValueError(f"bandwidth must be a finite number >= 0, got {bandwidth}")
    if not (0 < t_min < T):
        raise ValueError(f"need 0 < t_min < T, got t_min = {t_min}, T = {T}")
    rng = np.random.default_rng(seed)
    training = target.sample(int(n_train), rng)
    fresh = target.sample(int(n_train), rng)
    truth = GaussianMixtureFlow(equation, target)
    model = GaussianMixtureFlow(equation, GaussianMixture.empirical(
        training, max(bandwidth, _EMPIRICAL_BANDWIDTH)))
    optimum = GaussianMixtureFlow(equation, GaussianMixture.empirical(training,
                                                                      _EMPIRICAL_BANDWIDTH))
    start = truth.at(T).sample(n_generate, rng)
    generated = sample_backward(equation, model, start, [T, t_min], method="dopri5", rtol=rtol,
                                atol=1e-6).final
    ratios = memorisation(generated, training, fresh)
    reference = truth.at(t_min).sample(n_generate, rng)
    eps_seed = int(rng.integers(2 ** 31))
    return MemorisationPoint(
        n_train=int(n_train), bandwidth=float(bandwidth),
        eps_truth=velocity_l2_error(model.velocity, truth.velocity, truth, t_min, T, seed=eps_seed),
        eps_empirical=velocity_l2_error(model.velocity, optimum.velocity, truth, t_min, T,
                                        seed=eps_seed),
        median_ratio=ratios.median_ratio, fraction=ratios.fraction,
        w2_target=wasserstein2(generated, reference),
        w2_training=wasserstein2(training, reference))
