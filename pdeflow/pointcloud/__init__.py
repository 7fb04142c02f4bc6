"""pdeflow.pointcloud: point clouds with exact scalar curvature, two curvature estimators
(diffusion laziness, Hickok-Blumberg ball volumes) and the radial flattening autoencoder.

* manifolds: samplers uniform in Riemannian volume with the exact ``R`` at every point;
* diffusion_curvature, ball_volume: the estimators; benchmark: the validation table;
* flattening: the radial flattening autoencoder checked against the exact log map
  (docs/point_cloud_curvature.md).
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
