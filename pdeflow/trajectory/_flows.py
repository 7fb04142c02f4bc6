"""Shared pieces of the neural trajectory models: the time-conditioned velocity network, the
isotropic standardisation and integration with torchdiffeq."""
from __future__ import annotations

import sys

import numpy as np
import torch
from torch import nn
from torchdiffeq import odeint

__all__ = ["VelocityNet", "NeuralFlow", "integrate", "show_progress"]

_ACTIVATIONS = {"silu": nn.SiLU, "selu": nn.SELU}


class VelocityNet(nn.Module):
    """v(t, x): an MLP on the concatenation [t, x] -> (n, d).

    Parameters
    ----------
    dim : space dimension d.
    hidden : width of every hidden layer.
    depth : number of hidden layers.
    activation : "silu" (MIOFlow's ODEFunc) or "selu" (torchcfm's runner VelocityNet).
    """

    def __init__(self, dim: int, hidden: int = 64, depth: int = 2, activation: str = "silu"):
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        if int(depth) != depth or depth < 1 or int(hidden) != hidden or hidden < 1:
            raise ValueError(f"depth and hidden must be integers >= 1, got {depth}, {hidden}")
        widths = [dim + 1] + [int(hidden)] * int(depth)
        layers = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), _ACTIVATIONS[activation]()]
        self.net = nn.Sequential(*layers, nn.Linear(widths[-1], dim)).double()

    def forward(self, t, x):
        t = torch.as_tensor(t, dtype=x.dtype).reshape(-1, 1).expand(len(x), 1)
        return self.net(torch.cat([t, x], dim=1))


def integrate(field, x0: torch.Tensor, times: torch.Tensor, steps_per_interval: int = 10):
    """Positions (M, n, d) of dx/dt = field(t, x) from x0 at times[0] at every t in ``times``
    (M,): classical RK4 (torchdiffeq) with ``steps_per_interval`` equal steps per interval."""
    grid = torch.cat([torch.linspace(float(a), float(b), steps_per_interval + 1,
                                     dtype=x0.dtype)[:-1] for a, b in zip(times[:-1], times[1:])]
                     + [times[-1:].to(x0.dtype)])
    path = odeint(field, x0, grid, method="rk4")
    return path[::steps_per_interval]


class NeuralFlow:
    """A fitted network velocity in standardised coordinates z = (x - shift) / scale and time
    tau = t / time_unit (time_unit: the mean spacing of the observation times).

    One scalar ``scale`` for all axes: a per-axis rescaling would change which map is optimal
    for the squared Euclidean cost (MIOFlow z-normalises per axis; see docs/trajectory_inference.md).
    """

    net: VelocityNet
    shift: np.ndarray
    scale: float
    time_unit: float
    #: RK4 steps per output interval in :meth:`transport`
    transport_steps: int = 3

    def _standardise(self, data, indices):
        pooled = np.concatenate([data.snapshots[k] for k in indices])
        self.shift = pooled.mean(0)
        self.scale = float(pooled.std())
        return [torch.as_tensor((data.snapshots[k] - self.shift) / self.scale) for k in indices]

    def _prepare(self, data, depth: int, activation: str):
        """Standardised training clouds, their times in units of the mean observation spacing
        (the snapshot index for equally spaced times, as in the reference codes), and a fresh
        seeded network in ``self.net``."""
        indices = data.train_indices
        clouds = self._standardise(data, indices)
        self.time_unit = float(data.times[-1] - data.times[0]) / (len(data.times) - 1)
        self.net = seeded_net(self.seed, dim=data.dim, hidden=self.hidden, depth=depth,
                              activation=activation)
        return clouds, [float(data.times[k]) / self.time_unit for k in indices]

    def velocity(self, t: float, x) -> np.ndarray:
        """The learned velocity (n, d) at time t and points x (n, d), physical units."""
        z = torch.as_tensor((np.asarray(x, dtype=np.float64) - self.shift) / self.scale)
        tau = torch.tensor(float(t) / self.time_unit, dtype=torch.float64)
        with torch.no_grad():
            return self.net(tau, z).numpy() * (self.scale / self.time_unit)

    def transport(self, x0, times) -> np.ndarray:
        """Positions (M, n, d) of the learned flow from x0 (n, d) at times[0] to every time (M,)."""
        z = torch.as_tensor((np.asarray(x0, dtype=np.float64) - self.shift) / self.scale)
        with torch.no_grad():
            tau = torch.as_tensor(np.asarray(times, dtype=np.float64) / self.time_unit)
            path = integrate(self.net, z, tau, self.transport_steps)
        return path.numpy() * self.scale + self.shift


def seeded_net(seed: int, **kwargs) -> VelocityNet:
    """A :class:`VelocityNet` whose initial weights depend only on ``seed``."""
    with torch.random.fork_rng():
        torch.manual_seed(int(seed))
        return VelocityNet(**kwargs)


def sample_batch(rng: np.random.Generator, cloud: torch.Tensor, size: int) -> torch.Tensor:
    """``size`` rows of ``cloud`` drawn without replacement (all rows if size >= len)."""
    if size >= len(cloud):
        return cloud
    return cloud[torch.as_tensor(rng.choice(len(cloud), size=size, replace=False))]


def show_progress(progress) -> bool:
    """Whether to draw a progress bar: ``progress`` if it is a bool, else (None) only when
    standard error is a terminal."""
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progress)
