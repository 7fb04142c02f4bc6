"""The ODE-vs-SDE study: log-uniform DSM times, the stationary-base potential, the sampler pair,
the distances, the results file, and (slow) the qualitative effect of w_R."""

import dataclasses
import math
import os

import numpy as np
import pytest
import torch
from scipy import stats

from pdeflow.equations import FokkerPlanck
from pdeflow.exact import GaussianMixture, GaussianMixtureFlow, gaussian_moments
from pdeflow.learn import (PotentialMLP, PotentialScore, StationaryPotential, fit_dsm,
                           fp_residual, sample_times)
from pdeflow.validation.metrics import wasserstein
from pdeflow.reproductions.ode_vs_sde import (StudyConfig, backward_pair, distances, error_profile,
                                           floor_case, load_results, make_model, make_truth,
                                           profile_eps2, run_case, save_results)

EQ = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
TINY = StudyConfig(hidden=(8,), steps=5, n_train=200, n_samples=60, sampler_steps=20, n_eval=64,
                   n_reference=50)


# ---------------------------------------------------------------------------------------------
# training times
# ---------------------------------------------------------------------------------------------
def test_uniform_times_are_the_previous_formula_bit_for_bit():
    a, b = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    old = 0.1 + (2.0 - 0.1) * torch.rand(500, generator=a, dtype=torch.float64)
    assert torch.equal(sample_times(500, 0.1, 2.0, "uniform", b), old)


def test_log_times_are_log_uniform():
    t = sample_times(4000, 0.02, 10.0, "log", torch.Generator().manual_seed(4)).numpy()
    assert t.min() >= 0.02 and t.max() <= 10.0
    u = (np.log(t) - math.log(0.02)) / (math.log(10.0) - math.log(0.02))
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert stats.kstest((t - 0.02) / 9.98, "uniform").pvalue < 1e-10   # not uniform in t


@pytest.mark.parametrize("call", [
    lambda: sample_times(5, 0.0, 1.0, "log"), lambda: sample_times(5, 0.1, 1.0, "cubic"),
    lambda: sample_times(5, 1.0, 0.5),
    lambda: fit_dsm(PotentialScore(PotentialMLP(2, (4,))), EQ, np.zeros((5, 2)), 0.1, 1.0,
                    time_sampling="cubic"),
    lambda: StationaryPotential(PotentialMLP(2, (4,)), FokkerPlanck(D=1.0, kappa=0.0, dim=2)),
    lambda: StudyConfig(t_min=0.0), lambda: StudyConfig(steps=0),
])
def test_bad_input_raises(call):
    with pytest.raises(ValueError):
        call()


# ---------------------------------------------------------------------------------------------
# the stationary-base potential
# ---------------------------------------------------------------------------------------------
def _zeroed_base(eq):
    mlp = PotentialMLP(2, (8,), activation="softplus", beta=100.0, n_frequencies=0,
                       dtype=torch.float64)
    with torch.no_grad():
        mlp.net[-1].weight.zero_()
    return StationaryPotential(mlp, eq)


