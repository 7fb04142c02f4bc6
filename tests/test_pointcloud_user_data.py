"""Point-cloud curvature on a user's cloud: local quadric fitting against exact curvature (with
its convergence), the boundary confound scores, bad input, the cached flat reference, the
report and the command."""
import numpy as np
import pytest
import torch

from pdeflow.cli import main
from pdeflow.geometry import scalar_curvature
from pdeflow.plotting import curvature_report
from pdeflow.pointcloud import (BallVolumeConfig, DiffusionConfig, QuadricConfig,
                                ball_volume_curvature, catenoid, cloud_scores,
                                diffusion_laziness, embed, evaluate_cloud, flat_cylinder,
                                hyperboloid, interior_mask, quadric_curvature, saddle,
                                signed_diffusion_curvature, sphere)
from pdeflow.pointcloud import diffusion_curvature as dc
from pdeflow.pointcloud.manifolds import catenoid_map, hyperboloid_meridian
from pdeflow.validation.rates import fit_rate

SMALL = DiffusionConfig(k_bandwidth=10, k_graph=40, aperture=20)


@pytest.mark.parametrize("radius", [1.0, 2.0])
def test_quadric_reads_the_sphere(radius):
    cloud = sphere(2000, 0, radius=radius)
    R = quadric_curvature(cloud.points, 2)
    assert np.median(np.abs(R - 2 / radius ** 2)) < 0.03 / radius ** 2
    # codimension 8: the Gauss equation with eight normal directions
    R10 = quadric_curvature(embed(cloud, 10, 1).points, 2)
    assert np.median(np.abs(R10 - 2 / radius ** 2)) < 0.03 / radius ** 2


def test_quadric_converges_with_n_and_neighbourhood_size():
    # fixed k: the neighbourhood radius^2 ~ k / n and the error of a quadric fit ~ radius^2
    # (measured: n 500 / 1000 / 2000 / 4000 at k = 18 -> slope about -1 in n; in k about +1)
    errors = [np.median(np.abs(quadric_curvature(sphere(n, 3).points, 2,
                                                 QuadricConfig(fixed_k=18)) - 2))
              for n in (500, 1000, 2000, 4000)]
    slope_n = fit_rate([500, 1000, 2000, 4000], errors).slope
    assert -1.25 < slope_n < -0.75, (slope_n, errors)
    cloud = sphere(2000, 4)
    errors_k = [np.median(np.abs(quadric_curvature(cloud.points, 2,
                                                   QuadricConfig(fixed_k=k)) - 2))
                for k in (20, 40, 80, 160)]
    slope_k = fit_rate([20, 40, 80, 160], errors_k).slope
    assert 0.75 < slope_k < 1.3, (slope_k, errors_k)


def test_quadric_reads_the_saddle_and_converges():
    errors = []
    for n in (500, 2000):
        cloud = saddle(n, 5)
        R, k = quadric_curvature(cloud.points, 2, return_k=True)
        inner = np.abs(cloud.chart).max(1) < 0.6
        errors.append(np.median(np.abs(R - cloud.scalar)[inner]))
        assert np.corrcoef(R, cloud.scalar)[0, 1] > 0.98
    assert errors[1] < 0.03 and errors[1] < 0.7 * errors[0], errors


def test_catenoid_closed_form_and_boundary_distance():
    cloud = catenoid(300, 0)
    z = torch.as_tensor(cloud.chart)
    auto = scalar_curvature(catenoid_map(1.0), z).detach().numpy()
    np.testing.assert_allclose(cloud.scalar, auto, rtol=1e-9, atol=1e-12)
    # meridian arc length to the rim: sinh(1.5) - sinh(|v|), against the arc of the chart curve
    v = cloud.chart[:5, 0]
    for vi, b in zip(v, cloud.boundary[:5]):
        s = np.linspace(abs(vi), 1.5, 20001)
        arc = np.sum(np.sqrt(np.sinh(0.5 * (s[1:] + s[:-1])) ** 2 + 1) * np.diff(s))
        assert b == pytest.approx(arc, rel=1e-7)
    s = np.linspace(0, 2.0, 200001)
    integrand = np.sqrt(s ** 2 / (1 + s ** 2) + 1)
    assert hyperboloid_meridian(np.array([2.0]), 1.0, 1.0)[0] == pytest.approx(
        np.sum(0.5 * (integrand[1:] + integrand[:-1]) * np.diff(s)), rel=1e-9)
    assert hyperboloid(200, 0).boundary.min() >= 0


