"""pdeflow.validation: the metric library, distances between samples and densities, flow-map error,
memorisation, rate fits and the plug-in bias of sample distances (no study logic lives here)."""
from .metrics import (Memorisation, check_cloud, density_l1, energy_distance, flow_map_error,
                      gaussian_w2, memorisation, mmd2, sinkhorn_w2, sliced_w2, wasserstein,
                      wasserstein1, wasserstein2)
from .rates import RateFit, fit_rate
from .sample_complexity import PowerLaw, empirical_self_distance, fit_power_law

__all__ = [
    "Memorisation", "memorisation", "check_cloud", "density_l1", "energy_distance",
    "flow_map_error", "gaussian_w2", "mmd2",
    "sinkhorn_w2", "sliced_w2", "wasserstein", "wasserstein1", "wasserstein2",
    "PowerLaw", "empirical_self_distance", "fit_power_law", "RateFit", "fit_rate",
]
