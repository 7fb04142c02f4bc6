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
@numba.njit(inline="always")
def _minmod(a, b):
    if a > 0.0 and b > 0.0:
        return min(a, b)
    if a < 0.0 and b < 0.0:
        return max(a, b)
    return 0.0


@numba.njit(inline="always")
def _face_flux(rm, r0, r1, r2, has_m, has_2, xi0, xi1, inv_h, order):
    """Flux u+ rho_E + u- rho_W through the face between cells 0 and 1 (and |u|).

    rm, r2 are the outer neighbours (used for the minmod slopes when ``order == 2``; a missing
    neighbour at a wall gives slope 0)."""
    u = -(xi1 - xi0) * inv_h
    rho_e, rho_w = r0, r1
    if order == 2:
        if has_m:
            rho_e = r0 + 0.5 * _minmod(r0 - rm, r1 - r0)
        if has_2:
            rho_w = r1 - 0.5 * _minmod(r1 - r0, r2 - r1)
    return max(u, 0.0) * rho_e + min(u, 0.0) * rho_w, abs(u)


@numba.njit(**_JIT)
def cch_potential(rho, V, kind, D, m, xi):
    """xi = D F'(rho) + V cell by cell (V = kappa |x|^2 / 2 precomputed)."""
    n0, n1, n2 = rho.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                r = rho[i, j, k]
                if kind == LINEAR:
                    f = _log_density(r)
                else:
                    f = _pressure(r, m) if r > 0.0 else 0.0
                xi[i, j, k] = D * f + V[i, j, k]


@numba.njit(**_JIT)
def cch_rhs(rho, V, inv_h, kind, D, m, order, xi, out):
    """out = -div(flux) of the upwind scheme; returns the step limit (inf if nothing moves).

    The limit is min(positivity, parabolic): 1 / max(2 sum_i a_i / h_i, 2 D_eff sum_i 1 / h_i^2)
    with a_i = max |u| on axis i and D_eff = D max rho F''(rho) (D, or D m max rho^(m-1))."""
    n0, n1, n2 = rho.shape
    cch_potential(rho, V, kind, D, m, xi)
    out[:] = 0.0
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    rmax = 0.0
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                r = rho[i, j, k]
                rmax = max(rmax, r)
                if k + 1 < n2:
                    f, a = _face_flux(rho[i, j, max(k - 1, 0)], r, rho[i, j, k + 1],
                                      rho[i, j, min(k + 2, n2 - 1)], k > 0, k + 2 < n2,
                                      xi[i, j, k], xi[i, j, k + 1], inv_h[2], order)
                    out[i, j, k] -= f * inv_h[2]
                    out[i, j, k + 1] += f * inv_h[2]
                    a2 = max(a2, a)
                if j + 1 < n1:
                    f, a = _face_flux(rho[i, max(j - 1, 0), k], r, rho[i, j + 1, k],
                                      rho[i, min(j + 2, n1 - 1), k], j > 0, j + 2 < n1,
                                      xi[i, j, k], xi[i, j + 1, k], inv_h[1], order)
                    out[i, j, k] -= f * inv_h[1]
                    out[i, j + 1, k] += f * inv_h[1]
                    a1 = max(a1, a)
                if i + 1 < n0:
                    f, a = _face_flux(rho[max(i - 1, 0), j, k], r, rho[i + 1, j, k],
                                      rho[min(i + 2, n0 - 1), j, k], i > 0, i + 2 < n0,
                                      xi[i, j, k], xi[i + 1, j, k], inv_h[0], order)
                    out[i, j, k] -= f * inv_h[0]
                    out[i + 1, j, k] += f * inv_h[0]
                    a0 = max(a0, a)
    d_eff = D if kind == LINEAR else D * _diffusivity(rmax, m)
    transport = 2.0 * (a0 * inv_h[0] * (n0 > 1) + a1 * inv_h[1] * (n1 > 1) + a2 * inv_h[2] * (n2 > 1))
    parabolic = 2.0 * d_eff * ((n0 > 1) * inv_h[0] ** 2 + (n1 > 1) * inv_h[1] ** 2
                               + (n2 > 1) * inv_h[2] ** 2)
    rate = max(transport, parabolic)
    if not math.isfinite(transport):
        return -1.0  # signals a non-finite velocity
    return 1.0 / rate if rate > 0.0 else np.inf


