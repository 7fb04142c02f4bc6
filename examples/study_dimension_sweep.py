"""Epsilon study across dimensions on exact truths: porous medium m = 2 and m = 1 + 1/d, and the
heat equation on the same modes, d = 2, 4, 8, 16, 32.

Truths (no grid, so any dimension):

* porous: the catalogue problems ``porous-modes-{d}d`` (m = 2) and ``porous-modes-dimaware-{d}d``
  (m = 1 + 1/d): four disjoint anisotropic Barenblatt modes at +-2 e_1, +-2 e_2, free flow, exact
  velocity and exact flow map (docs/exact_porous.md);
* heat: the Gaussian mixture with the same weights, centres and covariances as the porous modes
  at t = 0, under heat with D = 1/2 (an exact ``ExactMixtureProblem``; its flow map is the RK4
  flow of the exact velocity).

For each problem, seed and eps: v_eps = v + eps w with w a time-independent smooth field
(``fourier-low``: 4 random cosine modes of wavelength ~4 per component; ``rotation``: w = S x,
S random antisymmetric), normalised to ||w||_{L2(rho_t dt, [t_min, T])} = 1 by Monte Carlo on
exact samples (trapezoid in t, as `pdeflow validate` measures eps). n exact samples of rho_T are
flowed back to t_min by RK4 with v_eps; the flow-map error is the L2 distance to the eps = 0 RK4
flow from the same points (the study's ``flow_map`` metric). Beside it, the truth's error: the
eps = 0 RK4 flow against the exact flow map (porous) or against RK4 with twice the steps (heat).
Sliced W2 (256 directions) of the generated points against exact samples of rho_{t_min} is shown
with its plug-in floor (two independent exact samples), and fitted only where it exceeds three
times that floor.

Output: a table of the fitted flow-map slope in eps with its 95% CI per (d, problem, kind), the
truth error and the eps = 1 signal, written to <out>/dimension_sweep.txt (+ .json, .png).
Tasks (one per dimension, problem and seed) run on the study's executors: ``--workers N`` local
processes or ``--scheduler tcp://host:port`` (Dask).

    python examples/study_dimension_sweep.py [--out results/dimension_sweep] [--workers 2]

Quick run (tested): python examples/study_dimension_sweep.py --workers 2  -- under 1200 s on 2 cores (measured 276 s)
        [--dims 2 4 8 16 32] [--samples 500] [--seeds 3] [--steps 100]
"""
import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from pdeflow.equations import FokkerPlanckConvention
from pdeflow.exact import GaussianMixture
from pdeflow.modelcheck.sampling import probability_flow
from pdeflow.problems import ExactMixtureProblem, get
from pdeflow.study.executors import make_executor, run_and_keep
from pdeflow.validation.metrics import flow_map_error, sliced_w2
from pdeflow.validation.rates import fit_rate

EPS = (0.03, 0.1, 0.3, 1.0)
KINDS = ("fourier-low", "rotation")
PROBLEMS = ("porous m=2", "porous m=1+1/d", "heat")
NORM_TIMES, NORM_SAMPLES = 9, 2000
FLOOR_DRAWS = 3


def make_problem(which: str, dim: int):
    """The exact problem ``which`` (one of PROBLEMS) in ``dim`` dimensions."""
    if which == "porous m=2":
        return get(f"porous-modes-{dim}d")
    if which == "porous m=1+1/d":
        return get(f"porous-modes-dimaware-{dim}d")
    porous = get(f"porous-modes-{dim}d").flow
    covariances, means = [], []
    for comp in porous.components:
        A, c, mu = comp.shape(0.0)
        # covariance of (c - y^T A y)_+^n: c E[r^2]/d A^-1, r^2 ~ Beta(d/2, n + 1)
        half, power = dim / 2.0, 1.0 / (comp.m - 1.0)
        covariances.append(c * half / (half + power + 1.0) / dim * np.linalg.inv(A))
        means.append(mu)
    mixture = GaussianMixture(porous.weights / porous.weights.sum(), np.array(means),
                              np.array(covariances))
    return ExactMixtureProblem(f"heat-porous-modes-{dim}d",
                               FokkerPlanckConvention(D=0.5, kappa=0.0), mixture, 0.01, 1.0,
                               "heat (D = 1/2) from the Gaussian modes with the porous modes' "
                               "moments")


