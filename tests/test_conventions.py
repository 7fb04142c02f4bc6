"""Diffusion-model conventions (equations) and Gaussian mixtures under them (exact)."""
import numpy as np
import pytest

from pdeflow.equations import (EDM, VE, VP, FlowMatching, FokkerPlanck, FokkerPlanckConvention,
                               Heat, SubVP)
from pdeflow.exact import CorruptedMixture, GaussianMixture, GaussianMixtureFlow

CONVENTIONS = [(VP(), 0.3), (SubVP(), 0.3), (VE(), 0.4), (EDM(), 0.7), (FlowMatching(), 0.4),
               (FokkerPlanckConvention(D=0.7, kappa=1.3), 0.5),
               (FokkerPlanckConvention(D=0.7, kappa=0.0), 0.5)]
IDS = ["vp", "subvp", "ve", "edm", "fm", "fp", "heat"]


def _mixture(dim=2, seed=0, full=True):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((3, dim, dim))
    cov = a @ np.swapaxes(a, 1, 2) + 0.3 * np.eye(dim) if full else None
    if not full:
        cov = np.array([np.diag(rng.uniform(0.2, 1.5, dim)) for _ in range(3)])
    return GaussianMixture([0.3, 0.3, 0.4], 1.5 * rng.standard_normal((3, dim)), cov)


@pytest.mark.parametrize("conv,t", CONVENTIONS, ids=IDS)
def test_schedule_derivatives_match_finite_differences(conv, t):
    h = 1e-6
    for value, rate in ((conv.scale, conv.scale_rate), (conv.noise, conv.noise_rate)):
        fd = (value(t + h) - value(t - h)) / (2 * h)
        assert abs(fd - rate(t)) < 1e-7 * max(1.0, abs(fd))
    # g^2 = d(b^2)/dt - 2 f b^2 from the generic formula equals the subclass's closed form
    b2 = lambda s: conv.noise(s) ** 2
    generic = (b2(t + h) - b2(t - h)) / (2 * h) - 2 * conv.drift_coefficient(t) * b2(t)
    assert abs(generic - conv.diffusion_squared(t)) < 1e-6 * max(1.0, abs(generic))


def test_closed_form_diffusions_of_the_published_sdes():
    t = np.array([0.1, 0.5, 0.9])
    vp, sub, ve = VP(), SubVP(), VE()
    np.testing.assert_allclose(vp.diffusion_squared(t), 0.1 + 19.9 * t, rtol=1e-14)
    np.testing.assert_allclose(sub.diffusion_squared(t),
                               vp.beta(t) * (1 - np.exp(-2 * vp.clock(t))), rtol=1e-12)
    np.testing.assert_allclose(ve.diffusion_squared(t),
                               2 * ve.sigma(t) ** 2 * np.log(50 / 0.01), rtol=1e-13)
    np.testing.assert_allclose(EDM().diffusion_squared(t), 2 * t, rtol=1e-15)
    np.testing.assert_allclose(ve.noise(t), 0.01 * 5000 ** t, rtol=1e-13)
    np.testing.assert_allclose(vp.scale(t) ** 2 + vp.noise(t) ** 2, 1.0, rtol=1e-14)
    np.testing.assert_allclose(sub.noise(t), 1 - vp.scale(t) ** 2, rtol=1e-14)
    assert np.all(FlowMatching().diffusion_squared(t) < 0)


def _em_moments(conv, t0, t1, steps, m0, v0):
    """Euler-Maruyama mean and variance of dx = f x dt + g dW from N(m0, v0), exactly (linear
    SDE: the moments obey a deterministic recursion, no Monte Carlo)."""
    times = np.linspace(t0, t1, steps + 1)
    m, v = m0, v0
    for s, e in zip(times[:-1], times[1:]):
        dt = e - s
        growth = 1 + conv.drift_coefficient(s) * dt
        m, v = growth * m, growth ** 2 * v + conv.diffusion_squared(s) * dt
    return m, v


