"""Kinetic energies ``int_{t_0}^{t_K} E|v|^2 dt`` computed to a stated accuracy.

:func:`converged_energy` integrates a mean squared speed given on any time grid: the trapezoid
rule on the grid refined by doubling every interval, Richardson-extrapolated (the trapezoid error
is O(h^2) for a smooth integrand), until two successive extrapolations agree to ``rtol``. It
returns the value and the whole refinement history, so the convergence is shown, not assumed.
The integrand must be smooth between the points of the starting grid (a velocity that jumps at
a grid time, such as displacement interpolation's, has its own exact energy instead).

:func:`refine` is the refined grid: every interval of ``times`` cut into ``parts`` equal parts.
"""
from __future__ import annotations

import numpy as np

__all__ = ["refine", "converged_energy", "truth_energy"]


def refine(times, parts: int) -> np.ndarray:
    """``times`` (M,) with every interval cut into ``parts`` equal parts (M - 1) parts + 1 points;
    the original times are kept exactly."""
    times = np.asarray(times, dtype=np.float64)
    if int(parts) != parts or parts < 1:
        raise ValueError(f"parts must be an integer >= 1, got {parts}")
    pieces = [np.linspace(a, b, int(parts) + 1)[:-1] for a, b in zip(times[:-1], times[1:])]
    return np.concatenate(pieces + [times[-1:]])


def _trapezoid(values, grid) -> float:
    return float(np.sum((values[1:] + values[:-1]) * np.diff(grid)) / 2)


def converged_energy(mean_speed2, times, *, rtol: float = 1e-4, max_doublings: int = 7
                     ) -> tuple[float, dict]:
    """``int mean_speed2 dt`` over [times[0], times[-1]] (squared length / time units).

    Parameters
    ----------
    mean_speed2 : callable ``grid (m,) -> (m,)``, the mean over particles of ``|v|^2`` at each
        time of ``grid`` (for example along paths recomputed on that grid).
    times : (M,) starting grid, increasing.
    rtol : relative agreement of two successive Richardson values that ends the refinement.
    max_doublings : at most this many doublings (the result is flagged when not converged).

    Returns
    -------
    value, info : the last Richardson value and ``{"points": [...], "trapezoid": [...],
        "richardson": [...], "converged": bool}`` (one entry per grid).
    """
    if not (np.isfinite(rtol) and rtol > 0):
        raise ValueError(f"rtol must be a finite number > 0, got {rtol}")
    info = {"points": [], "trapezoid": [], "richardson": [], "converged": False}
    for m in range(int(max_doublings) + 1):
        grid = refine(times, 2 ** m)
        values = np.asarray(mean_speed2(grid), dtype=np.float64)
        if values.shape != grid.shape or not np.isfinite(values).all():
            raise ValueError(f"mean_speed2 must return {grid.shape} finite values, got "
                             f"{values.shape}")
        info["points"].append(len(grid))
        info["trapezoid"].append(_trapezoid(values, grid))
        if m >= 1:
            t = info["trapezoid"]
            info["richardson"].append((4 * t[-1] - t[-2]) / 3)
        r = info["richardson"]
        if len(r) >= 2 and abs(r[-1] - r[-2]) <= rtol * abs(r[-1]):
            info["converged"] = True
            break
    value = info["richardson"][-1] if info["richardson"] else info["trapezoid"][-1]
    return float(value), info


def truth_energy(data) -> float:
    """``data.truth_energy``, or the trapezoid rule on the truth grid when it is None."""
    if data.truth_energy is not None:
        return float(data.truth_energy)
    if data.truth_velocities is None:
        return float("nan")
    speed2 = np.mean(np.sum(data.truth_velocities ** 2, -1), axis=-1)
    return float(np.sum((speed2[1:] + speed2[:-1]) * np.diff(data.truth_times)) / 2)