def perturbation(kind: str, dim: int, rng):
    """A raw smooth field w(x) (n, d) -> (n, d) of ``kind``."""
    if kind == "rotation":
        a = rng.standard_normal((dim, dim))
        skew = (a - a.T) / 2.0
        return lambda x: x @ skew.T
    waves = rng.standard_normal((4, dim))
    waves *= (math.pi / 2.0) / np.linalg.norm(waves, axis=1, keepdims=True)   # wavelength 4
    amplitudes = rng.standard_normal((4, dim))
    phases = rng.uniform(0.0, 2.0 * math.pi, 4)
    return lambda x: np.cos(x @ waves.T + phases) @ amplitudes


def unit_norm(field, problem, rng) -> float:
    """||field||_{L2(rho_t dt, [t_min, T])} by trapezoid in t over NORM_TIMES nodes."""
    times = np.linspace(problem.t_min, problem.T, NORM_TIMES)
    values = [float((field(problem.sample(t, NORM_SAMPLES, rng)) ** 2).sum(1).mean())
              for t in times]
    weights = np.full(NORM_TIMES, times[1] - times[0])
    weights[[0, -1]] /= 2.0
    return math.sqrt(float(weights @ values))


def run_task(item) -> dict:
    """One (dim, problem, seed): every eps and kind. Pure function of ``item``."""
    dim, which, seed, n, steps = item
    clock = time.perf_counter()
    problem = make_problem(which, dim)
    rng = np.random.default_rng([seed, dim, PROBLEMS.index(which)])
    start = problem.sample(problem.T, n, rng)
    grid = np.linspace(problem.T, problem.t_min, steps + 1)
    baseline = probability_flow(problem.velocity, grid, start)
    if hasattr(problem, "flow_map"):
        exact = problem.flow_map(problem.t_min, start, t0=problem.T)
    else:
        exact = probability_flow(problem.velocity, np.linspace(problem.T, problem.t_min,
                                                               2 * steps + 1), start)
    reference = [problem.sample(problem.t_min, n, rng) for _ in range(FLOOR_DRAWS + 1)]
    floor = [sliced_w2(reference[k], reference[k + 1], seed=seed) for k in range(FLOOR_DRAWS)]
    out = {"dim": dim, "problem": which, "seed": seed, "n": n, "steps": steps,
           "truth_error": flow_map_error(baseline, exact),
           "sw2_baseline": sliced_w2(baseline, reference[0], seed=seed),
           "sw2_floor": float(np.mean(floor)), "points": []}
    for kind in KINDS:
        raw = perturbation(kind, dim, np.random.default_rng([seed, dim, 7, KINDS.index(kind)]))
        scale = unit_norm(raw, problem, rng)
        for eps in EPS:
            velocity = (lambda t, x, e=eps: problem.velocity(t, x) + (e / scale) * raw(x))
            generated = probability_flow(velocity, grid, start)
            out["points"].append({"kind": kind, "eps": eps,
                                  "flow_map": flow_map_error(generated, baseline),
                                  "sw2": sliced_w2(generated, reference[0], seed=seed)})
    out["seconds"] = time.perf_counter() - clock
    return out


def summarise(results, dims) -> tuple:
    """(text table, rows as dicts)."""
    rows = []
    for dim in dims:
        for which in PROBLEMS:
            runs = [r for r in results if r["dim"] == dim and r["problem"] == which]
            if not runs:
                continue
            truth = max(r["truth_error"] for r in runs)
            floor = float(np.mean([r["sw2_floor"] for r in runs]))
            for kind in KINDS:
                pts = [p for r in runs for p in r["points"] if p["kind"] == kind]
                eps = np.array([p["eps"] for p in pts])
                err = np.array([p["flow_map"] for p in pts])
                fit = fit_rate(eps, err)
                signal = float(np.mean(err[eps == max(EPS)]))
                small = float(np.mean(err[eps == min(EPS)]))
                resolved = [p for p in pts if p["sw2"] > 3.0 * floor]
                w2 = None
                if len({p["eps"] for p in resolved}) >= 3:
                    w2 = fit_rate([p["eps"] for p in resolved], [p["sw2"] for p in resolved])
                rows.append({"dim": dim, "problem": which, "kind": kind, "slope": fit.slope,
                             "lo": fit.interval[0], "hi": fit.interval[1],
                             "error_eps_min": small, "error_eps_max": signal,
                             "truth_error": truth, "resolved": bool(small > 3.0 * truth),
                             "sw2_floor": floor, "sw2_slope": None if w2 is None else w2.slope,
                             "sw2_lo": None if w2 is None else w2.interval[0],
                             "sw2_hi": None if w2 is None else w2.interval[1]})
    lines = [f"{'d':>3} {'problem':<16}{'kind':<12}{'flow-map slope [95% CI]':<26}"
             f"{'err(0.03)':>10}{'err(1)':>9}{'truth err':>11}  {'sliced W2 slope (floor)':<26}"]
    for r in rows:
        sw2 = ("unresolved" if r["sw2_slope"] is None
               else f"{r['sw2_slope']:.3f} [{r['sw2_lo']:.3f}, {r['sw2_hi']:.3f}]")
        flag = "" if r["resolved"] else " UNRESOLVED"
        lines.append(f"{r['dim']:>3} {r['problem']:<16}{r['kind']:<12}"
                     f"{r['slope']:.3f} [{r['lo']:.3f}, {r['hi']:.3f}]{'':<4}"
                     f"{r['error_eps_min']:>10.2e}{r['error_eps_max']:>9.2e}"
                     f"{r['truth_error']:>11.1e}  {sw2} ({r['sw2_floor']:.3f}){flag}")
    return "\n".join(lines), rows


