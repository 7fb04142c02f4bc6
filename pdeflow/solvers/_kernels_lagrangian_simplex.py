"""numba kernel of the moving-simplex porous scheme. Private: see :mod:`lagrangian_simplex`."""
import numba
from numba import njit

from .. import equations

_porous_density = numba.njit(inline="always")(equations.porous_density)


@njit(cache=True)
def simplex_velocity(x, triangles, tri_mass, node_mass, D, m, K, v, area):
    """v_i = (D / m_i) sum_{T ni i} rho_T^m d|T|/dX_i - K X_i, rho_T = M_T / |T| -> ``v`` (N, 2);
    the signed areas -> ``area`` (n_T,). Triangles are counter-clockwise (i, j, k)."""
    n = x.shape[0]
    for i in range(n):
        v[i, 0] = 0.0
        v[i, 1] = 0.0
    for t in range(triangles.shape[0]):
        a, b, c = triangles[t, 0], triangles[t, 1], triangles[t, 2]
        ax, ay, bx, by, cx, cy = x[a, 0], x[a, 1], x[b, 0], x[b, 1], x[c, 0], x[c, 1]
        s = 0.5 * ((bx - ax) * (cy - ay) - (cx - ax) * (by - ay))
        area[t] = s
        if s <= 0.0:
            continue
        # -d(|T| F(M/|T|))/d|T| = rho^m (F = rho^m / (m - 1)): (m - 1) rho F(rho) / rho
        rho = tri_mass[t] / s
        f = D * (m - 1.0) * _porous_density(rho, m)
        # d|T|/dX_a = (y_b - y_c, x_c - x_b) / 2, cyclic
        v[a, 0] += 0.5 * f * (by - cy)
        v[a, 1] += 0.5 * f * (cx - bx)
        v[b, 0] += 0.5 * f * (cy - ay)
        v[b, 1] += 0.5 * f * (ax - cx)
        v[c, 0] += 0.5 * f * (ay - by)
        v[c, 1] += 0.5 * f * (bx - ax)
    for i in range(n):
        vx = v[i, 0] / node_mass[i] - (K[0, 0] * x[i, 0] + K[0, 1] * x[i, 1])
        vy = v[i, 1] / node_mass[i] - (K[1, 0] * x[i, 0] + K[1, 1] * x[i, 1])
        v[i, 0] = vx
        v[i, 1] = vy
