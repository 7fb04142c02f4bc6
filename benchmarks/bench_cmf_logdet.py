"""Time one training step (objective + backward + Adam step) with exact vs stochastic log det G.

For d in {2, 8, 32} and D in {3, 64, 784} with d < D, an InjectiveFlow (4 affine couplings,
hidden 64, float32, batch 64) is stepped with

* exact      - G from d forward-mode JVPs per point, log det by Cholesky;
* stochastic - 1 Hutchinson probe, CG (tol --cg-tol) on matrix-free G u = J^T (J u).

Both for the rectangular flow (gamma = 0: the stochastic mode never forms G) and for CMF
(gamma > 0: the off-diagonal penalty needs the true G in both modes). Prints medians over
--repeats steps (after one warm-up) and the ratio stochastic / exact (< 1: stochastic faster).

Usage: PYTHONPATH=. python benchmarks/bench_cmf_logdet.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from pdeflow.manifold_flows.cmf import method_config, objective
from pdeflow.manifold_flows.injective_flow import InjectiveFlow

SIZES = [(d, D) for D in (3, 64, 784) for d in (2, 8, 32) if d < D]


def time_step(d, D, method, logdet, repeats, batch, cg_tol):
    flow = InjectiveFlow(d, D, n_layers=4, hidden=64, prior_layers=2, prior_hidden=32, seed=0)
    x = torch.randn(batch, D, generator=torch.Generator().manual_seed(1))
    cfg = method_config(method, logdet=logdet, cg_tol=cg_tol, cg_maxiter=100)
    opt = torch.optim.Adam(flow.parameters(), lr=1e-4)
    gen = torch.Generator().manual_seed(2)
    times, resid = [], []
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        loss, parts = objective(flow, x, cfg, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i > 0:  # first step is warm-up
            times.append(time.perf_counter() - t0)
        resid.append(parts.get("cg_residual", 0.0))
    return float(np.median(times)), max(resid)


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
            t_ex, _ = time_step(d, D, method, "exact", args.repeats, args.batch, args.cg_tol)
            t_st, res = time_step(d, D, method, "stochastic", args.repeats, args.batch, args.cg_tol)
            print(f"| {method} | {d} | {D} | {1e3 * t_ex:.1f} | {1e3 * t_st:.1f} | "
                  f"{t_st / t_ex:.2f} | {res:.1e} |", flush=True)


if __name__ == "__main__":
    main()