@pytest.mark.parametrize("conv,t0,t1", [(VP(), 0.0, 1.0), (SubVP(), 0.0, 1.0), (VE(), 0.0, 1.0),
                                        (EDM(), 0.5, 3.0), (FokkerPlanckConvention(), 0.0, 2.0)],
                         ids=["vp", "subvp", "ve", "edm", "fp"])
def test_euler_maruyama_moments_converge_at_weak_order_one(conv, t0, t1):
    m0, v0 = 0.8, 0.3
    a0, b0 = conv.scale(t0), conv.noise(t0)
    start_m, start_v = a0 * m0, a0 ** 2 * v0 + b0 ** 2
    exact_m, exact_v = conv.scale(t1) * m0, conv.scale(t1) ** 2 * v0 + conv.noise(t1) ** 2
    errors = []
    for steps in (400, 800, 1600):
        m, v = _em_moments(conv, t0, t1, steps, start_m, start_v)
        errors.append(abs(m - exact_m) + abs(v - exact_v))
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 0.9) & (orders < 1.1)), orders


def test_simulated_vp_sde_from_a_mixture_matches_the_exact_marginal():
    """Euler-Maruyama paths (n = 20000, 1000 steps) of the VP SDE from a 2-D mixture: mean,
    second moments and P(x_1 > 0) agree with the closed form within 4 Monte-Carlo SE."""
    conv, mix = VP(), _mixture(2)
    n, steps, t1 = 20000, 1000, 0.2
    rng = np.random.default_rng(3)
    x = mix.sample(n, rng)
    dt = t1 / steps
    for s in np.arange(steps) * dt:
        x = x + conv.drift_coefficient(s) * x * dt + np.sqrt(conv.diffusion_squared(s) * dt) \
            * rng.standard_normal(x.shape)
    exact = CorruptedMixture(conv, mix).sample(t1, 400000, 4)
    stats = lambda y: np.column_stack([y, y[:, :1] ** 2, y[:, 1:] ** 2, y[:, :1] * y[:, 1:],
                                       (y[:, :1] > 0)])
    a, b = stats(x), stats(exact)
    se = np.sqrt(a.var(0) / len(a) + b.var(0) / len(b))
    assert np.all(np.abs(a.mean(0) - b.mean(0)) < 4 * se), (a.mean(0) - b.mean(0)) / se


@pytest.mark.parametrize("conv,t", CONVENTIONS, ids=IDS)
def test_mixture_velocity_solves_the_continuity_equation(conv, t):
    cm = CorruptedMixture(conv, _mixture(2))
    y = cm.sample(t, 3, 1)
    e = 1e-4
    dp = (cm.density(t + e, y) - cm.density(t - e, y)) / (2 * e)
    div = 0.0
    for j in range(2):
        step = np.zeros(2)
        step[j] = e
        flux = lambda z: cm.density(t, z) * cm.velocity(t, z)[:, j]
        div = div + (flux(y + step) - flux(y - step)) / (2 * e)
    np.testing.assert_allclose(dp + div, 0.0, atol=1e-6 * np.abs(dp).max())
    # and equals the probability-flow formula f x - g^2/2 s
    np.testing.assert_allclose(cm.velocity(t, y),
                               conv.velocity_from_score(t, cm.score(t, y), y), atol=1e-11)


def test_score_is_the_gradient_of_the_log_density():
    cm = CorruptedMixture(SubVP(), _mixture(3))
    y = cm.sample(0.3, 4, 2)
    e = 1e-6
    fd = np.stack([(np.log(cm.density(0.3, y + e * d)) - np.log(cm.density(0.3, y - e * d)))
                   / (2 * e) for d in np.eye(3)], axis=1)
    np.testing.assert_allclose(cm.score(0.3, y), fd, rtol=1e-6, atol=1e-7)


