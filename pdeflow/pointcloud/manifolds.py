"""Point clouds sampled uniformly in Riemannian volume, with the exact scalar curvature per point.

Every sampler returns a :class:`PointCloud`: ambient points ``(N, D)``, the exact scalar curvature
``R`` ``(N,)`` (``2 K`` on a surface, units 1 / length^2), the intrinsic dimension and the chart
coordinates. Samplers take an explicit ``seed`` (int or :class:`numpy.random.Generator`).

Charted manifolds (torus, ellipsoid, hyperboloid, saddle, pseudosphere, quadric graphs, decoder
images) are sampled by rejection: proposals uniform in the chart box are accepted with probability
``sqrt(det g(z)) / M``, ``g`` the pullback metric from :func:`pdeflow.geometry.pullback_metric`.
The bound ``M`` is 1.25 times the largest ``sqrt(det g)`` of a pilot sample; a proposal above it
restarts the sampler with a larger bound, so ``M >= sup`` over every proposal used and the accepted
points are exactly uniform in volume. Spheres ``S^n`` are exact (normalised Gaussians).

The closed-form curvatures below are written once here and tested against pdeflow's autograd
curvature of the same parametrisation (tests/test_pointcloud_manifolds.py); quadric graphs and
decoder images take ``R`` from :func:`pdeflow.geometry.scalar_curvature` directly.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from ..geometry.curvature import scalar_curvature
from ..geometry.datasets import _check_n, _positive
from ..geometry.datasets import _rng as rng_from_seed
from ..geometry.pullback import pullback_metric

ChartMap = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class PointCloud:
    """Points with exact curvature.

    points: (N, D) float64 ambient coordinates; scalar: (N,) exact scalar curvature at the noiseless
    point; dim: intrinsic dimension n; chart: (N, n) chart coordinates or None; name: label;
    boundary: (N,) exact geodesic distance to the boundary (length units), or None for a closed
    manifold (or when unknown).
    """
    points: np.ndarray
    scalar: np.ndarray
    dim: int
    chart: Optional[np.ndarray]
    name: str
    boundary: Optional[np.ndarray] = None


def volume_density(chart_map: ChartMap, z: np.ndarray) -> np.ndarray:
    """``sqrt(det g)`` (N,) of the pullback metric of ``chart_map`` at chart points ``z`` (N, n)."""
    g = pullback_metric(chart_map, torch.as_tensor(z, dtype=torch.float64))
    return torch.sqrt(torch.clamp(torch.linalg.det(g.detach()), min=0.0)).numpy()


def sample_chart(chart_map: ChartMap, lower: Sequence[float], upper: Sequence[float], n: int,
                 seed, pilot: int = 20000) -> np.ndarray:
    """Chart points ``(n, d)`` in the box ``[lower, upper]`` whose images are uniform in volume.

    Rejection sampling with acceptance ``sqrt(det g) / M`` (see the module docstring for ``M``).
    ``chart_map`` maps ``(m, d)`` float64 torch tensors to ``(m, D)`` row by row.
    """
    n, rng = _check_n(n), rng_from_seed(seed)
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    if lo.ndim != 1 or lo.shape != hi.shape or not np.all(hi > lo):
        raise ValueError(f"lower and upper must be 1-D of equal length with upper > lower, got "
                         f"{lo.tolist()} and {hi.tolist()}")
    bound = 1.25 * volume_density(chart_map, rng.uniform(lo, hi, (pilot, lo.size))).max()
    if not np.isfinite(bound) or bound <= 0:
        raise ValueError("sqrt(det g) is zero or not finite on the pilot sample: chart_map is "
                         "not an immersion of the box")
    while True:
        kept, count, restart = [], 0, False
        while count < n:
            z = rng.uniform(lo, hi, (max(2 * (n - count), 256), lo.size))
            w = volume_density(chart_map, z)
            if w.max() > bound:             # the bound was too small: restart with a larger one
                bound, restart = 1.25 * w.max(), True
                break
            z = z[rng.uniform(0.0, bound, w.size) < w]
            kept.append(z)
            count += len(z)
        if not restart:
            return np.concatenate(kept)[:n]


def _charted(chart_map: ChartMap, lower, upper, n: int, seed, scalar_fn, name: str,
             ) -> PointCloud:
    z = sample_chart(chart_map, lower, upper, n, seed)
    with torch.no_grad():
        x = chart_map(torch.as_tensor(z)).numpy()
    return PointCloud(x, scalar_fn(z), len(lower), z, name)


# ----------------------------------------------------------------------- spheres and planes

def sphere(n: int, seed, dim: int = 2, radius: float = 1.0) -> PointCloud:
    """``S^dim`` of ``radius`` in ``R^(dim+1)``, exactly uniform; ``R = dim (dim-1) / radius^2``."""
    n, radius = _check_n(n), _positive(radius, "radius")
    if not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim must be an int >= 1, got {dim!r}")
    x = rng_from_seed(seed).standard_normal((n, dim + 1))
    x = radius * x / np.linalg.norm(x, axis=1, keepdims=True)
    return PointCloud(x, np.full(n, dim * (dim - 1) / radius ** 2), int(dim), None,
                      f"sphere S^{dim}")


def plane(n: int, seed, dim: int = 2, side: float = 1.0) -> PointCloud:
    """Uniform points in the cube ``[0, side]^dim`` (``R = 0``), as a ``dim``-manifold in R^dim."""
    n, side = _check_n(n), _positive(side, "side")
    x = rng_from_seed(seed).uniform(0.0, side, (n, dim))
    return PointCloud(x, np.zeros(n), int(dim), x.copy(), f"plane R^{dim}")


# ----------------------------------------------------------------------- surfaces in R^3

def torus_map(major: float, minor: float) -> ChartMap:
    """Chart ``(u, v) -> ((a + b cos v) cos u, (a + b cos v) sin u, b sin v)``, a = major."""
    def f(z: torch.Tensor) -> torch.Tensor:
        u, v = z[:, 0], z[:, 1]
        ring = major + minor * torch.cos(v)
        return torch.stack([ring * torch.cos(u), ring * torch.sin(u), minor * torch.sin(v)], 1)
    return f


def torus_scalar(z: np.ndarray, major: float, minor: float) -> np.ndarray:
    """``R = 2 cos v / (b (a + b cos v))`` at chart points (N, 2)."""
    c = np.cos(z[:, 1])
    return 2 * c / (minor * (major + minor * c))


def torus(n: int, seed, major: float = 2.0, minor: float = 1.0) -> PointCloud:
    """Torus of radii ``major > minor`` (default 2, 1: R in [-2, 2/3])."""
    a, b = _positive(major, "major"), _positive(minor, "minor")
    if b >= a:
        raise ValueError(f"minor must be < major, got {b} >= {a}")
    return _charted(torus_map(a, b), [0, 0], [2 * np.pi, 2 * np.pi], n, seed,
                    lambda z: torus_scalar(z, a, b), "torus")


def ellipsoid_map(a: float, b: float, c: float) -> ChartMap:
    """Chart ``(theta, phi) -> (a sin t cos p, b sin t sin p, c cos t)``."""
    def f(z: torch.Tensor) -> torch.Tensor:
        t, p = z[:, 0], z[:, 1]
        return torch.stack([a * torch.sin(t) * torch.cos(p), b * torch.sin(t) * torch.sin(p),
                            c * torch.cos(t)], 1)
    return f


def ellipsoid_scalar(z: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    """``R = 2 / (a^2 b^2 c^2 (x^2/a^4 + y^2/b^4 + z^2/c^4)^2)``."""
    t, p = z[:, 0], z[:, 1]
    x, y, w = a * np.sin(t) * np.cos(p), b * np.sin(t) * np.sin(p), c * np.cos(t)
    return 2.0 / ((a * b * c) ** 2 * (x ** 2 / a ** 4 + y ** 2 / b ** 4 + w ** 2 / c ** 4) ** 2)


def ellipsoid(n: int, seed, a: float = 3.0, b: float = 2.0, c: float = 1.0) -> PointCloud:
    """Ellipsoid with semi-axes ``a, b, c`` (R > 0 everywhere)."""
    a, b, c = (_positive(v, k) for v, k in ((a, "a"), (b, "b"), (c, "c")))
    return _charted(ellipsoid_map(a, b, c), [0, 0], [np.pi, 2 * np.pi], n, seed,
                    lambda z: ellipsoid_scalar(z, a, b, c), "ellipsoid")


def hyperboloid_map(a: float, c: float) -> ChartMap:
    """One sheet of ``(x^2 + y^2)/a^2 - z^2/c^2 = 1``: ``(s, p) -> (a sqrt(1+s^2) cos p, ..., c s)``."""
    def f(z: torch.Tensor) -> torch.Tensor:
        s, p = z[:, 0], z[:, 1]
        r = a * torch.sqrt(1 + s ** 2)
        return torch.stack([r * torch.cos(p), r * torch.sin(p), c * s], 1)
    return f


def hyperboloid_scalar(z: np.ndarray, a: float, c: float) -> np.ndarray:
    """``R = -2 / (a^4 c^2 ((x^2+y^2)/a^4 + z^2/c^4)^2)``."""
    s = z[:, 0]
    rho2, w = a ** 2 * (1 + s ** 2), c * s
    return -2.0 / (a ** 4 * c ** 2 * (rho2 / a ** 4 + w ** 2 / c ** 4) ** 2)


def hyperboloid_meridian(s, a: float, c: float) -> np.ndarray:
    """Arc length along the meridian from the waist (s = 0) to s: the integral of
    ``sqrt(a^2 t^2 / (1 + t^2) + c^2)`` over [0, s] (Gauss-Legendre, 40 nodes per unit of s;
    exact to 1e-12 on the table's range)."""
    s = np.asarray(s, dtype=np.float64)
    nodes, weights = np.polynomial.legendre.leggauss(40 * int(np.ceil(np.abs(s).max() + 1)))
    t = 0.5 * s[..., None] * (nodes + 1)
    f = np.sqrt(a ** 2 * t ** 2 / (1 + t ** 2) + c ** 2)
    return 0.5 * s * np.sum(weights * f, axis=-1)


def hyperboloid(n: int, seed, a: float = 1.0, c: float = 1.0, height: float = 2.0) -> PointCloud:
    """One-sheet hyperboloid with ``|z| <= height`` (R < 0 everywhere, most negative at the waist);
    ``boundary``: the meridian arc length to the nearer rim (exact geodesic distance to the
    boundary of a surface of revolution)."""
    a, c, h = _positive(a, "a"), _positive(c, "c"), _positive(height, "height")
    cloud = _charted(hyperboloid_map(a, c), [-h / c, 0], [h / c, 2 * np.pi], n, seed,
                     lambda z: hyperboloid_scalar(z, a, c), "hyperboloid")
    rim = float(hyperboloid_meridian(np.array([h / c]), a, c)[0])
    cloud.boundary = rim - np.abs(hyperboloid_meridian(cloud.chart[:, 0], a, c))
    return cloud


def catenoid_map(c: float) -> ChartMap:
    """Chart ``(v, p) -> (c cosh(v / c) cos p, c cosh(v / c) sin p, v)``."""
    def f(z: torch.Tensor) -> torch.Tensor:
        v, p = z[:, 0], z[:, 1]
        r = c * torch.cosh(v / c)
        return torch.stack([r * torch.cos(p), r * torch.sin(p), v], 1)
    return f


def catenoid(n: int, seed, c: float = 1.0, height: float = 1.5) -> PointCloud:
    """Catenoid (a minimal surface) with ``|z| <= height``: ``R = -2 / (c^2 cosh^4(z / c))`` < 0
    everywhere; ``boundary``: ``c sinh(height / c) - c sinh(|z| / c)`` (meridian arc length to the
    nearer rim)."""
    c, h = _positive(c, "c"), _positive(height, "height")
    cloud = _charted(catenoid_map(c), [-h, 0], [h, 2 * np.pi], n, seed,
                     lambda z: -2.0 / (c ** 2 * np.cosh(z[:, 0] / c) ** 4), "catenoid")
    cloud.boundary = c * np.sinh(h / c) - c * np.sinh(np.abs(cloud.chart[:, 0]) / c)
    return cloud


def flat_cylinder(n: int, seed, radius: float, length: float) -> PointCloud:
    """Cylinder of ``radius`` and ``length`` (R = 0), exactly uniform in area; ``boundary``:
    the distance to the nearer rim."""
    r, L = _positive(radius, "radius"), _positive(length, "length")
    rng = rng_from_seed(seed)
    z = np.column_stack([rng.uniform(0.0, L, _check_n(n)), rng.uniform(0.0, 2 * np.pi, n)])
    x = np.column_stack([r * np.cos(z[:, 1]), r * np.sin(z[:, 1]), z[:, 0]])
    return PointCloud(x, np.zeros(n), 2, z, "flat cylinder", np.minimum(z[:, 0], L - z[:, 0]))


def flat_torus(n: int, seed, side_u: float, side_v: float) -> PointCloud:
    """The flat torus with sides ``side_u`` x ``side_v`` in R^4 (Clifford embedding
    ``(a cos u, a sin u, b cos v, b sin v)``, a = side_u / 2 pi): R = 0, no boundary, exactly
    uniform in area."""
    su, sv = _positive(side_u, "side_u"), _positive(side_v, "side_v")
    rng = rng_from_seed(seed)
    z = rng.uniform(0.0, 2 * np.pi, (_check_n(n), 2))
    a, b = su / (2 * np.pi), sv / (2 * np.pi)
    x = np.column_stack([a * np.cos(z[:, 0]), a * np.sin(z[:, 0]), b * np.cos(z[:, 1]),
                         b * np.sin(z[:, 1])])
    return PointCloud(x, np.zeros(n), 2, z, "flat torus")


def surface_area(chart_map: ChartMap, lower, upper, nodes: int = 200) -> float:
    """Area of the image of the box [lower, upper] (2-D) by Gauss-Legendre quadrature of
    ``sqrt(det g)`` (``nodes`` per axis)."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    lo, hi = np.asarray(lower, float), np.asarray(upper, float)
    u = lo[0] + (hi[0] - lo[0]) * (x + 1) / 2
    v = lo[1] + (hi[1] - lo[1]) * (x + 1) / 2
    uu, vv = np.meshgrid(u, v, indexing="ij")
    dens = volume_density(chart_map, np.column_stack([uu.ravel(), vv.ravel()]))
    return float(np.sum(np.outer(w, w).ravel() * dens) * np.prod(hi - lo) / 4)


def saddle_map(z: torch.Tensor) -> torch.Tensor:
    """Graph ``(x, y) -> (x, y, x y)``."""
    return torch.cat([z, (z[:, 0] * z[:, 1])[:, None]], 1)


def saddle_scalar(z: np.ndarray) -> np.ndarray:
    """``R = -2 / (1 + x^2 + y^2)^2`` on ``z = x y``."""
    return -2.0 / (1 + (z ** 2).sum(1)) ** 2


def saddle(n: int, seed, half_width: float = 1.0) -> PointCloud:
    """The saddle ``z = x y`` over ``[-w, w]^2``."""
    w = _positive(half_width, "half_width")
    return _charted(saddle_map, [-w, -w], [w, w], n, seed, saddle_scalar, "saddle z = xy")


def pseudosphere_map(z: torch.Tensor) -> torch.Tensor:
    """Tractricoid ``(t, p) -> (sech t cos p, sech t sin p, t - tanh t)``, t > 0."""
    t, p = z[:, 0], z[:, 1]
    s = 1 / torch.cosh(t)
    return torch.stack([s * torch.cos(p), s * torch.sin(p), t - torch.tanh(t)], 1)


def pseudosphere(n: int, seed, t_min: float = 0.3, t_max: float = 3.0) -> PointCloud:
    """Pseudosphere of unit radius (``K = -1``, ``R = -2``) for ``t_min <= t <= t_max``."""
    lo, hi = _positive(t_min, "t_min"), _positive(t_max, "t_max")
    if hi <= lo:
        raise ValueError(f"t_max must be > t_min, got {hi} <= {lo}")
    return _charted(pseudosphere_map, [lo, 0], [hi, 2 * np.pi], n, seed,
                    lambda z: np.full(len(z), -2.0), "pseudosphere")


# ----------------------------------------------------------------------- decoders and graphs

def decoder_cloud(decoder: ChartMap, lower: Sequence[float], upper: Sequence[float], n: int,
                  seed, name: str = "decoder") -> PointCloud:
    """Image of the box ``[lower, upper]`` under a torch decoder, uniform in volume; ``R`` from
    :func:`pdeflow.geometry.scalar_curvature` (extrinsic route) at the accepted chart points."""
    def f(z: torch.Tensor) -> torch.Tensor:
        return decoder(z.to(torch.float64))

    z = sample_chart(f, lower, upper, n, seed)
    zt = torch.as_tensor(z)
    with torch.no_grad():
        x = f(zt).numpy()
    r = scalar_curvature(f, zt).detach().numpy()
    return PointCloud(x, r, len(lower), z, name)


def quadric_graph(n: int, seed, coefficients: Sequence[float], half_width: float = 1.0,
                  ) -> PointCloud:
    """Graph ``x_{n+1} = sum_i c_i x_i^2 / 2`` over ``[-w, w]^dim``, ``dim = len(coefficients)``;
    alternating signs give saddles. ``R`` from pdeflow's autograd curvature (``(sum c)^2 - sum c^2``
    at the origin)."""
    c = torch.as_tensor(np.asarray(coefficients, dtype=float))
    if c.ndim != 1 or c.numel() < 1:
        raise ValueError(f"coefficients must be a non-empty 1-D sequence, got {coefficients!r}")
    w = _positive(half_width, "half_width")

    def graph(z: torch.Tensor) -> torch.Tensor:
        return torch.cat([z, 0.5 * (z ** 2 * c).sum(1, keepdim=True)], 1)

    dim = c.numel()
    signs = "".join("+" if v > 0 else "-" if v < 0 else "0" for v in c.tolist())
    return decoder_cloud(graph, [-w] * dim, [w] * dim, n, seed, f"quadric {signs}")


# ----------------------------------------------------------------------- embedding and noise

def embed(cloud: PointCloud, ambient_dim: int, seed, noise: float = 0.0) -> PointCloud:
    """Rotate ``cloud`` into ``R^ambient_dim`` by a random orthogonal matrix (an isometry, so the
    curvature is unchanged) and add isotropic Gaussian noise of standard deviation ``noise`` in
    every ambient coordinate. ``scalar`` stays the exact R of the noiseless point."""
    d0 = cloud.points.shape[1]
    if not isinstance(ambient_dim, (int, np.integer)) or ambient_dim < d0:
        raise ValueError(f"ambient_dim must be an int >= the cloud's dimension {d0}, "
                         f"got {ambient_dim!r}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    rng = rng_from_seed(seed)
    q, r = np.linalg.qr(rng.standard_normal((ambient_dim, ambient_dim)))
    q = q * np.sign(np.diag(r))                       # Haar-distributed rotation
    x = cloud.points @ q[:, :d0].T
    if noise > 0:
        x = x + noise * rng.standard_normal(x.shape)
    return replace(cloud, points=x)
