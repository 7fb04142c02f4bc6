"""The result of a grid solve: snapshots of density and velocity with diagnostics."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..equations import GradientFlow
from ..grid import Grid

__all__ = ["GridSolution"]


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
    velocity: np.ndarray
    face_velocity: tuple
    mass: np.ndarray
    energy: np.ndarray
    diagnostics: dict = field(default_factory=dict)
    error_estimate: object = None

    def snapshot_index(self, t: float) -> int:
        """Index of the stored time equal to ``t`` (within 1e-12 relative)."""
        idx = int(np.argmin(np.abs(self.times - t)))
        if abs(self.times[idx] - t) > 1e-12 * max(1.0, abs(t)):
            raise ValueError(f"t = {t} is not a stored time; stored: {self.times}")
        return idx
