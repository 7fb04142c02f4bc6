"""The model protocol: a user's score, velocity, noise predictor or denoiser, as numpy fields.

A model is a torch ``nn.Module`` (any floating dtype, on CPU or CUDA, evaluated in batches under
``torch.no_grad()`` after ``model.eval()``) or a plain callable on numpy float64 arrays. It is
called with a batch of times (or noise levels) of shape (n,) and points of shape (n, d) and must
return an (n, d) array:

===========  ==========================  ============================================
kind         call                        converted to the score s once, by
===========  ==========================  ============================================
score        ``model(t, x)``             s = output
velocity     ``model(t, x)``             s = (f x - v) / (g^2 / 2)
epsilon      ``model(t, x)``             s = -eps / b  (DDPM eps-prediction; alias
                                         ``noise``)
v            ``model(t, x)``             s = -(b x + a v) / (b (a^2 + b^2)) (Salimans-Ho)
sample       ``model(t, x)``             s = (a x0 - x) / b^2  (x0-prediction)
denoiser     ``model(x / a, sigma)``     s = (a D - x) / b^2, sigma = b / a  (EDM)
===========  ==========================  ============================================

and the velocity from the score by v = f x - (g^2 / 2) s (except for ``velocity``, used as is),
with a(t), b(t), f = a'/a, g^2 of the problem's convention
(:meth:`pdeflow.conventions.DiffusionConvention.score_from`, exact inverses of
:meth:`~pdeflow.conventions.DiffusionConvention.prediction_from_score`). Models of diffusers,
k-diffusion and torchcfm are wrapped by :mod:`pdeflow.modelcheck.adapters`; other call
signatures (score_sde's ``score_fn(x, t)``, a time-concatenated MLP) by the user's factory.

Every call is checked: an exception inside the model, an output that is not an (n, d) real
array, or NaN / inf in it raises ValueError naming the model, the kind and the call.
"""
from __future__ import annotations

import sys

import numpy as np

__all__ = ["KINDS", "PREDICTION_OF_KIND", "ModelAdapter", "is_torch_module"]

#: the model kinds
KINDS = ("score", "velocity", "noise", "epsilon", "v", "sample", "denoiser")
#: the prediction type (:data:`pdeflow.conventions.PREDICTIONS`) of each kind
PREDICTION_OF_KIND = {"score": "score", "velocity": "velocity", "noise": "epsilon",
                      "epsilon": "epsilon", "v": "v", "sample": "sample", "denoiser": "denoiser"}
#: first-argument names that say a model takes the points first (forward(x, t))
_POINT_NAMES = ("x", "x_t", "xt", "x0", "sample", "samples", "inputs", "input", "y", "z",
                "points")


