"""numba kernels of the finite-volume solver (private; use :mod:`pdeflow.solvers.finite_volume`).

Every array here is a C-contiguous float64 field padded at the front to three axes:
a 1-D grid of n cells is ``(1, 1, n)``, a 2-D grid ``(1, n0, n1)``; an axis of length 1 has no
interior face and therefore no flux. Each ``*_solve`` function is the whole time loop of one solve:
it takes preallocated work buffers and allocates nothing per step.

Status codes returned by the solve loops: 0 ok, 1 user dt above the stable limit,
2 non-finite velocity (density underflowed to 0 under log rho), 3 step budget exhausted.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .. import equations

_JIT = dict(cache=True, nogil=True, error_model="numpy")

# The physics is compiled from pdeflow.equations, never retyped.
_log_density = numba.njit(inline="always")(equations.entropy_derivative)
_pressure = numba.njit(inline="always")(equations.porous_pressure)
_diffusivity = numba.njit(inline="always")(equations.porous_diffusivity)

LINEAR, POROUS = 0, 1
OK, DT_TOO_LARGE, NONFINITE, STEP_BUDGET = 0, 1, 2, 3


# ----------------------------------------------------------------------------------------------
# Carrillo-Chertock-Huang upwind scheme (any gradient flow)
# ----------------------------------------------------------------------------------------------
# A stage is one pass over the grid, row by row along the contiguous axis 2:
#     out = c_base base + c_src (src + dt L src),   L src = -div(flux),
# with the face flux u+ rho_E + u- rho_W, u = -(xi_{c+1} - xi_c) / h, xi = D F'(rho) + V and the
# reconstructions rho_E = rho_c + s_c / 2, rho_W = rho_{c+1} - s_{c+1} / 2 from the minmod slope s
# of each cell (s = 0 in the wall cells: one-sided cells keep the cell value). Each slope and each
# face flux along axes 1 and 2 is computed once: the rows of an axis-0 plane are swept in order
# carrying the previous row's xi, slope and axis-1 face fluxes; axis-0 faces (3-D) are computed
# for both sides of a row. The loops over a row are branch-free and vectorise (the max
# reductions compare int64 bit patterns). A chunk (rows first .. stop-1 of one plane) depends on
# no other chunk, but the kernels are serial: numba's parallel variant called from the cached
# solve loop segfaults when loaded from the cache (numba issue 8578), and on this shared 2-core
# machine two threads were slower than one (docs/scheme.md).
_CCH_JIT = dict(_JIT, fastmath={"contract"})
#: Buffers per chunk in the scratch array (see _chunk).
_CCH_BUFFERS = 16


@numba.njit(inline="always")
def _minmod_slope(rm, r0, rp):
    """minmod(r0 - rm, rp - r0), branch-free: the smaller difference if both have one sign."""
    a = r0 - rm
    b = rp - r0
    return max(0.0, min(a, b)) + min(0.0, max(a, b))


@numba.njit(inline="always")
def _absmax(a):
    """max of the row ``a`` of values >= 0 (a NaN wins), overwriting a[0]. Compared as int64 bit
    patterns, which order like the values for x >= 0 (NaN above inf), so that the loop
    vectorises (a float max reduction does not without fast-math)."""
    bits = a.view(np.int64)
    top = np.int64(0)
    for k in range(bits.shape[0]):
        top = max(top, bits[k])
    bits[0] = top
    return a[0]


@numba.njit(inline="always")
def _xi_row(r, V, kind, D, m, out):
    """out = D F'(r) + V along one row (m = 2 with a literal exponent, so that it folds)."""
    n = r.shape[0]
    if kind == LINEAR:
        for k in range(n):
            out[k] = D * _log_density(r[k]) + V[k]
    elif m == 2.0:
        for k in range(n):
            out[k] = D * (_pressure(r[k], 2.0) if r[k] > 0.0 else 0.0) + V[k]
    else:
        for k in range(n):
            out[k] = D * (_pressure(r[k], m) if r[k] > 0.0 else 0.0) + V[k]


@numba.njit(inline="always")
def _cross_slopes(rm, r0, rp, s, order):
    """Minmod slopes of row r0 across the rows (rm, rp the neighbouring rows); 0 if order 1."""
    if order == 1:
        s[:] = 0.0
        return
    for k in range(r0.shape[0]):
        s[k] = _minmod_slope(rm[k], r0[k], rp[k])


