"""Schedules as data (pdeflow.schedules) and prediction types (pdeflow.conventions): tables,
callables, Karras sigmas; exact mixtures under each; every prediction type to the score and back;
the exact field and a constant error through the error profile of pdeflow validate."""
import math

import numpy as np
import pytest

from pdeflow.conventions import (EDM, PREDICTIONS, VE, VP, FlowMatching, FokkerPlanckConvention,
                                 SubVP)
from pdeflow.exact import CorruptedMixture, GaussianMixture
from pdeflow.modelcheck import error_profile
from pdeflow.problems.base import ExactMixtureProblem
from pdeflow.problems.mixtures import anisotropic, separated
from pdeflow.schedules import (SCHEDULES, DiscreteSchedule, FunctionSchedule, cosine,
                               ddpm_linear, karras, karras_sigmas, scaled_linear)

NAMED = {name: factory() for name, factory in SCHEDULES.items()}
#: schedule, its time interval and an interior time for pointwise checks
ALL = [(NAMED["ddpm-linear"], (0.0, 999.0), 123.4), (NAMED["scaled-linear"], (0.0, 999.0), 321.7),
       (NAMED["cosine"], (0.0, 999.0), 998.3), (NAMED["karras"], (0.002, 80.0), 3.3),
       (VP(), (1e-3, 1.0), 0.3), (SubVP(), (1e-3, 1.0), 0.3), (VE(), (1e-5, 1.0), 0.4),
       (FlowMatching(), (1e-3, 0.999), 0.4), (FokkerPlanckConvention(), (1e-3, 5.0), 0.7),
       (FunctionSchedule(lambda t: np.cos(t * np.pi / 2), lambda t: np.sin(t * np.pi / 2),
                         time_range=(0.0, 1.0), name="trig"), (1e-3, 0.999), 0.6)]
IDS = ["ddpm", "scaled-linear", "cosine", "karras", "vp", "sub-vp", "ve", "fm", "fp", "trig"]


def test_named_tables_match_their_definitions_and_published_values():
    # cosine: the betas telescope, so abar_n = f((n+1)/N) / f(0) wherever the clip is inactive
    sched, n = cosine(), np.arange(1000)
    f = lambda u: np.cos((u + 0.008) / 1.008 * np.pi / 2) ** 2
    clipped = 1 - f((n + 1) / 1000) / f(n / 1000) > 0.999
    assert clipped.sum() == 1 and clipped[-1]           # only the last step is clipped
    np.testing.assert_allclose(sched.alphas_cumprod[:-1], (f((n + 1) / 1000) / f(0))[:-1],
                               rtol=1e-12)
    assert abs(sched.betas[-1] - 0.999) < 1e-12
    # Stable Diffusion's noise range (scaled-linear, 0.00085 -> 0.012): sigma 0.0292 ... 14.6146
    sigmas = scaled_linear().sigmas
    assert abs(sigmas[0] - 0.0291675) < 1e-6 and abs(sigmas[-1] - 14.6146) < 1e-4
    # DDPM linear: sqrt(abar_999) = 0.00635 (Ho et al.'s x_T is almost pure noise)
    assert abs(math.sqrt(ddpm_linear().alphas_cumprod[-1]) - 0.0063528) < 1e-6
    np.testing.assert_allclose(ddpm_linear().betas, np.linspace(1e-4, 0.02, 1000), rtol=1e-9)
    s = karras_sigmas(10, 0.002, 80.0, 7.0)
    assert s[0] == pytest.approx(80.0, rel=1e-14) and s[-1] == pytest.approx(0.002, rel=1e-12)
    np.testing.assert_allclose(np.diff(s ** (1 / 7)), np.diff(s ** (1 / 7))[0], rtol=1e-10)