@numba.njit(**_JIT)
def _combine(out, c_base, base, c_src, src, dt, rhs):
    """out = c_base base + c_src (src + dt rhs), elementwise (3-D arrays)."""
    n0, n1, n2 = out.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                out[i, j, k] = c_base * base[i, j, k] + c_src * (src[i, j, k] + dt * rhs[i, j, k])


@numba.njit(**_JIT)
def cch_solve(rho, V, inv_h, kind, D, m, order, stages, cfl, dt_user, times, snaps,
              rhs0, rhs, u1, u2, xi, max_steps, stats):
    """Advance ``rho`` (modified in place) from times[0] through ``times``; snapshot i goes to
    snaps[i]. ``stages`` is 1 (forward Euler) or 3 (SSP-RK3). ``dt_user`` <= 0 means the step is
    cfl * limit, recomputed every step; a step is redone with a smaller dt when a later RK stage
    has a smaller limit, so every stage is a positivity-preserving Euler step.

    stats (8,) receives: steps, rejected, dt_min, dt_max, t_fail, limit_fail, 0, 0.
    Returns a status code."""
    t = times[0]
    snaps[0] = rho
    steps = 0
    rejected = 0
    dt_min = np.inf
    dt_max = 0.0
    stats[4] = np.nan
    stats[5] = np.nan
    status = OK
    for s in range(1, times.shape[0]):
        target = times[s]
        while t < target and status == OK:
            if steps >= max_steps:
                status = STEP_BUDGET
                break
            limit = cch_rhs(rho, V, inv_h, kind, D, m, order, xi, rhs0)
            if limit < 0.0:
                status = NONFINITE
                break
            if dt_user > 0.0:
                if dt_user > limit * (1.0 + 1e-12):
                    status = DT_TOO_LARGE
                    stats[5] = limit
                    break
                dt = dt_user
            else:
                dt = cfl * limit
            while True:  # attempts with decreasing dt until every stage respects its limit
                last = t + dt * (1.0 + 1e-9) >= target  # no sliver steps before a snapshot
                if last:
                    dt = target - t
                _combine(u1, 0.0, rho, 1.0, rho, dt, rhs0)
                ok = True
                if stages == 3:
                    lim1 = cch_rhs(u1, V, inv_h, kind, D, m, order, xi, rhs)
                    if lim1 < 0.0:
                        status = NONFINITE
                        break
                    if dt > lim1 * (1.0 + 1e-12):
                        ok = False
                        new_dt = cfl * lim1
                    else:
                        _combine(u2, 0.75, rho, 0.25, u1, dt, rhs)
                        lim2 = cch_rhs(u2, V, inv_h, kind, D, m, order, xi, rhs)
                        if lim2 < 0.0:
                            status = NONFINITE
                            break
                        if dt > lim2 * (1.0 + 1e-12):
                            ok = False
                            new_dt = cfl * lim2
                        else:
                            _combine(rho, 1.0 / 3.0, rho, 2.0 / 3.0, u2, dt, rhs)
                else:
                    rho[:] = u1
                if ok:
                    break
                if dt_user > 0.0:
                    status = DT_TOO_LARGE
                    stats[5] = new_dt / cfl
                    break
                rejected += 1
                dt = new_dt
            if status != OK:
                break
            t = target if last else t + dt
            steps += 1
            dt_min = min(dt_min, dt)
            dt_max = max(dt_max, dt)
        if status != OK:
            stats[4] = t
            break
        snaps[s] = rho
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
