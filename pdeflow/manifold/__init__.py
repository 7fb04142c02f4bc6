"""pdeflow.manifold: torch-only geometry of learned decoders (does not import pdeflow.solvers)."""
from .curvature import (Curvature, check_metric, curvature, extrinsic_curvature,
                        intrinsic_curvature, metric_curvature, scalar_curvature)
from .functionals import (curvature_energy, perelman_f, riemannian_integral, volume_weights,
                          w_entropy)
from .geometry import (decoder_jacobian, decoder_jet, pointwise_jacobian, pointwise_metric,
                       pullback_metric)
from .networks import mlp
from .ricci_autoencoder import RicciAEConfig, RicciAutoencoder, train_ricci_autoencoder
from .ricci_metrics import (covariance_error, distance_correlation, mean_squared_curvature,
                            plane_residual, procrustes_error, reconstruction_mse)

__all__ = ["decoder_jacobian", "pullback_metric", "decoder_jet", "pointwise_jacobian",
           "pointwise_metric",
           "Curvature", "check_metric", "curvature", "extrinsic_curvature", "intrinsic_curvature",
           "metric_curvature", "scalar_curvature",
           "curvature_energy", "perelman_f", "riemannian_integral", "volume_weights", "w_entropy",
           "mlp", "RicciAEConfig", "RicciAutoencoder", "train_ricci_autoencoder",
           "covariance_error", "distance_correlation", "mean_squared_curvature", "plane_residual",
           "procrustes_error", "reconstruction_mse"]
