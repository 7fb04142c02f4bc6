"""Models of the libraries people train with, as pdeflow models (no wrapper written by the user).

Each adapter is a numpy callable with the attributes ``kind`` (what it predicts, one of
:data:`~pdeflow.modelcheck.protocol.KINDS`), ``convention`` (the schedule it was trained on, or
None) and ``shape`` (the image shape (C, H, W) it takes, or None); :func:`pdeflow.validate` takes
the kind from it and refuses a problem whose convention differs from the model's.

* :class:`DiffusersModel` - a diffusers ``UNet2DModel`` (or any module called as
  ``unet(sample, timestep).sample``) with its scheduler: the convention is the scheduler's
  ``alphas_cumprod`` as a :class:`~pdeflow.schedules.DiscreteSchedule` (the model time *is* the
  diffusers timestep, log abar linear between integers), the kind its ``prediction_type``
  (``epsilon`` -> ``epsilon``, ``v_prediction`` -> ``v``, ``sample`` -> ``sample``); points
  (n, C*H*W) are reshaped to (n, C, H, W).
* :class:`KDiffusionDenoiser` - a k-diffusion denoiser ``denoiser(x, sigma)`` (its
  ``external.CompVisDenoiser`` / ``CompVisVDenoiser`` wrappers, ``layers.Denoiser``): kind
  ``denoiser`` (called as model(x / a, sigma = b / a), the VE form k-diffusion works in).
  :func:`karras_denoiser` builds such a denoiser from an eps- or v-network on a DDPM table with
  k-diffusion's conventions (c_skip, c_out, c_in; sigma -> timestep by linear interpolation of
  log sigma between table entries), for users without k-diffusion installed.
* :class:`TorchCFMModel` - a torchcfm velocity network (``models.MLP`` with ``time_varying``,
  called on ``cat([x, t])``; ``UNetModel`` and ``torch_wrapper`` called as ``net(t, x)``): kind
  ``velocity`` in the flow-matching convention (source N(0, I) at t = 0, data at t = 1).
* :func:`load_model` - ``diffusers:PATH_OR_FACTORY``, ``k-diffusion:FACTORY``,
  ``torchcfm:FACTORY`` for ``pdeflow validate --model``.

torch is imported only when an adapter is built; diffusers only by :func:`load_model` and
:func:`import_diffusers`.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..conventions import FlowMatching
from ..schedules import DiscreteSchedule

__all__ = ["DiffusersModel", "KDiffusionDenoiser", "TorchCFMModel", "karras_denoiser",
           "load_model", "import_diffusers", "PREFIXES", "check_convention"]

#: the ``--model`` prefixes of :func:`load_model`
PREFIXES = ("diffusers", "k-diffusion", "torchcfm")
_PREDICTION_TYPES = {"epsilon": "epsilon", "v_prediction": "v", "sample": "sample"}


class _TorchNet:
    """Shared: a torch module evaluated without grad in its own dtype and device."""

    kind = "score"
    convention = None
    shape = None

    def __init__(self, module, shape=None, device=None):
        import torch

        self.torch, self.module = torch, module
        tensors = list(module.parameters()) + list(module.buffers())
        floating = [p for p in tensors if p.is_floating_point()]
        self.dtype = floating[0].dtype if floating else torch.get_default_dtype()
        self.device = tensors[0].device if tensors else torch.device("cpu")
        if device is not None:
            self.to(device)
        module.eval()
        if shape is not None:
            shape = tuple(int(s) for s in shape)
            if len(shape) != 3 or min(shape) < 1:
                raise ValueError(f"shape must be (C, H, W) of positive integers, got {shape}")
        self.shape = shape
        self.__name__ = type(module).__name__

    def to(self, device):
        """Move the module to ``device`` (a torch device or its name)."""
        self.device = self.torch.device(device)
        self.module.to(self.device)
        return self

    def describe(self) -> str:
        return f"{self.__name__} via {type(self).__name__}, torch " \
               f"{str(self.dtype).replace('torch.', '')} on {self.device}"

    def _tensor(self, array):
        return self.torch.as_tensor(np.asarray(array), dtype=self.dtype, device=self.device)

    def _images(self, x):
        x = self._tensor(x)
        if self.shape is None or x.ndim != 2:
            return x
        if x.shape[1] != int(np.prod(self.shape)):
            raise ValueError(f"the model takes images {self.shape} = {int(np.prod(self.shape))} "
                             f"numbers per point; got points of dimension {x.shape[1]}")
        return x.reshape(len(x), *self.shape)

    def _numpy(self, out):
        torch = self.torch
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"returned {type(out).__name__}, not a tensor")
        return out.detach().to(device="cpu", dtype=torch.float64).reshape(len(out), -1).numpy()


class DiffusersModel(_TorchNet):
    """A diffusers UNet (``unet(sample, timestep).sample``) with its scheduler (see the module
    docstring).

    Parameters
    ----------
    unet : torch module, e.g. ``diffusers.UNet2DModel``.
    scheduler : a diffusers scheduler with ``alphas_cumprod`` and ``config.prediction_type``
        (DDPMScheduler, DDIMScheduler, ...), or None with ``alphas_cumprod`` and
        ``prediction_type`` given.
    shape : (C, H, W); default from ``unet.config`` (in_channels, sample_size).
    device : torch device to move the UNet to.
    """

    def __init__(self, unet, scheduler=None, *, alphas_cumprod=None, prediction_type=None,
                 shape=None, device=None):
        if scheduler is not None:
            alphas_cumprod = getattr(scheduler, "alphas_cumprod", None)
            prediction_type = getattr(getattr(scheduler, "config", None), "prediction_type",
                                      prediction_type)
            schedule_name = getattr(scheduler.config, "beta_schedule", "table")
        else:
            schedule_name = "table"
        if alphas_cumprod is None:
            raise ValueError("DiffusersModel needs a scheduler with alphas_cumprod (DDPM-family) "
                             "or alphas_cumprod=...")
        if prediction_type not in _PREDICTION_TYPES:
            raise ValueError(f"prediction_type must be one of {sorted(_PREDICTION_TYPES)}, got "
                             f"{prediction_type!r}")
        if shape is None:
            config = getattr(unet, "config", None)
            size = getattr(config, "sample_size", None)
            if size is None or getattr(config, "in_channels", None) is None:
                raise ValueError("give shape=(C, H, W): the unet has no config.sample_size / "
                                 "in_channels")
            size = (size, size) if np.ndim(size) == 0 else tuple(size)
            shape = (config.in_channels, *size)
        super().__init__(unet, shape, device)
        table = alphas_cumprod.detach().cpu().double().numpy() if hasattr(
            alphas_cumprod, "detach") else np.asarray(alphas_cumprod, dtype=np.float64)
        self.convention = DiscreteSchedule(table, name=f"diffusers-{schedule_name}")
        self.kind = _PREDICTION_TYPES[prediction_type]
        self.prediction_type = prediction_type

    def __call__(self, t, x):
        with self.torch.no_grad():
            out = self.module(self._images(x), self._tensor(t))
            return self._numpy(getattr(out, "sample", out))


class KDiffusionDenoiser(_TorchNet):
    """A k-diffusion denoiser ``denoiser(x, sigma) -> x0`` (kind ``denoiser``).

    ``convention``: given, or read from a discrete wrapper's ``sigmas`` buffer
    (abar = 1 / (1 + sigma^2)), or None (then any problem's convention is accepted: a Karras
    denoiser is defined for every sigma).
    """

    kind = "denoiser"

    def __init__(self, denoiser, *, shape=None, convention=None, device=None):
        super().__init__(denoiser, shape, device)
        if convention is None and hasattr(denoiser, "sigmas"):
            sigmas = denoiser.sigmas.detach().cpu().double().numpy()
            convention = DiscreteSchedule(1.0 / (1.0 + sigmas ** 2), name="k-diffusion-table")
        self.convention = convention

    def __call__(self, x_scaled, sigma):
        with self.torch.no_grad():
            return self._numpy(self.module(self._images(x_scaled), self._tensor(sigma)))


def karras_denoiser(net, alphas_cumprod, prediction: str = "epsilon"):
    """k-diffusion's discrete-DDPM denoiser around ``net(x, timestep)`` (a torch module): with
    sigma_n = sqrt((1 - abar_n) / abar_n), c_in = 1 / sqrt(sigma^2 + 1) and the timestep
    t(sigma) interpolated linearly in log sigma between table entries and clamped to the table
    [0, N - 1] outside it (as k-diffusion's ``DiscreteSchedule.sigma_to_t`` does),

    * ``epsilon``: D(x, sigma) = x - sigma eps(c_in x, t(sigma));
    * ``v``: D = x / (sigma^2 + 1) - sigma / sqrt(sigma^2 + 1) v(c_in x, t(sigma)).

    Returns a torch module ``denoiser(x, sigma)`` with a ``sigmas`` buffer (what
    :class:`KDiffusionDenoiser` reads)."""
    import torch

    if prediction not in ("epsilon", "v"):
        raise ValueError(f"prediction must be 'epsilon' or 'v', got {prediction!r}")
    table = DiscreteSchedule(np.asarray(alphas_cumprod, dtype=np.float64))

    class KarrasDenoiser(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = net
            self.register_buffer("sigmas", torch.as_tensor(table.sigmas))
            self.register_buffer("log_sigmas", torch.as_tensor(np.log(table.sigmas)))

        def sigma_to_t(self, sigma):
            log_sigma = sigma.log().to(self.log_sigmas.dtype)
            grid = self.log_sigmas
            low = torch.clamp(torch.searchsorted(grid, log_sigma) - 1, 0, len(grid) - 2)
            w = (log_sigma - grid[low]) / (grid[low + 1] - grid[low])
            return (low + w.clamp(0.0, 1.0)).to(sigma.dtype)

        def forward(self, x, sigma):
            shape = (-1,) + (1,) * (x.ndim - 1)
            s = sigma.reshape(shape)
            c_in = 1.0 / torch.sqrt(s * s + 1.0)
            out = self.inner(x * c_in, self.sigma_to_t(sigma))
            if prediction == "epsilon":
                return x - s * out
            return x / (s * s + 1.0) - s * c_in * out

    return KarrasDenoiser()


class TorchCFMModel(_TorchNet):
    """A torchcfm velocity network (kind ``velocity``, flow-matching convention, data at
    t = 1): ``models.MLP(time_varying=True)`` is called on ``cat([x, t])``, anything else as
    ``net(t, x)`` (torchcfm's ``UNetModel``, ``torch_wrapper``), with x reshaped to ``shape``."""

    kind = "velocity"

    def __init__(self, net, *, shape=None, device=None):
        super().__init__(net, shape, device)
        self.convention = FlowMatching()
        self.concatenated = bool(getattr(net, "time_varying", False))

    def __call__(self, t, x):
        with self.torch.no_grad():
            t = self._tensor(t)
            if self.concatenated:
                return self._numpy(self.module(self.torch.cat([self._tensor(x), t[:, None]], 1)))
            return self._numpy(self.module(t, self._images(x)))


def check_convention(model, problem) -> None:
    """ValueError if ``model`` carries a convention whose a(t), b(t) differ from the problem's
    (relative 1e-4 at 9 profile times: a float32 table of the same schedule passes)."""
    mine = getattr(model, "convention", None)
    theirs = problem.convention
    if mine is None or theirs is None:
        return
    times = problem.profile_times(9)
    lo, hi = getattr(mine, "time_range", None) or (-np.inf, np.inf)
    if times.min() < lo - 1e-9 or times.max() > hi + 1e-9:
        raise ValueError(f"the model's schedule {mine.name} covers t in [{lo:g}, {hi:g}] but "
                         f"{problem.name} runs over [{problem.t_min:g}, {problem.T:g}]")
    for label, ours, other in (("a(t)", mine.scale, theirs.scale),
                               ("b(t)", mine.noise, theirs.noise)):
        x, y = np.asarray(ours(times)), np.asarray(other(times))
        if not np.allclose(x, y, rtol=1e-4, atol=1e-6):
            raise ValueError(f"the model was trained on the schedule {mine.name} but "
                             f"{problem.name} uses {theirs.name}: {label} differs by up to "
                             f"{np.abs(x - y).max():.3g}; validate it on a problem with its "
                             f"schedule (e.g. ddpm-*, scaled-linear-*, cosine-*)")


def import_diffusers():
    """``import diffusers``. A torchvision that cannot load next to the installed torch (a CUDA
    build beside the CPU torch, which torchcfm -> torchdyn brings) breaks diffusers' model
    imports; then diffusers is told that torchvision is absent (it is optional for diffusers)."""
    try:
        import torchvision  # noqa: F401
    except Exception:          # a broken build: hide it from diffusers
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        import diffusers.utils.import_utils as flags

        flags._torchvision_available = False
    import diffusers

    return diffusers


def load_model(spec: str, load_factory):
    """The model of ``--model PREFIX:REST`` (PREFIX in :data:`PREFIXES`), or None without a
    prefix. ``load_factory("MODULE:FACTORY")`` calls a user factory.

    * ``diffusers:DIR`` - a folder written by ``save_pretrained``: a pipeline folder (``unet/``
      and ``scheduler/``) or a UNet folder with ``scheduler_config.json`` beside its config;
      loaded locally (no download) as UNet2DModel + DDPMScheduler.
    * ``diffusers:MODULE:FACTORY`` - FACTORY() returns (unet, scheduler), a pipeline with
      ``.unet`` and ``.scheduler``, or a :class:`DiffusersModel`.
    * ``k-diffusion:MODULE:FACTORY`` - FACTORY() returns a denoiser(x, sigma) module.
    * ``torchcfm:MODULE:FACTORY`` - FACTORY() returns the velocity network.
    """
    prefix, sep, rest = spec.partition(":")
    if not sep or prefix not in PREFIXES:
        return None
    if not rest:
        raise ValueError(f"--model {prefix}: needs a folder or MODULE:FACTORY after the prefix")
    if prefix == "diffusers":
        folder = Path(rest)
        if folder.is_dir():
            return _diffusers_folder(folder)
        made = load_factory(rest)
        if isinstance(made, DiffusersModel):
            return made
        if isinstance(made, tuple) and len(made) == 2:
            return DiffusersModel(*made)
        if hasattr(made, "unet") and hasattr(made, "scheduler"):
            return DiffusersModel(made.unet, made.scheduler)
        raise ValueError(f"--model diffusers:{rest}: the factory must return (unet, scheduler), "
                         f"a pipeline or a DiffusersModel, got {type(made).__name__}")
    made = load_factory(rest)
    if prefix == "k-diffusion":
        return made if isinstance(made, KDiffusionDenoiser) else KDiffusionDenoiser(made)
    return made if isinstance(made, TorchCFMModel) else TorchCFMModel(made)


def _diffusers_folder(folder: Path):
    diffusers = import_diffusers()
    unet_dir = folder / "unet" if (folder / "unet").is_dir() else folder
    sched_dir = folder / "scheduler" if (folder / "scheduler").is_dir() else folder
    if not (sched_dir / "scheduler_config.json").is_file():
        raise ValueError(f"--model diffusers:{folder}: no scheduler_config.json in {sched_dir}")
    try:
        unet = diffusers.UNet2DModel.from_pretrained(unet_dir, local_files_only=True)
        scheduler = diffusers.DDPMScheduler.from_pretrained(sched_dir, local_files_only=True)
    except Exception as err:
        raise ValueError(f"--model diffusers:{folder}: loading failed: {type(err).__name__}: "
                         f"{err}") from err
    return DiffusersModel(unet, scheduler)
