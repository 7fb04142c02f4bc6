"""numba kernels: multilinear-in-space, linear or cubic-in-time gather from (staggered) grids,
the fused RK4 flow map, and cloud-in-cell deposit.

Private: the checked entry points are in :mod:`interpolation`, :mod:`deposit` and
:mod:`flow_map`. One kernel per dimension d (``gather_1d/2d/3d``, ``rk4_1d/2d/3d``): a field is a
float64 array ``(nt, P0[, P1[, P2]], L)`` with the components last. ``L = ncomp`` for the linear
time rule; ``L = 2 ncomp`` for cubic Hermite, entries ``ncomp + c`` holding the time derivative of
component c, so that a node's values and derivatives share a cache line. Component c along
axis a has samples at ``lower[a] + (j + off[c, a]) h[a]``, ``j = 0 .. cnt[c, a] - 1`` (``off`` =
0.5 for cell centres, 0 for faces). Between the first and last sample the interpolation is
multilinear; beyond them it extrapolates linearly from the outermost pair (used only for the half
cell next to a wall and for RK stage points).

In time, an evaluation at t uses a snapshot index k (snapshots k and k + 1 bracket t; the field
has at least two) and weights ``w = (a0, a1, b0, b1)``:
``value = a0 F[k] + a1 F[k+1] + b0 F'[k] + b1 F'[k+1]`` (b = 0 for the linear rule). They depend on
t only, so they are computed once per time (:func:`time_segment`, :func:`rk4_schedule`), never
per particle.
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


@njit(cache=True)
def time_segment(times, t, cubic):
    """Snapshot index k and weights (a0, a1, b0, b1) at time t: linear (b = 0) or cubic Hermite
    (the Hermite basis, the derivative ones times the snapshot spacing). One stored time gives
    k = 0 and weights (1, 0, 0, 0) (the caller stores that snapshot twice)."""
    nt = times.shape[0]
    if nt == 1:
        return 0, (1.0, 0.0, 0.0, 0.0)
    k = np.searchsorted(times, t, side="right") - 1
    if k < 0:
        k = 0
    elif k > nt - 2:
        k = nt - 2
    span = times[k + 1] - times[k]
    s = (t - times[k]) / span
    if not cubic:
        return k, (1.0 - s, s, 0.0, 0.0)
    s2 = s * s
    s3 = s2 * s
    return k, (2.0 * s3 - 3.0 * s2 + 1.0, -2.0 * s3 + 3.0 * s2,
               span * (s3 - 2.0 * s2 + s), span * (s3 - s2))


@njit(cache=True)
def rk4_schedule(times, out_times, dt_max, cubic):
    """The RK4 steps of a flow map and the time weights of their three stage times.

    Each output interval [out_times[s], out_times[s+1]] (either direction) is split into
    ceil(|interval| / dt_max) equal steps. Returns, per step (nsteps,): ``h`` (signed step),
    ``target`` (the output index s + 1 the step moves towards), ``last`` (True on the interval's
    last step), ``seg`` (nsteps, 3) snapshot indices and ``weights`` (nsteps, 3, 4) for the stage
    times t, t + h/2, t + h.
    """
    nout = out_times.shape[0]
    total = 0
    for s in range(nout - 1):
        total += max(1, int(np.ceil(abs(out_times[s + 1] - out_times[s]) / dt_max - 1e-9)))
    h = np.empty(total)
    target = np.empty(total, dtype=np.int64)
    last = np.zeros(total, dtype=np.bool_)
    seg = np.empty((total, 3), dtype=np.int64)
    weights = np.empty((total, 3, 4))
    i = 0
    for s in range(nout - 1):
        span = out_times[s + 1] - out_times[s]
        nsub = max(1, int(np.ceil(abs(span) / dt_max - 1e-9)))
        hs = span / nsub
        for m in range(nsub):
            t = out_times[s] + m * hs
            h[i] = hs
            target[i] = s + 1
            for q in range(3):
                k, w = time_segment(times, t + 0.5 * q * hs, cubic)
                seg[i, q] = k
                for r in range(4):
                    weights[i, q, r] = w[r]
            i += 1
        last[i - 1] = True
    return h, target, last, seg, weights


@njit(inline="always", cache=True)
def _shared(off, cnt):
    """True if every component sits on the samples of component 0 (e.g. cell-centred fields)."""
    for c in range(1, off.shape[0]):
        for a in range(off.shape[1]):
            if off[c, a] != off[0, a] or cnt[c, a] != cnt[0, a]:
                return False
    return True


@njit(inline="always", cache=True)
def _loc(x, lower, inv_h, off, cnt, c, a):
    return _locate(x, lower[a], inv_h[a], off[c, a], cnt[c, a])


# ---- values at one node, interpolated in time ------------------------------------------------

@njit(inline="always", cache=True)
def _node1(F, k, w, cubic, nc, c, i):
    v = w[0] * F[k, i, c] + w[1] * F[k + 1, i, c]
    if cubic:
        v += w[2] * F[k, i, nc + c] + w[3] * F[k + 1, i, nc + c]
    return v


@njit(inline="always", cache=True)
def _node2(F, k, w, cubic, nc, c, i, j):
    v = w[0] * F[k, i, j, c] + w[1] * F[k + 1, i, j, c]
    if cubic:
        v += w[2] * F[k, i, j, nc + c] + w[3] * F[k + 1, i, j, nc + c]
    return v


@njit(inline="always", cache=True)
def _node3(F, k, w, cubic, nc, c, i, j, l):
    v = w[0] * F[k, i, j, l, c] + w[1] * F[k + 1, i, j, l, c]
    if cubic:
        v += w[2] * F[k, i, j, l, nc + c] + w[3] * F[k + 1, i, j, l, nc + c]
    return v


# ---- multilinear in space --------------------------------------------------------------------

@njit(inline="always", cache=True)
def _linear1(F, k, w, cubic, nc, c, i, wi):
    return _lerp(_node1(F, k, w, cubic, nc, c, i), _node1(F, k, w, cubic, nc, c, i + 1), wi)


@njit(inline="always", cache=True)
def _bilinear(F, k, w, cubic, nc, c, i, wi, j, wj):
    f0 = ((1.0 - wj) * _node2(F, k, w, cubic, nc, c, i, j)
          + wj * _node2(F, k, w, cubic, nc, c, i, j + 1))
    f1 = ((1.0 - wj) * _node2(F, k, w, cubic, nc, c, i + 1, j)
          + wj * _node2(F, k, w, cubic, nc, c, i + 1, j + 1))
    return (1.0 - wi) * f0 + wi * f1


@njit(inline="always", cache=True)
def _trilinear_row(F, k, w, cubic, nc, c, i, j, l, wl):
    return ((1.0 - wl) * _node3(F, k, w, cubic, nc, c, i, j, l)
            + wl * _node3(F, k, w, cubic, nc, c, i, j, l + 1))


@njit(inline="always", cache=True)
def _trilinear(F, k, w, cubic, nc, c, i, wi, j, wj, l, wl):
    f00 = _trilinear_row(F, k, w, cubic, nc, c, i, j, l, wl)
    f01 = _trilinear_row(F, k, w, cubic, nc, c, i, j + 1, l, wl)
    f10 = _trilinear_row(F, k, w, cubic, nc, c, i + 1, j, l, wl)
    f11 = _trilinear_row(F, k, w, cubic, nc, c, i + 1, j + 1, l, wl)
    return (1.0 - wi) * ((1.0 - wj) * f00 + wj * f01) + wi * ((1.0 - wj) * f10 + wj * f11)


# ---- velocity (ncomp = d) at one point, returned as scalars ----------------------------------
# ``g`` is the geometry as a tuple of scalars (held in registers across the particle loop):
# lower and inv_h per axis, then off and cnt per component and axis (``_geometry1/2/3``).

@njit(inline="always", cache=True)
def _geometry1(lower, inv_h, off, cnt):
    return (lower[0], inv_h[0], off[0, 0], cnt[0, 0])


@njit(inline="always", cache=True)
def _geometry2(lower, inv_h, off, cnt):
    return (lower[0], lower[1], inv_h[0], inv_h[1], off[0, 0], off[0, 1], cnt[0, 0], cnt[0, 1],
            off[1, 0], off[1, 1], cnt[1, 0], cnt[1, 1])


@njit(inline="always", cache=True)
def _geometry3(lower, inv_h, off, cnt):
    return (lower[0], lower[1], lower[2], inv_h[0], inv_h[1], inv_h[2],
            off[0, 0], off[0, 1], off[0, 2], cnt[0, 0], cnt[0, 1], cnt[0, 2],
            off[1, 0], off[1, 1], off[1, 2], cnt[1, 0], cnt[1, 1], cnt[1, 2],
            off[2, 0], off[2, 1], off[2, 2], cnt[2, 0], cnt[2, 1], cnt[2, 2])


@njit(inline="always", cache=True)
def _lerp(a, b, w):
    return (1.0 - w) * a + w * b


@njit(inline="always", cache=True)
def _vel1(F, k, w, cubic, g, x0):
    lo0, ih0, o0, n0 = g
    i, wi = _locate(x0, lo0, ih0, o0, n0)
    return _linear1(F, k, w, cubic, 1, 0, i, wi)


@njit(inline="always", cache=True)
def _pair(F, k, w, cubic, i, j):
    """Both components at node (i, j) of a 2-D field, interpolated in time."""
    u = w[0] * F[k, i, j, 0] + w[1] * F[k + 1, i, j, 0]
    v = w[0] * F[k, i, j, 1] + w[1] * F[k + 1, i, j, 1]
    if cubic:
        u += w[2] * F[k, i, j, 2] + w[3] * F[k + 1, i, j, 2]
        v += w[2] * F[k, i, j, 3] + w[3] * F[k + 1, i, j, 3]
    return u, v


@njit(inline="always", cache=True)
def _vel2(F, k, w, cubic, shared, g, x0, x1):
    lo0, lo1, ih0, ih1, o00, o01, n00, n01, o10, o11, n10, n11 = g
    i, wi = _locate(x0, lo0, ih0, o00, n00)
    j, wj = _locate(x1, lo1, ih1, o01, n01)
    if shared:   # one set of weights, the node's components read together
        a0, a1 = _pair(F, k, w, cubic, i, j)
        b0, b1 = _pair(F, k, w, cubic, i, j + 1)
        c0, c1 = _pair(F, k, w, cubic, i + 1, j)
        d0, d1 = _pair(F, k, w, cubic, i + 1, j + 1)
        return (_lerp(_lerp(a0, b0, wj), _lerp(c0, d0, wj), wi),
                _lerp(_lerp(a1, b1, wj), _lerp(c1, d1, wj), wi))
    u0 = _bilinear(F, k, w, cubic, 2, 0, i, wi, j, wj)
    i, wi = _locate(x0, lo0, ih0, o10, n10)
    j, wj = _locate(x1, lo1, ih1, o11, n11)
    return u0, _bilinear(F, k, w, cubic, 2, 1, i, wi, j, wj)


@njit(inline="always", cache=True)
def _triple(F, k, w, cubic, i, j, l):
    """All three components at node (i, j, l) of a 3-D field, interpolated in time."""
    u = w[0] * F[k, i, j, l, 0] + w[1] * F[k + 1, i, j, l, 0]
    v = w[0] * F[k, i, j, l, 1] + w[1] * F[k + 1, i, j, l, 1]
    z = w[0] * F[k, i, j, l, 2] + w[1] * F[k + 1, i, j, l, 2]
    if cubic:
        u += w[2] * F[k, i, j, l, 3] + w[3] * F[k + 1, i, j, l, 3]
        v += w[2] * F[k, i, j, l, 4] + w[3] * F[k + 1, i, j, l, 4]
        z += w[2] * F[k, i, j, l, 5] + w[3] * F[k + 1, i, j, l, 5]
    return u, v, z


@njit(inline="always", cache=True)
def _line3(F, k, w, cubic, i, j, l, wl):
    a0, a1, a2 = _triple(F, k, w, cubic, i, j, l)
    b0, b1, b2 = _triple(F, k, w, cubic, i, j, l + 1)
    return _lerp(a0, b0, wl), _lerp(a1, b1, wl), _lerp(a2, b2, wl)


@njit(inline="always", cache=True)
def _vel3(F, k, w, cubic, shared, g, x0, x1, x2):
    lo0, lo1, lo2, ih0, ih1, ih2 = g[0], g[1], g[2], g[3], g[4], g[5]
    i, wi = _locate(x0, lo0, ih0, g[6], g[9])
    j, wj = _locate(x1, lo1, ih1, g[7], g[10])
    l, wl = _locate(x2, lo2, ih2, g[8], g[11])
    if shared:
        a0, a1, a2 = _line3(F, k, w, cubic, i, j, l, wl)
        b0, b1, b2 = _line3(F, k, w, cubic, i, j + 1, l, wl)
        c0, c1, c2 = _line3(F, k, w, cubic, i + 1, j, l, wl)
        d0, d1, d2 = _line3(F, k, w, cubic, i + 1, j + 1, l, wl)
        return (_lerp(_lerp(a0, b0, wj), _lerp(c0, d0, wj), wi),
                _lerp(_lerp(a1, b1, wj), _lerp(c1, d1, wj), wi),
                _lerp(_lerp(a2, b2, wj), _lerp(c2, d2, wj), wi))
    u0 = _trilinear(F, k, w, cubic, 3, 0, i, wi, j, wj, l, wl)
    i, wi = _locate(x0, lo0, ih0, g[12], g[15])
    j, wj = _locate(x1, lo1, ih1, g[13], g[16])
    l, wl = _locate(x2, lo2, ih2, g[14], g[17])
    u1 = _trilinear(F, k, w, cubic, 3, 1, i, wi, j, wj, l, wl)
    i, wi = _locate(x0, lo0, ih0, g[18], g[21])
    j, wj = _locate(x1, lo1, ih1, g[19], g[22])
    l, wl = _locate(x2, lo2, ih2, g[20], g[23])
    return u0, u1, _trilinear(F, k, w, cubic, 3, 2, i, wi, j, wj, l, wl)


# ---- gather: any number of components at many points, one time -------------------------------

@njit(parallel=True, cache=True, fastmath=True)
def gather_1d(F, ncomp, k, w, off, cnt, lower, inv_h, points, out):
    """out (n, ncomp) = the field at the time of (k, w) and points (n, 1)."""
    cubic = F.shape[2] == 2 * ncomp
    shared = _shared(off, cnt)
    for p in prange(points.shape[0]):
        i, wi = _loc(points[p, 0], lower, inv_h, off, cnt, 0, 0)
        for c in range(ncomp):
            if c > 0 and not shared:
                i, wi = _loc(points[p, 0], lower, inv_h, off, cnt, c, 0)
            out[p, c] = _linear1(F, k, w, cubic, ncomp, c, i, wi)


@njit(parallel=True, cache=True, fastmath=True)
def gather_2d(F, ncomp, k, w, off, cnt, lower, inv_h, points, out):
    """out (n, ncomp) = the field at the time of (k, w) and points (n, 2)."""
    cubic = F.shape[3] == 2 * ncomp
    shared = _shared(off, cnt)
    for p in prange(points.shape[0]):
        x0, x1 = points[p, 0], points[p, 1]
        i, wi = _loc(x0, lower, inv_h, off, cnt, 0, 0)
        j, wj = _loc(x1, lower, inv_h, off, cnt, 0, 1)
        for c in range(ncomp):
            if c > 0 and not shared:
                i, wi = _loc(x0, lower, inv_h, off, cnt, c, 0)
                j, wj = _loc(x1, lower, inv_h, off, cnt, c, 1)
            out[p, c] = _bilinear(F, k, w, cubic, ncomp, c, i, wi, j, wj)


@njit(parallel=True, cache=True, fastmath=True)
def gather_3d(F, ncomp, k, w, off, cnt, lower, inv_h, points, out):
    """out (n, ncomp) = the field at the time of (k, w) and points (n, 3)."""
    cubic = F.shape[4] == 2 * ncomp
    shared = _shared(off, cnt)
    for p in prange(points.shape[0]):
        x0, x1, x2 = points[p, 0], points[p, 1], points[p, 2]
        i, wi = _loc(x0, lower, inv_h, off, cnt, 0, 0)
        j, wj = _loc(x1, lower, inv_h, off, cnt, 0, 1)
        l, wl = _loc(x2, lower, inv_h, off, cnt, 0, 2)
        for c in range(ncomp):
            if c > 0 and not shared:
                i, wi = _loc(x0, lower, inv_h, off, cnt, c, 0)
                j, wj = _loc(x1, lower, inv_h, off, cnt, c, 1)
                l, wl = _loc(x2, lower, inv_h, off, cnt, c, 2)
            out[p, c] = _trilinear(F, k, w, cubic, ncomp, c, i, wi, j, wj, l, wl)


# ---- fused RK4: every particle through all steps of a schedule (rk4_schedule) ---------------
# Particles are visited in the order ``order`` (a permutation of 0 .. n-1; cell order keeps
# neighbours on the same grid values) and stored in the caller's order. A particle whose
# accepted position leaves the box [lower, upper] is frozen at its last position inside and
# exit_index[p] is set to the output index it did not reach (exit_index is -1 on entry).
# positions (nout, n, d); positions[0] = x0.

@njit(inline="always", cache=True)
def _stage(weights, st, q):
    return (weights[st, q, 0], weights[st, q, 1], weights[st, q, 2], weights[st, q, 3])


@njit(parallel=True, cache=True, fastmath=True)
def rk4_1d(F, off, cnt, lower, inv_h, upper, x0, order, h, target, last, seg, weights,
           positions, exit_index):
    """RK4 flow map in 1-D (see the comment above); F is (nt, P0, L)."""
    cubic = F.shape[2] == 2
    geo = _geometry1(lower, inv_h, off, cnt)
    lo0, up0 = lower[0], upper[0]
    for q in prange(x0.shape[0]):
        p = order[q]
        y0 = x0[p, 0]
        positions[0, p, 0] = y0
        alive = True
        for st in range(h.shape[0]):
            if alive:
                hs = h[st]
                wa, wm, wb = _stage(weights, st, 0), _stage(weights, st, 1), _stage(weights, st, 2)
                ka, km, kb = seg[st, 0], seg[st, 1], seg[st, 2]
                a0 = _vel1(F, ka, wa, cubic, geo, y0)
                b0 = _vel1(F, km, wm, cubic, geo, y0 + 0.5 * hs * a0)
                c0 = _vel1(F, km, wm, cubic, geo, y0 + 0.5 * hs * b0)
                d0 = _vel1(F, kb, wb, cubic, geo, y0 + hs * c0)
                z0 = y0 + hs * (a0 + 2.0 * b0 + 2.0 * c0 + d0) / 6.0
                if lo0 <= z0 <= up0:
                    y0 = z0
                else:
                    alive = False
                    exit_index[p] = target[st]
            if last[st]:
                positions[target[st], p, 0] = y0


@njit(parallel=True, cache=True, fastmath=True)
def rk4_2d(F, off, cnt, lower, inv_h, upper, x0, order, h, target, last, seg, weights,
           positions, exit_index):
    """RK4 flow map in 2-D (see the comment above); F is (nt, P0, P1, L)."""
    cubic = F.shape[3] == 4
    shared = _shared(off, cnt)
    geo = _geometry2(lower, inv_h, off, cnt)
    lo0, lo1, up0, up1 = lower[0], lower[1], upper[0], upper[1]
    for q in prange(x0.shape[0]):
        p = order[q]
        y0, y1 = x0[p, 0], x0[p, 1]
        positions[0, p, 0] = y0
        positions[0, p, 1] = y1
        alive = True
        for st in range(h.shape[0]):
            if alive:
                hs = h[st]
                k0 = k1 = 0.0   # the four stages in a loop: see rk4_3d
                s0 = s1 = 0.0
                for r in range(4):
                    which = 0 if r == 0 else (1 if r < 3 else 2)
                    frac = 0.0 if r == 0 else (0.5 if r < 3 else 1.0)
                    k0, k1 = _vel2(F, seg[st, which], _stage(weights, st, which), cubic, shared,
                                   geo, y0 + frac * hs * k0, y1 + frac * hs * k1)
                    b = 1.0 if (r == 0 or r == 3) else 2.0
                    s0 += b * k0
                    s1 += b * k1
                z0 = y0 + hs * s0 / 6.0
                z1 = y1 + hs * s1 / 6.0
                if lo0 <= z0 <= up0 and lo1 <= z1 <= up1:
                    y0, y1 = z0, z1
                else:
                    alive = False
                    exit_index[p] = target[st]
            if last[st]:
                positions[target[st], p, 0] = y0
                positions[target[st], p, 1] = y1


@njit(parallel=True, cache=True, fastmath=True)
def rk4_3d(F, off, cnt, lower, inv_h, upper, x0, order, h, target, last, seg, weights,
           positions, exit_index):
    """RK4 flow map in 3-D (see the comment above); F is (nt, P0, P1, P2, L)."""
    cubic = F.shape[4] == 6
    shared = _shared(off, cnt)
    geo = _geometry3(lower, inv_h, off, cnt)
    lo0, lo1, lo2, up0, up1, up2 = lower[0], lower[1], lower[2], upper[0], upper[1], upper[2]
    for q in prange(x0.shape[0]):
        p = order[q]
        y0, y1, y2 = x0[p, 0], x0[p, 1], x0[p, 2]
        positions[0, p, 0] = y0
        positions[0, p, 1] = y1
        positions[0, p, 2] = y2
        alive = True
        for st in range(h.shape[0]):
            if alive:
                hs = h[st]
                # The four stages in a loop, so that _vel3 is inlined once, not four times:
                # with four copies numba took 460 s to compile this kernel (37 s now; the run
                # time is within 4 %: benchmarks/README.md, flow maps, "Compile time").
                k0 = k1 = k2 = 0.0
                s0 = s1 = s2 = 0.0
                for r in range(4):
                    which = 0 if r == 0 else (1 if r < 3 else 2)   # stage time a, m, m, b
                    frac = 0.0 if r == 0 else (0.5 if r < 3 else 1.0)
                    k0, k1, k2 = _vel3(F, seg[st, which], _stage(weights, st, which), cubic,
                                       shared, geo, y0 + frac * hs * k0, y1 + frac * hs * k1,
                                       y2 + frac * hs * k2)
                    b = 1.0 if (r == 0 or r == 3) else 2.0
                    s0 += b * k0
                    s1 += b * k1
                    s2 += b * k2
                z0 = y0 + hs * s0 / 6.0
                z1 = y1 + hs * s1 / 6.0
                z2 = y2 + hs * s2 / 6.0
                if lo0 <= z0 <= up0 and lo1 <= z1 <= up1 and lo2 <= z2 <= up2:
                    y0, y1, y2 = z0, z1, z2
                else:
                    alive = False
                    exit_index[p] = target[st]
            if last[st]:
                positions[target[st], p, 0] = y0
                positions[target[st], p, 1] = y1
                positions[target[st], p, 2] = y2


@njit(cache=True)
def cell_keys(points, lower, inv_h, shape):
    """Row-major index (n,) int64 of the cell holding each point (clipped to the grid)."""
    n, d = points.shape
    keys = np.empty(n, dtype=np.int64)
    for p in range(n):
        key = 0
        for a in range(d):
            j = min(max(int(np.floor((points[p, a] - lower[a]) * inv_h[a])), 0), shape[a] - 1)
            key = key * shape[a] + j
        keys[p] = key
    return keys


@njit(cache=True)
def pack_snapshots(values, base, coef, out):
    """Kernel layout of snapshots in one pass: ``values`` (nt, ncomp, M) -> ``out``
    (nt, M, L). With L = 2 ncomp the time derivative of snapshot k,
    ``sum_r coef[k, r] values[base[k] + r]`` (three-point rule, see ``snapshot_derivative``;
    with nt = 2 only r = 0, 1),
    goes into entries ncomp..; with L = ncomp only the values are copied. Serial: it streams
    memory once (about 10 ms for 11 snapshots of 256^2 x 2) and a parallel region per
    component and snapshot costs more than it saves on a loaded machine."""
    nt, ncomp, m = values.shape
    for k in range(nt):
        j = base[k]
        c0, c1, c2 = coef[k, 0], coef[k, 1], coef[k, 2]
        j2 = j + 2 if nt > 2 else j + 1                  # nt = 2: two-point rule, c2 = 0
        for c in range(ncomp):
            for i in range(m):
                out[k, i, c] = values[k, c, i]
            if out.shape[2] == 2 * ncomp:
                for i in range(m):
                    out[k, i, ncomp + c] = (c0 * values[j, c, i] + c1 * values[j + 1, c, i]
                                            + c2 * values[j2, c, i])


GATHER = {1: gather_1d, 2: gather_2d, 3: gather_3d}
RK4 = {1: rk4_1d, 2: rk4_2d, 3: rk4_3d}


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