@numba.njit(inline="always")
def _cross_faces(xa, ra, sa, xb, rb, sb, inv_h, F, au):
    """Fluxes F through the faces between rows a and b (b after a); returns max |u| (au: row
    scratch)."""
    n = ra.shape[0]
    for k in range(n):
        u = -(xb[k] - xa[k]) * inv_h
        F[k] = max(u, 0.0) * (ra[k] + 0.5 * sa[k]) + min(u, 0.0) * (rb[k] - 0.5 * sb[k])
        au[k] = abs(u)
    return _absmax(au[:n])


@numba.njit(inline="always")
def _along_faces(r, x, s, inv_h, F, order, au):
    """Fluxes along the row: F[k] through the face between cells k-1 and k (F[0] = F[n] = 0);
    s receives the slopes. Returns max |u| (au: row scratch)."""
    n = r.shape[0]
    s[0] = 0.0
    s[n - 1] = 0.0
    for k in range(1, n - 1 if order == 2 else 1):
        s[k] = _minmod_slope(r[k - 1], r[k], r[k + 1])
    F[0] = 0.0
    F[n] = 0.0
    au[0] = 0.0
    for k in range(1, n):
        u = -(x[k] - x[k - 1]) * inv_h
        F[k] = max(u, 0.0) * (r[k - 1] + 0.5 * s[k - 1]) + min(u, 0.0) * (r[k] - 0.5 * s[k])
        au[k] = abs(u)
    return _absmax(au[:n])


@numba.njit(inline="always")
def _row_max(r, au):
    """max(0, max r) (au: scratch of >= 1 entry); int64 bit patterns as in _absmax (negative
    values have negative patterns)."""
    bits = r.view(np.int64)
    top = np.int64(0)
    for k in range(bits.shape[0]):
        top = max(top, bits[k])
    au.view(np.int64)[0] = top
    return au[0]


@numba.njit(inline="always")
def _axis0_faces(src, V, kind, D, m, order, i, j, inv_h0, x0, s0, buf, Fs, Fn):
    """3-D: fluxes through the faces below (Fs) and above (Fn) row (i, j) along axis 0; buf is
    (6, n2) scratch. Returns max |u| over them."""
    n0 = src.shape[0]
    xm, xp, sm, sp = buf[0], buf[1], buf[2], buf[3]   # buf[4]: |u| scratch
    amax = 0.0
    if i > 0:
        _xi_row(src[i - 1, j], V[i - 1, j], kind, D, m, xm)
        if i - 1 > 0:
            _cross_slopes(src[i - 2, j], src[i - 1, j], src[i, j], sm, order)
        else:
            sm[:] = 0.0
        amax = max(amax, _cross_faces(xm, src[i - 1, j], sm, x0, src[i, j], s0, inv_h0, Fs, buf[4]))
    else:
        Fs[:] = 0.0
    if i + 1 < n0:
        _xi_row(src[i + 1, j], V[i + 1, j], kind, D, m, xp)
        if i + 2 < n0:
            _cross_slopes(src[i, j], src[i + 1, j], src[i + 2, j], sp, order)
        else:
            sp[:] = 0.0
        amax = max(amax, _cross_faces(x0, src[i, j], s0, xp, src[i + 1, j], sp, inv_h0, Fn, buf[4]))
    else:
        Fn[:] = 0.0
    return amax


