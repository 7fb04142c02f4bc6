"""The peer of ``bench_flow_map.py``: a single-purpose numba RK4 flow map written for its case.

2-D only, cell-centred velocity on a uniform grid, snapshots at uniform times, bilinear in space
and cubic Hermite in time with three-point snapshot derivatives (pdeflow's default rule), linear
extrapolation in the half cell next to the walls, particles sorted by cell, no checks and no
leaving-the-grid bookkeeping (the benchmark's particles stay far inside). Everything pdeflow
keeps general (dimension, staggered fields, uneven snapshot times, any output times, the exit
rule) is fixed here, so this is the speed the job allows on this machine.
"""
import numpy as np
from numba import njit, prange


def prepare(velocity, times):
    """(nt, 2, n0, n1) cell velocities -> (nt, n0, n1, 4) values and time derivatives per node,
    and (t0, snapshot spacing). Derivatives: centred three-point inside, one-sided at the ends."""
    v = np.moveaxis(np.asarray(velocity, dtype=np.float64), 1, -1)
    dT = (times[-1] - times[0]) / (len(times) - 1)
    dv = np.empty_like(v)
    dv[1:-1] = (v[2:] - v[:-2]) / (2 * dT)
    dv[0] = (-3 * v[0] + 4 * v[1] - v[2]) / (2 * dT)
    dv[-1] = (3 * v[-1] - 4 * v[-2] + v[-3]) / (2 * dT)
    return np.ascontiguousarray(np.concatenate([v, dv], axis=-1)), float(times[0]), dT


@njit(inline="always", fastmath=True)
def _velocity(F, t, t0, dT, x, y, lo, ih, n0, n1):
    nt = F.shape[0]
    s = (t - t0) / dT
    k = min(max(int(s), 0), nt - 2)
    s -= k
    s2 = s * s
    s3 = s2 * s
    a0 = 2 * s3 - 3 * s2 + 1
    a1 = 3 * s2 - 2 * s3
    b0 = dT * (s3 - 2 * s2 + s)
    b1 = dT * (s3 - s2)
    px = (x - lo) * ih - 0.5
    py = (y - lo) * ih - 0.5
    i = min(max(int(np.floor(px)), 0), n0 - 2)
    j = min(max(int(np.floor(py)), 0), n1 - 2)
    wx = px - i
    wy = py - j
    u = 0.0
    v = 0.0
    for di in range(2):
        for dj in range(2):
            w = (wx if di else 1 - wx) * (wy if dj else 1 - wy)
            p = F[k, i + di, j + dj]
            q = F[k + 1, i + di, j + dj]
            u += w * (a0 * p[0] + a1 * q[0] + b0 * p[2] + b1 * q[2])
            v += w * (a0 * p[1] + a1 * q[1] + b0 * p[3] + b1 * q[3])
    return u, v


@njit(parallel=True, fastmath=True)
def _rk4(F, t0, dT, lo, ih, x0, ta, h, steps, out):
    n0, n1 = F.shape[1], F.shape[2]
    for p in prange(x0.shape[0]):
        x, y = x0[p, 0], x0[p, 1]
        for m in range(steps):
            t = ta + m * h
            k1x, k1y = _velocity(F, t, t0, dT, x, y, lo, ih, n0, n1)
            k2x, k2y = _velocity(F, t + h / 2, t0, dT, x + h / 2 * k1x, y + h / 2 * k1y, lo, ih,
                                 n0, n1)
            k3x, k3y = _velocity(F, t + h / 2, t0, dT, x + h / 2 * k2x, y + h / 2 * k2y, lo, ih,
                                 n0, n1)
            k4x, k4y = _velocity(F, t + h, t0, dT, x + h * k3x, y + h * k3y, lo, ih, n0, n1)
            x += h / 6 * (k1x + 2 * k2x + 2 * k3x + k4x)
            y += h / 6 * (k1y + 2 * k2y + 2 * k3y + k4y)
        out[p, 0] = x
        out[p, 1] = y


def flow_map(prepared, lower, spacing, x0, t_start, t_end, steps):
    """Final positions (n, 2) after ``steps`` RK4 steps from t_start to t_end (square grid)."""
    F, t0, dT = prepared
    cells = np.floor((x0 - lower) / spacing).astype(np.int64)
    order = np.lexsort(cells.T[::-1])
    out = np.empty_like(x0)
    _rk4(F, t0, dT, lower, 1.0 / spacing, np.ascontiguousarray(x0[order]), t_start,
         (t_end - t_start) / steps, steps, out)
    final = np.empty_like(out)
    final[order] = out
    return final
