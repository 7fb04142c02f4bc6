"""numba kernels of the Lagrangian porous-medium solver in mass coordinates. Private: see
:mod:`radial_lagrangian`.

State: node positions ``x`` (n,) = X(t, s_i) at uniformly spaced labels s_i (the initial
positions r0_i). Cell j lies between nodes j and j+1. ``dim`` is the dimension of the radial
weight r^(dim-1) (1 on the line).

* cell pressure ``P_j = (m/(m-1)) rho_j^(m-1)`` with ``rho_j = rho0(r0_{j+1/2}) / J_j`` and
  ``J_j = (x_{j+1}^d - x_j^d) / (r0_{j+1}^d - r0_j^d)`` the discrete volume ratio (the Jacobian
  identity of mass conservation at the label midpoint); evaluated in logarithms so that d = 128
  does not overflow;
* node velocity ``v_i = -D dP/dr - kappa x_i``: centred ``2 (P_{i+1/2} - P_{i-1/2}) /
  (x_{i+1} - x_{i-1})`` inside; at a front (P = 0 at the node) the one-sided second-order
  derivative of the parabola through the front and the two nearest cell pressures (in the label),
  divided by the one-sided second-order dX/ds; at the origin of the radial geometry v = 0.

Both are second order in the label spacing for solutions whose pressure is smooth up to the front
(P ~ distance, the Barenblatt behaviour).
"""
import math

import numpy as np
from numba import njit

#: half bandwidth of the velocity's Jacobian (row i depends on nodes i-2 .. i+2)
BAND = 2


@njit(cache=True)
def cell_pressure(x, log_dv0, log_rho0_mid, dim, m, out):
    """out[j] = (m/(m-1)) rho_j^(m-1) for the n-1 cells; returns False if two nodes touch or
    cross (x must be strictly increasing) or a value is not finite."""
    coef = m / (m - 1.0)
    for j in range(x.shape[0] - 1):
        a = x[j]
        b = x[j + 1]
        if not (b > a):
            return False
        if dim == 1:
            log_dv = math.log(b - a)
        elif a <= 0.0:
            log_dv = dim * math.log(b)
        else:
            log_dv = dim * math.log(b) + math.log(-math.expm1(dim * math.log(a / b)))
        log_rho = log_rho0_mid[j] - (log_dv - log_dv0[j])
        value = coef * math.exp((m - 1.0) * log_rho)
        if not math.isfinite(value):
            return False
        out[j] = value
    return True


@njit(cache=True)
def node_velocity(x, log_dv0, log_rho0_mid, dim, m, D, kappa, left_front, pressure, out):
    """Node velocities (n,) into ``out``; ``pressure`` (n-1,) is scratch (the cell pressures on
    return). ``left_front``: node 0 is a free boundary (line) instead of the fixed origin.
    Returns False where :func:`cell_pressure` does."""
    n = x.shape[0]
    if not cell_pressure(x, log_dv0, log_rho0_mid, dim, m, pressure):
        return False
    for i in range(1, n - 1):
        out[i] = -D * 2.0 * (pressure[i] - pressure[i - 1]) / (x[i + 1] - x[i - 1]) - kappa * x[i]
    # right front: P_s(1) h = -3 P_{N-1/2} + P_{N-3/2} / 3,  X_s(1) 2h = 3 X_N - 4 X_{N-1} + X_{N-2}
    dp = -3.0 * pressure[n - 2] + pressure[n - 3] / 3.0
    dx = 3.0 * x[n - 1] - 4.0 * x[n - 2] + x[n - 3]
    out[n - 1] = -D * 2.0 * dp / dx - kappa * x[n - 1]
    if left_front:
        dp = 3.0 * pressure[0] - pressure[1] / 3.0
        dx = -3.0 * x[0] + 4.0 * x[1] - x[2]
        out[0] = -D * 2.0 * dp / dx - kappa * x[0]
    else:
        out[0] = 0.0
    for i in range(n):
        if not math.isfinite(out[i]):
            return False
    return True


@njit(cache=True)
def velocity_jacobian(x, v, log_dv0, log_rho0_mid, dim, m, D, kappa, left_front, step, ab):
    """Banded Jacobian dv_i/dx_j by coloured one-sided differences (5 colours: row i depends on
    columns i-2..i+2 only), in LAPACK band storage ab[BAND + i - j, j] (5, n). ``v`` is the
    velocity at ``x``; ``step`` (n,) the difference increments. Returns False on failure."""
    n = x.shape[0]
    xp = x.copy()
    vp = np.empty(n)
    scratch = np.empty(n - 1)
    ab[:, :] = 0.0
    width = 2 * BAND + 1
    for colour in range(width):
        xp[:] = x
        for j in range(colour, n, width):
            xp[j] = x[j] + step[j]
        if not node_velocity(xp, log_dv0, log_rho0_mid, dim, m, D, kappa, left_front, scratch,
                             vp):
            return False
        for j in range(colour, n, width):
            for i in range(max(0, j - BAND), min(n, j + BAND + 1)):
                ab[BAND + i - j, j] = (vp[i] - v[i]) / step[j]
    return True


@njit(cache=True)
def node_log_jacobian(x, r0, dim, left_front, out):
    """log of the pointwise volume ratio J_i = (x_i / r0_i)^(d-1) dX/ds / (dr0/ds) at the nodes
    (second-order differences: centred inside, one-sided at the ends; at the radial origin the odd
    extension, X ~ a s + b s^3, gives dX/dr0 = (8 X_1 - X_2) / (8 r0_1 - r0_2))."""
    n = x.shape[0]
    for i in range(n):
        if i == 0:
            if left_front:
                slope = (-3.0 * x[0] + 4.0 * x[1] - x[2]) / (-3.0 * r0[0] + 4.0 * r0[1] - r0[2])
                out[i] = math.log(slope)
            else:
                slope = (8.0 * x[1] - x[2]) / (8.0 * r0[1] - r0[2])
                out[i] = dim * math.log(slope)
            continue
        if i == n - 1:
            slope = (3.0 * x[i] - 4.0 * x[i - 1] + x[i - 2]) / (3.0 * r0[i] - 4.0 * r0[i - 1]
                                                                + r0[i - 2])
        else:
            slope = (x[i + 1] - x[i - 1]) / (r0[i + 1] - r0[i - 1])
        value = math.log(slope)
        if dim > 1:
            value += (dim - 1) * math.log(x[i] / r0[i])
        out[i] = value
