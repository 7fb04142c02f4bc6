"""Canonical manifold flow (CMF) objective, its baselines, and a training loop.

Per data point x (n, D), with z = g^+(x) and G = J_g(z)^T J_g(z) (d, d), the minimised loss is

    -log p_z(z) + 1/2 log det G + beta ||x - g(z)||^2 + gamma * penalty(G)

averaged over the batch. Methods (``method_config``):

* ``"cmf"`` - penalty = sum_{i != j} |G_ij| (L1 off-diagonal; Flouris & Konukoglu 2023);
* ``"rectangular"`` - gamma = 0 (rectangular flow, Caterini et al. 2021);
* ``"conformal"`` - penalty = ||G - (tr G / d) I||_F^2 / d (drives G to a multiple of I);
* ``"two_step"`` - first ``beta ||x - g(g^+(x))||^2`` alone trains the ambient bijection, then
  -log p_z(g^+(x)) alone trains the prior flow on the (frozen) latents (M-flow style).

log det G is exact (Cholesky) or the stochastic surrogate of :mod:`.logdet`; the penalty
always acts on the true G (built from d JVPs) whenever gamma > 0.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from ..progress import progress_bar
from ..geometry.pullback import check_points, pullback_metric
from .logdet import logdet_exact, logdet_surrogate

PENALTIES = ("offdiag_l1", "conformal", "none")
LOGDET_MODES = ("exact", "stochastic")


def offdiag_l1(G: torch.Tensor) -> torch.Tensor:
    """``sum_{i != j} |G_ij|`` for ``G`` (n, d, d); returns (n,)."""
    off = 1.0 - torch.eye(G.shape[-1], dtype=G.dtype, device=G.device)
    return (G.abs() * off).sum((-1, -2))


def conformal_penalty(G: torch.Tensor) -> torch.Tensor:
    """||G - (tr G / d) I||_F^2 / d for ``G`` (n, d, d); zero iff G is a multiple of I; (n,)."""
    d = G.shape[-1]
    mean_diag = G.diagonal(dim1=-2, dim2=-1).mean(-1)
    eye = torch.eye(d, dtype=G.dtype, device=G.device)
    return ((G - mean_diag[:, None, None] * eye) ** 2).sum((-1, -2)) / d


@dataclass(frozen=True)
class CMFConfig:
    """Objective settings. ``beta``: reconstruction weight; ``gamma``: penalty weight;
    ``penalty`` in PENALTIES; ``logdet`` in LOGDET_MODES; ``n_probes``, ``cg_tol``,
    ``cg_maxiter``: stochastic-mode settings; ``two_step``: use the two-step schedule."""

    beta: float = 50.0
    gamma: float = 1.0
    penalty: str = "offdiag_l1"
    logdet: str = "exact"
    n_probes: int = 1
    cg_tol: float = 1e-6
    cg_maxiter: int = 50
    two_step: bool = False

    def __post_init__(self):
        if not (np.isfinite(self.beta) and self.beta >= 0):
            raise ValueError(f"beta must be a finite number >= 0, got {self.beta!r}")
        if not (np.isfinite(self.gamma) and self.gamma >= 0):
            raise ValueError(f"gamma must be a finite number >= 0, got {self.gamma!r}")
        if self.penalty not in PENALTIES:
            raise ValueError(f"penalty must be one of {PENALTIES}, got {self.penalty!r}")
        if self.logdet not in LOGDET_MODES:
            raise ValueError(f"logdet must be one of {LOGDET_MODES}, got {self.logdet!r}")


METHODS = ("cmf", "rectangular", "conformal", "two_step")


def method_config(method: str, **overrides) -> CMFConfig:
    """The CMFConfig of a named method (see module docstring), with keyword overrides."""
    base = {"cmf": CMFConfig(penalty="offdiag_l1"),
            "rectangular": CMFConfig(gamma=0.0, penalty="none"),
            "conformal": CMFConfig(penalty="conformal"),
            "two_step": CMFConfig(gamma=0.0, penalty="none", two_step=True)}
    if method not in base:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return replace(base[method], **overrides)


def _penalty(G: torch.Tensor, name: str) -> torch.Tensor:
    return offdiag_l1(G) if name == "offdiag_l1" else conformal_penalty(G)


def objective(flow, x: torch.Tensor, cfg: CMFConfig, generator: torch.Generator | None = None):
    """Batch-mean loss (scalar tensor) and a dict of float parts for the joint objective.

    Parts: nll_latent, recon, penalty, and half_logdet (exact mode; with the Cholesky jitter) or
    half_logdet_surrogate and cg_residual (stochastic mode; the surrogate's value is not log det G).
    """
    check_points(x, "x")
    z = flow.project(x)
    recon = ((x - flow.decode(z)) ** 2).sum(-1)
    nll = -flow.log_prior(z)
    parts = {}
    G = pullback_metric(flow.decode, z) if (cfg.gamma > 0 or cfg.logdet == "exact") else None
    if cfg.logdet == "exact":
        logdet, parts["jitter"] = logdet_exact(G)
    else:
        logdet, info = logdet_surrogate(flow.decode, z, cfg.n_probes, cfg.cg_tol,
                                        cfg.cg_maxiter, generator)
        parts["cg_residual"] = info["cg_residual"]
    half_name = "half_logdet" if cfg.logdet == "exact" else "half_logdet_surrogate"
    pen = _penalty(G, cfg.penalty) if cfg.gamma > 0 else torch.zeros_like(nll)
    loss = (nll + 0.5 * logdet + cfg.beta * recon + cfg.gamma * pen).mean()
    parts.update(nll_latent=nll.mean().item(), recon=recon.mean().item(), penalty=pen.mean().item())
    parts[half_name] = 0.5 * logdet.mean().item()
    return loss, parts


def _batches(n: int, batch_size: int, steps: int, gen: torch.Generator):
    for _ in range(steps):
        yield torch.randint(0, n, (batch_size,), generator=gen)


def _fit(params, loss_fn, x, steps, batch_size, lr, gen, desc, progress):
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1))
    history = []
    bar = progress_bar(_batches(len(x), batch_size, steps, gen), total=steps, desc=desc,
                       progress=progress, leave=False)
    for idx in bar:
        loss, parts = loss_fn(x[idx])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 10.0)
        opt.step()
        sched.step()
        history.append({"loss": loss.item(), **parts})
        if not np.isfinite(history[-1]["loss"]):
            raise FloatingPointError(f"{desc}: loss became non-finite at step {len(history)}")
    return history


def train(flow, x: torch.Tensor, cfg: CMFConfig, steps: int = 1000, batch_size: int = 128,
          lr: float = 1e-3, seed: int = 0, progress: bool = True):
    """Train ``flow`` on data ``x`` (n, D) with Adam + cosine schedule; returns the history
    (a list of per-step dicts). ``seed`` fixes batches and Hutchinson probes."""
    check_points(x, "x")
    if x.shape[1] != flow.D:
        raise ValueError(f"x must have shape (n, {flow.D}), got {tuple(x.shape)}")
    for name, v in (("steps", steps), ("batch_size", batch_size)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    gen = torch.Generator().manual_seed(seed)
    if not cfg.two_step:
        return _fit(list(flow.parameters()), lambda xb: objective(flow, xb, cfg, gen),
                    x, steps, batch_size, lr, gen, "joint", progress)

    def recon_loss(xb):
        r = ((xb - flow.reconstruct(xb)) ** 2).sum(-1).mean()
        return cfg.beta * r, {"recon": r.item()}

    def density_loss(xb):
        with torch.no_grad():
            z = flow.project(xb)
        nll = -flow.log_prior(z).mean()
        return nll, {"nll_latent": nll.item()}

    hist = _fit(list(flow.ambient.parameters()), recon_loss, x, steps, batch_size, lr, gen,
                "manifold", progress)
    return hist + _fit(list(flow.prior.parameters()), density_loss, x, steps, batch_size,
                       lr, gen, "density", progress)
