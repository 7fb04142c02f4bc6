"""``validate(model, problem, kind=...)``: a user's model against a problem's truth, in one call.

1. Error profile: at ``profile_points`` log-spaced nodes t_i (denser towards the data end),
   ``samples`` exact points of rho_{t_i}; e(t_i) = mean ``|f_model - f|^2`` with its Monte-Carlo
   standard error, for the score and the velocity. Integrated over [t_min, T] by the trapezoid
   rule in t (quadrature in t, not Monte Carlo in t; unweighted, so a constant score error c
   gives exactly ``|c|^2 (T - t_min)``); the rule on every other node gives the quadrature error.
2. Samples: ``samples`` exact points of the noise end rho_{noise} are carried to the data end by
   the probability-flow ODE (RK4) and the reverse SDE (Euler-Maruyama) of the model, and
   compared with independent exact samples there: sliced W2 (``directions`` directions, all
   points; also debiased, sqrt(SW2^2 - floor mean of SW2^2)), exact W2 on ``w2_points``
   (dim <= ``w2_max_dim``), MMD^2 on ``mmd_points`` (kernel: a sum over bandwidths
   median distance / :data:`MMD_SCALES`). Each has a floor: the same distance between
   two independent exact samples of the same size, mean and standard deviation over
   ``floor_draws`` (W2: ``w2_draws``) pairs; the floor SD is the statistic's sampling SD at that
   size (its standard error) and z = (value - floor mean) / floor SD how far above the floor
   it sits.
3. Flow map: the model's ODE endpoints against the exact field's ODE (twice the steps) from
   the same ``flow_map_points`` starts, per particle: mean ``|T_hat - T*|^2`` with its standard
   error, RMS, L2-UVP = ``100 E|T_hat - T*|^2 / Var(T*)`` (Korotin et al. 2021), the share of the
   top 1 % of particles.
4. Memorisation (``training_set`` given): :func:`pdeflow.validation.metrics.memorisation` of
   the ODE samples against the training set and as many fresh exact samples.
5. Verdict: one line per quantity (consistent with the truth or not) and the headline: the
   samples are consistent with the truth iff sliced W2 and MMD^2 of the ODE and the SDE samples
   are each at most :data:`Z_THRESHOLD` floor SD above their floors.
"""
from __future__ import annotations

import math
import time

import numpy as np

from ..progress import progress_bar
from ..validation.metrics import (_sq_dists, check_cloud, flow_map_error, memorisation, mmd2,
                                  sliced_w2,
                                  wasserstein2)
from .protocol import ModelAdapter
from .report import ValidationReport
from .sampling import probability_flow, reverse_sde

__all__ = ["validate", "error_profile", "trapezoid_weights", "Z_THRESHOLD", "MMD_SCALES"]


def trapezoid_weights(times) -> np.ndarray:
    """Weights w with sum_i w_i e(t_i) = trapezoid rule of e on the (increasing) nodes."""
    times = np.asarray(times, dtype=np.float64)
    h = np.diff(times)
    w = np.zeros_like(times)
    w[:-1] += 0.5 * h
    w[1:] += 0.5 * h
    return w


def _integral(times, values, se):
    """(integral, its standard error, quadrature error estimate) of nodal values."""
    w = trapezoid_weights(times)
    value = float(w @ values)
    coarse = float(trapezoid_weights(times[::2]) @ values[::2]) if len(times) % 2 else math.nan
    return value, float(np.sqrt((w * w) @ (se * se))), abs(value - coarse)


#: The score of an exact float64 model is exact only to rounding, magnified by the conversion
#: of its output: s = (a x0_hat - x) / b^2 from a sample / denoiser output divides the rounding
#: of x0_hat (relative ~eps) by b^2. The field line allows e(t) up to
#: (ROUNDING_ULPS eps)^2 (E|x|^2 / b^4 + E|s|^2) for that (an exact k-diffusion denoiser on
#: ddpm-separated-2d: e = 4.9e-24 at b = 0.01, where the allowance is 2e-20; a wrong model's
#: e is > 1e-4 there).
ROUNDING_ULPS = 64


