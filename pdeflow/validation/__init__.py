"""pdeflow.validation: the metric library, distances between samples and densities, flow-map error,
memorisation, rate fits and the plug-in bias of sample distances (no study logic lives here)."""
from .metrics import (HistogramW2, Memorisation, check_cloud, density_l1, energy_distance,
                      flow_map_error, gaussian_w2, histogram_w2sq, memorisation, mmd2,
                      sinkhorn_divergence, sinkhorn_w2, sliced_w2, wasserstein, wasserstein1,
                      wasserstein2)
from .rates import RateFit, fit_rate
from .sample_complexity import (PowerLaw, SameLawBias, empirical_self_distance, fit_power_law,
                                same_law_bias)

__all__ = [
    "Memorisation", "memorisation", "check_cloud", "density_l1", "energy_distance",
    "flow_map_error", "gaussian_w2", "mmd2", "sinkhorn_divergence", "HistogramW2",
    "histogram_w2sq", "SameLawBias", "same_law_bias",
    "sinkhorn_w2", "sliced_w2", "wasserstein", "wasserstein1", "wasserstein2",
    "PowerLaw", "empirical_self_distance", "fit_power_law", "RateFit", "fit_rate",
]