@numba.njit(**_CCH_JIT)
def _chunk(src, base, out, V, inv_h, kind, D, m, order, c_base, c_src, dt, i, jlo, jhi, scr,
           red):
    """Rows (i, jlo) .. (i, jhi - 1) of one stage; red (4,) receives max |u| per axis and max
    rho. scr (_CCH_BUFFERS, n2 + 1) is this chunk's scratch."""
    n0, n1, n2 = src.shape
    h0, h1, h2 = inv_h[0], inv_h[1], inv_h[2]
    xc, xn, s1c, s1n = scr[0, :n2], scr[1, :n2], scr[2, :n2], scr[3, :n2]
    F1s, F1n, s2, F2 = scr[4, :n2], scr[5, :n2], scr[6, :n2], scr[7]
    s0, F0s, F0n, au = scr[8, :n2], scr[9, :n2], scr[10, :n2], scr[15]
    a0 = a1 = a2 = rmax = 0.0
    _xi_row(src[i, jlo], V[i, jlo], kind, D, m, xc)
    if 0 < jlo < n1 - 1:
        _cross_slopes(src[i, jlo - 1], src[i, jlo], src[i, jlo + 1], s1c, order)
    else:
        s1c[:] = 0.0
    if jlo > 0:   # the face below the chunk, from row jlo - 1 (xn, s1n as scratch)
        _xi_row(src[i, jlo - 1], V[i, jlo - 1], kind, D, m, xn)
        if jlo - 1 > 0:
            _cross_slopes(src[i, jlo - 2], src[i, jlo - 1], src[i, jlo], s1n, order)
        else:
            s1n[:] = 0.0
        a1 = _cross_faces(xn, src[i, jlo - 1], s1n, xc, src[i, jlo], s1c, h1, F1s, au)
    else:
        F1s[:] = 0.0
    for j in range(jlo, jhi):
        r = src[i, j]
        if j + 1 < n1:
            _xi_row(src[i, j + 1], V[i, j + 1], kind, D, m, xn)
            if j + 2 < n1:
                _cross_slopes(r, src[i, j + 1], src[i, j + 2], s1n, order)
            else:
                s1n[:] = 0.0
            a1 = max(a1, _cross_faces(xc, r, s1c, xn, src[i, j + 1], s1n, h1, F1n, au))
        else:
            F1n[:] = 0.0
        a2 = max(a2, _along_faces(r, xc, s2, h2, F2, order, au))
        rmax = max(rmax, _row_max(r, au))
        b, o = base[i, j], out[i, j]
        if n0 > 1:
            if 0 < i < n0 - 1:
                _cross_slopes(src[i - 1, j], r, src[i + 1, j], s0, order)
            else:
                s0[:] = 0.0
            a0 = max(a0, _axis0_faces(src, V, kind, D, m, order, i, j, h0, xc, s0, scr[11:],
                                         F0s, F0n))
            for k in range(n2):
                rhs = ((F2[k] - F2[k + 1]) * h2 + (F1s[k] - F1n[k]) * h1
                       + (F0s[k] - F0n[k]) * h0)
                o[k] = c_base * b[k] + c_src * (r[k] + dt * rhs)
        elif n1 > 1:
            for k in range(n2):
                rhs = (F2[k] - F2[k + 1]) * h2 + (F1s[k] - F1n[k]) * h1
                o[k] = c_base * b[k] + c_src * (r[k] + dt * rhs)
        else:
            for k in range(n2):
                o[k] = c_base * b[k] + c_src * (r[k] + dt * (F2[k] - F2[k + 1]) * h2)
        xc, xn = xn, xc
        s1c, s1n = s1n, s1c
        F1s, F1n = F1n, F1s
    red[0] = a0
    red[1] = a1
    red[2] = a2
    red[3] = rmax


def chunk_count(shape) -> int:
    """Chunks of a stage on the padded ``shape``: one per axis-0 plane."""
    return shape[0]


@numba.njit(inline="always")
def _stage_body(src, base, out, V, inv_h, kind, D, m, order, c_base, c_src, dt, scratch, red):
    n0, n1, _ = src.shape
    nchunks = scratch.shape[0]
    for c in range(nchunks):
        _chunk(src, base, out, V, inv_h, kind, D, m, order, c_base, c_src, dt, c, 0, n1,
               scratch[c], red[c])
    return _limit(red, src.shape, inv_h, kind, D, m)