def _rounding_allowance(problem, t, x, exact_score) -> float:
    """(ROUNDING_ULPS eps)^2 (E|x|^2 / b(t)^4 + E|s|^2) at the points ``x`` (n, d)."""
    conv = problem.convention
    unit = (ROUNDING_ULPS * np.finfo(np.float64).eps) ** 2
    scale = float((exact_score ** 2).sum(1).mean())
    b = float(conv.noise(np.array([t]))[0]) if conv is not None else 0.0
    if b > 0:       # b = 0 (no noise) has no conversion to magnify; never an infinite slack
        scale += float((x ** 2).sum(1).mean()) / b ** 4
    return unit * scale


def _profile(adapter, problem, times, n, rng, progress):
    rows = []
    for t in progress_bar(times, desc="error profile", progress=progress, leave=False):
        x = problem.sample(t, n, rng)
        score, velocity = adapter.fields(t, x)
        dv = ((velocity - problem.velocity(t, x)) ** 2).sum(1)
        exact_score = None if score is None else problem.score(t, x)
        ds = None if score is None else ((score - exact_score) ** 2).sum(1)
        truth = problem.velocity_truth_error(t, x)
        rows.append((math.nan if ds is None else ds.mean(),
                     math.nan if ds is None else ds.std(ddof=1) / math.sqrt(n),
                     dv.mean(), dv.std(ddof=1) / math.sqrt(n),
                     0.0 if truth is None else float((truth ** 2).mean()),
                     0.0 if ds is None else _rounding_allowance(problem, t, x, exact_score)))
    return np.array(rows).T


def _integrals(adapter, problem, times, n, rng, progress) -> dict:
    """The error profile at ``times`` and its integrals (the keys of :func:`error_profile`)."""
    conv = problem.convention
    e_s, e_s_se, e_v, e_v_se, e_truth, e_round = _profile(adapter, problem, times, n, rng,
                                                          progress)
    has_score = bool(np.all(np.isfinite(e_s)))
    eps2_s = _integral(times, e_s, e_s_se) if has_score else (None, None, None)
    eps2_v = _integral(times, e_v, e_v_se)
    eps2_noise = (_integral(times, conv.noise(times) ** 2 * e_s, conv.noise(times) ** 2 * e_s_se)
                  if has_score else (None, None, None))
    return {"times": times, "e_score": e_s, "e_score_se": e_s_se, "e_velocity": e_v,
            "e_velocity_se": e_v_se, "e_velocity_truth": e_truth, "e_score_rounding": e_round,
            "eps2_score": eps2_s[0], "eps2_score_se": eps2_s[1],
            "eps2_score_quadrature": eps2_s[2], "eps2_noise": eps2_noise[0],
            "eps2_noise_se": eps2_noise[1], "eps2_noise_quadrature": eps2_noise[2],
            "eps2_velocity": eps2_v[0], "eps2_velocity_se": eps2_v[1],
            "eps2_velocity_quadrature": eps2_v[2],
            "eps2_velocity_truth": float(trapezoid_weights(times) @ e_truth)}


def error_profile(model, problem, kind: str | None = None, *, samples: int = 10000, seed: int = 0,
                  profile_points: int = 33, device=None, batch_size: int = 65536,
                  progress: bool = False, name: str | None = None) -> dict:
    """Only part 1 of :func:`validate` (no sampling): e(t) at the ``profile_points`` nodes and
    the integrals eps2_score, eps2_noise, eps2_velocity with their standard errors and
    quadrature errors, as a dict with the keys of the report (``times``, ``e_score``, ...,
    ``eps2_velocity_truth``). Same arguments as :func:`validate`."""
    if isinstance(problem, str):
        from ..problems import get

        problem = get(problem)
    _check_counts(samples=samples, profile_points=profile_points)
    adapter = ModelAdapter(model, kind, problem, device=device, batch_size=batch_size, name=name)
    return _integrals(adapter, problem, problem.profile_times(profile_points), int(samples),
                      np.random.default_rng(seed), progress)


