"""pdeflow.manifold_flows: injective manifold flows (coupling bijections, log-determinants) trained
with the canonical (CMF) metric penalty, and the diagnostics of how they use their latent space."""
from .bijections import AffineCoupling, Chain, ElementwiseAffine, Permutation, coupling_flow
from .cmf import METHODS as CMF_METHODS
from .cmf import CMFConfig, conformal_penalty, method_config, offdiag_l1
from .cmf import objective as cmf_objective
from .cmf import train as train_cmf
from .diagnostics import (cosine_matrix, intrinsic_dimension, inverse_condition, jacobian_at,
                          latent_usage, local_dimension, macs, macs_authors, metric_at, plot_metric, plot_traversals,
                          plot_usage, spread_usage, traversal_grid)
from .injective_flow import InjectiveFlow
from .square_flow import SquareFlow
from .logdet import batched_cg, logdet_exact, logdet_surrogate

__all__ = [
    "AffineCoupling", "Chain", "ElementwiseAffine", "Permutation", "coupling_flow",
    "InjectiveFlow", "SquareFlow", "batched_cg", "logdet_exact", "logdet_surrogate",
    "CMFConfig", "CMF_METHODS", "conformal_penalty", "method_config", "cmf_objective",
    "offdiag_l1", "train_cmf", "cosine_matrix", "intrinsic_dimension", "latent_usage", "macs", "macs_authors", "jacobian_at",
    "spread_usage", "local_dimension", "inverse_condition",
    "metric_at", "plot_metric", "plot_traversals", "plot_usage", "traversal_grid",
]
