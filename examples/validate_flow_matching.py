"""Train a flow-matching velocity the way torchcfm does (ConditionalFlowMatcher with
sigma = 0: the linear interpolant of rectified flow), then check it against the exact marginal
velocity with ``pdeflow.validate``.

torchcfm's convention: source x_0 ~ N(0, I) at t = 0, data x_1 at t = 1, t ~ U(0, 1),
x_t = (1 - t) x_0 + t x_1, regression target u_t = x_1 - x_0, the model v(t, x) an MLP of
(x, t). pdeflow's ``fm-*`` problems are this path exactly, so the truth is the closed-form
marginal velocity E[x_1 - x_0 | x_t = x].

    PYTHONPATH=. python examples/validate_flow_matching.py        # ~2-4 min on a laptop CPU
    PYTHONPATH=. python examples/validate_flow_matching.py --steps 300 --samples 2000   # smoke

Writes results/validate_flow_matching/validation.{h5,png,txt} and prints the report.

Quick run (tested): python examples/validate_flow_matching.py --steps 300 --samples 2000  -- under 140 s on 2 cores (measured 34 s)
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import pdeflow
from pdeflow.problems import get


class VelocityNet(torch.nn.Module):
    """(t, x) -> v(t, x), an MLP of the concatenated (x, t) as in torchcfm's examples."""

    def __init__(self, dim, hidden=128):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(dim + 1, hidden), torch.nn.SELU(),
                                       torch.nn.Linear(hidden, hidden), torch.nn.SELU(),
                                       torch.nn.Linear(hidden, hidden), torch.nn.SELU(),
                                       torch.nn.Linear(hidden, dim))

    def forward(self, t, x):
        return self.net(torch.cat([x, t[:, None]], 1))


def train(problem, steps, batch, seed, lr=2e-3):
    torch.manual_seed(seed)
    model = VelocityNet(problem.dim)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    rng = np.random.default_rng(seed)
    for step in range(steps):
        x1 = torch.as_tensor(problem.initial.sample(batch, rng), dtype=torch.float32)
        x0 = torch.randn_like(x1)
        t = torch.rand(batch)
        xt = (1 - t[:, None]) * x0 + t[:, None] * x1
        loss = ((model(t, xt) - (x1 - x0)) ** 2).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % max(1, steps // 5) == 0 or step == steps - 1:
            print(f"step {step:5d}  CFM loss {loss.item():.4f}", flush=True)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="fm-separated-2d")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/validate_flow_matching")
    args = parser.parse_args()
    torch.set_num_threads(1)
    problem = get(args.problem)
    start = time.perf_counter()
    model = train(problem, args.steps, args.batch, args.seed)
    trained = time.perf_counter() - start
    start = time.perf_counter()
    report = pdeflow.validate(model, problem, kind="velocity", samples=args.samples,
                              seed=args.seed, name="VelocityNet (CFM)")
    print(report.text())
    paths = report.save(args.out)
    print(f"\ntrained in {trained:.0f} s, validated in {time.perf_counter() - start:.0f} s; "
          f"wrote {', '.join(map(str, paths.values()))}")


if __name__ == "__main__":
    main()