@numba.njit(inline="always")
def _limit(red, shape, inv_h, kind, D, m):
    """Step limit min(positivity, parabolic) = 1 / max(2 sum_i a_i / h_i, 2 D_eff sum_i 1/h_i^2),
    a_i = max |u| on axis i, D_eff = D max rho F''(rho); -1 if the velocity is not finite."""
    a0 = a1 = a2 = rmax = 0.0
    for c in range(red.shape[0]):
        a0 = max(a0, red[c, 0])
        a1 = max(a1, red[c, 1])
        a2 = max(a2, red[c, 2])
        rmax = max(rmax, red[c, 3])
    n0, n1, n2 = shape
    d_eff = D if kind == LINEAR else D * _diffusivity(rmax, m)
    transport = 2.0 * (a0 * inv_h[0] * (n0 > 1) + a1 * inv_h[1] * (n1 > 1) + a2 * inv_h[2] * (n2 > 1))
    parabolic = 2.0 * d_eff * ((n0 > 1) * inv_h[0] ** 2 + (n1 > 1) * inv_h[1] ** 2
                               + (n2 > 1) * inv_h[2] ** 2)
    rate = max(transport, parabolic)
    if not math.isfinite(transport):
        return -1.0  # signals a non-finite velocity
    return 1.0 / rate if rate > 0.0 else np.inf


@numba.njit(**_CCH_JIT)
def cch_stage(src, base, out, V, inv_h, kind, D, m, order, c_base, c_src, dt, scratch, red):
    """One stage out = c_base base + c_src (src + dt L src); returns the step limit of
    src (-1 if its velocity is not finite). scratch (nchunks, _CCH_BUFFERS, n2 + 1), red
    (nchunks, 4) work arrays, nchunks = chunk_count(shape)."""
    return _stage_body(src, base, out, V, inv_h, kind, D, m, order, c_base, c_src, dt, scratch, red)


@numba.njit(**_CCH_JIT)
def cch_limit(rho, V, inv_h, kind, D, m, scr, red):
    """The step limit of ``rho`` alone (the reductions of a stage without its update); scr
    (>= 3, >= n2), red (>= 1, 4) scratch."""
    n0, n1, n2 = rho.shape
    x, xn, au = scr[0, :n2], scr[1, :n2], scr[2, :n2]
    a0 = a1 = a2 = rmax = 0.0
    for i in range(n0):
        for j in range(n1):
            r = rho[i, j]
            _xi_row(r, V[i, j], kind, D, m, x)
            rmax = max(rmax, _row_max(r, au))
            au[0] = 0.0
            for k in range(1, n2):
                au[k] = abs(-(x[k] - x[k - 1]) * inv_h[2])
            a2 = max(a2, _absmax(au))
            if j + 1 < n1:
                _xi_row(rho[i, j + 1], V[i, j + 1], kind, D, m, xn)
                for k in range(n2):
                    au[k] = abs(-(xn[k] - x[k]) * inv_h[1])
                a1 = max(a1, _absmax(au))
            if i + 1 < n0:
                _xi_row(rho[i + 1, j], V[i + 1, j], kind, D, m, xn)
                for k in range(n2):
                    au[k] = abs(-(xn[k] - x[k]) * inv_h[0])
                a0 = max(a0, _absmax(au))
    red[:] = 0.0
    red[0, 0] = a0
    red[0, 1] = a1
    red[0, 2] = a2
    red[0, 3] = rmax
    return _limit(red, rho.shape, inv_h, kind, D, m)


