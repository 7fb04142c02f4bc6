"""Time-conditioned torch fields v_theta(t, x), potentials phi_theta(t, x) and score networks.

Every field is a :class:`Field`: ``field(t, x)`` with ``x`` a torch tensor ``(n, d)`` and ``t`` a
float or a tensor ``(n,)`` / ``(n, 1)`` returns a tensor ``(n, d)``; with ``x`` a numpy array
``(n, d)`` it returns a float64 numpy array ``(n, d)`` (no graph kept). So a backward sampler or a
flow-map integrator can use any of them as a plain callable ``v(t, x)`` on points.

* :class:`VelocityMLP` - an unconstrained vector field.
* :class:`PotentialMLP` - a scalar phi(t, x) (``(n,)``), used as a log-density q ~ log rho or as
  a velocity potential.
* :class:`ConservativeVelocity` - v = -grad_x phi (curl-free by construction).
* :class:`StationaryPotential` - phi = log rho_infinity(x) + a network: the stationary
  log-density of a confined linear equation (up to a constant) as a fixed base, so the score
  s = grad phi has the right growth -kappa x / D at large ``|x|``.
* :class:`PotentialScore` - s = grad_x phi for phi ~ log rho (the seed paper's conservative score).
* :class:`ScoreVelocity` - a score field turned into the velocity v = -(D s + kappa x) with
  :meth:`pdeflow.equations.FokkerPlanck.velocity_from_score` (the relation is not copied here).

Units: t in the equation's time units, x in length units; v in length / time, s in 1 / length.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

__all__ = [
    "TimeEmbedding", "Field", "VelocityMLP", "PotentialMLP", "ConservativeVelocity",
    "PotentialScore", "ScoreMLP", "ScoreVelocity", "StationaryPotential", "as_numpy_velocity",
    "make_activation",
]

_ACTIVATIONS = {
    "silu": lambda beta: nn.SiLU(),
    "tanh": lambda beta: nn.Tanh(),
    "softplus": lambda beta: nn.Softplus(beta=beta),
    "gelu": lambda beta: nn.GELU(),
}


def make_activation(name: str, beta: float = 1.0) -> nn.Module:
    """A smooth activation by name: 'silu', 'tanh', 'softplus' (with ``beta``) or 'gelu'."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {name!r}")
    return _ACTIVATIONS[name](beta)


def _check_sizes(dim: int, hidden) -> tuple:
    if int(dim) != dim or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim}")
    hidden = tuple(int(h) for h in hidden)
    if not hidden or any(h < 1 for h in hidden):
        raise ValueError(f"hidden must be a non-empty sequence of positive widths, got {hidden}")
    return hidden


class TimeEmbedding(nn.Module):
    """Fixed Fourier features of time: (t, sin(w_k t), cos(w_k t)), k < n_frequencies.

    Frequencies w_k = 2 pi k' / horizon, geometrically spaced from 1/horizon to
    ``max_frequency`` / horizon cycles, so the embedding resolves the time scale of [0, horizon].
    Output width ``1 + 2 n_frequencies``; ``t`` (n,) -> (n, width).
    """

    def __init__(self, n_frequencies: int = 4, horizon: float = 1.0, max_frequency: float = 8.0):
        super().__init__()
        if n_frequencies < 0 or int(n_frequencies) != n_frequencies:
            raise ValueError(f"n_frequencies must be an integer >= 0, got {n_frequencies}")
        if not (math.isfinite(horizon) and horizon > 0):
            raise ValueError(f"horizon must be a finite time > 0, got {horizon}")
        freqs = (2 * math.pi / horizon) * torch.logspace(0, math.log10(max_frequency),
                                                           int(n_frequencies), dtype=torch.float64)
        self.register_buffer("freqs", freqs)
        self.horizon = float(horizon)
        self.width = 1 + 2 * int(n_frequencies)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        arg = t[:, None] * self.freqs.to(t.dtype)
        return torch.cat([t[:, None] / self.horizon, torch.sin(arg), torch.cos(arg)], dim=1)