def is_torch_module(model) -> bool:
    """True for a ``torch.nn.Module`` (without importing torch when it is not loaded)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


class _TorchCaller:
    """Evaluate a torch module on numpy input in batches, no grad, on its device and dtype."""

    def __init__(self, module, device, batch_size):
        import torch

        tensors = list(module.parameters()) + list(module.buffers())
        floating = [p for p in tensors if p.is_floating_point()]
        self.dtype = floating[0].dtype if floating else torch.get_default_dtype()
        if device is not None:
            self.device = torch.device(device)
            module.to(self.device)
        else:
            self.device = tensors[0].device if tensors else torch.device("cpu")
        module.eval()
        self.module, self.batch_size, self.torch = module, batch_size, torch

    def describe(self) -> str:
        return f"torch {str(self.dtype).replace('torch.', '')} on {self.device}"

    def __call__(self, first, second):
        torch = self.torch
        outputs = []
        with torch.no_grad():
            for start in range(0, len(second), self.batch_size):
                stop = start + self.batch_size
                a = torch.as_tensor(first[start:stop], dtype=self.dtype, device=self.device)
                b = torch.as_tensor(second[start:stop], dtype=self.dtype, device=self.device)
                out = self.module(a, b)
                if not isinstance(out, torch.Tensor):
                    raise TypeError(f"returned {type(out).__name__}, not a tensor")
                if out.is_complex():
                    raise TypeError(f"returned a complex tensor ({out.dtype})")
                outputs.append(out.detach().to(device="cpu", dtype=torch.float64).numpy())
        return np.concatenate(outputs) if outputs else np.empty((0,))


class _NumpyCaller:
    def __init__(self, function, batch_size, description="numpy callable"):
        self.function, self.batch_size = function, batch_size
        self.description = description

    def describe(self) -> str:
        return self.description

    def __call__(self, first, second):
        outputs = []
        for start in range(0, len(second), self.batch_size):
            stop = start + self.batch_size
            out = self.function(first[start:stop], second[start:stop])
            if not isinstance(out, np.ndarray):
                hint = (": pass the torch module itself, or return out.numpy()" if
                        type(out).__module__.startswith("torch") else "")
                raise TypeError(f"returned {type(out).__module__}.{type(out).__name__}, not a "
                                f"numpy array (a plain callable must return numpy (n, d) "
                                f"arrays){hint}")
            if out.dtype.kind not in "fiu":
                raise TypeError(f"returned an array of dtype {out.dtype}, not real numbers")
            outputs.append(out.astype(np.float64))
        return np.concatenate(outputs) if outputs else np.empty((0,))


class ModelAdapter:
    """A user's model as the numpy fields ``score(t, x)`` and ``velocity(t, x)`` of a problem.

    Parameters
    ----------
    model : torch.nn.Module or callable
        See the module docstring for the call per kind.
    kind : one of :data:`KINDS` (``"noise"`` is ``"epsilon"``), or None: the kind of a library
        model of :mod:`~pdeflow.modelcheck.adapters`, else ``"score"``.
    problem : pdeflow.problems.Problem
        Gives the dimension, the time interval and the convention.
    device : torch device for a module (moved there once); default: where its parameters are.
    batch_size : points per model call.
    name : used in error messages (default: the model's class or function name).

    Raises
    ------
    ValueError
        for an unknown kind, a kind the problem cannot check, or a model that fails the probe
        call (3 points at the middle time).
    """

    def __init__(self, model, kind: str | None, problem, *, device=None,
                 batch_size: int = 65536, name: str | None = None):
        from .adapters import _TorchNet, check_convention

        library = isinstance(model, _TorchNet)
        if library:
            if kind is not None and kind != model.kind and \
                    PREDICTION_OF_KIND.get(kind) != model.kind:
                raise ValueError(f"kind {kind!r} contradicts the model, which predicts "
                                 f"{model.kind!r} ({type(model).__name__})")
            kind = model.kind
            check_convention(model, problem)
        elif kind is None:
            kind = "score"
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if kind not in problem.kinds:
            raise ValueError(f"kind {kind!r} cannot be checked on {problem.name}, which supports "
                             f"{problem.kinds}")
        if isinstance(model, type):
            raise TypeError(f"model is the class {model.__name__}, not a model: pass an "
                            f"instance ({model.__name__}(...)) or a function")
        if not callable(model):
            raise ValueError(f"model must be a torch module or a callable, got "
                             f"{type(model).__name__}")
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        self.kind, self.problem, self.convention = kind, problem, problem.convention
        self.name = name or getattr(model, "__name__", None) or type(model).__name__
        if library:
            if device is not None:
                model.to(device)
            if getattr(model, "shape", False) is None and getattr(problem, "shape", None):
                model.shape = tuple(problem.shape)      # an adapter made without its image shape
            self._caller = _NumpyCaller(model, int(batch_size), model.describe())
        elif is_torch_module(model):
            self._caller = _TorchCaller(model, device, int(batch_size))
        else:
            if device is not None:
                raise ValueError(f"device = {device!r} needs a torch module; model "
                                 f"{self.name!r} is a {type(model).__name__}")
            self._caller = _NumpyCaller(model, int(batch_size))
        #: (C, H, W) of an image problem: a plain model is called on (n, C, H, W) and may
        #: answer (n, C, H, W) or (n, C*H*W); library adapters reshape themselves
        self.image_shape = None if library else getattr(problem, "shape", None)
        mid = 0.5 * (problem.t_min + problem.T)
        self.output(mid, problem.sample(mid, 3, 0))

    def describe(self) -> str:
        return f"{self.name} ({self.kind}, {self._caller.describe()})"

    # -- the raw call, checked ----------------------------------------------------------------
    def output(self, t, x) -> np.ndarray:
        """The model's own output at times ``t`` (float or (n,)) and points ``x`` (n, d)."""
        x = np.asarray(x, dtype=np.float64)
        n, d = x.shape
        times = np.full(n, t, dtype=np.float64) if np.ndim(t) == 0 else np.asarray(t, np.float64)
        shaped = x.reshape(n, *self.image_shape) if self.image_shape else x
        if self.kind == "denoiser":
            scale = self._column(self.convention.scale(times))
            scale = scale.reshape(-1, *[1] * (shaped.ndim - 1)) if np.ndim(scale) else scale
            first, second, call = shaped / scale, self.convention.denoiser_sigma(times), \
                "model(x / a, sigma)"
        else:
            first, second, call = times, shaped, "model(t, x)"
        where = (f"{call} with t in [{times.min():.4g}, {times.max():.4g}] and x of shape "
                 f"{shaped.shape}" if n else call)
        try:
            out = self._caller(first, second)
            if self.image_shape and out.shape == (n, *self.image_shape):
                out = out.reshape(n, d)
        except Exception as err:       # any failure inside the user's model: name it and the call
            raise ValueError(f"model {self.name!r} ({self.kind}) failed in {where}: "
                             f"{type(err).__name__}: {err}{self._order_hint()}") from err
        if out.shape != (n, d):
            raise ValueError(f"model {self.name!r} ({self.kind}) returned shape {out.shape} "
                             f"from {where}; expected ({n}, {d}) (the problem's dim is "
                             f"{self.problem.dim}){self._order_hint()}")
        bad = ~np.all(np.isfinite(out), axis=1)
        if np.any(bad):
            raise ValueError(f"model {self.name!r} ({self.kind}) returned NaN or inf for "
                             f"{int(bad.sum())} of {n} points in {where}; first at "
                             f"t = {times[bad][0]:.4g}")
        return out

    def _order_hint(self) -> str:
        """A hint when the model's own signature puts the points first (``forward(x, t)``)."""
        import inspect

        function = getattr(self._caller, "module", None)
        function = function.forward if function is not None else \
            getattr(self._caller, "function", None)
        if function is None:
            return ""
        try:
            names = list(inspect.signature(function).parameters)
        except (TypeError, ValueError):
            return ""
        expected = "model(x / a, sigma)" if self.kind == "denoiser" else "model(t, x)"
        if len(names) >= 2 and names[0].lower() in _POINT_NAMES:
            return (f" (the model is written as ({names[0]}, {names[1]}, ...); the protocol "
                    f"calls {expected}: wrap it, e.g. lambda t, x: model(x, t))"
                    if self.kind != "denoiser" else "")
        return ""

    @staticmethod
    def _column(values):
        values = np.asarray(values, dtype=np.float64)
        return values[:, None] if values.ndim else values

    # -- the converted fields -----------------------------------------------------------------
    def fields(self, t, x):
        """(score, velocity) at ``t``, ``x`` from one model call; score is None for a velocity
        model on a problem without a score (porous medium)."""
        x = np.asarray(x, dtype=np.float64)
        out, conv = self.output(t, x), self.convention
        if self.kind == "velocity":
            score = None if conv is None else conv.score_from_velocity(t, out, x)
            return score, out
        score = conv.score_from(PREDICTION_OF_KIND[self.kind], t, out, x)
        return score, conv.velocity_from_score(t, score, x)

    def score(self, t, x) -> np.ndarray:
        """The model's score, (n, d)."""
        return self.fields(t, x)[0]

    def velocity(self, t, x) -> np.ndarray:
        """The model's probability-flow velocity, (n, d)."""
        return self.fields(t, x)[1]
