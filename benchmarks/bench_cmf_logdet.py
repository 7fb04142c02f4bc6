"""Time one training step (objective + backward + Adam step) with exact vs stochastic log det G.

For d in {2, 8, 32} and D in {3, 64, 784} with d < D, an InjectiveFlow (4 affine couplings,
hidden 64, float32, batch 64) is stepped with

* exact      - G from d forward-mode JVPs per point, log det by Cholesky;
* stochastic - 1 Hutchinson probe, CG (tol --cg-tol) on matrix-free G u = J^T (J u).

Both for the rectangular flow (gamma = 0: the stochastic mode never forms G) and for CMF
(gamma > 0: the off-diagonal penalty needs the true G in both modes). Prints medians over
--repeats steps (after one warm-up; exact and stochastic steps interleaved with
benchmarks/_harness.py) and the ratio stochastic / exact (< 1: stochastic faster).

Usage: PYTHONPATH=. python benchmarks/bench_cmf_logdet.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _harness import interleave, load_average  # noqa: E402

from pdeflow.manifold_flows.cmf import method_config, objective  # noqa: E402
from pdeflow.manifold_flows.injective_flow import InjectiveFlow  # noqa: E402

SIZES = [(d, D) for D in (3, 64, 784) for d in (2, 8, 32) if d < D]


def stepper(d, D, method, logdet, batch, cg_tol):
    """A zero-argument training step (objective + backward + Adam) and its CG residuals."""
    flow = InjectiveFlow(d, D, n_layers=4, hidden=64, prior_layers=2, prior_hidden=32, seed=0)
    x = torch.randn(batch, D, generator=torch.Generator().manual_seed(1))
    cfg = method_config(method, logdet=logdet, cg_tol=cg_tol, cg_maxiter=100)
    opt = torch.optim.Adam(flow.parameters(), lr=1e-4)
    gen = torch.Generator().manual_seed(2)
    resid = []

    def step():
        loss, parts = objective(flow, x, cfg, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        resid.append(parts.get("cg_residual", 0.0))
    step()                                                   # warm-up
    return step, resid


def time_steps(d, D, method, repeats, batch, cg_tol):
    """Median step seconds of exact and stochastic log det, interleaved step by step."""
    exact, _ = stepper(d, D, method, "exact", batch, cg_tol)
    stochastic, resid = stepper(d, D, method, "stochastic", batch, cg_tol)
    times = interleave({"exact": exact, "stochastic": stochastic}, repeats)
    return float(np.median(times["exact"])), float(np.median(times["stochastic"])), max(resid)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--cg-tol", type=float, default=1e-4)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    print(f"one training step, batch {args.batch}, median of {args.repeats}, CG tol {args.cg_tol}")
    print("| method | d | D | exact [ms] | stochastic [ms] | stoch/exact | max CG residual |")
    print("|---|---|---|---|---|---|---|")
    for method in ("rectangular", "cmf"):
        for d, D in SIZES:
            t_ex, t_st, res = time_steps(d, D, method, args.repeats, args.batch, args.cg_tol)
            print(f"| {method} | {d} | {D} | {1e3 * t_ex:.1f} | {1e3 * t_st:.1f} | "
                  f"{t_st / t_ex:.2f} | {res:.1e} |", flush=True)
    print(f"load average: {load_average()}")


if __name__ == "__main__":
    main()
