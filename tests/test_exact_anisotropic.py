"""The exact anisotropic porous flow (AnisotropicBarenblatt) and sums of them with disjoint supports
(DisjointBarenblattMixture), checked against the PDE itself (finite
differences), its own velocity (RK4 flow maps), mass conservation, the Jacobian identity and the
radial Barenblatt closed forms."""
import math

import numpy as np
import pytest

from pdeflow.equations import PorousMedium
from pdeflow.exact import (AnisotropicBarenblatt, Barenblatt, ConfinedBarenblatt,
                           DisjointBarenblattMixture)
from pdeflow.solvers.flow_map import integrate_flow_map

D1 = np.array([-2.0, -1.0, 1.0, 2.0])               # 4th-order first derivative, offsets +-1, +-2
W1 = np.array([1.0, -8.0, 8.0, -1.0]) / 12.0


def spd(dim, seed, spread=1.0):
    """A non-diagonal SPD matrix with eigenvalues in [0.5, 0.5 + spread]."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    return (q * np.linspace(0.5, 0.5 + spread, dim)) @ q.T


def symmetric(dim, seed, scale=0.6):
    """A non-zero symmetric matrix (one negative eigenvalue when dim > 1)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    eig = np.linspace(-0.2, scale, dim) if dim > 1 else np.array([scale])
    return (q * eig) @ q.T


def general_flow(dim, m, seed=0, D=0.7):
    rng = np.random.default_rng(seed + 100)
    return AnisotropicBarenblatt(m, spd(dim, seed), 1.3, K=symmetric(dim, seed + 1), D=D,
                                 center=0.3 * rng.standard_normal(dim))


def inside_points(flow, t, n, seed, level=0.5):
    """n points with (x-mu)^T A (x-mu) / c <= level (uniform in that smaller ellipsoid)."""
    A, c, mu = flow.shape(t)
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n, flow.dim))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    z = math.sqrt(level * c) * rng.uniform(0, 1, n)[:, None] ** (1 / flow.dim) * u
    return mu + np.linalg.solve(np.linalg.cholesky(A).T, z.T).T


def pde_residual(flow, t, x, h, ht):
    """d_t rho - div(rho (grad(D m/(m-1) rho^(m-1)) + K x)) at x, by 4th-order central
    differences of the density alone (nested for the flux), and max |d_t rho| for scale."""
    m, D, K = flow.m, flow.D, flow.K
    drho = sum(w * flow.density(t + o * ht, x) for o, w in zip(D1, W1)) / ht
    div = np.zeros(len(x))
    for i in range(flow.dim):
        e = np.zeros(flow.dim)
        e[i] = h
        rho = {k: flow.density(t, x + k * e) for k in range(-4, 5)}
        pi = {k: D * m / (m - 1) * rho[k] ** (m - 1) for k in rho}
        flux = {}
        for j in (-2, -1, 1, 2):
            grad = sum(w * pi[j + o] for o, w in zip(D1.astype(int), W1)) / h
            flux[j] = rho[j] * (grad + (x + j * e) @ K[i])
        div += sum(w * flux[o] for o, w in zip(D1.astype(int), W1)) / h
    return drho - div, np.abs(drho).max()


def step_sizes(flow, t):
    A, c, _ = flow.shape(t)
    return 1e-3 * math.sqrt(c / np.linalg.eigvalsh(A).max())


@pytest.mark.parametrize("dim", [2, 8])
@pytest.mark.parametrize("m", [2.0, "dimaware"])
def test_pde_residual_general_k(dim, m):
    """Non-diagonal A0, symmetric K with a negative eigenvalue, moving centre, D != 1."""
    m = 1.0 + 1.0 / dim if m == "dimaware" else m
    flow = general_flow(dim, m)
    assert flow._mode == "general"
    for t in (0.05, 0.5, 2.0):
        x = inside_points(flow, t, 12, seed=int(10 * t))
        residual, scale = pde_residual(flow, t, x, step_sizes(flow, t), 1e-3)
        assert np.abs(residual).max() < 1e-6 * scale, (t, np.abs(residual).max() / scale)


