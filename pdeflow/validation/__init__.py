"""pdeflow.validation: distances between samples and densities, the WGAN-critic study,
sample-complexity rate fits and the memorisation limit of the empirical score."""
from .metrics import (Memorisation, check_cloud, density_l1, energy_distance, flow_map_error,
                      gaussian_w2, memorisation, mmd2, sinkhorn_w2, sliced_w2, wasserstein,
                      wasserstein1, wasserstein2)
from .memorisation_limit import MemorisationPoint, memorisation_point
from .sample_complexity import PowerLaw, empirical_self_distance, fit_power_law
from .wgan import CriticResult, DiscreteMeasure, train_wgan_critic

__all__ = [
    "Memorisation", "memorisation", "check_cloud", "density_l1", "energy_distance",
    "flow_map_error", "gaussian_w2", "mmd2",
    "sinkhorn_w2", "sliced_w2", "wasserstein", "wasserstein1", "wasserstein2",
    "MemorisationPoint", "memorisation_point",
    "PowerLaw", "empirical_self_distance", "fit_power_law",
    "CriticResult", "DiscreteMeasure", "train_wgan_critic",
]