@numba.njit(**_JIT)
def cch_solve(rho, V, inv_h, kind, D, m, order, stages, cfl, dt_user, times, snaps,
              new, u1, u2, scratch, red, max_steps, stats):
    """Advance ``rho`` (modified in place) from times[0] through ``times``; snapshot i goes to
    snaps[i]. ``stages`` is 1 (forward Euler) or 3 (SSP-RK3). ``dt_user`` <= 0 means the
    adaptive step dt = cfl * (the step limit of the previous step's state; of rho at the first
    step). Every stage returns the limit of the state it advances, and a step whose dt exceeds
    the limit of any of its stage states is redone with cfl times that limit, so every stage is
    a positivity-preserving Euler step; no separate pass over the state computes the limit.
    new, u1, u2 are work arrays like rho; scratch, red as in :func:`cch_stage`.

    stats (8,) receives: steps, rejected, dt_min, dt_max, t_fail, limit_fail, 0, 0.
    Returns a status code."""
    t = times[0]
    snaps[0] = rho
    cur = rho
    flipped = False
    steps = 0
    rejected = 0
    dt_min = np.inf
    dt_max = 0.0
    stats[4] = np.nan
    stats[5] = np.nan
    status = OK
    limit = cch_limit(rho, V, inv_h, kind, D, m, scratch[0], red)
    if limit < 0.0:
        status = NONFINITE
        stats[4] = t
    for s in range(1, times.shape[0]):
        if status != OK:
            break
        target = times[s]
        while t < target and status == OK:
            if steps >= max_steps:
                status = STEP_BUDGET
                break
            dt = dt_user if dt_user > 0.0 else cfl * limit
            while True:  # attempts with decreasing dt until every stage respects its limit
                last = t + dt * (1.0 + 1e-9) >= target  # no sliver steps before a snapshot
                if last:
                    dt = target - t
                dst = new if stages == 1 else u1
                lim = cch_stage(cur, cur, dst, V, inv_h, kind, D, m, order, 0.0, 1.0, dt,
                                scratch, red)
                if lim >= 0.0:
                    limit = lim   # the limit of this step's state: the next step's dt
                if stages == 3 and lim >= 0.0 and dt <= lim * (1.0 + 1e-12):
                    lim = cch_stage(u1, cur, u2, V, inv_h, kind, D, m, order, 0.75, 0.25, dt,
                                    scratch, red)
                    if lim >= 0.0 and dt <= lim * (1.0 + 1e-12):
                        lim = cch_stage(u2, cur, new, V, inv_h, kind, D, m, order, 1.0 / 3.0,
                                        2.0 / 3.0, dt, scratch, red)
                if lim < 0.0:
                    status = NONFINITE
                    break
                if dt <= lim * (1.0 + 1e-12):
                    break
                if dt_user > 0.0:
                    status = DT_TOO_LARGE
                    stats[5] = lim
                    break
                rejected += 1
                dt = cfl * lim
            if status != OK:
                break
            cur, new = new, cur
            flipped = not flipped
            t = target if last else t + dt
            steps += 1
            dt_min = min(dt_min, dt)
            dt_max = max(dt_max, dt)
        if status != OK:
            stats[4] = t
            break
        snaps[s] = cur
    if flipped:
        rho[:] = cur
    stats[0] = steps
    stats[1] = rejected
    stats[2] = dt_min
    stats[3] = dt_max
    return status


# ----------------------------------------------------------------------------------------------
# Scharfetter-Gummel flux (linear Fokker-Planck / heat): a fixed linear stencil
# ----------------------------------------------------------------------------------------------
# Layout: rho is (n0, n1, n2) (front-padded); per axis the face coefficients A, B (length n+1,
# zero on the walls) and the diagonal G (length n), so that face f (between cells f-1 and f)
# carries the flux A[f] r_{f-1} - B[f] r_f and
#     (L r)_c = A[c] r_{c-1} + B[c+1] r_{c+1} + G[c] r_c,   G[c] = -(A[c+1] + B[c]),
# summed over the axes. Rows along the contiguous axis are processed as views; clamped neighbour
# rows at the walls are multiplied by zero coefficients.
_ROW = dict(inline="always")
# numba inlines at the IR level, so the caller's flags apply: the SG kernels allow FMA
# contraction (rounding-level differences only; measured 1.1-1.2x faster).
_SG_JIT = dict(_JIT, fastmath={"contract"})
#: Euler steps fused into one sweep over memory (temporal blocking) on 1-D and 2-D grids.
FUSED_STEPS = 4


@numba.njit(**_ROW)
def _row2(s, s1m, s1p, o, dt, g, a1, b1, A2, B2, G2):
    """o = s + dt L s on one row, neighbours along axes 1 and 2 (1-D and 2-D grids)."""
    n = s.shape[0]
    o[0] = s[0] + dt * ((g + G2[0]) * s[0] + a1 * s1m[0] + b1 * s1p[0] + B2[1] * s[1])
    for k in range(1, n - 1):
        o[k] = s[k] + dt * ((g + G2[k]) * s[k] + a1 * s1m[k] + b1 * s1p[k]
                            + A2[k] * s[k - 1] + B2[k + 1] * s[k + 1])
    k = n - 1
    o[k] = s[k] + dt * ((g + G2[k]) * s[k] + a1 * s1m[k] + b1 * s1p[k] + A2[k] * s[k - 1])