def _check_counts(**counts):
    lows = {"samples": 10, "profile_points": 5, "ode_steps": 1, "sde_steps": 1, "w2_points": 2,
            "w2_draws": 5, "mmd_points": 2, "flow_map_points": 1, "floor_draws": 5,
            "directions": 1}
    for label, value in counts.items():
        low = lows[label]
        if int(value) != value or value < low:
            raise ValueError(f"{label} must be an integer >= {low}, got {value}")
    if "profile_points" in counts and counts["profile_points"] % 2 == 0:
        raise ValueError(f"profile_points must be odd (the quadrature error uses every other "
                         f"node), got {counts['profile_points']}")


def _median_bandwidth(x, rng, m=1000):
    pick = x[rng.choice(len(x), min(m, len(x)), replace=False)]
    d2 = _sq_dists(pick, pick)      # by a matrix product: (m, m) memory, not (m, m, d)
    return float(np.sqrt(np.median(d2[np.triu_indices(len(pick), 1)])))


#: a sample-level distance is "consistent with the truth" while it sits at most this many floor
#: standard deviations above its floor (with the floor SD from 16 draws, P(t_15 > 4) = 0.06 %
#: per distance, about 0.2 % false alarms over the four distances of the headline: sliced W2 and
#: MMD^2 of the ODE and SDE samples; W2 has its own line but its floor SD rests on 5 solves)
Z_THRESHOLD = 4.0


#: the MMD kernel is the sum of Gaussian kernels with bandwidths median distance / these: the
#: median alone mostly sees how much mass each mode holds, the smaller ones the shape inside
#: the modes (a score scaled by 0.9 on vp-separated-2d: +1.1 floor SD with the median alone,
#: +8.6 with the sum, 1000 points)
MMD_SCALES = (1.0, 2.0, 4.0, 8.0)


def _floor_stats(draw, metric, draws):
    values = np.array([metric(draw(), draw()) for _ in range(draws)])
    return {"mean": float(values.mean()), "std": float(values.std(ddof=1)),
            "mean_square": float((values ** 2).mean()), "draws": int(draws)}


def _zscore(value, floor):
    std = floor.get("std")
    if value is None or std is None or not std > 0:
        return None
    return float((value - floor["mean"]) / std)


