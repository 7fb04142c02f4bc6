"""pdeflow.pointcloud: point clouds with exact scalar curvature, the diffusion-laziness and
ball-volume curvature estimators, and the radial flattening autoencoder against the log map.
"""
from .ball_volume import BallVolumeConfig, ball_volume_curvature
from .benchmark import (ESTIMATORS, INTERIOR_NEIGHBOURS, Estimators, ambient_study,
                        boundary_predictor, cloud_scores, decoder_study, evaluate_cloud,
                        interior_mask, sign_study, surface_study)
from .diffusion_curvature import (DiffusionConfig, diffusion_laziness, flat_laziness,
                                  signed_diffusion_curvature)
from .flattening import (FlatteningConfig, Patch, affinity_kl, flattening_errors, radial_loss,
                         sphere_cap, torus_patch, train_flattening)
from .manifolds import (PointCloud, catenoid, decoder_cloud, ellipsoid, embed, flat_cylinder,
                        flat_torus, hyperboloid, plane, pseudosphere, quadric_graph, saddle,
                        sample_chart, sphere, torus)
from .quadric import QuadricConfig, quadric_curvature

__all__ = [
    "PointCloud", "sample_chart", "sphere", "torus", "ellipsoid", "hyperboloid", "saddle",
    "pseudosphere", "plane", "quadric_graph", "decoder_cloud", "embed", "catenoid",
    "flat_cylinder", "flat_torus", "QuadricConfig", "quadric_curvature", "ESTIMATORS",
    "INTERIOR_NEIGHBOURS", "evaluate_cloud", "cloud_scores", "interior_mask",
    "boundary_predictor",
    "DiffusionConfig", "diffusion_laziness", "flat_laziness", "signed_diffusion_curvature",
    "BallVolumeConfig", "ball_volume_curvature",
    "Patch", "sphere_cap", "torus_patch", "FlatteningConfig", "train_flattening",
    "flattening_errors", "radial_loss", "affinity_kl",
    "Estimators", "surface_study", "sign_study", "ambient_study", "decoder_study",
]
