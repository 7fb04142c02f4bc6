"""Wall time of ``pdeflow.validate`` for a 64-64 MLP score model (random weights: the cost does
not depend on training) on the anisotropic VP mixture, 10 000 samples, ODE (RK4, 100 steps) and
reverse SDE (Euler-Maruyama, 500 steps), the whole report; then the cost per added dimension.

    PYTHONPATH=. python benchmarks/bench_validate.py [--threads 1] [--dims 2,8,32]

Default dims 2, 8, 32 (about 1.5-2 min on the loaded 2-core machine); ``--dims 2,8,32,128``
adds d = 128, which alone took 356 s there (the reverse SDE dominates).

No peer exists for this (no other tool reports these errors), so only pdeflow is timed.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np


def mlp(dim):
    import torch

    class MLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(dim + 1, 64), torch.nn.SiLU(),
                                           torch.nn.Linear(64, 64), torch.nn.SiLU(),
                                           torch.nn.Linear(64, dim))

        def forward(self, t, x):
            return self.net(torch.cat([t[:, None], x], 1))

    torch.manual_seed(0)
    return MLP()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dims", default="2,8,32")
    parser.add_argument("--samples", type=int, default=10000)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from pdeflow.modelcheck import validate
    from pdeflow.problems import get

    print(f"threads {args.threads}, load average {os.getloadavg()[0]:.1f}, samples "
          f"{args.samples}")
    rows = []
    for dim in [int(d) for d in args.dims.split(",")]:
        problem = get(f"vp-anisotropic-{dim}d")
        start = time.perf_counter()
        report = validate(mlp(dim), problem, "score", samples=args.samples, progress=False)
        total = time.perf_counter() - start
        rows.append((dim, total))
        parts = ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items())
        print(f"dim {dim:4d}: {total:6.1f} s  ({parts}); exact W2 "
              f"{'yes' if report.w2 else 'no (dim > 8)'}", flush=True)
    if len(rows) > 1:
        dims, times = np.array(rows).T
        slope = np.polyfit(dims, times, 1)[0]
        print(f"least-squares cost per added dimension: {slope:.3f} s")


if __name__ == "__main__":
    main()