def test_boundary_scores_separate_boundary_from_curvature():
    surface = catenoid(1500, 1)
    twin = flat_cylinder(1500, 2, 1.6, 2 * np.sinh(1.5))
    # an "estimator" that sees only the distance to the boundary: all its correlation with R
    # is explained by the boundary-only predictor
    blind = -np.tanh(surface.boundary)          # R is most negative at the waist
    s = cloud_scores(blind, surface.scalar, boundary=surface.boundary, points=surface.points,
                     twin=twin, twin_estimate=-np.tanh(twin.boundary))
    assert s["pearson"] > 0.5 and s["r_boundary"] == pytest.approx(s["pearson"], abs=0.02)
    assert abs(s["r_beyond"]) < 0.02
    # the exact curvature itself: correlation beyond the boundary stays near 1
    s = cloud_scores(surface.scalar, surface.scalar, boundary=surface.boundary,
                     points=surface.points, twin=twin, twin_estimate=-np.tanh(twin.boundary))
    assert s["pearson"] == 1.0 and s["r_beyond"] == pytest.approx(1 - s["r_boundary"])
    assert s["r_boundary"] > 0.5 and s["sign_interior"] == 1.0 and 0.2 < s["interior"] < 0.8
    assert interior_mask(sphere(300, 0).points, None).all()


@pytest.mark.parametrize("call", [
    lambda x, d: quadric_curvature(x, d),
    lambda x, d: ball_volume_curvature(x, d, BallVolumeConfig(n_neighbors=5)),
    lambda x, d: signed_diffusion_curvature(x, d, 0, SMALL, trials=1),
    lambda x, d: evaluate_cloud(x, d, which=("quadric",)),
])
def test_bad_clouds_raise_naming_the_parameter(call):
    good = sphere(200, 0).points
    with pytest.raises(ValueError, match="points must be distinct"):
        call(np.ones((200, 3)), 2)                         # identical points
    dup = good.copy()
    dup[7] = dup[3]
    with pytest.raises(ValueError, match="points must be distinct"):
        call(dup, 2)
    bad = good.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="points must be finite"):
        call(bad, 2)
    with pytest.raises(ValueError, match="dim must be <= the width"):
        call(good, 4)
    with pytest.raises(ValueError, match="dim"):
        call(good, 0)


def test_laziness_refuses_identical_points():
    with pytest.raises(ValueError, match="points must be distinct"):
        diffusion_laziness(np.zeros((100, 3)), SMALL)


def test_flat_reference_is_cached_per_settings():
    dc._cached_flat.cache_clear()
    cloud = sphere(300, 0).points
    a = signed_diffusion_curvature(cloud, 2, 7, SMALL, trials=1)
    b = signed_diffusion_curvature(cloud, 2, 7, SMALL, trials=1)
    info = dc._cached_flat.cache_info()
    assert info.hits == 1 and info.misses == 1
    np.testing.assert_array_equal(a, b)
    signed_diffusion_curvature(cloud, 2, 7, DiffusionConfig(k_bandwidth=10, k_graph=40,
                                                            aperture=20, t=3), trials=1)
    assert dc._cached_flat.cache_info().misses == 2      # other settings: recomputed
    expected = diffusion_laziness(cloud, SMALL) - dc.flat_laziness(2, 300, 7, SMALL, 1)
    np.testing.assert_allclose(a, expected, rtol=1e-12)


def test_report_and_command(tmp_path, capsys):
    cloud = saddle(500, 3)
    report = curvature_report(cloud.points, 2, tmp_path / "py", exact=cloud.scalar,
                              which=("quadric", "ball_volume"))
    quad = report["rows"][0]
    assert quad["estimator"] == "quadric" and quad["pearson"] > 0.95
    assert report["figure"].stat().st_size > 1000
    np.savez(tmp_path / "cloud.npz", points=cloud.points, exact=cloud.scalar)
    code = main(["curvature", str(tmp_path / "cloud.npz"), "--dim", "2", "--estimators",
                 "quadric", "--out", str(tmp_path / "cli")])
    assert code == 0 and (tmp_path / "cli" / "cloud.png").is_file()
    assert "| quadric |" in capsys.readouterr().out


@pytest.mark.parametrize("make, args, match", [
    (lambda p: np.save(p, sphere(100, 0).points), ["--dim", "4"], "dim"),
    (lambda p: np.save(p, np.ones((100, 3))), ["--dim", "2"], "distinct"),
    (lambda p: np.save(p, np.full((100, 3), np.nan)), ["--dim", "2"], "finite"),
    (lambda p: None, ["--dim", "2"], "existing"),
])
def test_command_bad_input_is_one_line_with_status_2(tmp_path, capsys, make, args, match):
    path = tmp_path / "cloud.npy"
    make(path)
    code = main(["curvature", str(path), *args, "--estimators", "quadric", "--out",
                 str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and match in err, err
