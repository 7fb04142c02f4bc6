"""Samplers of pdeflow.pointcloud.manifolds: exact curvature and uniformity in volume."""
import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from pdeflow.geometry import scalar_curvature
from pdeflow.pointcloud import manifolds as m


def _chart_points(lo, hi, n=16, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, (n, len(lo)))


@pytest.mark.parametrize("chart_map, closed_form, lo, hi", [
    (m.torus_map(2.0, 1.0), lambda z: m.torus_scalar(z, 2.0, 1.0), [0, 0], [6.28, 6.28]),
    (m.ellipsoid_map(3.0, 2.0, 1.0), lambda z: m.ellipsoid_scalar(z, 3.0, 2.0, 1.0),
     [0.3, 0], [2.8, 6.28]),
    (m.hyperboloid_map(1.0, 1.5), lambda z: m.hyperboloid_scalar(z, 1.0, 1.5), [-2, 0], [2, 6.28]),
    (m.saddle_map, m.saddle_scalar, [-1, -1], [1, 1]),
    (m.pseudosphere_map, lambda z: np.full(len(z), -2.0), [0.3, 0], [3, 6.28]),
])
def test_closed_form_curvature_matches_autograd(chart_map, closed_form, lo, hi):
    z = _chart_points(lo, hi)
    auto = scalar_curvature(chart_map, torch.as_tensor(z)).detach().numpy()
    np.testing.assert_allclose(closed_form(z), auto, rtol=1e-9, atol=1e-10)


def _band_test(values, edges, areas):
    counts = np.histogram(values, edges)[0]
    return chisquare(counts, areas / areas.sum() * counts.sum()).pvalue


def test_torus_uniform_in_area_and_parameter_sampling_is_not():
    """Band areas 2 pi b (a dv + b d(sin v)) of the (2, 1) torus: chi-square with 12 bands."""
    cloud = m.torus(6000, 3)
    edges = np.linspace(0, 2 * np.pi, 13)
    areas = 2.0 * np.diff(edges) + np.diff(np.sin(edges))
    assert _band_test(cloud.chart[:, 1], edges, areas) > 1e-3
    flat = np.random.default_rng(3).uniform(0, 2 * np.pi, 6000)     # the test has power
    assert _band_test(flat, edges, areas) < 1e-6
    assert cloud.scalar.min() == pytest.approx(-2.0, abs=0.01)
    assert cloud.scalar.max() == pytest.approx(2 / 3, abs=0.01)


def test_pseudosphere_uniform_in_area():
    """Band areas 2 pi (sech t_a - sech t_b) (``sqrt det g = tanh t sech t``)."""
    cloud = m.pseudosphere(5000, 4, t_min=0.3, t_max=3.0)
    edges = np.linspace(0.3, 3.0, 11)
    areas = -np.diff(1 / np.cosh(edges))
    assert _band_test(cloud.chart[:, 0], edges, areas) > 1e-3
    np.testing.assert_allclose(cloud.scalar, -2.0)


def test_quadric_graph_curvature_at_origin_and_sphere():
    q = m.quadric_graph(300, 0, [1.0, -1.0, 1.0])
    near = np.linalg.norm(q.chart, axis=1).argmin()
    z0 = torch.zeros(1, 3, dtype=torch.float64)
    assert q.scalar.shape == (300,) and q.points.shape == (300, 4)
    # (sum c)^2 - sum c^2 = -2 at the origin; smooth, so the nearest sample is close to it
    assert abs(q.scalar[near] + 2.0) < 0.5
    s = m.sphere(100, 0, dim=4, radius=2.0)
    np.testing.assert_allclose(np.linalg.norm(s.points, axis=1), 2.0)
    np.testing.assert_allclose(s.scalar, 4 * 3 / 4.0)
    assert z0.shape == (1, 3)


def test_embed_is_an_isometry_and_adds_the_stated_noise():
    cloud = m.saddle(200, 1)
    rot = m.embed(cloud, 50, 2)
    d0 = np.linalg.norm(cloud.points[:, None] - cloud.points[None], axis=-1)
    d1 = np.linalg.norm(rot.points[:, None] - rot.points[None], axis=-1)
    np.testing.assert_allclose(d0, d1, atol=1e-12)
    noisy = m.embed(cloud, 50, 2, noise=0.1)
    assert np.std(noisy.points - rot.points) == pytest.approx(0.1, rel=0.05)
    np.testing.assert_array_equal(noisy.scalar, cloud.scalar)


def test_samplers_are_seeded_and_reject_bad_input():
    np.testing.assert_array_equal(m.torus(50, 5).points, m.torus(50, 5).points)
    with pytest.raises(ValueError, match="n must be"):
        m.torus(0, 0)
    with pytest.raises(ValueError, match="minor"):
        m.torus(10, 0, major=1.0, minor=2.0)
    with pytest.raises(ValueError, match="ambient_dim"):
        m.embed(m.saddle(10, 0), 2, 0)
    with pytest.raises(ValueError, match="noise"):
        m.embed(m.saddle(10, 0), 5, 0, noise=-1.0)


