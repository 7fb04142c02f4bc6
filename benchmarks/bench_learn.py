"""Speed of pdeflow.learn / pdeflow.validation on CPU (one thread), medians of repeats.

1. training throughput (samples/s) of the velocity networks (plain MLP, conservative -grad phi),
   float32 vs float64;
2. exact Laplacian vs Hutchinson (1 probe) in the log-Fokker-Planck residual loss, by dimension;
3. exact W2 (ot.emd2) vs Sinkhorn (log-stabilised, reg = 0.05 x mean cost) vs sliced W2, by n,
   with the Sinkhorn bias relative to the exact value.

Run:  PYTHONPATH=. python benchmarks/bench_learn.py [--full]

Default n <= 2000 for W2 and Sinkhorn at n <= 1000 (under 3 minutes on the loaded 2-core
machine); ``--full`` adds n = 4000, 8000 (emd2 alone 13 s and 74 s there) and Sinkhorn at
n = 2000 (57 s).
"""
from __future__ import annotations

import statistics
import time

import numpy as np
import torch

from pdeflow.equations import FokkerPlanck
from pdeflow.learn import (ConservativeVelocity, PotentialMLP, VelocityMLP,
                           potential_derivatives, residual_penalty)
from pdeflow.validation import sinkhorn_w2, sliced_w2, wasserstein2


def median_time(fn, repeats=5):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def training_throughput(batch=256, steps=50):
    print(f"\n## 1. training throughput (d = 2, hidden (64, 64), batch {batch}, Adam)")
    print("| model | dtype | samples/s | ratio to MLP float32 |")
    print("|---|---|---|---|")
    base = None
    for name, make in (("VelocityMLP", lambda dt: VelocityMLP(2, (64, 64), dtype=dt)),
                       ("ConservativeVelocity", lambda dt: ConservativeVelocity(
                           PotentialMLP(2, (64, 64), dtype=dt)))):
        for dtype in (torch.float32, torch.float64):
            model = make(dtype)
            opt = torch.optim.Adam(model.parameters(), 1e-3)
            gen = torch.Generator().manual_seed(0)
            x = torch.randn(batch, 2, generator=gen, dtype=dtype)
            t = torch.rand(batch, generator=gen, dtype=dtype)
            target = -x

            def run():
                for _ in range(steps):
                    opt.zero_grad()
                    (model(t, x) - target).pow(2).sum(1).mean().backward()
                    opt.step()
            rate = batch * steps / median_time(run)
            base = base or rate
            print(f"| {name} | {str(dtype).split('.')[-1]} | {rate:,.0f} | {rate / base:.2f} |")


def laplacian_cost(batch=256):
    print(f"\n## 2. Laplacian of phi + backward: exact vs Hutchinson (1 probe), batch {batch}")
    print("(d <= 3: the full residual loss with FokkerPlanck; d > 3: the derivative part only,")
    print(" (Lap phi)^2 + |grad phi|^2 + (d_t phi)^2, since the equations stop at d = 3)")
    print("| d | exact (ms) | Hutchinson (ms) | exact / Hutchinson |")
    print("|---|---|---|---|")
    for d in (2, 3, 8, 16, 32):
        phi = PotentialMLP(d, (64, 64), activation="softplus", beta=10.0, dtype=torch.float32)
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(batch, d, generator=gen)
        t = torch.rand(batch, generator=gen)
        eq = FokkerPlanck(D=0.5, kappa=1.0, dim=d) if d <= 3 else None
        timings = {}
        for mode in ("exact", "hutchinson"):
            def run():
                phi.zero_grad()
                if eq is not None:
                    loss = residual_penalty(phi, eq, t, x, laplacian=mode, generator=gen)
                else:
                    phi_t, grad, lap = potential_derivatives(phi, t, x, mode, generator=gen)
                    loss = (lap ** 2 + (grad ** 2).sum(1) + phi_t ** 2).mean()
                loss.backward()
            timings[mode] = median_time(run)
        print(f"| {d} | {1e3 * timings['exact']:.1f} | {1e3 * timings['hutchinson']:.1f} | "
              f"{timings['exact'] / timings['hutchinson']:.2f} |")


def transport_cost(full=False):
    print("\n## 3. W2 between two 2-D Gaussian samples of size n (different laws)")
    print("| n | emd2 (s) | Sinkhorn (s) | sliced, 256 dirs (s) | Sinkhorn / emd2 time | "
          "Sinkhorn bias (rel.) |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for n in (250, 500, 1000, 2000, 4000, 8000) if full else (250, 500, 1000, 2000):
        x = rng.standard_normal((n, 2))
        y = rng.standard_normal((n, 2)) * [1.0, 0.5] + [1.0, 0.0]
        reps = 3 if n <= 2000 else 1
        t_emd = median_time(lambda: wasserstein2(x, y), reps)
        exact = wasserstein2(x, y)
        t_sl = median_time(lambda: sliced_w2(x, y, 256), reps)
        if n <= (2000 if full else 1000):  # one timed call (seconds to tens of seconds)
            start = time.perf_counter()
            value = sinkhorn_w2(x, y, reg=0.05)
            t_sk = time.perf_counter() - start
            sk = f"{t_sk:.3f} | {t_sl:.3f} | {t_sk / t_emd:.2f} | {value / exact - 1:+.3f}"
        else:
            sk = f"(skipped) | {t_sl:.3f} | - | -"
        print(f"| {n} | {t_emd:.3f} | {sk} |", flush=True)


if __name__ == "__main__":
    import argparse
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", action="store_true", help="the large W2 / Sinkhorn sizes too")
    full = parser.parse_args().full
    torch.set_num_threads(1)
    training_throughput()
    laplacian_cost()
    transport_cost(full)
