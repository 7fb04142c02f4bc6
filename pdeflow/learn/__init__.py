"""pdeflow.learn: torch fields v_theta(t, x) trained against PDE truth, the log-Fokker-Planck
residual, kernel density estimates, and the backward samplers (re-exported from pdeflow.solvers)."""
from ..solvers.backward import sample_backward, score_velocity
from .kde import GaussianKDE, bandwidth_factor, porous_velocity
from .networks import (ConservativeVelocity, Field, PotentialMLP, PotentialScore, ScoreMLP,
                       ScoreVelocity, StationaryPotential, TimeEmbedding, VelocityMLP,
                       as_numpy_velocity)
from .residual import fp_residual, potential_derivatives, residual_penalty
from .targets import (Batch, TimeSliceTarget, barenblatt_target, gaussian_mixture_target,
                      grid_solution_target, particle_target)
from .training import (EpsilonEstimate, TrainResult, epsilon_from_batch, field_error, fit_dsm,
                        fit_regression, ou_coefficients, sample_times, train_loop)

__all__ = [
    "sample_backward", "score_velocity",
    "GaussianKDE", "bandwidth_factor", "porous_velocity",
    "ConservativeVelocity", "Field", "PotentialMLP", "PotentialScore", "ScoreMLP",
    "ScoreVelocity", "StationaryPotential", "TimeEmbedding", "VelocityMLP", "as_numpy_velocity",
    "fp_residual", "potential_derivatives", "residual_penalty",
    "Batch", "TimeSliceTarget", "barenblatt_target", "gaussian_mixture_target",
    "grid_solution_target", "particle_target",
    "EpsilonEstimate", "TrainResult", "epsilon_from_batch", "field_error", "fit_dsm",
    "fit_regression", "ou_coefficients", "sample_times", "train_loop",
]
