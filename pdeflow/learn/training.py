"""Training of learned fields and the achieved error epsilon.

* :func:`fit_regression` - least squares on ground truth (t, x, v(t, x)) from a target
  (:mod:`pdeflow.learn.targets`).
* :func:`fit_dsm` - denoising score matching for the linear family (no ground truth needed), weight
  lambda(t) = sigma_t^2, optionally plus w_R E[R^2] (the log-Fokker-Planck residual).
* :func:`field_error` - ``eps^2 = int_{t_min}^{t_max} int |f - f_true|^2 rho_t dx dt`` by Monte Carlo on
  held-out points, with its standard error from the per-time-slice means.

All randomness comes from explicit seeds: numpy Generators for data, torch.Generators for
minibatches and noise. Networks may be float32 (default, fast) or float64.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from ..progress import progress_bar
from ..exact import ou_transition
from .residual import residual_penalty

__all__ = ["EpsilonEstimate", "TrainResult", "field_error", "epsilon_from_batch", "train_loop",
           "fit_regression", "fit_dsm", "ou_coefficients", "sample_times"]


@dataclass(frozen=True)
class EpsilonEstimate:
    """Monte Carlo estimate of ``eps^2 = int int |f - f_true|^2 rho_t dx dt``.

    eps2 : the estimate (field units^2 x time); stderr : its standard error; n : points used;
    blocks : independent time slices (the standard error uses their spread).
    """

    eps2: float
    stderr: float
    n: int
    blocks: int

    @property
    def eps(self) -> float:
        return math.sqrt(self.eps2)

    def __str__(self) -> str:
        return f"eps^2 = {self.eps2:.4g} +- {self.stderr:.2g} (eps = {self.eps:.4g}, n = {self.n})"


@dataclass
class TrainResult:
    """losses : per-step training loss; epsilon : held-out error after training (or None);
    seconds : wall time of the optimisation; samples_per_second : training throughput."""

    losses: list
    epsilon: EpsilonEstimate | None
    seconds: float
    samples_per_second: float
    extra: dict = field(default_factory=dict)


def epsilon_from_batch(prediction, batch, horizon: float) -> EpsilonEstimate:
    """eps^2 estimate from a prediction (n, d) at the points of ``batch`` (see targets.Batch)."""
    prediction = np.asarray(prediction, dtype=np.float64)
    if prediction.shape != batch.v.shape:
        raise ValueError(f"prediction must have shape {batch.v.shape}, got {prediction.shape}")
    if not np.all(np.isfinite(prediction)):
        raise ValueError("prediction must be finite")
    sq = ((prediction - batch.v) ** 2).sum(1)
    counts = np.bincount(batch.block)
    means = np.bincount(batch.block, weights=sq)[counts > 0] / counts[counts > 0]
    k = len(means)
    stderr = horizon * means.std(ddof=1) / math.sqrt(k) if k > 1 else float("nan")
    return EpsilonEstimate(float(horizon * sq.mean()), float(stderr), len(sq), k)


def field_error(model, target, n: int = 8192, seed=12345) -> EpsilonEstimate:
    """eps^2 of ``model`` against ``target`` on ``n`` fresh points drawn with ``seed``.

    ``model(t, x)`` takes numpy t (n,) and x (n, d) (any :class:`~pdeflow.learn.networks.Field`
    or a plain callable) and returns (n, d).
    """
    batch = target.draw(n, np.random.default_rng(seed))
    return epsilon_from_batch(model(batch.t, batch.x), batch, target.horizon)


def train_loop(model, loss_fn, steps: int, lr: float = 1e-3, progress: bool = False,
               desc: str = "training", lr_decay: float = 1.0, checkpoint=None,
               generator: torch.Generator | None = None, history: dict | None = None) -> list:
    """Adam on ``loss_fn(step) -> scalar tensor`` for ``steps`` steps; returns the losses.

    ``lr_decay`` is the total factor of a cosine-free exponential decay over the run
    (1 = constant learning rate).

    ``checkpoint`` (optional) makes the run resumable: any object with an integer ``every``,
    ``load() -> dict or None`` and ``save(state: dict)`` (for example
    :class:`pdeflow.reproductions.checkpoint.TorchCheckpoint`). If ``load()`` returns a state,
    training continues from it; every ``every`` steps and after the last one ``save`` receives
    the step count, model, optimiser and scheduler state dicts, the state of ``generator`` (the
    minibatch / noise stream of ``loss_fn``) and of torch's global generator, the losses so far
    and ``history`` (a dict of lists that ``loss_fn`` appends to, restored in place). A run
    stopped after a save and resumed gives bit-for-bit the same weights as an uninterrupted one.
    """
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps}")
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a finite number > 0, got {lr}")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=lr_decay ** (1.0 / steps))
    losses, first = [], 0
    if checkpoint is not None:
        every = checkpoint.every
        if isinstance(every, bool) or int(every) != every or every < 1:
            raise ValueError(f"checkpoint.every must be an integer >= 1, got {every!r}")
        state = checkpoint.load()
        if state is not None:
            first = _restore(state, steps, model, opt, sched, generator, losses, history)
    for step in progress_bar(range(first, int(steps)), desc=desc, progress=progress,
                             leave=False, initial=first, total=int(steps)):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(step)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"loss became {loss.item()} at step {step}" + (
                    "; the first loss is already not finite: check the data and targets"
                    if step == 0 else f"; lower lr (now {lr:g})"))
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if checkpoint is not None and ((step + 1) % int(checkpoint.every) == 0
                                       or step + 1 == steps):
            checkpoint.save(_state(step + 1, steps, model, opt, sched, generator, losses,
                                   history))
    return losses


def _state(step, steps, model, opt, sched, generator, losses, history) -> dict:
    return {"step": int(step), "steps": int(steps), "model": model.state_dict(),
            "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
            "generator": None if generator is None else generator.get_state(),
            "torch_rng": torch.get_rng_state(), "losses": list(losses),
            "history": None if history is None else {k: list(v) for k, v in history.items()}}


def _restore(state, steps, model, opt, sched, generator, losses, history) -> int:
    """Load a :func:`_state` dict into the live objects; returns the step to continue from."""
    if state["steps"] != steps:
        raise ValueError(f"checkpoint was written for steps={state['steps']}, this run has "
                         f"steps={steps} (the learning-rate schedule depends on it)")
    if (state["generator"] is None) != (generator is None):
        raise ValueError("checkpoint and run disagree on whether a generator is restored")
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    if generator is not None:
        generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    losses.extend(state["losses"])
    if history is not None:
        for key, values in history.items():
            values[:] = state["history"][key]
    return int(state["step"])


def _check_batch_size(batch_size) -> int:
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    return int(batch_size)


def _to_torch(a, dtype) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a), dtype=dtype)


def fit_regression(model, target, steps: int = 500, batch_size: int = 256, n_train: int = 16384,
                   lr: float = 1e-3, seed: int = 0, n_eval: int = 8192, progress: bool = False,
                   lr_decay: float = 0.1, points_per_time: int = 8) -> TrainResult:
    """Least squares E|v_theta(t, x) - v(t, x)|^2 on ``n_train`` points drawn from ``target``.

    Data: ``target.draw(n_train, seed)`` with ``n_train / points_per_time`` time slices; minibatches from a torch.Generator(seed); the held-out
    epsilon uses ``n_eval`` fresh points (seed + 1 stream). Returns a :class:`TrainResult`.
    """
    import time

    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps}")
    batch_size = _check_batch_size(batch_size)
    dtype = model.dtype
    data = target.draw(n_train, np.random.default_rng([seed, 0]),
                       n_times=max(2, n_train // points_per_time))
    t, x, v = (_to_torch(a, dtype) for a in (data.t, data.x, data.v))
    gen = torch.Generator().manual_seed(int(seed))

    def loss_fn(step):
        idx = torch.randint(0, len(t), (batch_size,), generator=gen)
        return (model(t[idx], x[idx]) - v[idx]).pow(2).sum(1).mean()

    start = time.perf_counter()
    losses = train_loop(model, loss_fn, steps, lr, progress, "regression", lr_decay)
    seconds = time.perf_counter() - start
    eps = field_error(model, target, n_eval, seed=[seed, 1]) if n_eval else None
    return TrainResult(losses, eps, seconds, steps * batch_size / seconds)


def ou_coefficients(equation, t: torch.Tensor):
    """(a_t, sigma_t) of x_t | x_0 ~ N(a_t x_0, sigma_t^2 I) for a tensor of times t (n,),
    from :func:`pdeflow.exact.ou_transition` (no gradient flows through t)."""
    decay, variance = ou_transition(equation, t.detach().cpu().double().numpy())
    as_t = lambda a: torch.as_tensor(a, dtype=t.dtype, device=t.device)  # noqa: E731
    return as_t(decay), as_t(np.sqrt(variance))


_TIME_SAMPLING = ("uniform", "log")


def sample_times(n: int, t_min: float, t_max: float, time_sampling: str = "uniform",
                 generator: torch.Generator | None = None, dtype=torch.float64) -> torch.Tensor:
    """``n`` training times (n,) in [t_min, t_max]: 'uniform' (t ~ U[t_min, t_max]) or 'log'
    (log t ~ U[log t_min, log t_max], needs t_min > 0; spends as many draws on [t_min, 10 t_min]
    as on any other decade, where the score is largest and hardest to learn)."""
    if time_sampling not in _TIME_SAMPLING:
        raise ValueError(f"time_sampling must be one of {_TIME_SAMPLING}, got {time_sampling!r}")
    if not (0 <= t_min < t_max and math.isfinite(t_max)):
        raise ValueError(f"need finite 0 <= t_min < t_max, got t_min={t_min}, t_max={t_max}")
    if time_sampling == "log" and t_min <= 0:
        raise ValueError(f"time_sampling='log' needs t_min > 0, got {t_min}")
    u = torch.rand(int(n), generator=generator, dtype=dtype)
    if time_sampling == "uniform":
        return t_min + (t_max - t_min) * u
    return torch.exp(math.log(t_min) + (math.log(t_max) - math.log(t_min)) * u)


def fit_dsm(model, equation, data, t_min: float, t_max: float, steps: int = 500,
            batch_size: int = 256, lr: float = 1e-3, seed: int = 0, residual_weight: float = 0.0,
            laplacian: str = "exact", score_target=None, n_eval: int = 8192,
            progress: bool = False, lr_decay: float = 0.1,
            time_sampling: str = "uniform", checkpoint=None) -> TrainResult:
    """Denoising score matching for the linear family, weight lambda(t) = sigma_t^2::

        L = E_{t, x_0, z} | sigma_t s_theta(t, a_t x_0 + sigma_t z) + z |^2  (+ w_R E[R^2]),

    t ~ U[t_min, t_max] (``time_sampling='log'``: log-uniform, see :func:`sample_times`; the
    minimiser is the same, only the budget moves to small t), x_0 from ``data`` (N, d) (resampled with replacement), z ~ N(0, I).
    ``residual_weight`` > 0 needs ``model`` to be a
    :class:`~pdeflow.learn.networks.PotentialScore` (the residual is evaluated on phi at the same
    noisy points). ``score_target`` (e.g. ``gaussian_mixture_target(flow, ..., 'score')``) gives
    the held-out score error eps in the result. ``checkpoint``: see :func:`train_loop` (the
    minibatch generator and the per-step ``dsm`` / ``residual`` losses are saved with it).
    """
    import time

    batch_size = _check_batch_size(batch_size)
    if not (0 < t_min < t_max):  # sigma_0 = 0 makes the DSM target singular
        raise ValueError(f"need 0 < t_min < t_max for DSM, got t_min={t_min}, t_max={t_max}")
    if not (residual_weight >= 0 and math.isfinite(residual_weight)):
        raise ValueError(f"residual_weight must be a finite number >= 0, got {residual_weight}")
    if time_sampling not in _TIME_SAMPLING:
        raise ValueError(f"time_sampling must be one of {_TIME_SAMPLING}, got {time_sampling!r}")
    if residual_weight > 0 and not hasattr(model, "potential"):
        raise ValueError("residual_weight > 0 needs a PotentialScore model (phi ~ log rho)")
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2 or not np.all(np.isfinite(data)):
        raise ValueError(f"data must be a finite (N, d) array, got shape {data.shape}")
    dtype = model.dtype
    x0_all = torch.as_tensor(data, dtype=dtype)
    gen = torch.Generator().manual_seed(int(seed))
    parts = {"dsm": [], "residual": []}

    def loss_fn(step):
        idx = torch.randint(0, len(x0_all), (batch_size,), generator=gen)
        t = sample_times(batch_size, t_min, t_max, time_sampling, gen, dtype)
        z = torch.randn(batch_size, data.shape[1], generator=gen, dtype=dtype)
        a, sigma = ou_coefficients(equation, t)
        xt = a[:, None] * x0_all[idx] + sigma[:, None] * z
        loss = (sigma[:, None] * model(t, xt) + z).pow(2).sum(1).mean()
        parts["dsm"].append(loss.item())
        if residual_weight > 0:
            pen = residual_penalty(model.potential, equation, t, xt, laplacian=laplacian,
                                   generator=gen)
            parts["residual"].append(pen.item())
            loss = loss + residual_weight * pen
        return loss

    start = time.perf_counter()
    losses = train_loop(model, loss_fn, steps, lr, progress, "dsm", lr_decay, checkpoint, gen,
                        parts)
    seconds = time.perf_counter() - start
    eps = (field_error(model, score_target, n_eval, seed=[seed, 1])
           if score_target is not None and n_eval else None)
    return TrainResult(losses, eps, seconds, steps * batch_size / seconds, extra=parts)
