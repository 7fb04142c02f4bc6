"""Shared helpers of the Lagrangian porous-medium tests: the exact anisotropic porous flows
(DESIGN.md section 4) and the refinement study.

TEMPORARY private reference (until pdeflow.exact.AnisotropicBarenblatt lands on main): the
shape ODEs of DESIGN.md section 4 integrated by scipy at rtol 1e-12.
"""
from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp


class _Reference:
    """P = (c(t) - (x - mu)^T A (x - mu))_+, v = -grad P - K x, D = 1 in the ODEs."""

    def __init__(self, m, A0, c0, K=None, D=1.0, center=None):
        self.m, self.D = float(m), float(D)
        self.A0 = np.asarray(A0, float)
        self.c0 = float(c0)
        self.K = np.zeros((2, 2)) if K is None else np.asarray(K, float)
        self.mu0 = np.zeros(2) if center is None else np.asarray(center, float)
        self._cache = {}

    def _rhs(self, t, y):
        m, K = self.m, self.K
        c, A, Phi, mu = y[0], y[1:5].reshape(2, 2), y[5:9].reshape(2, 2), y[9:11]
        trA, trK = np.trace(A), np.trace(K)
        dc = (m - 1) * c * (trK - 2 * trA)
        dA = -4 * A @ A - 2 * (m - 1) * trA * A + A @ K + K @ A + (m - 1) * trK * A
        dPhi = (2 * A - K) @ Phi
        return np.concatenate([[dc], dA.ravel(), dPhi.ravel(), -K @ mu])

    def _state(self, t):
        if t not in self._cache:
            y0 = np.concatenate([[self.c0], self.A0.ravel(), np.eye(2).ravel(), self.mu0])
            y = y0 if t == 0 else solve_ivp(self._rhs, (0, t), y0, rtol=1e-12, atol=1e-14,
                                            method="DOP853").y[:, -1]
            self._cache[t] = y
        return self._cache[t]

    def shape(self, t):
        y = self._state(t)
        return y[1:5].reshape(2, 2), y[0], y[9:11]

    def pressure(self, t, x):
        A, c, mu = self.shape(t)
        z = np.asarray(x, float) - mu
        return np.maximum(c - np.einsum("ni,ij,nj->n", z, A, z), 0.0)

    def density(self, t, x):
        m = self.m
        return ((m - 1) * self.pressure(t, x) / (self.D * m)) ** (1 / (m - 1))

    def flow_map(self, t, x, t0=0.0):
        assert t0 == 0.0
        y = self._state(t)
        return y[9:11] + (np.asarray(x, float) - self.mu0) @ y[5:9].reshape(2, 2).T

    def support_area(self, t):
        A, c, _ = self.shape(t)
        return np.pi * c / np.sqrt(np.linalg.det(A))


def anisotropic(m, A0, c0, K=None, D=1.0, center=None):
    return _Reference(m, A0, c0, K=K, D=D, center=center)


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