def _flow_map_stats(y_model, y_exact) -> dict:
    """Per-particle flow-map error: mean ``|T_hat - T*|^2`` with its standard error, the RMS, the
    L2-UVP ``100 E|T_hat - T*|^2 / Var(T*)`` (Korotin et al. 2021), the share of the top 1 %."""
    sq = ((y_model - y_exact) ** 2).sum(1)
    n = len(sq)
    mean, se = float(sq.mean()), float(sq.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    var = float(((y_exact - y_exact.mean(0)) ** 2).sum(1).mean())
    rms = math.sqrt(mean)
    top = np.sort(sq)[::-1][:max(1, n // 100)]
    return {"rms": rms, "rms_se": se / (2 * rms) if rms > 0 else 0.0, "mean_square": mean,
            "mean_square_se": se, "l2_uvp": 100.0 * mean / var, "l2_uvp_se": 100.0 * se / var,
            "target_variance": var,
            "top1_share": float(top.sum() / sq.sum()) if sq.sum() > 0 else 0.0, "points": n}


def _verdicts(r: dict) -> tuple:
    """One line per quantity, and the headline (the samples), from the report's numbers."""
    lines = []

    def field_line(key, label, field):
        value, se = r[key], r[key + "_se"]
        if value is None:
            return
        quad = r.get(key + "_quadrature") or 0.0
        # consistent iff no profile node is significantly above 0 (3 SE; a certified truth
        # adds 9 x its own squared error, the resolution of the velocity; the score adds the
        # rounding an exact float64 model makes, ROUNDING_ULPS)
        e, e_se = r["e_" + field], r["e_" + field + "_se"]
        truth = 9.0 * r["e_velocity_truth"] if field == "velocity" else np.asarray(
            r.get("e_score_rounding", 0.0))
        excess = (e - 3.0 * e_se - truth) / np.maximum(e_se, 1e-300)
        ok = bool(np.all(e <= 3.0 * e_se + truth + 1e-24))
        worst = int(np.argmax(excess))
        lines.append({"quantity": label, "consistent": ok,
                      "detail": f"{value:.4g} +- {se:.2g} (quadrature {quad:.2g})" +
                                ("" if ok else f"; at t = {r['times'][worst]:.3g}: e = "
                                               f"{e[worst]:.3g} +- {e_se[worst]:.2g}")})

    field_line("eps2_score", "field: eps2_score", "score")
    field_line("eps2_velocity", "field: eps2_velocity", "velocity")
    headline_z = []
    for metric, label in (("sliced_w2", "sliced W2"), ("w2", "W2"), ("mmd2", "MMD^2")):
        for route, z in sorted(r["z"].get(metric, {}).items()):
            if z is None:
                continue
            ok = z <= Z_THRESHOLD
            if metric != "w2":      # W2's floor SD comes from w2_draws (5) exact solves only
                headline_z.append((z, f"{label} {route.upper()}"))
            lines.append({"quantity": f"samples: {label} ({route.upper()})", "consistent": ok,
                          "detail": f"{r[metric][route]:.4g}, {z:+.1f} floor SD from the floor "
                                    f"{r[metric + '_floor']['mean']:.3g} +- "
                                    f"{r[metric + '_floor']['std']:.2g}"})
    fm = r["flow_map"]
    resolution = r["flow_map_truth_error"] ** 2
    ok = fm["mean_square"] <= 3.0 * fm["mean_square_se"] + 9.0 * resolution + 1e-24
    lines.append({"quantity": "flow map", "consistent": bool(ok),
                  "detail": f"RMS {fm['rms']:.4g} +- {fm['rms_se']:.2g}, L2-UVP "
                            f"{fm['l2_uvp']:.3g} % (exact map's own error "
                            f"{r['flow_map_truth_error']:.2g})"})
    worst = max(headline_z) if headline_z else (None, "")
    consistent = all(z <= Z_THRESHOLD for z, _ in headline_z)
    text = ("samples consistent with the truth" if consistent else
            "samples NOT consistent with the truth") + \
        (f" (largest: {worst[1]} {worst[0]:+.1f} floor SD; threshold {Z_THRESHOLD:g})"
         if headline_z else "")
    return lines, {"consistent": bool(consistent), "text": text,
                   "worst": worst[1] if headline_z else None,
                   "worst_z": worst[0] if headline_z else None}


def validate(model, problem, kind: str | None = None, *, samples: int = 10000, seed: int = 0,
             device=None, profile_points: int = 33, ode_steps: int = 100, sde_steps: int = 500,
             w2_points: int = 1000, w2_draws: int = 5, w2_max_dim: int = 8,
             mmd_points: int = 1000, flow_map_points: int = 2000, floor_draws: int = 16,
             directions: int = 512, training_set=None, batch_size: int = 65536,
             progress: bool = True, name: str | None = None) -> ValidationReport:
    """Validate ``model`` (a torch module or numpy callable of ``kind``) on ``problem`` (a
    :class:`~pdeflow.problems.Problem` or a catalogue name).

    Parameters
    ----------
    model : see :mod:`pdeflow.modelcheck.protocol` for the call of each kind (or a model of
        diffusers / k-diffusion / torchcfm, see :mod:`pdeflow.modelcheck.adapters`).
    problem : Problem or str.
    kind : one of :data:`~pdeflow.modelcheck.protocol.KINDS`; None: the kind of a library model
        (:mod:`~pdeflow.modelcheck.adapters`), else ``"score"``.
    samples : points per profile node and generated samples (>= 10).
    seed : int; the same seed gives the same report.
    device : torch device for a module.
    profile_points : odd number of profile nodes (>= 5).
    ode_steps, sde_steps : RK4 steps of the probability-flow ODE, Euler-Maruyama steps of the
        reverse SDE (on :meth:`~pdeflow.conventions.DiffusionConvention.sampling_times`).
    w2_points, w2_draws, w2_max_dim : exact W2 subsample size, number of its floor draws (>= 5),
        largest dimension where exact W2 is computed.
    mmd_points : MMD subsample size.
    flow_map_points : starting points (the first of the ODE's) on which the exact field's ODE
        is integrated with twice the steps, and once more with the model's steps for its own
        error estimate.
    floor_draws : pairs of exact samples for the sliced-W2 and MMD floors (>= 5).
    directions : directions of the sliced W2 (on all ``samples`` points).
    training_set : (N, d) points the model was trained on, for the memorisation ratio.
    progress : tqdm bars.

    Returns
    -------
    ValidationReport
        with one verdict line per quantity and the headline (the samples' verdict: every
        sample-level distance at most :data:`Z_THRESHOLD` floor SD above its floor).
    """
    if isinstance(problem, str):
        from ..problems import get

        problem = get(problem)
    _check_counts(samples=samples, profile_points=profile_points, ode_steps=ode_steps,
                  sde_steps=sde_steps, w2_points=w2_points, w2_draws=w2_draws,
                  mmd_points=mmd_points, flow_map_points=flow_map_points,
                  floor_draws=floor_draws, directions=directions)
    if int(seed) != seed:
        raise ValueError(f"seed must be an integer, got {seed}")
    seconds, clock = {}, time.perf_counter()
    adapter = ModelAdapter(model, kind, problem, device=device, batch_size=batch_size, name=name)
    rng = np.random.default_rng(seed)
    conv, n = problem.convention, int(samples)

    profile = _integrals(adapter, problem, problem.profile_times(profile_points), n, rng,
                         progress)
    seconds["profile"] = time.perf_counter() - clock

    clock = time.perf_counter()
    start = problem.sample(problem.noise_time, n, rng)
    grid = (conv.sampling_times(problem.noise_time, problem.data_time, ode_steps) if conv
            else np.linspace(problem.noise_time, problem.data_time, ode_steps + 1))
    fine = (conv.sampling_times(problem.noise_time, problem.data_time, 2 * ode_steps) if conv
            else np.linspace(problem.noise_time, problem.data_time, 2 * ode_steps + 1))
    y_ode = probability_flow(adapter.velocity, grid, start, progress=progress, label="model ODE")
    seconds["ode"] = time.perf_counter() - clock
    clock = time.perf_counter()
    shared = start[:int(flow_map_points)]
    y_true = probability_flow(problem.velocity, fine, shared, progress=progress, label="exact ODE")
    y_true_coarse = probability_flow(problem.velocity, grid, shared, progress=progress,
                                     label="exact ODE (check)")
    seconds["exact_ode"] = time.perf_counter() - clock
    y_sde = None
    if conv is not None:
        clock = time.perf_counter()
        sde_grid = conv.sampling_times(problem.noise_time, problem.data_time, sde_steps)
        y_sde = reverse_sde(adapter.fields, conv.reverse_rate, sde_grid, start,
                            rng.integers(2 ** 63), progress=progress, label="model SDE")
        seconds["sde"] = time.perf_counter() - clock

    clock = time.perf_counter()
    generated = {"ode": check_cloud(y_ode, "ODE samples")}
    if y_sde is not None:
        generated["sde"] = check_cloud(y_sde, "SDE samples")
    data_time = problem.data_time
    reference = problem.sample(data_time, n, rng)
    exact = lambda m: (lambda: problem.sample(data_time, m, rng))
    sliced_metric = lambda a, b: sliced_w2(a, b, n_projections=int(directions), seed=seed)
    sliced = {k: sliced_metric(v, reference) for k, v in generated.items()}
    sliced_floor = _floor_stats(exact(n), sliced_metric, int(floor_draws))
    sliced_floor["points"] = n
    sliced_debiased = {k: math.sqrt(max(v * v - sliced_floor["mean_square"], 0.0))
                       for k, v in sliced.items()}
    seconds["sliced_w2"] = time.perf_counter() - clock
    clock = time.perf_counter()
    m = min(int(w2_points), n)
    w2, w2_floor = {}, {"mean": None, "std": None, "draws": int(w2_draws), "points": m}
    if problem.dim <= w2_max_dim:
        w2 = {k: wasserstein2(v[:m], reference[:m]) for k, v in generated.items()}
        w2_floor.update(_floor_stats(exact(m), wasserstein2, int(w2_draws)))
    seconds["w2"] = time.perf_counter() - clock
    clock = time.perf_counter()
    mm = min(int(mmd_points), n)
    bandwidth = _median_bandwidth(reference, rng)
    widths = [bandwidth / k for k in MMD_SCALES]
    kernel = lambda a, b: mmd2(a, b, widths)
    mmd = {k: kernel(v[:mm], reference[:mm]) for k, v in generated.items()}
    mmd_floor = _floor_stats(exact(mm), kernel, int(floor_draws))
    mmd_floor["points"] = mm
    memo = None
    if training_set is not None:
        training = check_cloud(training_set, "training_set", problem.dim)
        fresh = problem.sample(data_time, len(training), rng)
        result = memorisation(y_ode, training, fresh)
        memo = {"median_ratio": result.median_ratio, "fraction": result.fraction,
                "threshold": result.threshold, "training_points": len(training)}
    seconds["metrics"] = time.perf_counter() - clock

    floors = {"w2": w2_floor, "sliced_w2": sliced_floor, "mmd2": mmd_floor}
    values = {"w2": w2, "sliced_w2": sliced, "mmd2": mmd}
    z = {key: {route: _zscore(v, floors[key]) for route, v in values[key].items()}
         for key in values}
    flow_map = _flow_map_stats(y_ode[:len(shared)], y_true)
    numbers = dict(profile, **{key: values[key] for key in values},
                   **{key + "_floor": floors[key] for key in floors}, z=z, flow_map=flow_map,
                   flow_map_truth_error=flow_map_error(y_true_coarse, y_true))
    verdict, headline = _verdicts(numbers)
    profile.pop("times")
    return ValidationReport(
        problem=problem.name, kind=adapter.kind, model=adapter.describe(), truth=problem.truth,
        convention=conv.name if conv else "porous-medium", dim=problem.dim,
        t_min=problem.t_min, T=problem.T, samples=n, seed=int(seed),
        times=problem.profile_times(profile_points), **profile,
        w2=w2, w2_floor=w2_floor, sliced_w2=sliced, sliced_w2_floor=sliced_floor, mmd2=mmd,
        mmd2_floor=mmd_floor, mmd_bandwidth=bandwidth, flow_map_error=flow_map["rms"],
        flow_map_truth_error=numbers["flow_map_truth_error"], memorisation=memo,
        seconds={k: round(v, 3) for k, v in seconds.items()}, samples_ode=y_ode,
        samples_sde=y_sde, reference=reference, start=start,
        settings={"profile_points": profile_points, "ode_steps": ode_steps,
                  "sde_steps": sde_steps, "w2_points": m, "w2_draws": w2_draws,
                  "w2_max_dim": w2_max_dim, "mmd_points": mm, "flow_map_points": len(shared),
                  "floor_draws": floor_draws, "directions": directions,
                  "data_time": data_time, "noise_time": problem.noise_time,
                  "device": str(device), "z_threshold": Z_THRESHOLD,
                  "mmd_bandwidths": [bandwidth / k for k in MMD_SCALES]},
        sliced_w2_debiased=sliced_debiased, z=z, flow_map=flow_map, verdict=verdict,
        headline=headline)
