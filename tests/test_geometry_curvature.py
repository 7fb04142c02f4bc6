"""Curvature of decoders: closed forms, invariances, identities, and agreement of both routes."""
import math

import pytest
import torch
from hypothesis import assume, example, given, strategies as st

from pdeflow.geometry.curvature import (METHODS, curvature, intrinsic_curvature,
                                        extrinsic_curvature, metric_curvature, scalar_curvature)
from pdeflow.geometry.networks import mlp
from pdeflow.geometry.pullback import pullback_metric

F64 = torch.float64
methods = pytest.mark.parametrize("method", METHODS)


def t(*rows):
    return torch.tensor(rows, dtype=F64)


def sphere_angles(r):
    def f(z):
        th, ph = z[:, 0], z[:, 1]
        return r * torch.stack([th.sin() * ph.cos(), th.sin() * ph.sin(), th.cos()], -1)
    return f


def stereographic(r):
    """Inverse stereographic projection R^n -> S^n(r) in R^(n+1)."""
    def f(z):
        s = (z ** 2).sum(-1, keepdim=True)
        return r * torch.cat([2 * z, s - 1], -1) / (s + 1)
    return f


def torus(big, small):
    def f(z):
        u, v = z[:, 0], z[:, 1]
        rho = big + small * v.cos()
        return torch.stack([rho * u.cos(), rho * u.sin(), small * v.sin()], -1)
    return f


def pseudosphere(z):
    u, v = z[:, 0], z[:, 1]
    return torch.stack([v.cos() / u.cosh(), v.sin() / u.cosh(), u - u.tanh()], -1)


def swiss_roll(z):
    s, h = z[:, 0], z[:, 1]
    return torch.stack([s * s.cos(), h, s * s.sin()], -1)


def random_decoder(d, D, seed, width=12):
    return mlp([d, width, width, D], "tanh", seed=seed, gain=1.5, dtype=F64)


def rounding_scale(c):
    """Per-point size of the rounding error to expect in curvature: the terms that cancel are
    ~ |R| + |g^-1|^2 |Riemann| (+ |Gamma|^2 for the intrinsic route), and solving with g
    amplifies rounding by up to cond(g)^2 (random decoders are badly conditioned at some points).
    """
    cond = torch.linalg.cond(c.metric).detach()
    ginv = torch.linalg.matrix_norm(c.metric_inv.detach(), ord=2)
    terms = (1 + c.scalar.detach().abs()
             + ginv ** 2 * c.riemann.detach().flatten(1).abs().max(1).values)
    if c.christoffel is not None:
        terms = terms + c.christoffel.detach().flatten(1).abs().max(1).values ** 2
    return cond ** 2 * terms


def assert_close_conditioned(a, b, c):
    """|a - b| <= 1e-12 * rounding_scale(c), pointwise, for curvature results a, b at c's points."""
    tol = 1e-12 * rounding_scale(c)
    assert ((a - b).abs() <= tol).all(), ((a - b).abs() / tol).max()