def test_discrete_schedule_timestep_convention():
    sched = ddpm_linear()
    n = np.array([0.0, 1.0, 500.0, 999.0])
    np.testing.assert_allclose(sched.scale(n) ** 2, sched.alphas_cumprod[n.astype(int)],
                               rtol=1e-14)
    np.testing.assert_allclose(sched.scale(n) ** 2 + sched.noise(n) ** 2, 1.0, rtol=1e-14)
    # log abar is linear between entries: beta(t) is constant on [n, n+1) and g^2 = beta
    t = np.array([10.0, 10.25, 10.999])
    assert np.ptp(sched.beta(t)) == 0
    assert sched.beta(10.5) == pytest.approx(math.log(sched.alphas_cumprod[10]
                                                      / sched.alphas_cumprod[11]), rel=1e-12)
    np.testing.assert_allclose(sched.diffusion_squared(t), sched.beta(t), rtol=1e-15)
    # the k-diffusion sigma and its inverse
    assert sched.timestep_of_sigma(sched.sigmas[37]) == pytest.approx(37.0, abs=1e-9)
    assert sched.timestep_of_sigma(sched.denoiser_sigma(12.3)) == pytest.approx(12.3, abs=1e-9)
    with pytest.raises(ValueError, match="timestep in"):
        sched.scale(1000.5)
    with pytest.raises(ValueError, match="strictly decreasing"):
        DiscreteSchedule([0.5, 0.6])
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        DiscreteSchedule.from_betas([0.1, 1.0])


@pytest.mark.parametrize("conv,span,t", ALL, ids=IDS)
def test_rates_match_finite_differences(conv, span, t):
    h = 1e-8 * (span[1] - span[0])
    for value, rate in ((conv.scale, conv.scale_rate), (conv.noise, conv.noise_rate)):
        fd = (value(t + h) - value(t - h)) / (2 * h)
        assert abs(fd - rate(t)) < 1e-6 * max(1e-3, abs(fd)), (fd, rate(t))
    b2 = lambda s: conv.noise(s) ** 2
    generic = (b2(t + h) - b2(t - h)) / (2 * h) - 2 * conv.drift_coefficient(t) * b2(t)
    assert abs(generic - conv.diffusion_squared(t)) < 1e-6 * max(1e-3, abs(generic))


def test_function_schedule_from_the_vp_callables_reproduces_vp():
    vp = VP()
    mine = FunctionSchedule(vp.scale, vp.noise, time_range=(0.0, 1.0), name="my-vp")
    t = np.array([0.0, 0.05, 0.3, 0.99, 1.0])
    np.testing.assert_allclose(mine.scale_rate(t), vp.scale_rate(t), rtol=1e-8)
    inner = t[1:]                      # b ~ sqrt(t) is not smooth at t = 0
    np.testing.assert_allclose(mine.noise_rate(inner), vp.noise_rate(inner), rtol=1e-7)
    np.testing.assert_allclose(mine.diffusion_squared(inner), vp.beta(inner), rtol=1e-6)
    given = FunctionSchedule(vp.scale, vp.noise, scale_rate=vp.scale_rate,
                             noise_rate=vp.noise_rate, time_range=(0.0, 1.0))
    assert given.diffusion_squared(0.4) == pytest.approx(float(vp.beta(0.4)), rel=1e-13)
    with pytest.raises(ValueError, match="time_range"):
        mine.scale(1.5)
    with pytest.raises(TypeError, match="callable"):
        FunctionSchedule(1.0, vp.noise, time_range=(0, 1))