@numba.njit(**_ROW)
def _row3(s, s0m, s0p, s1m, s1p, base, o, c_base, c_src, dt, g, a0, b0, a1, b1, A2, B2, G2):
    """o = c_base base + c_src (s + dt L s) on one row, all three axes (any grid)."""
    n = s.shape[0]
    for k in (0, n - 1):   # wall cells; the interior loop below is branch-free
        km, kp = max(k - 1, 0), min(k + 1, n - 1)
        lap = ((g + G2[k]) * s[k] + a0 * s0m[k] + b0 * s0p[k] + a1 * s1m[k] + b1 * s1p[k]
               + A2[k] * s[km] + B2[k + 1] * s[kp])
        o[k] = c_base * base[k] + c_src * (s[k] + dt * lap)
    for k in range(1, n - 1):
        lap = ((g + G2[k]) * s[k] + a0 * s0m[k] + b0 * s0p[k] + a1 * s1m[k] + b1 * s1p[k]
               + A2[k] * s[k - 1] + B2[k + 1] * s[k + 1])
        o[k] = c_base * base[k] + c_src * (s[k] + dt * lap)


@numba.njit(**_SG_JIT)
def sg_stage(src, base, out, c_base, c_src, dt, A0, B0, G0, A1, B1, G1, A2, B2, G2):
    """One pass: out = c_base base + c_src (src + dt L src); reads src and base once."""
    n0, n1, _ = src.shape
    for i in range(n0):
        im, ip = max(i - 1, 0), min(i + 1, n0 - 1)
        for j in range(n1):
            jm, jp = max(j - 1, 0), min(j + 1, n1 - 1)
            _row3(src[i, j], src[im, j], src[ip, j], src[i, jm], src[i, jp], base[i, j],
                  out[i, j], c_base, c_src, dt, G0[i] + G1[j], A0[i], B0[i + 1], A1[j],
                  B1[j + 1], A2, B2, G2)


@numba.njit(**_SG_JIT)
def _sweep_block(src, out, ring, nlev, dt, first, stop, A1, B1, G1, A2, B2, G2):
    """``nlev`` Euler steps of rows first .. stop-1 of ``out``, from ``src`` (see
    :func:`sg_euler_sweep`). Level l computes rows first-(nlev-1-l) .. stop-1+(nlev-1-l)
    (clipped to the grid): the halo a level needs is recomputed here rather than shared, so
    blocks are independent and every row of every level is the same function of the same
    inputs whatever the blocking."""
    n1 = src.shape[0]
    for i in range(max(first - nlev + 1, 0), min(stop + nlev - 1, n1) + nlev - 1):
        for lev in range(nlev):
            r = i - lev
            halo = nlev - 1 - lev
            if r < max(first - halo, 0) or r >= min(stop + halo, n1):
                continue
            rm, rp = max(r - 1, 0), min(r + 1, n1 - 1)
            if lev == 0:
                s, sm, sp = src[r], src[rm], src[rp]
            else:
                s, sm, sp = ring[lev - 1, r % 3], ring[lev - 1, rm % 3], ring[lev - 1, rp % 3]
            o = out[r] if lev == nlev - 1 else ring[lev, r % 3]
            _row2(s, sm, sp, o, dt, G1[r], A1[r], B1[r + 1], A2, B2, G2)


@numba.njit(parallel=True, **_SG_JIT)
def sg_euler_sweep(src, out, rings, nlev, dt, A1, B1, G1, A2, B2, G2):
    """``nlev`` forward-Euler steps of a 1-D or 2-D grid (src, out: (n1, n2)) in one sweep.

    Level l computes row i - l as soon as level l-1 has rows i-l-1 .. i-l+1, so intermediate
    levels live in a ring of (>= nlev-1, 3, n2) scratch rows that stay in cache and the field is
    streamed through memory once per ``nlev`` steps. The rows are cut into ``rings.shape[0]``
    blocks swept in parallel, each with its own ring (rings: (blocks, >= nlev-1, 3, n2)) and its
    own recomputed halo, so the result is bitwise the same for any number of blocks or
    threads. Results equal nlev separate Euler steps."""
    n1 = src.shape[0]
    blocks = rings.shape[0]
    for b in numba.prange(blocks):
        _sweep_block(src, out, rings[b], nlev, dt, b * n1 // blocks, (b + 1) * n1 // blocks,
                     A1, B1, G1, A2, B2, G2)