def random_points(n, d, seed, scale=1.0):
    return scale * torch.randn(n, d, dtype=F64, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- closed forms

@methods
@given(r=st.floats(0.2, 5.0), th=st.floats(0.2, 2.9), ph=st.floats(-3.0, 3.0))
def test_two_sphere_has_scalar_curvature_two_over_r_squared(method, r, th, ph):
    R = scalar_curvature(sphere_angles(r), t([th, ph]), method)
    assert R.item() == pytest.approx(2 / r ** 2, rel=1e-9)


@methods
@given(n=st.integers(2, 4), r=st.floats(0.3, 3.0), seed=st.integers(0, 10 ** 6))
def test_n_sphere_has_scalar_curvature_n_n_minus_1_over_r_squared(method, n, r, seed):
    z = random_points(3, n, seed)
    R = scalar_curvature(stereographic(r), z, method)
    torch.testing.assert_close(R, torch.full((3,), n * (n - 1) / r ** 2, dtype=F64),
                               rtol=1e-9, atol=0)


@methods
@given(big=st.floats(2.0, 4.0), small=st.floats(0.2, 1.5), u=st.floats(-3, 3), v=st.floats(-3, 3))
def test_torus_scalar_curvature_formula(method, big, small, u, v):
    R = scalar_curvature(torus(big, small), t([u, v]), method).item()
    exact = 2 * math.cos(v) / (small * (big + small * math.cos(v)))
    assert R == pytest.approx(exact, rel=1e-9, abs=1e-12)


@given(big=st.floats(2.0, 4.0), small=st.floats(0.2, 1.5))
def test_torus_total_scalar_curvature_vanishes(big, small):
    # Gauss-Bonnet: int R dmu = 4 pi chi = 0. Midpoint rule on the periodic chart is spectral.
    m = 48
    grid = (torch.arange(m, dtype=F64) + 0.5) * 2 * math.pi / m
    z = torch.cartesian_prod(grid, grid)
    c = curvature(torus(big, small), z)
    dmu = torch.linalg.det(c.metric).sqrt() * (2 * math.pi / m) ** 2
    total_abs = (c.scalar.abs() * dmu).sum().item()
    assert total_abs > 1.0                     # R is far from zero pointwise ...
    assert abs((c.scalar * dmu).sum().item()) < 1e-10 * total_abs   # ... but integrates to 0


@methods
@given(u=st.floats(0.3, 3.0), v=st.floats(-3, 3))
def test_pseudosphere_has_scalar_curvature_minus_two(method, u, v):
    assert scalar_curvature(pseudosphere, t([u, v]), method).item() == pytest.approx(-2, rel=1e-8)


@given(x=st.floats(-5, 5), y=st.floats(0.05, 5.0), c=st.floats(0.2, 5.0))
@example(x=0.0, y=1.0, c=1.0)          # the half-plane metric I / y^2 itself: R = -2
def test_hyperbolic_half_plane_metric_has_scalar_curvature_minus_two_over_c(x, y, c):
    # g = c I / y^2 is the half-plane metric scaled by c: R = -2 / c.
    metric = lambda z: c * torch.eye(2, dtype=F64).expand(z.shape[0], 2, 2) / z[:, 1, None, None] ** 2
    assert metric_curvature(metric, t([x, y])).scalar.item() == pytest.approx(-2 / c, rel=1e-9)


@methods
@given(d=st.integers(1, 4), extra=st.integers(0, 3), seed=st.integers(0, 10 ** 6))
def test_affine_decoders_are_flat(method, d, extra, seed):
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(d + extra, d, dtype=F64, generator=gen) + 2 * torch.eye(d + extra, d, dtype=F64)
    b = torch.randn(d + extra, dtype=F64, generator=gen)
    c = curvature(lambda z: z @ a.T + b, random_points(4, d, seed), method)
    assert c.riemann.abs().max().item() < 1e-12
    assert c.scalar.abs().max().item() < 1e-12


@methods
@given(s=st.floats(1.5, 4.5 * math.pi), h=st.floats(-3, 3))
def test_swiss_roll_is_flat(method, s, h):
    c = curvature(swiss_roll, t([s, h]), method)
    assert c.riemann.abs().max().item() < 1e-10


@methods
@given(D=st.integers(2, 6), seed=st.integers(0, 10 ** 6))
def test_one_dimensional_latent_is_flat(method, D, seed):
    R = scalar_curvature(random_decoder(1, D, seed), random_points(5, 1, seed), method)
    assert R.abs().max().item() < 1e-10


# ---------------------------------------------------------------- invariances

@methods
@given(seed=st.integers(0, 10 ** 6))
def test_invariant_under_ambient_isometries(method, seed):
    dec = random_decoder(2, 4, seed)
    gen = torch.Generator().manual_seed(seed + 1)
    q, _ = torch.linalg.qr(torch.randn(4, 4, dtype=F64, generator=gen))
    b = torch.randn(4, dtype=F64, generator=gen)
    z = random_points(4, 2, seed)
    c = curvature(dec, z, method)
    assert_close_conditioned(scalar_curvature(lambda x: dec(x) @ q.T + b, z, method), c.scalar, c)


@methods
@given(seed=st.integers(0, 10 ** 6))
def test_reparametrisation_moves_curvature_with_the_points(method, seed):
    dec = random_decoder(2, 3, seed)
    gen = torch.Generator().manual_seed(seed + 2)
    a = torch.randn(2, 2, dtype=F64, generator=gen) + 3 * torch.eye(2, dtype=F64)
    phi = lambda z: z @ a.T + 0.3 * torch.tanh(z).flip(-1)   # a diffeomorphism near z
    z = random_points(4, 2, seed, 0.5)
    c = curvature(lambda x: dec(phi(x)), z, method)
    assert_close_conditioned(c.scalar, scalar_curvature(dec, phi(z), method), c)


@methods
@given(seed=st.integers(0, 10 ** 6), c=st.floats(0.1, 10.0))
def test_scaling_the_decoder_divides_curvature_by_c_squared(method, seed, c):
    dec = random_decoder(3, 5, seed)
    z = random_points(3, 3, seed)
    base = curvature(dec, z, method)
    assert_close_conditioned(scalar_curvature(lambda x: c * dec(x), z, method) * c ** 2,
                             base.scalar, base)


# ---------------------------------------------------------------- identities

@methods
@given(seed=st.integers(0, 10 ** 6))
def test_riemann_symmetries_and_first_bianchi_identity(method, seed):
    c = curvature(random_decoder(3, 5, seed), random_points(3, 3, seed), method)
    rm = c.riemann
    assert rm.abs().max().item() > 1e-6
    tol = dict(rtol=0, atol=1e-12 * rounding_scale(c).max().item())
    torch.testing.assert_close(rm, -rm.permute(0, 2, 1, 3, 4), **tol)      # R_abce = -R_bace
    torch.testing.assert_close(rm, -rm.permute(0, 1, 2, 4, 3), **tol)      # R_abce = -R_abec
    torch.testing.assert_close(rm, rm.permute(0, 3, 4, 1, 2), **tol)       # pair symmetry
    bianchi = rm + rm.permute(0, 2, 3, 1, 4) + rm.permute(0, 3, 1, 2, 4)   # R_abce+R_bcae+R_cabe
    torch.testing.assert_close(bianchi, torch.zeros_like(rm), **tol)


@methods
@given(seed=st.integers(0, 10 ** 6))
def test_two_dimensional_ricci_is_half_scalar_times_metric(method, seed):
    c = curvature(random_decoder(2, 4, seed), random_points(4, 2, seed), method)
    torch.testing.assert_close(c.ricci, 0.5 * c.scalar[:, None, None] * c.metric,
                               rtol=0, atol=1e-12 * rounding_scale(c).max().item())


@given(d=st.integers(2, 4), extra=st.integers(0, 3), seed=st.integers(0, 10 ** 6))
def test_intrinsic_and_extrinsic_routes_agree_on_random_mlps(d, extra, seed):
    dec, z = random_decoder(d, d + extra, seed), random_points(3, d, seed)
    # curvature is defined only where the decoder is an immersion: a random square map (extra = 0)
    # can fold at a sampled point (seed 556: eigenvalue ratio 2.7e-9), which both routes reject
    ratio = torch.linalg.eigvalsh(pullback_metric(dec, z))
    assume(bool((ratio[:, 0] / ratio[:, -1] > 1e-6).all()))
    a, b = intrinsic_curvature(dec, z), extrinsic_curvature(dec, z)
    tol = 1e-12 * rounding_scale(a)
    assert ((a.riemann - b.riemann).flatten(1).abs().max(1).values <= tol).all()
    assert ((a.ricci - b.ricci).flatten(1).abs().max(1).values <= tol).all()
    assert_close_conditioned(a.scalar, b.scalar, a)
    torch.testing.assert_close(scalar_curvature(dec, z, "extrinsic"), b.scalar)


# ---------------------------------------------------------------- bad input

@methods
def test_latent_dimension_above_ambient_is_rejected(method):
    with pytest.raises(ValueError, match="d=3.*D=2"):
        scalar_curvature(lambda z: z[:, :2] ** 2, random_points(2, 3, 0), method)


@methods
def test_singular_metric_is_rejected_with_the_point(method):
    # Psi(x, y) = (x, y^3, 0) is not an immersion on the line y = 0 (point index 1).
    dec = lambda z: torch.stack([z[:, 0], z[:, 1] ** 3, 0 * z[:, 0]], -1)
    with pytest.raises(ValueError, match=r"singular.*\[1\]"):
        scalar_curvature(dec, t([0.1, 0.5], [0.2, 0.0]), method)


@methods
def test_non_finite_decoder_output_is_rejected(method):
    dec = lambda z: torch.stack([z[:, 0], z[:, 1], torch.log(z[:, 0])], -1)
    with pytest.raises(ValueError, match="not finite"):
        scalar_curvature(dec, t([0.5, 0.5], [-1.0, 0.5]), method)


def test_unknown_method_and_bad_points_are_rejected():
    with pytest.raises(ValueError, match="method"):
        scalar_curvature(swiss_roll, t([1.0, 1.0]), "numerical")
    with pytest.raises(ValueError, match="z"):
        scalar_curvature(swiss_roll, t([float("nan"), 1.0]))


def test_metric_function_of_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match="metric"):
        metric_curvature(lambda z: torch.eye(3, dtype=F64).expand(z.shape[0], 3, 3), t([1.0, 1.0]))


@methods
def test_float32_decoders_are_supported_at_float32_accuracy(method):
    z = torch.tensor([[0.7, 0.3], [1.2, -2.0]], dtype=torch.float32)
    R = scalar_curvature(sphere_angles(2.0), z, method)
    assert R.dtype == torch.float32
    torch.testing.assert_close(R, torch.full((2,), 0.5), rtol=1e-3, atol=0)