def test_vp_and_ve_delegate_to_the_fokker_planck_and_heat_flows():
    mix = _mixture(2)
    vp, ve = VP(), VE()
    x = np.random.default_rng(5).standard_normal((6, 2))
    ou = GaussianMixtureFlow(FokkerPlanck(D=0.5, kappa=0.5, dim=2), mix)
    np.testing.assert_allclose(CorruptedMixture(vp, mix).score(0.4, x),
                               ou.score(float(vp.clock(0.4)), x), rtol=1e-13)
    heat = GaussianMixtureFlow(Heat(D=0.5, dim=2), mix)
    np.testing.assert_allclose(CorruptedMixture(ve, mix).score(0.4, x),
                               heat.score(float(ve.sigma(0.4)) ** 2, x), rtol=1e-13)
    # the pdeflow velocity -(D s + kappa x) is the convention's probability-flow velocity
    fp = FokkerPlanckConvention(D=0.5, kappa=0.5)
    np.testing.assert_allclose(CorruptedMixture(fp, mix).velocity(0.7, x), ou.velocity(0.7, x),
                               rtol=1e-12, atol=1e-14)


def test_flow_matching_source_end_is_finite_and_exact():
    mix = _mixture(2)
    cm = CorruptedMixture(FlowMatching(), mix)
    x = np.random.default_rng(6).standard_normal((5, 2))
    mean = mix.weights @ mix.means
    np.testing.assert_allclose(cm.velocity(0.0, x), mean - x, atol=1e-13)  # E[x1] - x0
    np.testing.assert_allclose(cm.score(0.0, x), -x, atol=1e-13)


def test_per_point_times_and_diagonal_fast_path():
    diag = _mixture(4, full=False)
    full = GaussianMixture(diag.weights, diag.means, diag.covariances + 1e-300)
    assert diag._diagonal_variances is not None and full._diagonal_variances is None
    x = np.random.default_rng(7).standard_normal((6, 4))
    t = np.array([0.1, 0.2, 0.1, 0.5, 0.2, 0.9])
    cd, cf = CorruptedMixture(VP(), diag), CorruptedMixture(VP(), full)
    np.testing.assert_allclose(cd.velocity(t, x), cf.velocity(t, x), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(cd.score(t, x), cf.score(t, x), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(cd.score(t, x)[3], cd.score(0.5, x[3:4])[0], rtol=1e-14)


@pytest.mark.parametrize("conv,t", CONVENTIONS, ids=IDS)
def test_noise_and_denoiser_maps_round_trip(conv, t):
    cm = CorruptedMixture(conv, _mixture(2))
    x = cm.sample(t, 5, 8)
    s = cm.score(t, x)
    np.testing.assert_allclose(conv.score_from_noise(t, conv.noise_from_score(t, s)), s,
                               rtol=1e-12)
    np.testing.assert_allclose(conv.score_from_denoiser(t, conv.denoiser_from_score(t, s, x), x),
                               s, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(conv.score_from_velocity(t, cm.velocity(t, x), x), s, rtol=1e-9,
                               atol=1e-10)


def test_high_dimensional_mixture():
    mix = GaussianMixture.isotropic([0.5, 0.5], np.eye(2, 128) * 3, [0.5, 1.0])
    cm = CorruptedMixture(VP(), mix)
    x = cm.sample(0.5, 10, 0)
    assert cm.score(0.5, x).shape == (10, 128) and cm.velocity(0.5, x).shape == (10, 128)


def test_published_conventions_refuse_other_parameters():
    for make, words in ((lambda: VE(D=1.0), "VE has"), (lambda: VP(kappa=1.0), "VP has"),
                        (lambda: VP(beta_min=2.0, beta_max=1.0), "beta_max"),
                        (lambda: VE(sigma_max=0.001), "sigma_max"),
                        (lambda: FokkerPlanckConvention(D=-1.0), "D must")):
        with pytest.raises(ValueError, match=words):
            make()
    with pytest.raises(ValueError, match="g\\^2 < 0"):
        FlowMatching().diffusion(0.5)
