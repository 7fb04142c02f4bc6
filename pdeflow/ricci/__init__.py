"""pdeflow.ricci: the Ricci-flow autoencoder (a decoder regularised by its curvature, computed by
autograd in pdeflow.geometry) and the metrics its outcome is judged by."""
from .autoencoder import RicciAEConfig, RicciAutoencoder, train_ricci_autoencoder
from .metrics import (covariance_error, distance_correlation, mean_squared_curvature,
                      plane_residual, procrustes_error, reconstruction_mse)

__all__ = [
    "RicciAEConfig", "RicciAutoencoder", "train_ricci_autoencoder",
    "covariance_error", "distance_correlation", "mean_squared_curvature", "plane_residual",
    "procrustes_error", "reconstruction_mse",
]