@pytest.mark.parametrize("conv,span,t", ALL, ids=IDS)
def test_exact_mixture_under_every_schedule(conv, span, t):
    """Continuity equation d_t p + div(p v) = 0 by finite differences, the velocity equals the
    probability-flow formula, the score is grad log p."""
    mix = GaussianMixture([0.3, 0.7], [[1.0, -0.5], [-1.0, 0.8]],
                          [[[0.3, 0.1], [0.1, 0.2]], [[0.2, 0.0], [0.0, 0.4]]])
    cm = CorruptedMixture(conv, mix)
    y = cm.sample(t, 4, 1)
    e = 1e-7 * (span[1] - span[0])
    dp = (cm.density(t + e, y) - cm.density(t - e, y)) / (2 * e)
    parts, grad = [dp], []
    for j, step in enumerate(1e-5 * np.eye(2)):
        flux = lambda z: cm.density(t, z) * cm.velocity(t, z)[:, j]
        parts.append((flux(y + step) - flux(y - step)) / 2e-5)
        grad.append((np.log(cm.density(t, y + step)) - np.log(cm.density(t, y - step))) / 2e-5)
    size = max(np.abs(p).max() for p in parts)      # the terms that must cancel
    np.testing.assert_allclose(sum(parts), 0.0, atol=1e-6 * size)
    np.testing.assert_allclose(cm.velocity(t, y), conv.velocity_from_score(t, cm.score(t, y), y),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cm.score(t, y), np.stack(grad, 1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("conv,span,t", ALL, ids=IDS)
def test_every_prediction_type_round_trips_to_the_score(conv, span, t):
    mix = anisotropic(3)
    cm = CorruptedMixture(conv, mix)
    for time in (span[0], t, span[1]):
        if isinstance(conv, FlowMatching) and time == span[0]:
            continue
        x = cm.sample(time, 50, 2)
        s = cm.score(time, x)
        # the conditioning of the maps: x0 and the velocity carry s times b^2 and g^2 / 2 next
        # to x, so s comes back with rounding errors of |x| / b^2 and |f x| / (g^2 / 2)
        size = np.abs(s).max()
        cond = max(1.0, np.abs(x).max() / (conv.noise(time) ** 2 * size),
                   abs(conv.drift_coefficient(time)) * np.abs(x).max()
                   / (0.5 * abs(conv.diffusion_squared(time)) * size))
        for prediction in PREDICTIONS:
            out = conv.prediction_from_score(prediction, time, s, x)
            back = conv.score_from(prediction, time, out, x)
            err = np.abs(back - s).max() / size
            assert err < 1e-13 * cond, (prediction, time, err, cond)
    # the published forms: eps = -b s, v = a eps - b x0, x0 = (x + b^2 s) / a
    x = cm.sample(t, 5, 3)
    s = cm.score(t, x)
    a, b = conv.scale(t), conv.noise(t)
    eps, x0 = -b * s, (x + b * b * s) / a
    np.testing.assert_allclose(conv.prediction_from_score("v", t, s, x), a * eps - b * x0,
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="prediction must be one of"):
        conv.score_from("logits", t, s, x)


def _exact_model(problem, kind):
    """The exact field of ``problem`` as a model of ``kind`` (numpy callable)."""
    conv = problem.convention
    if kind == "denoiser":
        def denoiser(x_scaled, sigma):
            times = (sigma if isinstance(conv, EDM) else conv.timestep_of_sigma(sigma))
            x = conv.scale(times)[:, None] * x_scaled
            return conv.prediction_from_score("denoiser", times, problem.score(times, x), x)
        return denoiser
    prediction = {"noise": "epsilon"}.get(kind, kind)
    return lambda t, x: conv.prediction_from_score(prediction, t, problem.score(t, x), x)


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
@pytest.mark.parametrize("kind", ["score", "epsilon", "v", "sample", "velocity", "denoiser"])
def test_exact_field_and_constant_error_through_the_error_profile(schedule, kind):
    """For every named schedule and prediction type: the exact field gives eps2 < 1e-20 and a
    constant score error c gives |c|^2 (T - t_min)."""
    conv = NAMED[schedule]
    t_min, T = conv.time_range
    problem = ExactMixtureProblem(f"{schedule}-separated-2d", conv, separated(2), t_min, T, "")
    exact = error_profile(_exact_model(problem, kind), problem, kind, samples=200,
                          profile_points=9, seed=1)
    assert exact["eps2_score"] < 1e-20 and exact["eps2_velocity"] < 1e-20, exact["eps2_score"]
    c = np.array([0.3, -0.2])
    shifted = _exact_model(_Shifted(problem, c), kind)
    report = error_profile(shifted, problem, kind, samples=200, profile_points=9, seed=1)
    expected = (c ** 2).sum() * (T - t_min)
    assert abs(report["eps2_score"] / expected - 1) < 1e-9, report["eps2_score"] / expected


class _Shifted:
    """``problem`` with the score moved by a constant c."""

    def __init__(self, problem, c):
        self.problem, self.c, self.convention = problem, c, problem.convention

    def score(self, t, x):
        return self.problem.score(t, x) + self.c
