"""pdeflow.geometry: the torch geometry core of decoders, pullback metrics, curvature (intrinsic and
Gauss routes), curvature functionals, smooth MLP decoders and toy manifolds with known ground truth."""
from .curvature import (Curvature, check_metric, curvature, extrinsic_curvature,
                        intrinsic_curvature, metric_curvature, scalar_curvature)
from .functionals import (curvature_energy, perelman_f, riemannian_integral, volume_weights,
                          w_entropy)
from .networks import mlp
from .pullback import (decoder_jacobian, decoder_jet, pointwise_jacobian, pointwise_metric,
                       pullback_metric)

__all__ = [
    "decoder_jacobian", "pullback_metric", "decoder_jet", "pointwise_jacobian", "pointwise_metric",
    "Curvature", "check_metric", "curvature", "extrinsic_curvature", "intrinsic_curvature",
    "metric_curvature", "scalar_curvature",
    "curvature_energy", "perelman_f", "riemannian_integral", "volume_weights", "w_entropy",
    "mlp",
]