@pytest.mark.parametrize("eq", [EQ, FokkerPlanck(D=0.3, kappa=2.0, dim=2)])
def test_stationary_base_alone_is_the_stationary_score_and_solves_fokker_planck(eq):
    phi = _zeroed_base(eq)
    x = torch.randn(200, 2, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    score = PotentialScore(phi)(0.7, x)
    assert torch.allclose(score, -eq.kappa / eq.D * x, atol=1e-12)
    assert fp_residual(phi, eq, 0.7, x).abs().max() < 1e-10
    moved = StationaryPotential(PotentialMLP(2, (8,), dtype=torch.float64, seed=1), eq)
    assert fp_residual(moved, eq, 0.7, x).abs().max() > 1e-3           # the check can fail


def test_stationary_base_score_grows_linearly_where_a_bare_softplus_mlp_saturates():
    cfg = dataclasses.replace(TINY, hidden=(16, 16))
    far = np.array([[30.0, 0.0], [60.0, 0.0]])
    based = make_model(cfg, 0)(1.0, far)
    bare = make_model(dataclasses.replace(cfg, stationary_base=False), 0)(1.0, far)
    assert np.allclose(based[1] - based[0], -2 * (far[1] - far[0]), atol=0.5)  # ~ -kappa/D dx
    assert np.abs(bare[1] - bare[0]).max() < 1.0                        # bounded gradient


# ---------------------------------------------------------------------------------------------
# sampler pair and distances
# ---------------------------------------------------------------------------------------------
def test_backward_pair_with_the_exact_score_reaches_the_gaussian_at_t_min():
    flow = GaussianMixtureFlow(EQ, GaussianMixture.isotropic([1.0], [[0.8, -0.4]], [0.3]))
    n, t_min = 6000, 0.1
    y = flow.at(5.0).sample(n, 1)
    ode, sde = backward_pair(EQ, flow.velocity, y, 5.0, t_min, 400, 2)
    mean, cov = gaussian_moments(EQ, flow.initial.means[0], flow.initial.covariances[0], t_min)
    for out in (ode, sde):   # Euler error O(dt) = 0.012 plus sampling error 5 sd
        assert np.all(np.abs(out.mean(0) - mean) < 5 * np.sqrt(np.diag(cov) / n) + 0.02)
        assert np.allclose(np.cov(out.T), cov, atol=0.02)
    assert not np.allclose(ode, sde)                                   # the SDE is noisy


def test_distances_report_squared_w2_and_the_plug_in_bias():
    rng = np.random.default_rng(3)
    a, b, c = (rng.normal(size=(80, 2)) for _ in range(3))
    d = distances(a, a + 1.0, b, c)
    assert d["w2sq_ode_sde"] == pytest.approx(2.0, rel=1e-9)          # a shift by (1, 1)
    assert d["w2sq_bias"] == pytest.approx(wasserstein(b, c) ** 2)
    assert d["w2sq_sde_target"] == pytest.approx(wasserstein(a + 1.0, b) ** 2)


def test_run_case_tiny_gives_finite_records_and_a_file_that_round_trips(tmp_path):
    records = [run_case("two_circles", w, 0, TINY) for w in (0.0, 1.0)]
    floors = [floor_case("gaussian_mixture", 0, TINY)]
    for r in records:
        assert all(np.all(np.isfinite(v)) for k, v in r.items()
                   if k not in ("target",) and not (k == "residual_loss" and r["w_R"] == 0))
        assert r["profile"].shape == (24,)
        # the quadrature of the profile over [t_min, 1] is part of the one over [t_min, T]
        assert 0 < r["eps2_profile_early"] < r["eps2_profile"]
    assert math.isnan(records[0]["residual_loss"]) and records[1]["residual_loss"] >= 0
    path = tmp_path / "r.h5"
    save_results(path, records, floors, TINY, {"note": "tiny"})
    runs, fl, cfg, meta = load_results(path)
    assert list(runs["target"]) == ["two_circles"] * 2 and meta == {"note": "tiny"}
    assert np.allclose(runs["w2sq_ode_sde"], [r["w2sq_ode_sde"] for r in records])
    assert runs["profile"].shape == (2, 24)
    assert fl["target"][0] == "gaussian_mixture" and cfg["steps"] == TINY.steps
    assert os.listdir(tmp_path) == ["r.h5"]                           # no temp file left


def test_profile_quadrature_integrates_a_known_profile():
    times = np.geomspace(0.02, 10.0, 400)
    assert profile_eps2(times, 1.0 / times) == pytest.approx(math.log(500.0), rel=1e-4)
    assert profile_eps2(times, np.ones_like(times), 1.0) == pytest.approx(0.98, rel=1e-2)


def test_error_profile_is_zero_for_the_truth_and_the_known_shift_otherwise():
    truth = make_truth("gaussian_mixture", TINY)
    times = np.array([0.05, 0.5, 5.0])
    assert np.allclose(error_profile(truth.flow.score, truth, times, 100, 0), 0)
    shifted = lambda t, x: truth.flow.score(t, x) + np.array([0.3, -0.4])  # noqa: E731
    assert np.allclose(error_profile(shifted, truth, times, 100, 0), 0.25)


def test_make_truth_is_exact_for_the_mixture_and_empirical_otherwise():
    assert make_truth("gaussian_mixture", TINY).exact
    truth = make_truth("checkerboard", TINY)
    assert not truth.exact and truth.flow.reference.shape == (TINY.n_reference, 2)


# ---------------------------------------------------------------------------------------------
# slow: the qualitative effect at reduced size (Gaussian mixture, w_R in {0, 10}, 2 seeds)
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_residual_weight_trades_score_accuracy_for_ode_sde_consistency():
    torch.set_num_threads(1)
    cfg = StudyConfig(steps=600, n_samples=800)
    truth = make_truth("gaussian_mixture", cfg)
    for seed in (0, 1):
        free, tied = (run_case("gaussian_mixture", w, seed, cfg, truth) for w in (0.0, 10.0))
        # the residual costs score accuracy against the exact truth, and the SDE samples move
        # away from the target by more than the plug-in bias
        assert tied["eps2_profile_early"] > 2 * free["eps2_profile_early"]
        assert tied["w2sq_sde_target"] > free["w2sq_sde_target"] + 2 * free["w2sq_bias"]
        # ... while ODE and SDE become consistent with each other: their distance, relative to
        # the distance to the target, drops. (The absolute W2^2(ODE, SDE) does NOT fall robustly
        # at this budget: it sits near the exact-score floor for most seeds; see docs.)
        assert tied["w2sq_ode_sde"] < 0.5 * tied["w2sq_sde_target"]
        assert (tied["w2sq_ode_sde"] / tied["w2sq_sde_target"]
                < 0.5 * free["w2sq_ode_sde"] / free["w2sq_sde_target"])
