"""numba kernels: multilinear gather from (staggered) grids, cloud-in-cell deposit, fused RK4.

Private: the checked entry points are in :mod:`interpolation`, :mod:`deposit` and
:mod:`flow_map`. Fields are packed as ``(nt, P0, P1, P2, ncomp)`` float64 arrays (unused axes have
length 1; components last so that one corner's components share a cache line). Component ``c`` along axis ``a`` has samples at ``lower[a] + (j + off[c, a]) h[a]``,
``j = 0 .. cnt[c, a] - 1`` (``off`` = 0.5 for cell centres, 0 for faces). Between the first and
last sample the interpolation is multilinear; beyond them it extrapolates linearly from the
outermost pair (used only for the half cell next to a wall and for RK stage points).

In time, ``tangent`` (same layout as the field) holds the time derivative at every snapshot; if it
has as many snapshots as the field the rule is cubic Hermite between the bracketing snapshots,
otherwise (pass a ``(1, 1, 1, 1, 1)`` dummy) it is linear.
"""
import numpy as np
from numba import njit, prange


@njit(inline="always", cache=True)
def _locate(x, lower, inv_h, off, cnt):
    """Left sample index j in [0, cnt - 2] and the (unclipped) linear weight of sample j + 1."""
    s = (x - lower) * inv_h - off
    j = int(np.floor(s))
    if j < 0:
        j = 0
    elif j > cnt - 2:
        j = cnt - 2
    return j, s - j


@njit(inline="always", cache=True)
def _time_segment(times, t, cubic):
    """Snapshot indices k, k2, the weights a0, a1 of their values and b0, b1 of their time
    derivatives: linear (b = 0) or cubic Hermite (the basis times the snapshot spacing)."""
    nt = times.shape[0]
    if nt == 1:
        return 0, 0, 1.0, 0.0, 0.0, 0.0
    k = np.searchsorted(times, t, side="right") - 1
    if k < 0:
        k = 0
    elif k > nt - 2:
        k = nt - 2
    span = times[k + 1] - times[k]
    s = (t - times[k]) / span
    if not cubic:
        return k, k + 1, 1.0 - s, s, 0.0, 0.0
    s2 = s * s
    s3 = s2 * s
    return (k, k + 1, 2.0 * s3 - 3.0 * s2 + 1.0, -2.0 * s3 + 3.0 * s2,
            span * (s3 - 2.0 * s2 + s), span * (s3 - s2))


@njit(inline="always", cache=True)
def _accumulate(field, tangent, k, k2, tw, c0, c1, j0, w0, j1, w1, j2, w2, d, out):
    """out[c] += multilinear (space) x linear or cubic Hermite (time) value of components
    c0 <= c < c1; ``tw`` = (a0, a1, b0, b1) from :func:`_time_segment`."""
    a0, a1, b0, b1 = tw
    cubic = b0 != 0.0 or b1 != 0.0
    n1 = 2 if d > 1 else 1
    n2 = 2 if d > 2 else 1
    for a in range(2):
        wa = w0 if a == 1 else 1.0 - w0
        for b in range(n1):
            wb = wa
            if d > 1:
                wb = wa * (w1 if b == 1 else 1.0 - w1)
            for e in range(n2):
                we = wb
                if d > 2:
                    we = wb * (w2 if e == 1 else 1.0 - w2)
                for c in range(c0, c1):
                    value = (a0 * field[k, j0 + a, j1 + b, j2 + e, c]
                             + a1 * field[k2, j0 + a, j1 + b, j2 + e, c])
                    if cubic:
                        value += (b0 * tangent[k, j0 + a, j1 + b, j2 + e, c]
                                  + b1 * tangent[k2, j0 + a, j1 + b, j2 + e, c])
                    out[c] += we * value


@njit(inline="always", cache=True)
def _evaluate(field, tangent, times, off, cnt, lower, inv_h, t, x, out):
    """out[c] = field component c at time t and point x (length d).

    If every component sits on the same samples (off and cnt rows equal, e.g. cell-centred
    fields) the weights are computed once for all components.
    """
    d = x.shape[0]
    ncomp = field.shape[4]
    tw = _time_segment(times, t, tangent.shape[0] == field.shape[0])
    k, k2 = tw[0], tw[1]
    weights = (tw[2], tw[3], tw[4], tw[5])
    shared = True
    for c in range(1, ncomp):
        for a in range(d):
            if off[c, a] != off[0, a] or cnt[c, a] != cnt[0, a]:
                shared = False
    for c in range(ncomp):
        out[c] = 0.0
    for c in range(ncomp):
        if shared and c > 0:
            break
        j0, w0 = _locate(x[0], lower[0], inv_h[0], off[c, 0], cnt[c, 0])
        j1, w1, j2, w2 = 0, 0.0, 0, 0.0
        if d > 1:
            j1, w1 = _locate(x[1], lower[1], inv_h[1], off[c, 1], cnt[c, 1])
        if d > 2:
            j2, w2 = _locate(x[2], lower[2], inv_h[2], off[c, 2], cnt[c, 2])
        _accumulate(field, tangent, k, k2, weights, 0 if shared else c, ncomp if shared else c + 1,
                    j0, w0, j1, w1, j2, w2, d, out)


