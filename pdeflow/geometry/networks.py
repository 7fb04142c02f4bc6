"""Small smooth MLPs for decoders, encoders and potentials (seeded initialisation)."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

ACTIVATIONS = {"tanh": nn.Tanh, "softplus": nn.Softplus, "silu": nn.SiLU, "gelu": nn.GELU}


def mlp(sizes: Sequence[int], activation: str = "tanh", seed: int = 0, gain: float = 1.0,
        dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """MLP ``sizes[0] -> (...) -> sizes[-1]`` with a smooth activation between linear layers.

    Weights ~ U(-gain sqrt(3 / fan_in), +...), biases ~ U(-gain/2, gain/2), drawn from a
    ``torch.Generator`` seeded with ``seed``: the same seed gives the same network. Smooth
    (C-infinity) activations only, because curvature needs third derivatives.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
        raise ValueError(f"sizes must be >= 2 positive layer widths, got {list(sizes)}")
    gen = torch.Generator().manual_seed(int(seed))
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(fan_in, fan_out, dtype=dtype)
        with torch.no_grad():
            bound = gain * (3.0 / fan_in) ** 0.5
            lin.weight.uniform_(-bound, bound, generator=gen)
            lin.bias.uniform_(-gain / 2, gain / 2, generator=gen)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)
