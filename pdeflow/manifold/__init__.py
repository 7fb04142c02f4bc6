"""pdeflow.manifold: torch-only geometry of learned decoders (does not import pdeflow.solvers).

* geometry: Jacobians, Hessians and pullback metrics of decoders (torch.func);
* curvature, functionals, ricci_autoencoder, ricci_metrics, ricci_data: Riemannian curvature of
  decoders and the Ricci-flow autoencoder (docs/curvature.md);
* bijections, injective_flow, logdet, cmf, diagnostics, datasets: injective manifold flows with
  the canonical (CMF) metric penalty (docs/manifold_flows.md).
"""
from .bijections import AffineCoupling, Chain, ElementwiseAffine, Permutation, coupling_flow
from .cmf import METHODS as CMF_METHODS
from .cmf import CMFConfig, conformal_penalty, method_config, offdiag_l1
from .cmf import objective as cmf_objective
from .cmf import train as train_cmf
from .curvature import (Curvature, check_metric, curvature, extrinsic_curvature,
                        intrinsic_curvature, metric_curvature, scalar_curvature)
from .diagnostics import (cosine_matrix, intrinsic_dimension, inverse_condition, latent_usage,
                          local_dimension, macs, metric_at, plot_metric, plot_traversals,
                          plot_usage, spread_usage, traversal_grid)
from .functionals import (curvature_energy, perelman_f, riemannian_integral, volume_weights,
                          w_entropy)
from .geometry import (decoder_jacobian, decoder_jet, pointwise_jacobian, pointwise_metric,
                       pullback_metric)
from .injective_flow import InjectiveFlow
from .logdet import batched_cg, logdet_exact, logdet_surrogate
from .networks import mlp
from .ricci_autoencoder import RicciAEConfig, RicciAutoencoder, train_ricci_autoencoder
from .ricci_metrics import (covariance_error, distance_correlation, mean_squared_curvature,
                            plane_residual, procrustes_error, reconstruction_mse)

__all__ = [
    # geometry
    "decoder_jacobian", "pullback_metric", "decoder_jet", "pointwise_jacobian", "pointwise_metric",
    # curvature and the Ricci-flow autoencoder (issue 7)
    "Curvature", "check_metric", "curvature", "extrinsic_curvature", "intrinsic_curvature",
    "metric_curvature", "scalar_curvature",
    "curvature_energy", "perelman_f", "riemannian_integral", "volume_weights", "w_entropy",
    "mlp", "RicciAEConfig", "RicciAutoencoder", "train_ricci_autoencoder",
    "covariance_error", "distance_correlation", "mean_squared_curvature", "plane_residual",
    "procrustes_error", "reconstruction_mse",
    # CMF manifold flows (issue 6)
    "AffineCoupling", "Chain", "ElementwiseAffine", "Permutation", "coupling_flow",
    "InjectiveFlow", "batched_cg", "logdet_exact", "logdet_surrogate",
    "CMFConfig", "CMF_METHODS", "conformal_penalty", "method_config", "cmf_objective",
    "offdiag_l1", "train_cmf", "cosine_matrix", "intrinsic_dimension", "latent_usage", "macs",
    "spread_usage", "local_dimension", "inverse_condition",
    "metric_at", "plot_metric", "plot_traversals", "plot_usage", "traversal_grid",
]
