"""pdeflow.pointcloud: point clouds with exact scalar curvature, the diffusion-laziness and
ball-volume curvature estimators, and the radial flattening autoencoder against the log map.
"""
from .ball_volume import BallVolumeConfig, ball_volume_curvature
from .diffusion_curvature import (DiffusionConfig, diffusion_laziness, flat_laziness,
                                  signed_diffusion_curvature)
from .manifolds import (PointCloud, decoder_cloud, ellipsoid, embed, hyperboloid, plane,
                        pseudosphere, quadric_graph, saddle, sample_chart, sphere, torus)

__all__ = [
    "PointCloud", "sample_chart", "sphere", "torus", "ellipsoid", "hyperboloid", "saddle",
    "pseudosphere", "plane", "quadric_graph", "decoder_cloud", "embed",
    "DiffusionConfig", "diffusion_laziness", "flat_laziness", "signed_diffusion_curvature",
    "BallVolumeConfig", "ball_volume_curvature",
]
