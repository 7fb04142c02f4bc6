"""numba kernel of the 2-D Lagrangian porous-medium solver. Private: see :mod:`lagrangian_porous`.

The unknown is the flow map X(t, xi) at the nodes xi of a fixed reference grid inside the
initial support. Every spatial derivative in xi is a fixed linear stencil (CSR rows over the
nodes, built once by :mod:`lagrangian_porous`), so one velocity evaluation is four sparse
row sums and a few flops per node.
"""
import numba
import numpy as np
from numba import njit

from .. import equations

_pressure = numba.njit(inline="always")(equations.porous_pressure)


@njit(cache=True, fastmath=False)
def _row_dot(indptr, indices, data, row, values, component):
    acc = 0.0
    for k in range(indptr[row], indptr[row + 1]):
        acc += data[k] * values[indices[k], component]
    return acc


@njit(cache=True, fastmath=False)
def lagrangian_velocity(x, rho0, D, m, K, filter_strength, dx_ptr, dx_idx, dx_val, dy_ptr,
                        dy_idx, dy_val, px_ptr, px_idx, px_val, py_ptr, py_idx, py_val,
                        oe_ptr, oe_idx, oe_val, v, pressure, jac):
    """Velocity of the nodes at positions ``x`` (N, 2) -> ``v`` (N, 2).

    F = grad_xi X by the stencils dx/dy (ghost values folded in), J = det F, rho = rho0 / J,
    p = D porous_pressure(rho, m) -> ``pressure`` (N,), grad_xi p by the stencils px/py (p = 0
    on the support boundary folded in), v = -F^{-T} grad_xi p - K x + sigma (odd_even x) with
    sigma = filter_strength (m - 1) max p (the odd-even filter). ``jac`` (N,) receives J.
    """
    n = x.shape[0]
    for i in range(n):
        f00 = _row_dot(dx_ptr, dx_idx, dx_val, i, x, 0)
        f10 = _row_dot(dx_ptr, dx_idx, dx_val, i, x, 1)
        f01 = _row_dot(dy_ptr, dy_idx, dy_val, i, x, 0)
        f11 = _row_dot(dy_ptr, dy_idx, dy_val, i, x, 1)
        det = f00 * f11 - f01 * f10
        jac[i] = det
        if det > 0.0:
            pressure[i] = D * _pressure(rho0[i] / det, m)
        else:
            pressure[i] = np.nan
    p2 = pressure.reshape((n, 1))
    sigma = filter_strength * (m - 1.0) * np.max(pressure)
    for i in range(n):
        f00 = _row_dot(dx_ptr, dx_idx, dx_val, i, x, 0)
        f10 = _row_dot(dx_ptr, dx_idx, dx_val, i, x, 1)
        f01 = _row_dot(dy_ptr, dy_idx, dy_val, i, x, 0)
        f11 = _row_dot(dy_ptr, dy_idx, dy_val, i, x, 1)
        g0 = _row_dot(px_ptr, px_idx, px_val, i, p2, 0)
        g1 = _row_dot(py_ptr, py_idx, py_val, i, p2, 0)
        det = jac[i]
        # F^{-T} g with F = [[f00, f01], [f10, f11]]:  F^{-1} = [[f11, -f01], [-f10, f00]] / det
        gx = (f11 * g0 - f10 * g1) / det
        gy = (-f01 * g0 + f00 * g1) / det
        v[i, 0] = -gx - (K[0, 0] * x[i, 0] + K[0, 1] * x[i, 1]) + sigma * _row_dot(
            oe_ptr, oe_idx, oe_val, i, x, 0)
        v[i, 1] = -gy - (K[1, 0] * x[i, 0] + K[1, 1] * x[i, 1]) + sigma * _row_dot(
            oe_ptr, oe_idx, oe_val, i, x, 1)
