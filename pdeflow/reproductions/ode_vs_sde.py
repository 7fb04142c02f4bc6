"""ODE-vs-SDE agreement of a learned score as a function of the Fokker-Planck residual weight.

The seed study: train a conservative score s = grad phi by denoising score matching plus
w_R E[R^2] (the log-Fokker-Planck residual), sample backwards from the stationary law with the
probability-flow ODE (alpha = 0) and the reverse SDE (alpha = 1) driven by the same network, and
compare the two sample sets with each other and with the true rho_{t_min}. Because the forward
solution is known (exactly for a Gaussian mixture, as a smoothed empirical measure otherwise),
the score error eps against the truth is reported next to every distance.

* :class:`StudyConfig` - all knobs of one run (network, training budget, sampler, sample sizes).
* :func:`make_truth` - the exact forward flow of a named toy target (score + exact sampler).
* :func:`backward_pair` - ODE and SDE samples at t_min from the same starting points.
* :func:`run_case` - one (target, w_R, seed): train, sample, measure; returns a flat dict.
* :func:`save_results` - the records as an HDF5 table (atomic write).

Distances are squared W2 (length^2) by exact linear programming (POT) on n points each; the
plug-in bias is measured in the same run as W2^2 between two independent exact samples of
rho_{t_min} of the same size (``w2sq_bias``).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..equations import FokkerPlanck
from ..exact import GaussianMixtureFlow
from ..learn import (PotentialMLP, PotentialScore, ScoreVelocity, StationaryPotential,
                     field_error, fit_dsm)
from ..learn.targets import TimeSliceTarget
from ..learn.toy_targets import EmpiricalFlow, toy_sampler
from ..solvers.backward import sample_backward
from ..validation.metrics import wasserstein

__all__ = ["StudyConfig", "Truth", "EQUATION", "make_truth", "score_target", "make_model",
           "train_model", "evaluate_model", "model_from_checkpoint", "backward_pair",
           "distances", "error_profile", "profile_eps2", "profile_times", "run_case",
           "floor_case", "save_results", "load_results"]


@dataclass(frozen=True)
class StudyConfig:
    """One run's settings (times in the equation's units).

    Attributes
    ----------
    hidden, beta : PotentialMLP widths and Softplus beta (the seed setup: (80, 80, 80), 100).
    stationary_base : ``phi = -kappa |x|^2 / (2 D) + MLP`` (learn.StationaryPotential) instead of
        the bare MLP (the seed setup), so the score grows like the true one at large ``|x|``.
    steps, batch_size, lr : Adam budget of fit_dsm (lr decays by 10x over the run).
    time_sampling : training times, 'log' (log-uniform) or 'uniform' (see learn.sample_times).
    T, t_min : training window and sampler span [t_min, T].
    sampler_steps : Euler / Euler-Maruyama steps from T to t_min (uniform).
    n_train : training sample size; n_samples : points per sample set for W2 and the samplers.
    n_eval : held-out points for eps; n_reference, bandwidth : the empirical truth (non-mixture).
    n_distance : the exact-W2 columns of :func:`distances` use the first ``n_distance`` points of
        each sample set (0: all ``n_samples``); larger sets are for the debiased estimators.
    """

    hidden: tuple = (80, 80, 80)
    beta: float = 100.0
    stationary_base: bool = True
    steps: int = 1000
    batch_size: int = 256
    lr: float = 3e-3
    time_sampling: str = "log"
    T: float = 10.0
    t_min: float = 0.02
    sampler_steps: int = 800
    n_train: int = 20000
    n_samples: int = 2000
    n_eval: int = 2048
    n_reference: int = 4000
    bandwidth: float = 0.01
    n_distance: int = 0

    def __post_init__(self):
        if not (0 < self.t_min < self.T):
            raise ValueError(f"need 0 < t_min < T, got t_min={self.t_min}, T={self.T}")
        for name in ("steps", "batch_size", "sampler_steps", "n_train", "n_samples", "n_eval",
                     "n_reference"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value}")
        if int(self.n_distance) != self.n_distance or not 0 <= self.n_distance <= self.n_samples:
            raise ValueError(f"n_distance must be an integer in [0, n_samples], "
                             f"got {self.n_distance}")


EQUATION = FokkerPlanck(D=0.5, kappa=1.0, dim=2)   # f = -x, g = 1: stationary N(0, I/2)


@dataclass(frozen=True)
class Truth:
    """The forward solution of a toy target: ``flow`` has .score(t, x) / .velocity(t, x);
    ``sample(t, n, seed)`` draws exact samples of rho_t; ``exact`` is False for the empirical
    stand-in (then ``bandwidth`` and ``n_reference`` describe it)."""

    name: str
    flow: object
    sample: object
    exact: bool


def make_truth(name: str, config: StudyConfig, equation: FokkerPlanck = EQUATION,
               reference_seed: int = 2024) -> Truth:
    """The truth of target ``name``: the exact mixture flow for 'gaussian_mixture', otherwise an
    :class:`EmpiricalFlow` of ``config.n_reference`` points (seed ``reference_seed``, fixed
    across training seeds) smoothed by ``config.bandwidth``."""
    sampler, mixture = toy_sampler(name)
    if mixture is not None:
        flow = GaussianMixtureFlow(equation, mixture)
        return Truth(name, flow, lambda t, n, seed: flow.at(t).sample(n, seed), True)
    flow = EmpiricalFlow(equation, sampler(config.n_reference, reference_seed), config.bandwidth)
    return Truth(name, flow, flow.sample, False)


def score_target(truth: Truth, t_min: float, t_max: float, n_times: int = 32) -> TimeSliceTarget:
    """eps target: x ~ rho_t, the true score, t ~ U[t_min, t_max]."""
    return TimeSliceTarget(lambda t, n, rng: truth.sample(t, n, rng), truth.flow.score,
                           t_min, t_max, n_times)


def error_profile(model, truth: Truth, times, n_per_time: int, seed) -> np.ndarray:
    """Mean squared score error e(t_k) = E_{rho_t}|s_theta - s|^2 at each time of ``times`` (K,),
    on ``n_per_time`` exact samples per time; returns (K,)."""
    rng = np.random.default_rng(seed)
    out = np.empty(len(times))
    for k, t in enumerate(times):
        x = truth.sample(float(t), int(n_per_time), rng)
        out[k] = np.mean(((model(float(t), x) - truth.flow.score(float(t), x)) ** 2).sum(1))
    return out


def profile_eps2(times, profile, t_max: float | None = None) -> float:
    """eps^2 = int e(t) dt over [times[0], t_max] by the trapezoid rule on the (log-spaced)
    nodes ``times``; with the error concentrated near t_min this is far less noisy than
    uniform Monte Carlo in t."""
    times, profile = np.asarray(times, dtype=np.float64), np.asarray(profile, dtype=np.float64)
    keep = times <= (times[-1] if t_max is None else t_max) + 1e-12
    return float(np.trapezoid(profile[keep], times[keep]))


def backward_pair(equation, velocity, y, T: float, t_min: float, steps: int, seed):
    """(ODE, SDE) samples (n, d) at t_min from the same starting points ``y`` (n, d) at T:
    fixed-step Euler (alpha = 0) and Euler-Maruyama (alpha = 1, noise from ``seed``), ``steps``
    uniform steps each, both driven by the forward ``velocity``."""
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps}")
    times, dt = np.array([T, t_min], dtype=np.float64), (T - t_min) / steps
    ode = sample_backward(equation, velocity, y, times, alpha=0.0, method="euler", dt=dt)
    sde = sample_backward(equation, velocity, y, times, alpha=1.0, method="euler", dt=dt,
                          seed=seed)
    return ode.final, sde.final


def _w2sq(x, y) -> float:
    return wasserstein(x, y, p=2) ** 2


def distances(ode, sde, ref_a, ref_b) -> dict:
    """Squared W2 of the pairs of interest; ``ref_a``, ``ref_b`` independent samples of the
    truth at t_min of the same size (their distance is the plug-in bias at that n)."""
    return {"w2sq_ode_sde": _w2sq(ode, sde), "w2sq_sde_target": _w2sq(sde, ref_a),
            "w2sq_ode_target": _w2sq(ode, ref_a), "w2sq_bias": _w2sq(ref_a, ref_b)}


def make_model(config: StudyConfig, seed: int, equation: FokkerPlanck = EQUATION) -> PotentialScore:
    """s = grad phi, phi = MLP(t/T, x) with Softplus(beta) (the seed paper's network), plus the
    stationary log-density if ``config.stationary_base``."""
    mlp = PotentialMLP(2, config.hidden, activation="softplus", beta=config.beta, n_frequencies=0,
                       horizon=config.T, seed=seed)
    return PotentialScore(StationaryPotential(mlp, equation) if config.stationary_base else mlp)


def profile_times(config: StudyConfig, k: int = 24) -> np.ndarray:
    """``k`` log-spaced times from t_min to T (the nodes of the score-error profile)."""
    return np.geomspace(config.t_min, config.T, k)


def train_model(name: str, residual_weight: float, seed: int, config: StudyConfig,
                equation: FokkerPlanck = EQUATION, checkpoint=None):
    """(model, TrainResult): DSM + w_R E[R^2] on ``config.n_train`` samples of target ``name``
    (seed [seed, 0]); deterministic for a given (name, w_R, seed, config) on one thread.
    ``checkpoint`` (e.g. :class:`~pdeflow.reproductions.checkpoint.TorchCheckpoint`) makes the
    training resumable bit-for-bit (see :func:`pdeflow.learn.train_loop`)."""
    sampler, _ = toy_sampler(name)
    data = sampler(config.n_train, [seed, 0])
    model = make_model(config, seed, equation)
    result = fit_dsm(model, equation, data, config.t_min, config.T, steps=config.steps,
                     batch_size=config.batch_size, lr=config.lr, seed=seed,
                     residual_weight=residual_weight, n_eval=0,
                     time_sampling=config.time_sampling, checkpoint=checkpoint)
    return model, result


def run_case(name: str, residual_weight: float, seed: int, config: StudyConfig,
             truth: Truth | None = None, equation: FokkerPlanck = EQUATION, checkpoint=None,
             keep_samples: bool = False) -> dict:
    """Train, sample and measure one (target, w_R, seed). Returns a flat dict: eps^2 over
    [t_min, T] and [t_min, 1] by Monte Carlo in t (+ standard errors), the error profile e(t)
    on :func:`profile_times` (array) and its quadrature ``eps2_profile`` / ``eps2_profile_early``,
    the W2^2 of :func:`distances`, the final training losses and wall times; with
    ``keep_samples`` also the sample sets ``ode``, ``sde``, ``ref_a``, ``ref_b``
    (n_samples, 2) each. ``checkpoint``: see :func:`train_model` (``train_seconds`` is then
    the wall time of this call's part of the training)."""
    truth = truth or make_truth(name, config, equation)
    start = time.perf_counter()
    model, result = train_model(name, residual_weight, seed, config, equation, checkpoint)
    train_s = time.perf_counter() - start
    tail = max(1, config.steps // 10)
    record = evaluate_model(model, name, residual_weight, seed, config, truth, equation,
                            keep_samples)
    record.update({"dsm_loss": float(np.mean(result.extra["dsm"][-tail:])),
                   "residual_loss": (float(np.mean(result.extra["residual"][-tail:]))
                                     if result.extra["residual"] else float("nan")),
                   "train_seconds": train_s})
    return record


def evaluate_model(model, name: str, residual_weight: float, seed: int, config: StudyConfig,
                   truth: Truth, equation: FokkerPlanck = EQUATION,
                   keep_samples: bool = False) -> dict:
    """Everything :func:`run_case` measures on a trained ``model`` (eps^2, profile, samplers,
    distances; no training columns)."""
    eps_full = field_error(model, score_target(truth, config.t_min, config.T), config.n_eval,
                           seed=[seed, 1])
    eps_early = field_error(model, score_target(truth, config.t_min, 1.0), config.n_eval,
                            seed=[seed, 2])
    start = time.perf_counter()
    y = math.sqrt(equation.D / equation.kappa) * np.random.default_rng([seed, 3]).standard_normal(
        (config.n_samples, 2))
    ode, sde = backward_pair(equation, ScoreVelocity(model, equation), y, config.T, config.t_min,
                             config.sampler_steps, [seed, 4])
    sample_s = time.perf_counter() - start
    ref_a = truth.sample(config.t_min, config.n_samples, [seed, 5])
    ref_b = truth.sample(config.t_min, config.n_samples, [seed, 6])
    record = profile_record(model, truth, config, seed)
    record.update({"target": name, "w_R": float(residual_weight), "seed": int(seed),
                   "eps2": eps_full.eps2, "eps2_se": eps_full.stderr,
                   "eps2_early": eps_early.eps2, "eps2_early_se": eps_early.stderr,
                   "sample_seconds": sample_s})
    record.update(_distances_of(config, ode, sde, ref_a, ref_b, keep_samples))
    return record


def model_from_checkpoint(path, config: StudyConfig, seed: int,
                          equation: FokkerPlanck = EQUATION):
    """(model, step): the network of :func:`make_model` with the weights of a training
    checkpoint (:class:`~pdeflow.reproductions.checkpoint.TorchCheckpoint` file)."""
    import torch

    state = torch.load(path, map_location="cpu", weights_only=False)
    model = make_model(config, seed, equation)
    model.load_state_dict(state["model"])
    return model, int(state["step"])


def _distances_of(config: StudyConfig, ode, sde, ref_a, ref_b, keep_samples: bool) -> dict:
    n = config.n_distance or config.n_samples
    out = distances(ode[:n], sde[:n], ref_a[:n], ref_b[:n])
    if keep_samples:
        out.update({"ode": ode, "sde": sde, "ref_a": ref_a, "ref_b": ref_b})
    return out


def profile_record(model, truth: Truth, config: StudyConfig, seed: int,
                   n_per_time: int = 256) -> dict:
    """{"profile": e(t_k) (K,), "eps2_profile": int_{t_min}^T e, "eps2_profile_early":
    int_{t_min}^1 e} for ``model`` against ``truth`` (points seeded by [seed, 7])."""
    times = profile_times(config)
    profile = error_profile(model, truth, times, n_per_time, [seed, 7])
    return {"profile": profile, "eps2_profile": profile_eps2(times, profile),
            "eps2_profile_early": profile_eps2(times, profile, 1.0)}


def floor_case(name: str, seed: int, config: StudyConfig, truth: Truth | None = None,
               equation: FokkerPlanck = EQUATION, keep_samples: bool = False) -> dict:
    """The same samplers and distances driven by the TRUE score: what 800 Euler steps and n
    points give with eps = 0 (the floor under every learned-score number); ``keep_samples`` as
    in :func:`run_case`."""
    truth = truth or make_truth(name, config, equation)
    y = math.sqrt(equation.D / equation.kappa) * np.random.default_rng([seed, 3]).standard_normal(
        (config.n_samples, 2))
    ode, sde = backward_pair(equation, truth.flow.velocity, y, config.T, config.t_min,
                             config.sampler_steps, [seed, 4])
    ref_a = truth.sample(config.t_min, config.n_samples, [seed, 5])
    ref_b = truth.sample(config.t_min, config.n_samples, [seed, 6])
    return {"target": name, "seed": int(seed),
            **_distances_of(config, ode, sde, ref_a, ref_b, keep_samples)}


_SCHEMA = "pdeflow.ode_vs_sde/1"


def save_results(path, records: list, floors: list, config: StudyConfig, meta: dict) -> None:
    """Write the records (one row per run) and floors to HDF5 at ``path`` atomically.

    Layout: groups ``runs`` and ``floors``, one dataset per column (``target`` as UTF-8 strings,
    array-valued columns such as ``profile`` stacked to (rows, K));
    attributes ``config`` and ``meta`` (JSON) and ``schema`` = 'pdeflow.ode_vs_sde/1'.
    """
    import h5py

    from ..io import atomic_file

    def write(tmp):
        with h5py.File(tmp, "w") as f:
            f.attrs["schema"] = _SCHEMA
            f.attrs["config"] = json.dumps(asdict(config))
            f.attrs["meta"] = json.dumps(meta)
            for group, rows in (("runs", records), ("floors", floors)):
                g = f.create_group(group)
                for key in (rows[0] if rows else {}):
                    column = [row[key] for row in rows]
                    if isinstance(column[0], str):
                        g.create_dataset(key, data=np.array(column, dtype=h5py.string_dtype()))
                    else:
                        g.create_dataset(key, data=np.asarray(column, dtype=np.float64))

    atomic_file(path, write)


def load_results(path) -> tuple:
    """(runs, floors, config dict, meta dict) from :func:`save_results`; runs / floors are
    dicts of columns (numpy arrays; ``target`` as str)."""
    import h5py

    from ..io import open_readable

    path = Path(path)
    f = open_readable(path)
    out = []
    with f:
        if f.attrs.get("schema") != _SCHEMA or not {"runs", "floors"} <= set(f):
            raise ValueError(f"{str(path)!r} is not an ode_vs_sde results file (schema "
                             f"{f.attrs.get('schema')!r}, expected {_SCHEMA!r})")
        for group in ("runs", "floors"):
            cols = {}
            for key, ds in f[group].items():
                cols[key] = (ds.asstr()[()] if h5py.check_string_dtype(ds.dtype) else ds[()])
            out.append(cols)
        return out[0], out[1], json.loads(f.attrs["config"]), json.loads(f.attrs["meta"])
