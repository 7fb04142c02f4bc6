"""Curvature estimators on a plane (R = 0) and a sphere (R = 2 / r^2), with stated tolerances."""
import numpy as np
import pytest

from pdeflow.pointcloud import (BallVolumeConfig, DiffusionConfig, ball_volume_curvature,
                                diffusion_laziness, flat_laziness, plane, signed_diffusion_curvature,
                                sphere)
from pdeflow.pointcloud.benchmark import scores


def _exact_sphere_inputs(n, seed, radius):
    s = sphere(n, seed, radius=radius)
    cos = np.clip(s.points @ s.points.T / radius ** 2, -1, 1)
    return s, radius * np.arccos(cos), np.full(n, 1 / (4 * np.pi * radius ** 2))


@pytest.mark.parametrize("radius", [1.0, 2.0])
def test_ball_volume_fit_recovers_2_over_r2_with_exact_distances(radius):
    """Exact arcs and density isolate the ball-volume fit: the O(r^4) term shifts the fitted R
    by < 3 % at rmax_fraction 0.2; the standard error of the mean over 1000 points is ~0.13 /
    r^2 (per-point sd ~4 / r^2, measured), so the tolerance is 0.3 / r^2."""
    s, dist, rho = _exact_sphere_inputs(1000, 0, radius)
    est = ball_volume_curvature(s.points, 2, distances=dist, density=rho)
    assert abs(est.mean() - 2 / radius ** 2) < 0.3 / radius ** 2


def test_ball_volume_on_a_plane_with_exact_distances_is_zero():
    """A flat square of the unit sphere's area (4 pi), exact distances and density, interior
    points only (balls fit inside): the fit is unbiased, E[S] = 0. The mean over a cloud's
    interior varies by ~1.7 between clouds (measured, 6 seeds), so the mean over 6 clouds is
    held to 1.5 (~2 standard errors); the unit sphere's R = 2 lies outside."""
    side = np.sqrt(4 * np.pi)
    means = []
    for seed in range(6):
        p = plane(1000, seed, side=side)
        dist = np.linalg.norm(p.points[:, None] - p.points[None], axis=-1)
        inner = np.all((p.points > 0.3 * side) & (p.points < 0.7 * side), 1)
        est = ball_volume_curvature(p.points, 2, distances=dist,
                                    density=np.full(1000, 1 / side ** 2))
        means.append(est[inner].mean())
    assert abs(np.mean(means)) < 1.5


def test_ball_volume_full_pipeline_on_the_sphere_has_the_isomap_bias():
    """With Isomap distances and the KDE the unit sphere reads R ~ 5.4-5.9 instead of 2
    (measured, 1000 points): graph paths are longer than geodesics, so balls look small. This
    test pins the sign and the documented size of that bias."""
    s = sphere(1000, 1)
    est = ball_volume_curvature(s.points, 2)
    assert 2.0 < est.mean() < 8.0


def test_diffusion_laziness_is_scale_free_and_signed_against_flat():
    s = sphere(600, 2)
    cfg = DiffusionConfig(k_bandwidth=30, k_graph=120, t=2, aperture=30)
    np.testing.assert_allclose(diffusion_laziness(s.points, cfg),
                               diffusion_laziness(3.0 * s.points, cfg), rtol=1e-10)
    flat = flat_laziness(2, 600, 3, cfg, trials=2)
    # an independent flat-torus sample reads zero: the flat reference is unbiased
    other = flat_laziness(2, 600, 4, cfg, trials=2)
    assert abs(other - flat) < 0.01 * flat


@pytest.mark.slow
def test_signed_diffusion_curvature_on_sphere_and_plane():
    """(slow: ~20 s alone, 60 s on the loaded machine) Default config, 2000 points: S^2 reads positive at > 75 % of its points and its mean
    exceeds that of the interior of a flat square (R = 0) whose mean is within 0.02 of 0
    (measured: S^2 0.010 +- 0.011 at 1000 points; plane interior -0.01 ... 0.016)."""
    s = sphere(2000, 5)
    sig = signed_diffusion_curvature(s.points, 2, 6)
    assert np.mean(sig > 0) > 0.75
    p = plane(2000, 5)
    inner = np.all((p.points > 0.3) & (p.points < 0.7), 1)
    flat_sig = signed_diffusion_curvature(p.points, 2, 6)[inner]
    assert abs(flat_sig.mean()) < 0.02
    assert sig.mean() > flat_sig.mean()


def test_scores_and_bad_input():
    r = np.array([-2.0, -1.0, 0.05, 1.0, 2.0])
    sc = scores(r, 3 * r + 4, tau=0.1)       # signs: - + + + on the four |R| > 0.1 points
    assert sc["pearson"] == pytest.approx(1.0) and sc["sign"] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="k_bandwidth"):
        DiffusionConfig(k_bandwidth=50, k_graph=10)
    with pytest.raises(ValueError, match="rmax_fraction"):
        BallVolumeConfig(rmax_fraction=0.0)
    with pytest.raises(ValueError, match="points"):
        diffusion_laziness(np.ones((10, 3)), DiffusionConfig(k_bandwidth=2, k_graph=20,
                                                             aperture=2))