@njit(parallel=True, cache=True, fastmath=True)
def gather(field, tangent, times, off, cnt, lower, inv_h, t, points, out):
    """out (n, ncomp) = field at time t and points (n, d)."""
    for p in prange(points.shape[0]):
        _evaluate(field, tangent, times, off, cnt, lower, inv_h, t, points[p], out[p])


@njit(cache=True)
def deposit_cic(points, weights, lower, inv_h, shape, out):
    """Cloud-in-cell: add weights[p] to the 2^d cell centres around points[p] (bilinear shares).

    Points in the half cell next to a wall give their outer share to the wall cell (weights are
    clipped to [0, 1]), so the total is conserved. ``out`` is (P0, P1, P2), cell sums, not densities.
    """
    d = points.shape[1]
    n1 = 2 if d > 1 else 1
    n2 = 2 if d > 2 else 1
    js = np.zeros(3, dtype=np.int64)
    ws = np.zeros(3)
    for p in range(points.shape[0]):
        for a in range(d):
            j, w = _locate(points[p, a], lower[a], inv_h[a], 0.5, shape[a])
            ws[a] = min(max(w, 0.0), 1.0)
            js[a] = j
        for a in range(2):
            wa = ws[0] if a == 1 else 1.0 - ws[0]
            for b in range(n1):
                wb = 1.0
                if d > 1:
                    wb = ws[1] if b == 1 else 1.0 - ws[1]
                for e in range(n2):
                    we = 1.0
                    if d > 2:
                        we = ws[2] if e == 1 else 1.0 - ws[2]
                    out[js[0] + a, js[1] + b, js[2] + e] += weights[p] * wa * wb * we


@njit(inline="always", cache=True)
def _outside(x, lower, upper):
    for a in range(x.shape[0]):
        if not (lower[a] <= x[a] <= upper[a]):
            return True
    return False


@njit(parallel=True, cache=True, fastmath=True)
def rk4_grid(field, tangent, times, off, cnt, lower, inv_h, upper, x0, out_times, dt_max, positions,
             exit_index):
    """Classical RK4 for dX/dt = v(t, X), v from the packed field, all particles in parallel.

    Each output interval [out_times[s], out_times[s+1]] (either direction) is split into
    ceil(|interval| / dt_max) equal steps. A particle whose accepted position leaves the box is
    frozen at its last position inside and exit_index[p] is set to the output index s + 1 it did
    not reach (exit_index is -1 for particles that stayed in).
    """
    n, d = x0.shape
    nt = out_times.shape[0]
    for p in prange(n):
        x = x0[p].copy()
        y = np.empty(d)
        k1 = np.empty(d)
        k2 = np.empty(d)
        k3 = np.empty(d)
        k4 = np.empty(d)
        positions[0, p, :] = x
        alive = True
        for s in range(nt - 1):
            ta = out_times[s]
            span = out_times[s + 1] - ta
            nsub = max(1, int(np.ceil(abs(span) / dt_max - 1e-9)))
            h = span / nsub
            for m in range(nsub):
                if not alive:
                    break
                t = ta + m * h
                _evaluate(field, tangent, times, off, cnt, lower, inv_h, t, x, k1)
                for a in range(d):
                    y[a] = x[a] + 0.5 * h * k1[a]
                _evaluate(field, tangent, times, off, cnt, lower, inv_h, t + 0.5 * h, y, k2)
                for a in range(d):
                    y[a] = x[a] + 0.5 * h * k2[a]
                _evaluate(field, tangent, times, off, cnt, lower, inv_h, t + 0.5 * h, y, k3)
                for a in range(d):
                    y[a] = x[a] + h * k3[a]
                _evaluate(field, tangent, times, off, cnt, lower, inv_h, t + h, y, k4)
                for a in range(d):
                    y[a] = x[a] + h * (k1[a] + 2.0 * k2[a] + 2.0 * k3[a] + k4[a]) / 6.0
                if _outside(y, lower, upper):
                    alive = False
                    exit_index[p] = s + 1
                else:
                    for a in range(d):
                        x[a] = y[a]
            positions[s + 1, p, :] = x
