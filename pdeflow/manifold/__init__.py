"""pdeflow.manifold: torch-only geometry of learned decoders (does not import pdeflow.solvers)."""
from .bijections import AffineCoupling, Chain, ElementwiseAffine, Permutation, coupling_flow
from .cmf import (CMFConfig, METHODS, conformal_penalty, method_config, objective, offdiag_l1,
                  train)
from .diagnostics import (cosine_matrix, intrinsic_dimension, latent_usage, macs, metric_at,
                          plot_metric, plot_traversals, plot_usage, traversal_grid)
from .geometry import decoder_jacobian, pullback_metric
from .injective_flow import InjectiveFlow
from .logdet import batched_cg, logdet_exact, logdet_surrogate

__all__ = [
    "decoder_jacobian", "pullback_metric",
    # CMF (issue 6)
    "AffineCoupling", "Chain", "ElementwiseAffine", "Permutation", "coupling_flow",
    "InjectiveFlow", "batched_cg", "logdet_exact", "logdet_surrogate",
    "CMFConfig", "METHODS", "conformal_penalty", "method_config", "objective", "offdiag_l1",
    "train", "cosine_matrix", "intrinsic_dimension", "latent_usage", "macs", "metric_at",
    "plot_metric", "plot_traversals", "plot_usage", "traversal_grid",
]
