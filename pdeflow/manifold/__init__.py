"""pdeflow.manifold: torch-only geometry of learned decoders (does not import pdeflow.solvers)."""
from .geometry import (decoder_jacobian, decoder_jet, pointwise_jacobian, pointwise_metric,
                       pullback_metric)

__all__ = ["decoder_jacobian", "pullback_metric", "decoder_jet", "pointwise_jacobian", "pointwise_metric"]
