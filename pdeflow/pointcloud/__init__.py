"""pdeflow.pointcloud: point clouds with exact scalar curvature, the diffusion-laziness and
ball-volume curvature estimators, and the radial flattening autoencoder against the log map.
"""
from .ball_volume import BallVolumeConfig, ball_volume_curvature
from .benchmark import (Estimators, ambient_study, decoder_study, sign_study,
                        surface_study)
from .diffusion_curvature import (DiffusionConfig, diffusion_laziness, flat_laziness,
                                  signed_diffusion_curvature)
from .flattening import (FlatteningConfig, Patch, affinity_kl, flattening_errors, radial_loss,
                         sphere_cap, torus_patch, train_flattening)
from .manifolds import (PointCloud, decoder_cloud, ellipsoid, embed, hyperboloid, plane,
                        pseudosphere, quadric_graph, saddle, sample_chart, sphere, torus)

__all__ = [
    "PointCloud", "sample_chart", "sphere", "torus", "ellipsoid", "hyperboloid", "saddle",
    "pseudosphere", "plane", "quadric_graph", "decoder_cloud", "embed",
    "DiffusionConfig", "diffusion_laziness", "flat_laziness", "signed_diffusion_curvature",
    "BallVolumeConfig", "ball_volume_curvature",
    "Patch", "sphere_cap", "torus_patch", "FlatteningConfig", "train_flattening",
    "flattening_errors", "radial_loss", "affinity_kl",
    "Estimators", "surface_study", "sign_study", "ambient_study", "decoder_study",
]