def _mlp(n_in: int, hidden: tuple, n_out: int, activation: str, beta: float) -> nn.Sequential:
    layers, width = [], n_in
    for h in hidden:
        layers += [nn.Linear(width, h), make_activation(activation, beta)]
        width = h
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class Field(nn.Module):
    """Base class: ``forward(t, x)`` on torch tensors; ``__call__`` also accepts numpy points.

    Subclasses implement :meth:`field` with ``t`` already a tensor of shape (n,).
    """

    #: True if evaluating needs d/dx through the network (autograd must be on even in inference).
    needs_input_grad = False

    def field(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        """The field at ``x`` (n, d) and times ``t`` (n,), both torch tensors; returns (n, d)."""
        raise NotImplementedError

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def _times(self, t, x: torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
        if t.ndim == 2 and t.shape[1] == 1:
            t = t[:, 0]
        if t.ndim == 0:
            t = t.expand(x.shape[0])
        if t.shape != (x.shape[0],):
            raise ValueError(f"t must be a scalar or have shape ({x.shape[0]},) matching x, "
                             f"got {tuple(t.shape)}")
        return t

    def _input_dim(self) -> int | None:
        """The space dimension d of the first submodule that declares one (None if none does)."""
        for module in self.modules():
            dim = getattr(module, "dim", None)
            if isinstance(dim, int):
                return dim
        return None

    def _check_x(self, x) -> None:
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"x must be a torch.Tensor or a numpy array, got {type(x).__name__}")
        dim = self._input_dim()
        want = f"(n, {dim})" if dim is not None else "(n, d)"
        if x.ndim != 2 or (dim is not None and x.shape[1] != dim):
            raise ValueError(f"x must have shape {want} (points in the network's {dim}-D space), "
                             f"got {tuple(x.shape)}" if dim is not None else
                             f"x must have shape (n, d), got {tuple(x.shape)}")
        if x.dtype != self.dtype:
            raise ValueError(f"x has dtype {x.dtype} but the network's parameters are "
                             f"{self.dtype}: pass x.to({self.dtype}) or convert the network with "
                             f".to({x.dtype})")

    def forward(self, t, x: torch.Tensor) -> torch.Tensor:
        self._check_x(x)
        return self.field(self._times(t, x), x)

    def __call__(self, t, x):
        if isinstance(x, np.ndarray):
            return self.numpy(t, x)
        return super().__call__(t, x)

    def numpy(self, t, x) -> np.ndarray:
        """Evaluate on numpy points ``x`` (n, d) (t float or (n,)); float64 (n, ...) result."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or not np.all(np.isfinite(x)):
            raise ValueError(f"x must be a finite (n, d) array, got shape {x.shape}")
        xt = torch.as_tensor(x, dtype=self.dtype)
        tt = torch.as_tensor(np.asarray(t, dtype=np.float64), dtype=self.dtype)
        with torch.set_grad_enabled(self.needs_input_grad):
            out = nn.Module.__call__(self, tt, xt)
        return out.detach().to(torch.float64).numpy()


class VelocityMLP(Field):
    """v_theta(t, x) = MLP([embed(t), x]) -> (n, d), smooth activations.

    Parameters
    ----------
    dim : space dimension d.
    hidden : hidden widths, e.g. (64, 64).
    activation : 'silu' (default), 'tanh', 'softplus', 'gelu'; ``beta`` for softplus.
    n_frequencies, horizon : time embedding (see :class:`TimeEmbedding`).
    dtype : torch.float32 (default, fast) or torch.float64.
    seed : initialisation seed (a private torch.Generator; global RNG untouched).
    """

    def __init__(self, dim: int, hidden=(64, 64), activation: str = "silu", beta: float = 1.0,
                 n_frequencies: int = 4, horizon: float = 1.0, dtype=torch.float32,
                 seed: int = 0, n_out: int | None = None):
        super().__init__()
        hidden = _check_sizes(dim, hidden)
        self.dim = int(dim)
        self.embed = TimeEmbedding(n_frequencies, horizon)
        self.net = _mlp(self.dim + self.embed.width, hidden, self.dim if n_out is None else n_out,
                        activation, beta)
        _seeded_init(self, seed)
        self.to(dtype)

    def field(self, t, x):
        return self.net(torch.cat([self.embed(t), x], dim=1))


class ScoreMLP(VelocityMLP):
    """s_theta(t, x) (n, d): an unconstrained score network (same architecture as VelocityMLP)."""


class PotentialMLP(VelocityMLP):
    """phi_theta(t, x): a scalar network; ``forward`` returns shape (n,).

    Same parameters as :class:`VelocityMLP`; the seed paper's setup is
    ``PotentialMLP(2, (80, 80, 80), activation='softplus', beta=100, n_frequencies=0)``.
    """

    def __init__(self, dim: int, hidden=(64, 64), **kwargs):
        super().__init__(dim, hidden, n_out=1, **kwargs)

    def field(self, t, x):
        return super().field(t, x)[:, 0]


class StationaryPotential(nn.Module):
    """``phi(t, x) = -kappa |x|^2 / (2 D) + correction(t, x)``, shape (n,).

    The base is log N(0, (D/kappa) I) up to an additive constant (which neither the score nor
    the Fokker-Planck residual sees). A softplus MLP alone has a bounded
    gradient, so its score cannot grow like the true -kappa x / D, and the probability-flow ODE
    drift kappa y + D s then grows like e^{kappa tau} for points outside the fitted region; the
    base removes that. ``correction`` is any scalar model (e.g. :class:`PotentialMLP`).
    """

    def __init__(self, correction: nn.Module, equation):
        super().__init__()
        if not (hasattr(equation, "velocity_from_score") and equation.kappa > 0):
            raise ValueError("equation must be FokkerPlanck with kappa > 0 (a stationary "
                             f"Gaussian), got {equation!r}")
        self.correction = correction
        self.equation = equation

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    def forward(self, t, x: torch.Tensor) -> torch.Tensor:
        # log of the stationary density exp(-V / D), V = kappa |x|^2 / 2 (up to a constant)
        return -self.equation.external_potential(x) / self.equation.D + self.correction(t, x)


def _input_gradient(potential: nn.Module, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """grad_x potential(t, x), (n, d), keeping the graph (usable in losses)."""
    if not x.requires_grad:
        x = x.detach().requires_grad_(True)
    phi = potential(t, x)
    (grad,) = torch.autograd.grad(phi.sum(), x, create_graph=True)
    return grad


class ConservativeVelocity(Field):
    """v = -grad_x phi(t, x) for a scalar ``potential`` (e.g. :class:`PotentialMLP`)."""

    needs_input_grad = True

    def __init__(self, potential: nn.Module):
        super().__init__()
        self.potential = potential

    def field(self, t, x):
        return -_input_gradient(self.potential, t, x)


class PotentialScore(Field):
    """s = grad_x phi(t, x) with phi ~ log rho (a conservative score)."""

    needs_input_grad = True

    def __init__(self, potential: nn.Module):
        super().__init__()
        self.potential = potential

    def field(self, t, x):
        return _input_gradient(self.potential, t, x)


class ScoreVelocity(Field):
    """v = equation.velocity_from_score(s(t, x), x) = -(D s + kappa x) for a score field ``score``."""

    def __init__(self, score: Field, equation):
        super().__init__()
        if not hasattr(equation, "velocity_from_score"):
            raise ValueError(f"equation must be Heat or FokkerPlanck (have velocity_from_score), "
                             f"got {type(equation).__name__}")
        self.score = score
        self.equation = equation
        self.needs_input_grad = score.needs_input_grad

    def field(self, t, x):
        return self.equation.velocity_from_score(self.score(t, x), x)


def as_numpy_velocity(model: Field):
    """A plain callable ``v(t, x)``: numpy points (n, d) float64 in, float64 (n, d) out."""
    if not isinstance(model, Field):
        raise ValueError(f"model must be a pdeflow.learn Field, got {type(model).__name__}")
    return lambda t, x: model.numpy(t, x)


def _seeded_init(module: nn.Module, seed: int) -> None:
    """Re-initialise every Linear layer from a private generator (default PyTorch scheme)."""
    gen = torch.Generator().manual_seed(int(seed))
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            bound = 1.0 / math.sqrt(layer.in_features)
            with torch.no_grad():
                layer.weight.uniform_(-bound, bound, generator=gen)
                layer.bias.uniform_(-bound, bound, generator=gen)
