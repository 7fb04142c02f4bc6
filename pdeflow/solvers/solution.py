"""The result of a grid solve: snapshots of density and velocity with diagnostics."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..equations import GradientFlow
from ..grid import Grid

__all__ = ["GridSolution", "Deferred", "DeferredItem"]


class Deferred:
    """A value computed on first use: ``function(*args)``, then kept.

    Give one to :class:`GridSolution` in place of ``velocity``, ``face_velocity`` or ``energy``
    (or a :class:`DeferredItem` of one) and the attribute is computed the first time it is read,
    so a solve does not pay for post-processing nobody reads. ``function`` should be a module
    level function so that the solution stays picklable.
    """

    def __init__(self, function, *args):
        self._function, self._args, self._value, self._done = function, args, None, False

    @property
    def value(self):
        if not self._done:
            self._value = self._function(*self._args)
            self._done, self._args = True, ()
        return self._value


class DeferredItem:
    """Entry ``key`` of the mapping a :class:`Deferred` computes (several attributes sharing
    one computation)."""

    def __init__(self, source: Deferred, key):
        self._source, self._key = source, key

    @property
    def value(self):
        return self._source.value[self._key]


class _LazyField:
    """Dataclass field that resolves a :class:`Deferred` / :class:`DeferredItem` when read."""

    def __set_name__(self, owner, name):
        self._name, self._slot = name, "_lazy_" + name

    def __get__(self, obj, owner=None):
        if obj is None:
            raise AttributeError(self._name)   # no class-level default: the field is required
        value = obj.__dict__[self._slot]
        if isinstance(value, (Deferred, DeferredItem)):
            value = value.value
            obj.__dict__[self._slot] = value
        return value

    def __set__(self, obj, value):
        obj.__dict__[self._slot] = value


@dataclass
class GridSolution:
    """Snapshots of a finite-volume solve on ``grid``.

    Attributes
    ----------
    equation, grid : what was solved, where.
    times : (nt,) snapshot times.
    density : ``(nt, *shape)`` cell averages of rho.
    velocity : ``(nt, d, *shape)`` cell-centred v = -grad xi.
    face_velocity : tuple of d arrays; entry ``i`` has shape ``(nt, *shape)`` with ``shape[i] + 1``
        on axis ``1 + i``: the face velocities u = -(xi_{j+1} - xi_j) / h the scheme used
        (zero on the walls).
    mass, energy : (nt,) per snapshot.

    ``velocity``, ``face_velocity`` and ``energy`` may be given as :class:`Deferred` values:
    they are then computed on first access (the finite-volume solver does this; reading them
    gives the same arrays as computing them eagerly).
    diagnostics : dict of scheme settings and counters (``steps``, ``cfl``, ``dt_min``,
        ``dt_max``, ``compile_seconds``, ``run_seconds``, ...).
    error_estimate : None or a :class:`pdeflow.solvers.truth_error.SolutionError`: the measured
        error of this solution per snapshot (density L1, velocity L2(rho)), against a closed form
        or from a coarser companion solve.
    """

    equation: GradientFlow
    grid: Grid
    times: np.ndarray
    density: np.ndarray
    velocity: np.ndarray = _LazyField()
    face_velocity: tuple = _LazyField()
    mass: np.ndarray
    energy: np.ndarray = _LazyField()
    diagnostics: dict = field(default_factory=dict)
    error_estimate: object = None

    def snapshot_index(self, t: float) -> int:
        """Index of the stored time equal to ``t`` (within 1e-12 relative)."""
        idx = int(np.argmin(np.abs(self.times - t)))
        if abs(self.times[idx] - t) > 1e-12 * max(1.0, abs(t)):
            raise ValueError(f"t = {t} is not a stored time; stored: {self.times}")
        return idx