def test_decoder_cloud_takes_R_from_autograd_and_is_uniform_for_a_linear_map():
    c = m.decoder_cloud(m.saddle_map, [-1, -1], [1, 1], 200, 0)
    np.testing.assert_allclose(c.scalar, m.saddle_scalar(c.chart), rtol=1e-9)
    lin = torch.tensor([[1.0, 0.0], [0.5, 2.0], [0.0, 1.0]], dtype=torch.float64)
    flat = m.decoder_cloud(lambda z: z @ lin.T, [0, 0], [1, 1], 4000, 1)
    np.testing.assert_allclose(flat.scalar, 0.0, atol=1e-12)
    counts = np.histogram2d(*flat.chart.T, bins=4, range=[[0, 1], [0, 1]])[0].ravel()
    assert chisquare(counts).pvalue > 1e-3            # constant sqrt(det g): uniform in the box


def _cell_areas(area_element, lo, hi, bins=4, nodes=24):
    """Areas of a bins x bins grid of chart cells: Gauss-Legendre quadrature of ``area_element``."""
    g, w = np.polynomial.legendre.leggauss(nodes)
    ex, ey = np.linspace(lo[0], hi[0], bins + 1), np.linspace(lo[1], hi[1], bins + 1)
    areas = np.empty((bins, bins))
    for i in range(bins):
        for j in range(bins):
            hx, hy = (ex[i + 1] - ex[i]) / 2, (ey[j + 1] - ey[j]) / 2
            u, v = np.meshgrid(ex[i] + hx * (g + 1), ey[j] + hy * (g + 1), indexing="ij")
            areas[i, j] = hx * hy * (np.outer(w, w) * area_element(u, v)).sum()
    return areas, (ex, ey)


def _ellipsoid_area_element(t, p, a=3.0, b=2.0, c=1.0):
    """|r_t x r_p| of the (theta, phi) ellipsoid chart, written out by hand (not by autograd)."""
    s = np.sin(t)
    return s * np.sqrt((b * c * s * np.cos(p)) ** 2 + (a * c * s * np.sin(p)) ** 2
                       + (a * b * np.cos(t)) ** 2)


def _hyperboloid_area_element(s, p, a=1.0, c=1.0):
    """|r_s x r_p| for (s, p) -> (a sqrt(1+s^2) cos p, a sqrt(1+s^2) sin p, c s)."""
    r = a * np.sqrt(1 + s ** 2)
    return r * np.sqrt((a * s / np.sqrt(1 + s ** 2)) ** 2 + c ** 2) + 0 * p


def _saddle_area_element(x, y):
    return np.sqrt(1 + x ** 2 + y ** 2)


@pytest.mark.parametrize("make, element, lo, hi", [
    (lambda n, s: m.ellipsoid(n, s), _ellipsoid_area_element, [0, 0], [np.pi, 2 * np.pi]),
    (lambda n, s: m.hyperboloid(n, s), _hyperboloid_area_element, [-2, 0], [2, 2 * np.pi]),
    (lambda n, s: m.saddle(n, s, half_width=2.0), _saddle_area_element, [-2, -2], [2, 2]),
])
def test_surfaces_are_uniform_in_area_and_parameter_sampling_is_not(make, element, lo, hi):
    """Chi-square of 16 chart cells against their areas from a hand-written area element."""
    n = 6000
    cloud = make(n, 11)
    areas, edges = _cell_areas(element, lo, hi)
    expected = (areas / areas.sum()).ravel() * n
    counts = np.histogram2d(*cloud.chart.T, bins=edges)[0].ravel()
    assert chisquare(counts, expected).pvalue > 1e-3
    flat = np.random.default_rng(11).uniform(lo, hi, (n, 2))       # the test has power
    flat_counts = np.histogram2d(*flat.T, bins=edges)[0].ravel()
    assert chisquare(flat_counts, expected).pvalue < 1e-6


@pytest.mark.parametrize("dim", [2, 3, 5])
def test_sphere_is_uniform_a_coordinate_has_the_projected_law(dim):
    """On S^n the coordinate x_1 has density proportional to (1 - x^2)^((n-2)/2) (uniform for n = 2)."""
    from scipy import stats
    x1 = m.sphere(4000, 7, dim=dim).points[:, 0]
    law = stats.beta(dim / 2, dim / 2, loc=-1, scale=2)       # (1+x)^(n/2-1) (1-x)^(n/2-1)
    assert stats.kstest(x1, law.cdf).pvalue > 1e-3
    # the test has power: it rejects the classic mistake, normalised points of a cube
    cube = np.random.default_rng(7).uniform(-1, 1, (4000, dim + 1))
    wrong = cube[:, 0] / np.linalg.norm(cube, axis=1)
    assert stats.kstest(wrong, law.cdf).pvalue < 1e-4
