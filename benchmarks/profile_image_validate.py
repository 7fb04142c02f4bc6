"""Where the time of ``pdeflow.validate`` goes at image size (issue 26, item 6).

A diffusers ``UNet2DModel`` of about 1M parameters (random weights from a config, no download)
with a ``DDPMScheduler`` on ``ddpm-patterns-3x32x32`` (d = 3072). A run at the documented
defaults (10 000 samples, 33 profile nodes, 100 RK4 / 500 Euler-Maruyama steps, exact ODE on
2000 starts with 200 + 100 RK4 steps, 16 floor draws) is far too long to time whole on the shared
machine, so the script

1. times the unit costs (median of ``--repeats``): one model call, one exact velocity / score, one
   exact sample, one sliced W2 and one MMD^2 at the sizes ``validate`` uses;
2. multiplies them by the number of calls ``validate`` makes at the defaults (the counts follow
   the numbered steps of :mod:`pdeflow.modelcheck.validate`) and prints the predicted breakdown;
3. checks the prediction on a real, reduced ``validate`` run (``--check-samples`` points, few
   steps): the phase times it reports (``report.seconds``) against the same unit costs times its
   own call counts.

    cd benchmarks && PYTHONPATH=.. NUMBA_NUM_THREADS=1 python profile_image_validate.py

Measured (load 1.2-1.4, 2 cores, 1 torch thread): model 9.0 ms/point, exact velocity
0.21 ms/point; predicted at the defaults 84 000 s (23 h): model SDE 53 %, model ODE 43 %,
profile 3.7 %, exact ODE 0.6 %; the reduced check run predicted 55 s, measured 61 s.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from _harness import machine_line

import pdeflow
from pdeflow.modelcheck.adapters import DiffusersModel, import_diffusers
from pdeflow.modelcheck.validate import MMD_SCALES, _median_bandwidth
from pdeflow.problems import get
from pdeflow.validation.metrics import mmd2, sliced_w2

DEFAULTS = dict(samples=10000, profile_points=33, ode_steps=100, sde_steps=500,
                flow_map_points=2000, floor_draws=16, directions=512, mmd_points=1000)


def make_unet(diffusers):
    """UNet2DModel, 3 levels of 32 / 64 / 64 channels: 1.06M parameters."""
    return diffusers.UNet2DModel(sample_size=32, in_channels=3, out_channels=3,
                                 layers_per_block=1, block_out_channels=(32, 64, 64),
                                 norm_num_groups=8, down_block_types=("DownBlock2D",) * 3,
                                 up_block_types=("UpBlock2D",) * 3)


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def unit_costs(problem, model, repeats, batch=64):
    """Seconds per point (model, exact fields, sampling) and per call (distances)."""
    rng = np.random.default_rng(0)
    t = 0.5 * (problem.t_min + problem.T)
    x = problem.sample(t, 2000, rng)
    ts = np.full(batch, t)
    costs = {
        "model": median_time(lambda: model(ts, x[:batch]), repeats) / batch,
        "exact_velocity": median_time(lambda: problem.velocity(t, x), repeats) / 2000,
        "exact_score": median_time(lambda: problem.score(t, x), repeats) / 2000,
        "sample": median_time(lambda: problem.sample(t, 2000, rng), repeats) / 2000,
    }
    n, m = DEFAULTS["samples"], DEFAULTS["mmd_points"]
    big = problem.sample(problem.data_time, n, rng)
    other = problem.sample(problem.data_time, n, rng)
    costs["sliced_w2"] = median_time(
        lambda: sliced_w2(big, other, n_projections=DEFAULTS["directions"], seed=0), repeats)
    widths = [_median_bandwidth(big, rng) / k for k in MMD_SCALES]
    costs["mmd2"] = median_time(lambda: mmd2(big[:m], other[:m], widths), repeats)
    return costs


def predicted(costs, s):
    """Seconds per phase of ``validate`` with the settings ``s`` (the keys of report.seconds)."""
    n, fm = s["samples"], s["flow_map_points"]
    nodes, steps, sde = s["profile_points"], s["ode_steps"], s["sde_steps"]
    draws, m = s["floor_draws"], min(s["mmd_points"], n)
    c = costs
    return {
        # per node: n exact samples, the model, the exact velocity and score (+ truth: none)
        "profile": nodes * n * (c["sample"] + c["model"] + c["exact_velocity"]
                                + c["exact_score"]),
        "ode": n * c["sample"] + 4 * steps * n * c["model"],
        "exact_ode": 4 * (2 * steps + steps) * fm * c["exact_velocity"],
        "sde": sde * n * c["model"],
        # reference + 2 * draws exact samples, (2 + draws) sliced W2 on n points
        "sliced_w2": (1 + 2 * draws) * n * c["sample"] + (2 + draws) * c["sliced_w2"] * (
            n / DEFAULTS["samples"]),
        "metrics": 2 * draws * m * c["sample"] + (2 + draws) * c["mmd2"] * (
            m / DEFAULTS["mmd_points"]) ** 2,
    }


def table(pred, measured=None):
    total = sum(pred.values())
    lines = [f"{'phase':10s} {'predicted':>11s} {'share':>6s}" +
             ("" if measured is None else f" {'measured':>10s}")]
    for key, value in pred.items():
        line = f"{key:10s} {value:10.1f}s {100 * value / total:5.1f}%"
        if measured is not None:
            line += f" {measured.get(key, float('nan')):9.1f}s"
        lines.append(line)
    lines.append(f"{'total':10s} {total:10.1f}s ({total / 60:.1f} min)" +
                 ("" if measured is None else f" {sum(measured.values()):9.1f}s"))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--problem", default="ddpm-patterns-3x32x32")
    parser.add_argument("--check-samples", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    diffusers = import_diffusers()
    problem = get(args.problem)
    torch.manual_seed(0)
    unet = make_unet(diffusers)
    model = DiffusersModel(unet, diffusers.DDPMScheduler(prediction_type="epsilon"))
    print(machine_line())
    print(f"{problem.name} (d = {problem.dim}); UNet2DModel with "
          f"{sum(p.numel() for p in unet.parameters()) / 1e6:.2f}M parameters, 1 torch thread")
    costs = unit_costs(problem, unet_call(model), args.repeats)
    print("unit costs (median of %d): " % args.repeats + ", ".join(
        f"{k} {v * 1e3:.3g} ms" + ("/point" if k in ("model", "exact_velocity", "exact_score",
                                                      "sample") else "/call")
        for k, v in costs.items()))
    print("\npredicted at the documented defaults " + str(DEFAULTS))
    print(table(predicted(costs, DEFAULTS)))
    check = dict(samples=args.check_samples, profile_points=5, ode_steps=4, sde_steps=8,
                 flow_map_points=args.check_samples, floor_draws=5, directions=64,
                 mmd_points=args.check_samples)
    start = time.perf_counter()
    report = pdeflow.validate(model, problem, seed=0, progress=False, **check)
    wall = time.perf_counter() - start
    seconds = dict(report.seconds)
    scaled = dict(costs, sliced_w2=costs["sliced_w2"] * check["directions"] / 512)
    print(f"\ncheck: a real validate run with {check} ({wall:.1f} s wall)")
    print(table(predicted(scaled, check), seconds))


def unet_call(model):
    """The model's field as validate calls it: (n,) times, (n, d) float64 points."""
    from pdeflow.modelcheck.protocol import ModelAdapter   # noqa: F401  (same path as validate)

    return lambda t, x: model(t, x)


if __name__ == "__main__":
    main()
