"""numba kernels of the direct (all pairs, O(N^2)) blob method. Private: see :mod:`blob`.

Gaussian blob phi(r) = norm * exp(-|r|^2 / (2 delta^2)), grad phi(r) = -r / delta^2 phi(r).
Pairs with |r|^2 / (2 delta^2) > CUTOFF (exp < 4e-18, below rounding of the sums) are skipped:
it avoids slow subnormal arithmetic when delta is small compared with the cloud.
"""
import numpy as np
from numba import njit, prange

CUTOFF = 40.0


@njit(parallel=True, cache=True, fastmath=True)
def blob_density(targets, sources, mass, inv_two_delta2, norm, out):
    """out[i] = sum_j mass[j] phi(targets[i] - sources[j])."""
    d = targets.shape[1]
    for i in prange(targets.shape[0]):
        acc = 0.0
        for j in range(sources.shape[0]):
            r2 = 0.0
            for a in range(d):
                diff = targets[i, a] - sources[j, a]
                r2 += diff * diff
            arg = r2 * inv_two_delta2
            if arg < CUTOFF:
                acc += mass[j] * np.exp(-arg)
        out[i] = norm * acc


@njit(parallel=True, cache=True, fastmath=True)
def blob_velocity(x, mass, g, inv_two_delta2, coef, out):
    """out[i] = coef * sum_j mass[j] exp(-|r_ij|^2 / (2 delta^2)) r_ij (g[i] + g[j]),
    r_ij = x[i] - x[j]; with coef = D norm / delta^2 this is -D sum_j m_j grad phi(r_ij)(g_i + g_j)."""
    n, d = x.shape
    for i in prange(n):
        acc = np.zeros(d)
        for j in range(n):
            r2 = 0.0
            for a in range(d):
                diff = x[i, a] - x[j, a]
                r2 += diff * diff
            arg = r2 * inv_two_delta2
            if arg < CUTOFF:
                w = mass[j] * np.exp(-arg) * (g[i] + g[j])
                for a in range(d):
                    acc[a] += w * (x[i, a] - x[j, a])
        for a in range(d):
            out[i, a] = coef * acc[a]


# Serial twins for small N, where starting threads costs more than the pair loop.
blob_density_serial = njit(cache=True, fastmath=True)(blob_density.py_func)
blob_velocity_serial = njit(cache=True, fastmath=True)(blob_velocity.py_func)