@pytest.mark.parametrize("dim", [3, 8])
def test_pde_residual_isotropic_drift_anisotropic_data(dim):
    """K = kappa I with a non-diagonal A0: the one-scalar-ODE path."""
    flow = AnisotropicBarenblatt(1.5, spd(dim, 3, spread=3.0), 0.8, K=0.9 * np.eye(dim), D=1.4)
    assert flow._mode == "commuting"
    for t in (0.05, 1.0, 4.0):
        x = inside_points(flow, t, 10, seed=int(10 * t))
        residual, scale = pde_residual(flow, t, x, step_sizes(flow, t), 1e-3)
        assert np.abs(residual).max() < 1e-6 * scale


def test_dimension_128_fast():
    dim = 128
    for m in (2.0, 1.0 + 1.0 / dim):
        flow = AnisotropicBarenblatt.with_mass(m, spd(dim, 5, spread=2.0), 1.0, K=0.5 * np.eye(dim))
        assert math.isclose(flow.mass, 1.0, rel_tol=1e-12)
        t = 0.7
        x = inside_points(flow, t, 2, seed=1)
        residual, scale = pde_residual(flow, t, x, step_sizes(flow, t), 1e-3)
        assert np.abs(residual).max() < 1e-6 * scale
        samples = flow.sample(t, 200, seed=2)
        assert flow.in_support(t, samples).all()
        assert np.all(np.isfinite(flow.velocity(t, samples)))
        assert np.all(np.isfinite(flow.score(t, samples)))
        assert np.isfinite(flow.log_support_volume(t))


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("m", [2.0, 1.5, 3.0])
def test_isotropic_limit_is_free_barenblatt(dim, m):
    bar = Barenblatt(m, dim, C=0.8)
    t_start = 0.5
    flow = AnisotropicBarenblatt.from_barenblatt(bar, t_start)
    assert flow.equation == bar.equation
    numeric = AnisotropicBarenblatt.from_barenblatt(bar, t_start)
    numeric._mode = "general"                 # the integrator, checked against the closed form
    for s in (0.0, 0.3, 2.0):
        x = bar.support_radius(t_start + s) * np.random.default_rng(1).uniform(-0.55, 0.55,
                                                                               (30, dim))
        for f in (flow, numeric):
            np.testing.assert_allclose(f.density(s, x), bar.density(t_start + s, x), rtol=1e-10)
            np.testing.assert_allclose(f.velocity(s, x), bar.velocity(t_start + s, x),
                                       rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(f.flow_map(s, x[:5], t0=0.0) if s == 0 else
                                       f.flow_map(s, x, t0=0.1),
                                       x[:5] if s == 0 else bar.flow_map(t_start + s, x,
                                                                         t0=t_start + 0.1),
                                       rtol=1e-10, atol=1e-12)
        assert math.isclose(flow.mass, bar.mass, rel_tol=1e-12)


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("m", [2.0, 1.0 + 1.0 / 3.0])
def test_isotropic_limit_is_confined_barenblatt(dim, m):
    conf = ConfinedBarenblatt(m, dim, C=1.1, tau0=0.4)
    flow = AnisotropicBarenblatt.from_barenblatt(conf, 0.0)
    assert flow.equation == conf.equation == PorousMedium(m=m, D=1.0, kappa=1.0, dim=dim)
    numeric = AnisotropicBarenblatt.from_barenblatt(conf, 0.0)
    numeric._mode = "general"
    for t in (0.0, 0.4, 3.0):
        x = conf.support_radius(t) * np.random.default_rng(2).uniform(-0.55, 0.55, (30, dim))
        for f in (flow, numeric):
            np.testing.assert_allclose(f.density(t, x), conf.density(t, x), rtol=1e-10)
            np.testing.assert_allclose(f.velocity(t, x), conf.velocity(t, x), rtol=1e-10,
                                       atol=1e-12)
            np.testing.assert_allclose(f.flow_map(t, x, t0=0.0), conf.flow_map(t, x, t0=0.0),
                                       rtol=1e-10)
    outside = np.full((1, dim), 10.0 * conf.support_radius(0.0))
    np.testing.assert_allclose(flow.velocity(0.0, outside), -outside)   # -K x outside


@pytest.mark.parametrize("dim", [2, 8, 32, 128])
@pytest.mark.parametrize("kappa", [0.0, 0.7, -0.3])
def test_closed_forms_agree_with_the_integrators(dim, kappa):
    """radial closed form = the one-scalar ODE (K = kappa I) = the Phi ODE (d <= 32) to 1e-10."""
    for m in (2.0, 1.0 + 1.0 / dim):
        flows = [AnisotropicBarenblatt.isotropic(m, dim, 0.8, 1.3, kappa=kappa) for _ in range(3)]
        flows[1]._mode = "commuting"
        flows[2]._mode = "general"
        for t in (0.01, 1.0, 5.0):
            A, c, _ = flows[0].shape(t)
            for f in flows[1:] if dim <= 32 else flows[1:2]:
                A2, c2, _ = f.shape(t)
                assert np.abs(A2 - A).max() < 1e-10 * np.abs(A).max()
                assert abs(c2 - c) < 1e-10 * c
                assert np.abs(f.phi(t) - flows[0].phi(t)).max() < 1e-10 * flows[0].phi(t)[0, 0]


def test_one_scalar_ode_matches_its_quadrature():
    """K = kappa I: int_0^J prod_i (1 + 4 alpha_i u)^((m-1)/2) du = expm1(lambda kappa t)/(lambda
    kappa), checked by scipy quad on the integrator's J(t)."""
    from scipy.integrate import quad

    dim, m, kappa = 6, 1.7, 0.4
    alpha = np.linalg.eigvalsh(spd(dim, 9, spread=4.0))
    flow = AnisotropicBarenblatt(m, spd(dim, 9, spread=4.0), 1.0, K=kappa * np.eye(dim))
    lam = dim * (m - 1) + 2
    for t in (0.1, 1.0, 3.0):
        jay = float(flow._dense(t)[0])
        lhs, _ = quad(lambda u: np.prod((1 + 4 * alpha * u) ** ((m - 1) / 2)), 0, jay,
                      epsabs=0, epsrel=1e-13)
        assert math.isclose(lhs, math.expm1(lam * kappa * t) / (lam * kappa), rel_tol=1e-11)


@pytest.mark.parametrize("dim", [2, 8])
def test_flow_map_is_rk4_of_its_velocity(dim):
    flow = general_flow(dim, 2.0 if dim == 2 else 1.0 + 1.0 / dim)
    x0 = inside_points(flow, 0.0, 20, seed=4, level=0.7)
    times = np.array([0.0, 0.5, 1.5])
    rk4 = integrate_flow_map(flow, x0, times, method="rk4", dt=1e-3)
    for k, t in enumerate(times):
        exact = flow.flow_map(t, x0)
        assert np.abs(rk4.positions[k] - exact).max() < 1e-9
        np.testing.assert_allclose(flow.relative_level(t, exact), flow.relative_level(0.0, x0),
                                   rtol=1e-10)
    # composition X(t; s, X(s; 0, x)) = X(t; 0, x)
    np.testing.assert_allclose(flow.flow_map(1.5, flow.flow_map(0.5, x0), t0=0.5),
                               flow.flow_map(1.5, x0), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("dim", [2, 8])
def test_jacobian_identity(dim):
    """rho_0(x0) = rho_t(X) det(dX/dx0), dX/dx0 by central differences of flow_map."""
    flow = general_flow(dim, 1.5, seed=7)
    x0 = inside_points(flow, 0.2, 10, seed=5)
    h = 1e-4
    jac = np.stack([(flow.flow_map(1.3, x0 + h * e, t0=0.2) - flow.flow_map(1.3, x0 - h * e,
                                                                            t0=0.2)) / (2 * h)
                    for e in np.eye(dim)], axis=-1)                    # (n, d, d)
    np.testing.assert_allclose(jac, np.broadcast_to(flow.flow_jacobian(1.3, 0.2), jac.shape),
                               atol=1e-8)
    lhs = flow.density(0.2, x0)
    rhs = flow.density(1.3, flow.flow_map(1.3, x0, t0=0.2)) * np.linalg.det(jac)
    np.testing.assert_allclose(rhs, lhs, rtol=1e-8)


def test_mass_is_conserved_by_quadrature():
    """2-D: the density integrated on a fine grid equals .mass at several times (the support's
    moving front included)."""
    flow = general_flow(2, 2.0, seed=11)
    for t in (0.0, 0.5, 3.0):
        A, c, mu = flow.shape(t)
        half = math.sqrt(c / np.linalg.eigvalsh(A).min()) * 1.01
        n = 1600
        axis = (np.arange(n) + 0.5) / n * 2 * half - half
        xx, yy = np.meshgrid(axis + mu[0], axis + mu[1], indexing="ij")
        rho = flow.density(t, np.column_stack([xx.ravel(), yy.ravel()]))
        total = rho.sum() * (2 * half / n) ** 2
        assert abs(total - flow.mass) < 2e-5 * flow.mass, (t, total / flow.mass - 1)
        A, c, _ = flow.shape(t)
        log_mass_t = (math.log(flow._q) / (flow.m - 1) - 0.5 * np.linalg.slogdet(A)[1]
                      + math.log(math.pi) + (1 / (flow.m - 1) + 1) * math.log(c)
                      - math.log(1 / (flow.m - 1) + 1))      # int (c - |z|^2)_+^n dz in 2-D
        assert math.isclose(log_mass_t, flow.log_mass, abs_tol=1e-10)


@pytest.mark.parametrize("dim,m", [(2, 2.0), (8, 1.125)])
def test_score_velocity_and_pressure_are_consistent(dim, m):
    flow = general_flow(dim, m, seed=13)
    t = 0.8
    x = inside_points(flow, t, 15, seed=6)
    h = 1e-5 * step_sizes(flow, t) * 1e3
    eye = np.eye(dim)
    grad_log = np.stack([(flow.log_density(t, x + h * e) - flow.log_density(t, x - h * e))
                         / (2 * h) for e in eye], axis=1)
    grad_p = np.stack([(flow.pressure(t, x + h * e) - flow.pressure(t, x - h * e)) / (2 * h)
                       for e in eye], axis=1)
    np.testing.assert_allclose(flow.score(t, x), grad_log, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(flow.velocity(t, x), -grad_p - x @ flow.K, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(flow.density(t, x), np.exp(flow.log_density(t, x)), rtol=1e-12)
    outside = flow.shape(t)[2] + 100.0
    assert np.isnan(flow.score(t, outside[None])).all()
    assert flow.density(t, outside[None])[0] == 0.0


@pytest.mark.parametrize("dim,m", [(2, 2.0), (8, 1.125), (32, 1.0 + 1.0 / 32)])
def test_samples_have_the_exact_law(dim, m):
    """E[(x-mu)^T A (x-mu)/c] = (d/2)/(d/2 + 1/(m-1) + 1) (a Beta mean) and the sample
    covariance is c E[r^2]/d A^-1, both within 5 standard errors."""
    flow = general_flow(dim, m, seed=17)
    t, n = 0.6, 20000
    x = flow.sample(t, n, seed=8)
    assert flow.in_support(t, x).all()
    A, c, mu = flow.shape(t)
    level = flow.relative_level(t, x)
    a, b = dim / 2, 1 / (m - 1) + 1
    mean_r2 = a / (a + b)
    assert abs(level.mean() - mean_r2) < 5 * level.std() / math.sqrt(n)
    cov = c * mean_r2 / dim * np.linalg.inv(A)
    white = np.linalg.solve(np.linalg.cholesky(cov), (x - mu).T).T     # ~ identity covariance
    assert np.abs(white.mean(0)).max() < 5 / math.sqrt(n)
    emp = white.T @ white / n
    assert np.abs(emp - np.eye(dim)).max() < 6 * math.sqrt(2.0 / n) * 1.5
    assert np.array_equal(flow.sample(t, 10, seed=3), flow.sample(t, 10, seed=3))


def test_support_volume():
    flow = general_flow(3, 2.0, seed=19)
    A, c, _ = flow.shape(1.0)
    expected = 4 / 3 * math.pi * c ** 1.5 / math.sqrt(np.linalg.det(A))
    assert math.isclose(flow.support_volume(1.0), expected, rel_tol=1e-12)


def test_equation_only_when_expressible():
    assert general_flow(2, 2.0).equation is None
    assert AnisotropicBarenblatt.isotropic(2.0, 8, 1.0, 1.0, kappa=1.0).equation == PorousMedium(
        m=2.0, D=1.0, kappa=1.0, dim=8)                              # PorousMedium takes d <= 128
    assert AnisotropicBarenblatt.isotropic(2.0, 2, 1.0, 1.0, kappa=-0.5).equation is None
    assert AnisotropicBarenblatt(3.0, spd(2, 1), 1.0, K=0.5 * np.eye(2), D=2.0).equation == \
        PorousMedium(m=3.0, D=2.0, kappa=0.5, dim=2)


@pytest.mark.parametrize("kwargs,word", [
    (dict(m=1.0), "m"), (dict(m=float("nan")), "m"),
    (dict(A0=np.array([[1.0, 0.0], [0.0, -1.0]])), "A0"),
    (dict(A0=np.array([[1.0, 0.5], [0.0, 1.0]])), "A0"),
    (dict(A0=np.ones(2)), "A0"), (dict(A0=np.eye(3)[:2]), "A0"),
    (dict(c0=0.0), "c0"), (dict(c0=-1.0), "c0"), (dict(c0=float("inf")), "c0"),
    (dict(K=np.array([[0.0, 1.0], [0.0, 0.0]])), "K"), (dict(K=np.eye(3)), "K"),
    (dict(D=0.0), "D"), (dict(center=np.zeros(3)), "center"),
])
def test_bad_input_names_the_parameter(kwargs, word):
    args = dict(m=2.0, A0=np.eye(2), c0=1.0, K=None, D=1.0, center=None)
    args.update(kwargs)
    with pytest.raises(ValueError, match=rf"\b{word}\b"):
        AnisotropicBarenblatt(**args)
    flow = AnisotropicBarenblatt(2.0, np.eye(2), 1.0)
    with pytest.raises(ValueError, match="x"):
        flow.density(0.0, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="t"):
        flow.density(-1.0, np.zeros((3, 2)))


# ----------------------------------------------------------------------------------------------
# Disjoint mixtures and their first contact time
# ----------------------------------------------------------------------------------------------
def two_balls(dim, kappa, m=2.0):
    e1 = np.eye(dim)[0]
    return (AnisotropicBarenblatt.isotropic(m, dim, 1.0, 1.0, kappa=kappa, center=1.5 * e1),
            AnisotropicBarenblatt.isotropic(m, dim, 2.0, 0.5, kappa=kappa, center=-1.0 * e1))


@pytest.mark.parametrize("dim", [2, 8, 32])
@pytest.mark.parametrize("kappa", [0.0, 0.5])
def test_contact_time_of_two_balls(dim, kappa):
    """Radial components: contact when |mu_1 - mu_2| = R_1 + R_2, found independently by
    brentq on the radii sqrt(c/a)."""
    from scipy.optimize import brentq

    balls = two_balls(dim, kappa)

    def gap(t):
        (A1, c1, mu1), (A2, c2, mu2) = balls[0].shape(t), balls[1].shape(t)
        return (np.linalg.norm(mu1 - mu2) - math.sqrt(c1 / A1[0, 0])
                - math.sqrt(c2 / A2[0, 0]))

    horizon = 50.0
    mix = DisjointBarenblattMixture(balls, horizon=horizon)
    if gap(horizon) > 0:                        # K = 0 in high d: the supports grow too slowly
        assert mix.contact_time == math.inf and mix.valid_until == horizon
        return
    expected = brentq(gap, 0.0, horizon, xtol=1e-14, rtol=1e-15)
    lo, hi = mix.contact_bracket
    assert lo <= expected * (1 + 1e-12) and expected <= hi * (1 + 1e-12)
    assert hi - lo <= 1e-10 * max(lo, 1.0)
    assert mix.contact_time == lo and mix.contact_pair == (0, 1)


def _grid_overlap(components, t, n=1200):
    """True if some point of a fine 2-D grid lies in two supports (proves an overlap)."""
    boxes = []
    for comp in components:
        A, c, mu = comp.shape(t)
        half = np.sqrt(c * np.diag(np.linalg.inv(A)))
        boxes.append((mu - half, mu + half))
    lower = np.min([b[0] for b in boxes], axis=0)
    upper = np.max([b[1] for b in boxes], axis=0)
    axes = [np.linspace(lower[k], upper[k], n) for k in range(2)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 2)
    inside = [comp.in_support(t, grid) for comp in components]
    return bool(np.any(inside[0] & inside[1]))


@pytest.mark.parametrize("general", [False, True])
def test_contact_time_of_two_ellipses_by_brute_force(general):
    """Anisotropic, rotated ellipses (K = kappa I: the bisection; a general symmetric K: the
    certified march): no grid point lies in both supports just before the contact time, and the
    first time a grid point does (bisection on the grid predicate) is at most 2e-3 later."""
    K = np.array([[0.6, 0.25], [0.25, 0.1]]) if general else 0.4 * np.eye(2)
    comps = (AnisotropicBarenblatt(2.0, np.array([[3.0, 1.2], [1.2, 1.0]]), 1.0, K=K,
                                   center=[1.4, 0.3]),
             AnisotropicBarenblatt(2.0, np.array([[1.0, -0.4], [-0.4, 2.5]]), 0.7, K=K,
                                   center=[-1.2, -0.4]))
    mix = DisjointBarenblattMixture(comps, horizon=20.0)
    tc = mix.contact_time
    assert 0 < tc < 20
    assert not _grid_overlap(comps, tc * (1 - 1e-4))
    assert _grid_overlap(comps, tc + 0.05)
    lo, hi = tc * (1 - 1e-4), tc + 0.05
    for _ in range(14):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if _grid_overlap(comps, mid) else (mid, hi)
    assert tc <= hi < tc + 2e-3 * tc


def test_times_past_contact_are_refused():
    mix = DisjointBarenblattMixture(two_balls(2, 0.5))
    tc = mix.contact_time
    x = mix.sample(0.9 * tc, 50, seed=1)
    late = tc * (1 + 1e-6)
    for call in (lambda: mix.density(late, x), lambda: mix.velocity(late, x),
                 lambda: mix.score(late, x), lambda: mix.flow_map(late, x, t0=0.5 * tc),
                 lambda: mix.flow_map(0.5 * tc, x, t0=late), lambda: mix.sample(late, 3, 0),
                 lambda: mix.pressure(late, x), lambda: mix.support_volume(late)):
        with pytest.raises(ValueError, match=rf"t0? = {late}.*contact time {tc:.12g}"):
            call()
    mix.density(tc, x)                                       # the contact time itself is valid


def test_overlapping_or_mismatched_components_are_refused():
    a = AnisotropicBarenblatt.isotropic(2.0, 2, 1.0, 1.0, center=[0.0, 0.0])
    b = AnisotropicBarenblatt.isotropic(2.0, 2, 1.0, 1.0, center=[1.5, 0.0])     # overlaps a
    touching = AnisotropicBarenblatt.isotropic(2.0, 2, 1.0, 1.0, center=[2.0, 0.0])
    with pytest.raises(ValueError, match="components 0 and 1 have overlapping"):
        DisjointBarenblattMixture([a, b])
    with pytest.raises(ValueError, match="overlapping or touching"):
        DisjointBarenblattMixture([a, touching])
    far = AnisotropicBarenblatt.isotropic(1.5, 2, 1.0, 1.0, center=[5.0, 0.0])
    with pytest.raises(ValueError, match="m and D"):
        DisjointBarenblattMixture([a, far])
    with pytest.raises(ValueError, match="K"):
        DisjointBarenblattMixture([a, AnisotropicBarenblatt.isotropic(2.0, 2, 1.0, 1.0,
                                                                      kappa=1.0,
                                                                      center=[5.0, 0.0])])
    with pytest.raises(ValueError, match="components"):
        DisjointBarenblattMixture([])


@pytest.mark.parametrize("dim", [2, 8])
def test_mixture_solves_the_pde_and_flows_by_component(dim):
    K = symmetric(dim, 21, scale=0.4)
    centres = 2.5 * np.eye(dim)[:3] if dim > 2 else np.array([[2.5, 0], [-2.5, 0], [0, 2.5]])
    comps = [AnisotropicBarenblatt(1.0 + 1.0 / dim, spd(dim, 30 + k, spread=2.0), 0.5, K=K,
                                   center=centres[k]) for k in range(3)]
    mix = DisjointBarenblattMixture(comps, horizon=30.0)
    t = 0.5 * min(mix.contact_time, 2.0)
    x = np.concatenate([inside_points(c, t, 5, seed=k) for k, c in enumerate(comps)])
    residual, scale = pde_residual(mix, t, x, min(step_sizes(c, t) for c in comps), 1e-3 * t)
    assert np.abs(residual).max() < 1e-6 * scale
    x0 = mix.sample(0.0, 40, seed=3)
    rk4 = integrate_flow_map(mix, x0, np.array([0.0, t]), method="rk4", dt=1e-3)
    assert np.abs(rk4.final - mix.flow_map(t, x0)).max() < 1e-9
    np.testing.assert_array_equal(mix.component_index(t, mix.flow_map(t, x0)),
                                  mix.component_index(0.0, x0))
    assert np.isnan(mix.flow_map(t, np.full((1, dim), 50.0))).all()
    assert np.isnan(mix.score(t, np.full((1, dim), 50.0))).all()
    far = np.full((1, dim), 50.0)
    np.testing.assert_allclose(mix.velocity(t, far), -far @ K)
    assert math.isclose(mix.mass, sum(c.mass for c in comps), rel_tol=1e-14)
    assert math.isclose(mix.support_volume(t), sum(c.support_volume(t) for c in comps),
                        rel_tol=1e-14)


def test_mixture_samples_follow_the_masses():
    comps = [AnisotropicBarenblatt.with_mass(2.0, np.eye(3) * 4.0, mass, center=centre)
             for mass, centre in ((0.2, [3.0, 0, 0]), (0.5, [-3.0, 0, 0]), (0.3, [0, 3.0, 0]))]
    mix = DisjointBarenblattMixture(comps, horizon=2.0)
    n = 20000
    x = mix.sample(1.0, n, seed=4)
    share = np.bincount(mix.component_index(1.0, x), minlength=3) / n
    np.testing.assert_allclose(share, [0.2, 0.5, 0.3], atol=5 * math.sqrt(0.25 / n))


def test_inputs_are_copied_not_frozen():
    A0, K, centre = spd(2, 1), symmetric(2, 2), np.array([0.5, -0.5])
    flow = AnisotropicBarenblatt(2.0, A0, 1.0, K=K, center=centre)
    centre[0] = 9.0                                  # the caller's arrays stay theirs
    A0[0, 0] = 9.0
    assert flow.center[0] == 0.5 and flow.A0[0, 0] != 9.0
    with pytest.raises(ValueError):
        flow.center[0] = 1.0


def test_one_component_mixture_has_no_contact():
    flow = AnisotropicBarenblatt(2.0, spd(2, 3), 1.0, center=[0.2, 0.1])
    mix = DisjointBarenblattMixture([flow], horizon=1.0)
    assert mix.contact_time == math.inf and mix.valid_until == math.inf
    x = flow.sample(5.0, 20, seed=1)
    np.testing.assert_array_equal(mix.density(5.0, x), flow.density(5.0, x))
    np.testing.assert_array_equal(mix.flow_map(5.0, x, t0=5.0), flow.flow_map(5.0, x, t0=5.0))