def plot(rows, dims, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(KINDS) + 1, figsize=(5 * (len(KINDS) + 1), 4))
    for ax, kind in zip(axes, KINDS):
        for k, which in enumerate(PROBLEMS):
            sel = [r for r in rows if r["kind"] == kind and r["problem"] == which]
            ds = np.array([r["dim"] for r in sel]) * (1.0 + 0.04 * (k - 1))
            ax.errorbar(ds, [r["slope"] for r in sel],
                        yerr=[[r["slope"] - r["lo"] for r in sel],
                              [r["hi"] - r["slope"] for r in sel]],
                        marker="o", capsize=3, label=which)
        ax.axhline(1.0, color="0.7", lw=0.8)
        ax.set(ylabel="fitted slope of flow-map error vs eps (95% CI)",
               title=f"{kind} perturbation: slope")
    ax = axes[-1]
    for k, which in enumerate(PROBLEMS):
        sel = [r for r in rows if r["kind"] == KINDS[0] and r["problem"] == which]
        line, = ax.plot([r["dim"] for r in sel], [r["error_eps_min"] for r in sel], marker="o",
                        label=f"{which}, eps = {min(EPS)}")
        ax.plot([r["dim"] for r in sel], [r["truth_error"] for r in sel], ls=":",
                color=line.get_color(), label=f"{which}, truth error")
    ax.set(yscale="log", ylabel="flow-map error (L2)", title=f"{KINDS[0]}: error and truth error")
    ax.legend(fontsize=7)
    for ax in axes:
        ax.set(xscale="log", xlabel="dimension d")
        ax.minorticks_off()
        ax.set_xticks(dims, [str(d) for d in dims])
    axes[0].legend()
    fig.tight_layout()
    from pdeflow.io import atomic_file

    atomic_file(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="results/dimension_sweep")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--scheduler", default=None, help="Dask scheduler address tcp://...")
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 4, 8, 16, 32])
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=100, help="RK4 steps over [t_min, T]")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    items = [(dim, which, seed, args.samples, args.steps) for dim in args.dims
             for which in PROBLEMS for seed in range(args.seeds)]
    items.sort(key=lambda item: -item[0])          # largest dimensions first
    results, clock = [], time.perf_counter()
    with make_executor(args.scheduler, args.workers) as executor:
        run_and_keep(executor, run_task, items, lambda item, result: results.append(result))
    table, rows = summarise(results, args.dims)
    elapsed = time.perf_counter() - clock
    print(table)
    print(f"{len(items)} tasks in {elapsed:.0f} s (task seconds: "
          f"{sum(r['seconds'] for r in results):.0f})")
    from pdeflow.io import atomic_file

    def write_text(text, name):
        def write(tmp):
            Path(tmp).write_text(text)
        atomic_file(out / name, write)

    write_text(table + "\n", "dimension_sweep.txt")
    write_text(json.dumps({"rows": rows, "settings": vars(args), "seconds": elapsed}, indent=1),
               "dimension_sweep.json")
    plot(rows, args.dims, out / "dimension_sweep.png")
    print(f"wrote {out / 'dimension_sweep.txt'}, .json and .png")


if __name__ == "__main__":
    main()
