"""Shared helpers of the Lagrangian porous-medium tests: the exact anisotropic porous flows
(:class:`pdeflow.exact.AnisotropicBarenblatt`, DESIGN.md section 4), the non-affine test data
and the common nodes of a refinement study.
"""
from __future__ import annotations

import numpy as np

from pdeflow.exact import AnisotropicBarenblatt


def anisotropic(m, A0, c0, K=None, D=1.0, center=None) -> AnisotropicBarenblatt:
    return AnisotropicBarenblatt(m, A0, c0, K=K, D=D, center=center)


# ----------------------------------------------------------------------------------------------
# Problems and the refinement study
# ----------------------------------------------------------------------------------------------
#: non-diagonal A0 (elliptic, tilted support), m = 2; the drifts of the tests
A0 = np.array([[2.0, 0.6], [0.6, 1.0]])
C0 = 0.5
DRIFTS = {"free": None, "confined": np.eye(2), "anisotropic": np.array([[1.5, 0.4], [0.4, 0.7]])}


def perturbed_rho0(equation, A0=A0, c0=C0):
    """Initial data outside the affine family: p_0 = (c0 - x^T A0 x)_+ (1 + 0.4 sin(3 x1 + 1)
    cos(2 x2)) (same elliptic support, no closed-form solution)."""
    def rho0(x):
        x = np.asarray(x, float)
        q = np.einsum("ni,ij,nj->n", x, A0, x)
        p = np.maximum(c0 - q, 0) * (1 + 0.4 * np.sin(3 * x[:, 0] + 1) * np.cos(2 * x[:, 1]))
        return equation.density_from_pressure(p / equation.D)
    return rho0


def common_nodes(solutions, lower):
    """Row indices, per solution, of the nodes of the coarsest lattice present in every one."""
    h0 = max(s.reference.h for s in solutions)
    keys = []
    for s in solutions:
        cells = (s.reference.xi - lower) / h0
        on = np.all(np.abs(cells - np.round(cells)) < 1e-9, axis=1)
        keys.append({tuple(c): k for c, k in zip(np.round(cells[on]).astype(int),
                                                 np.flatnonzero(on))})
    common = sorted(set.intersection(*(set(k) for k in keys)))
    return [np.array([k[c] for c in common]) for k in keys]
