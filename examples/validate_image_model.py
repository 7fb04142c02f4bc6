"""Train a tiny diffusers UNet on an image-shaped exact problem the way DDPM does, then check it
against the exact truth with ``pdeflow.validate`` (no wrapper written by hand).

The problem ``ddpm-patterns-1x28x28`` is a mixture of 4 Gaussians over 1 x 28 x 28 images (smooth
random patterns, rank-6 + diagonal covariances) under the DDPM linear schedule on 1000 integer
timesteps; its score is exact (Woodbury). Training is plain DDPM: n ~ U{0..999},
x_n = sqrt(abar_n) x_0 + sqrt(1 - abar_n) eps, loss |eps_hat(x_n, n) - eps|^2, with the
``UNet2DModel`` and ``DDPMScheduler`` of diffusers (``pip install -e ".[validate-adapters]"``).

    PYTHONPATH=. python examples/validate_image_model.py --quick     # a few CPU minutes
    PYTHONPATH=. python examples/validate_image_model.py             # longer training, 10 000 samples

Quick run (tested): python examples/validate_image_model.py --quick  -- under 1500 s on 2 cores (measured 357 s)

Writes results/validate_image_model/validation.{h5,png,txt} and prints the report.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

import pdeflow
from pdeflow.modelcheck.adapters import DiffusersModel, import_diffusers
from pdeflow.problems import get


def make_unet(diffusers, shape):
    """A tiny UNet2DModel (two levels, 16 / 32 channels)."""
    return diffusers.UNet2DModel(sample_size=shape[1], in_channels=shape[0],
                                 out_channels=shape[0], layers_per_block=1,
                                 block_out_channels=(16, 32), norm_num_groups=8,
                                 down_block_types=("DownBlock2D", "DownBlock2D"),
                                 up_block_types=("UpBlock2D", "UpBlock2D"))


def train(problem, unet, scheduler, steps, batch, seed, lr=2e-3):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    abar = scheduler.alphas_cumprod.float()
    opt = torch.optim.Adam(unet.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    unet.train()
    for step in range(steps):
        x0 = torch.as_tensor(problem.initial.sample(batch, rng), dtype=torch.float32)
        x0 = x0.reshape(batch, *problem.shape)
        n = torch.randint(0, len(abar), (batch,))
        a = abar[n].sqrt()[:, None, None, None]
        b = (1 - abar[n]).sqrt()[:, None, None, None]
        eps = torch.randn_like(x0)
        loss = ((unet(a * x0 + b * eps, n).sample - eps) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % max(1, steps // 5) == 0 or step == steps - 1:
            print(f"step {step:5d}  DDPM loss {loss.item():.4f}", flush=True)
    return unet


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="400 training steps, 500 samples, short ODE / SDE (a few minutes)")
    parser.add_argument("--problem", default="ddpm-patterns-1x28x28")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/validate_image_model")
    args = parser.parse_args()
    torch.set_num_threads(1)
    diffusers = import_diffusers()
    problem = get(args.problem)
    scheduler = diffusers.DDPMScheduler(prediction_type="epsilon")   # linear betas, 1000 steps
    unet = make_unet(diffusers, problem.shape)
    print(f"{problem.name}: {problem.description}; UNet with "
          f"{sum(p.numel() for p in unet.parameters())} parameters")
    steps, batch = (400, 64) if args.quick else (3000, 128)
    start = time.perf_counter()
    train(problem, unet, scheduler, steps, batch, args.seed)
    trained = time.perf_counter() - start
    settings = (dict(samples=500, profile_points=9, ode_steps=20, sde_steps=40,
                     mmd_points=500, flow_map_points=100, floor_draws=8, directions=256)
                if args.quick else dict(samples=10000, ode_steps=100, sde_steps=200))
    start = time.perf_counter()
    report = pdeflow.validate(DiffusersModel(unet, scheduler), problem, seed=args.seed,
                              name="tiny UNet2DModel (DDPM)", progress=sys.stderr.isatty(),
                              **settings)
    print(report.text())
    paths = report.save(args.out)
    print(f"\ntrained in {trained:.0f} s, validated in {time.perf_counter() - start:.0f} s; "
          f"wrote {', '.join(map(str, paths.values()))}")


if __name__ == "__main__":
    main()