@numba.njit(**_SG_JIT)
def sg_solve(rho, A0, B0, G0, A1, B1, G1, A2, B2, G2, stages, steps_per_interval, times,
             snaps, u1, u2, rings):
    """Advance ``rho`` (n0, n1, n2) with the SG operator through ``times``: steps_per_interval[s]
    equal steps on (times[s], times[s+1]], forward Euler (stages 1; FUSED_STEPS steps per sweep
    when n0 == 1, in rings.shape[0] parallel row blocks) or SSP-RK3 (stages 3). u1, u2 are work
    arrays like rho, rings is (blocks, FUSED_STEPS, 3, n2) scratch. snaps (nt, n0, n1, n2)
    receives the snapshots; returns the number of steps taken."""
    snaps[0] = rho
    total = 0
    n0 = rho.shape[0]
    for s in range(1, times.shape[0]):
        nsteps = steps_per_interval[s - 1]
        dt = (times[s] - times[s - 1]) / nsteps
        done = 0
        while done < nsteps:
            if stages == 1 and n0 == 1:
                nlev = min(FUSED_STEPS, nsteps - done)
                if rings.shape[0] == 1:   # no parallel launch (its cost shows on small grids)
                    _sweep_block(rho[0], u1[0], rings[0], nlev, dt, 0, rho.shape[1],
                                 A1, B1, G1, A2, B2, G2)
                else:
                    sg_euler_sweep(rho[0], u1[0], rings, nlev, dt, A1, B1, G1, A2, B2, G2)
                done += nlev
            elif stages == 1:
                sg_stage(rho, rho, u1, 0.0, 1.0, dt, A0, B0, G0, A1, B1, G1, A2, B2, G2)
                done += 1
            else:
                sg_stage(rho, rho, u1, 0.0, 1.0, dt, A0, B0, G0, A1, B1, G1, A2, B2, G2)
                sg_stage(u1, rho, u2, 0.75, 0.25, dt, A0, B0, G0, A1, B1, G1, A2, B2, G2)
                sg_stage(u2, rho, u1, 1.0 / 3.0, 2.0 / 3.0, dt, A0, B0, G0, A1, B1, G1,
                         A2, B2, G2)
                done += 1
            rho, u1 = u1, rho
        total += nsteps
        snaps[s] = rho
    return total


def bernoulli(z):
    """B(z) = z / (e^z - 1) (B(0) = 1), stable for all real z; numpy arrays."""
    z = np.asarray(z, dtype=np.float64)
    small = np.abs(z) < 1e-8
    safe = np.where(small, 1.0, z)
    return np.where(small, 1.0 - 0.5 * z, safe / np.expm1(safe))


# ----------------------------------------------------------------------------------------------
# Post-processing: velocity, face velocities, energy, mass and wall mass of one snapshot
# ----------------------------------------------------------------------------------------------
_entropy = numba.njit(inline="always")(equations.entropy_density)
_porous_energy = numba.njit(inline="always")(equations.porous_density)


@numba.njit(inline="always")
def _xi(r, v, kind, D, m):
    """xi = D F'(rho) + V at one cell (GradientFlow.chemical_potential, same operations)."""
    if kind == LINEAR:
        return D * _log_density(r) + v
    return D * _pressure(r, m) + v


@numba.njit(inline="always")
def _gradient3(a, b, c, where, h):
    """d xi / dx from three consecutive values a, b, c of a line: ``where`` 0 at the first cell,
    2 at the last (second-order one-sided), 1 inside (central, from a and c): numpy.gradient
    with edge_order=2, the same operations in the same order."""
    if where == 0:
        return (-1.5 / h) * a + (2.0 / h) * b + (-0.5 / h) * c
    if where == 2:
        return (0.5 / h) * a + (-2.0 / h) * b + (1.5 / h) * c
    return (c - a) / (2.0 * h)


@numba.njit(inline="always")
def _window(c, n):
    """(first index of the three values used at index c of a line of n >= 3, ``where``)."""
    if c == 0:
        return 0, 0
    if c == n - 1:
        return n - 3, 2
    return c - 1, 1


@numba.njit(inline="always")
def _line_gradient(x, out, n, h):
    """out[c] = -d x / dx along a line of n >= 3 values (x, out: callables by index are not
    available in numba, so this works on 1-D views)."""
    out[0] = -_gradient3(x[0], x[1], x[2], 0, h)
    for c in range(1, n - 1):
        out[c] = -((x[c + 1] - x[c - 1]) / (2.0 * h))
    out[n - 1] = -_gradient3(x[n - 3], x[n - 2], x[n - 1], 2, h)


def snapshot_fields(rho, V, kind, D, m, h, real, want_velocity, want_energy, xi, v0, v1, v2,
                    f0, f1, f2, sums):
    """Fields of one snapshot ``rho`` (n0, n1, n2) through xi = D F'(rho) + V (``xi`` scratch).

    With ``want_velocity`` it writes v_a = -d xi / dx_a (cell centred, as :meth:`GradientFlow.velocity`) into v0, v1, v2
    and the face velocities u = -(xi_{j+1} - xi_j) / h_a (zero on the walls) into f0 (n0+1, n1,
    n2), f1 (n0, n1+1, n2), f2 (n0, n1, n2+1), only for the axes with ``real[a]`` (the others
    may be dummies; a real axis has >= 3 cells). ``sums`` (n0 * n1, 4) receives per row: mass,
    outer-layer mass, the energy density sum of D F(rho) + V rho (with ``want_energy``, else 0)
    and min rho (no cell volume). The logarithms (linear family) are the cost: they are only
    taken for what is wanted.
    Rows run in parallel and each row's sums are its own, so nothing depends on the thread
    count."""
    n0, n1, n2 = rho.shape
    for row in numba.prange(n0 * n1):
        i, j = row // n1, row % n1
        mass, energy, low = 0.0, 0.0, np.inf
        for k in range(n2):
            r = rho[i, j, k]
            if want_velocity:
                xi[i, j, k] = _xi(r, V[i, j, k], kind, D, m)
            mass += r
            if want_energy and r > 0.0:   # F(0) = 0 for both families
                f = _entropy(r) if kind == LINEAR else _porous_energy(r, m)
                energy += D * f + V[i, j, k] * r
            low = min(low, r)
        outer = 0.0
        if (real[0] and (i == 0 or i == n0 - 1)) or (real[1] and (j == 0 or j == n1 - 1)):
            outer = mass
        elif real[2]:
            outer = rho[i, j, 0] + rho[i, j, n2 - 1]
        sums[row, 0] = mass
        sums[row, 1] = outer
        sums[row, 2] = energy
        sums[row, 3] = low
    if not want_velocity:
        return
    for row in numba.prange(n0 * n1):
        i, j = row // n1, row % n1
        if real[2]:
            _line_gradient(xi[i, j], v2[i, j], n2, h[2])
            f2[i, j, 0] = 0.0
            for k in range(1, n2):
                f2[i, j, k] = -(xi[i, j, k] - xi[i, j, k - 1]) / h[2]
            f2[i, j, n2] = 0.0
        if real[1]:
            j0, wj = _window(j, n1)
            a, b, c = xi[i, j0], xi[i, j0 + 1], xi[i, j0 + 2]
            for k in range(n2):
                v1[i, j, k] = -_gradient3(a[k], b[k], c[k], wj, h[1])
                f1[i, j, k] = 0.0 if j == 0 else -(xi[i, j, k] - xi[i, j - 1, k]) / h[1]
            if j == n1 - 1:
                f1[i, n1] = 0.0
        if real[0]:
            i0, wi = _window(i, n0)
            a, b, c = xi[i0, j], xi[i0 + 1, j], xi[i0 + 2, j]
            for k in range(n2):
                v0[i, j, k] = -_gradient3(a[k], b[k], c[k], wi, h[0])
                f0[i, j, k] = 0.0 if i == 0 else -(xi[i, j, k] - xi[i - 1, j, k]) / h[0]
            if i == n0 - 1:
                f0[n0, j] = 0.0


#: The same pass, rows in parallel (large grids) and serial (small grids, where starting the
#: threads costs more than the pass).
snapshot_fields_parallel = numba.njit(parallel=True, **_JIT)(snapshot_fields)
snapshot_fields = numba.njit(**_JIT)(snapshot_fields)
