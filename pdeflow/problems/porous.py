"""Exact porous-medium problems in any dimension 1-128: an anisotropic ellipsoidal flow and a
multimodal sum of them with disjoint supports (:class:`~pdeflow.exact.AnisotropicBarenblatt`,
:class:`~pdeflow.exact.DisjointBarenblattMixture`; docs/exact_porous.md).

The families (``{family}-{d}d``, d = 1-128, D = 1, t in [0.01, 1]):

``porous-ellipsoid`` / ``porous-ellipsoid-dimaware``
    one component, m = 2 / m = 1 + 1/d, confined by K = I (kappa = 1, as the study's porous
    problems): the initial support is an ellipsoid with semi-axes geometric from 0.25 to 1
    (0.5 in 1-D), rotated by a fixed random orthogonal matrix, centred at a fixed point of norm
    1, with pressure 1/4 at its centre.
``porous-modes`` / ``porous-modes-dimaware``
    four components (two in 1-D) centred at +-2 e_1, +-2 e_2, each an ellipsoid with semi-axes
    geometric from 0.2 to 0.6 (rolled per component, rotated by a fixed orthogonal matrix),
    central pressures 0.25, 0.325, 0.4, 0.475 (unequal masses); free flow (K = 0), m = 2 /
    m = 1 + 1/d. The supports are certified disjoint up to t = 2 = 2T in every d = 1-128
    (``problem.flow.contact_time`` is inf below that horizon; with a longer horizon the first
    contact comes at t = 2.07-5.1 for m = 1 + 1/d and for m = 2 in 2-D, after t = 10 for m = 2 in
    d >= 3).

Porous-medium flows have a velocity and no SDE: ``kinds = ("velocity",)``, ``convention = None``;
the data end is t_min (as for the certified porous problems). The truth is a closed form up to
one scalar ODE solved to relative 1e-13, so ``velocity_truth_error`` is None (exact).
"""
from __future__ import annotations

import numpy as np

from ..exact import AnisotropicBarenblatt, DisjointBarenblattMixture
from .base import Problem

__all__ = ["ExactPorousProblem", "ellipsoid", "modes", "FAMILIES", "MAX_DIM"]

#: the largest dimension of the exact porous families
MAX_DIM = 128
_SEED = 20260300
_T_MIN, _T = 0.01, 1.0


def _check(dim) -> int:
    if int(dim) != dim or not 1 <= dim <= MAX_DIM:
        raise ValueError(f"dim must be an integer in [1, {MAX_DIM}], got {dim}")
    return int(dim)


def _exponent(dim: int, dimaware: bool) -> float:
    return 1.0 + 1.0 / dim if dimaware else 2.0


def _rotation(dim: int, seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))                  # a fixed orthogonal matrix (Haar)


def _shape(rotation, semi_axes, level):
    """A0 whose support {y^T A0 y < level} has these semi-axes along the rotated axes."""
    return level * (rotation * semi_axes ** -2.0) @ rotation.T


class ExactPorousProblem(Problem):
    """A porous-medium problem whose truth is ``flow`` (an AnisotropicBarenblatt or a
    DisjointBarenblattMixture valid on [t_min, T]).

    ``velocity`` is the exact velocity inside the supports and, outside them, the affine
    continuation of the nearest component (``extended_velocity``): rho = 0 there, so no error
    measure weights it, and ODE stages that stray past a front by rounding see no jump. ``score``
    is grad log rho (NaN outside the supports); ``flow_map``, ``density`` exact.
    """

    truth = "exact"
    kinds = ("velocity",)

    def __init__(self, name, flow, t_min, T, description):
        if not isinstance(flow, (AnisotropicBarenblatt, DisjointBarenblattMixture)):
            raise ValueError(f"flow must be an AnisotropicBarenblatt or DisjointBarenblattMixture,"
                             f" got {type(flow).__name__}")
        if isinstance(flow, DisjointBarenblattMixture) and T > flow.valid_until:
            raise ValueError(f"T = {T} is past the first contact time {flow.contact_time} "
                             f"of the supports of {name}")
        super().__init__(name, flow.dim, t_min, T, None, description)
        self.flow = flow

    @property
    def m(self) -> float:
        return self.flow.m

    @property
    def K(self) -> np.ndarray:
        return self.flow.K

    def _per_time(self, t, x, evaluate):
        x = np.asarray(x, dtype=np.float64)
        t = np.asarray(t, dtype=np.float64)
        if t.ndim == 0:
            return evaluate(self.check_time(float(t)), x)
        if t.shape != (len(x),):
            raise ValueError(f"t must be a float or an ({len(x)},) array, got shape {t.shape}")
        out = np.empty_like(x)
        for value in np.unique(t):
            rows = t == value
            out[rows] = evaluate(self.check_time(float(value)), x[rows])
        return out

    def _velocity(self, t, x):
        if isinstance(self.flow, DisjointBarenblattMixture):
            return self.flow.extended_velocity(t, x)
        return self.flow.affine_velocity(t, x)

    def velocity(self, t, x):
        """The exact velocity -grad(D m/(m-1) rho^(m-1)) - K x, (n, dim); ``t`` float or (n,)."""
        return self._per_time(t, x, self._velocity)

    def score(self, t, x):
        """grad log rho_t(x), (n, dim); NaN outside the supports."""
        return self._per_time(t, x, self.flow.score)

    def density(self, t: float, x) -> np.ndarray:
        return self.flow.density(self.check_time(t), x)

    def flow_map(self, t: float, x, t0: float) -> np.ndarray:
        """The exact Lagrangian map X(t; t0, x), (n, dim)."""
        return self.flow.flow_map(self.check_time(t), x, t0=self.check_time(t0, "t0"))

    def sample(self, t: float, n: int, seed):
        return self.flow.sample(self.check_time(t), n, seed)


def ellipsoid(dim: int, dimaware: bool = False) -> ExactPorousProblem:
    """``porous-ellipsoid-{d}d`` (``-dimaware``): see the module docstring."""
    dim = _check(dim)
    m = _exponent(dim, dimaware)
    rng = np.random.default_rng(_SEED + dim)
    semi_axes = np.geomspace(0.25, 1.0, dim) if dim > 1 else np.array([0.5])
    centre = rng.standard_normal(dim)
    centre /= np.linalg.norm(centre)
    level = 0.25
    flow = AnisotropicBarenblatt(m, _shape(_rotation(dim, _SEED + 1000 + dim), semi_axes, level),
                                 level, K=np.eye(dim), D=1.0, center=centre)
    name = f"porous-ellipsoid{'-dimaware' if dimaware else ''}-{dim}d"
    words = f"m = 1 + 1/d = {m:.4g}" if dimaware else "m = 2"
    return ExactPorousProblem(name, flow, _T_MIN, _T,
                              f"exact anisotropic porous flow, {words}, K = I, one rotated "
                              "ellipsoid (semi-axes 0.25-1)")


def modes(dim: int, dimaware: bool = False) -> ExactPorousProblem:
    """``porous-modes-{d}d`` (``-dimaware``): see the module docstring."""
    dim = _check(dim)
    m = _exponent(dim, dimaware)
    rotation = _rotation(dim, _SEED + 2000 + dim)
    semi_axes = np.geomspace(0.2, 0.6, dim) if dim > 1 else np.array([0.4])
    axes = np.eye(dim)[:min(dim, 2)]
    centres = 2.0 * np.concatenate([axes, -axes])
    components = []
    for k, centre in enumerate(centres):
        level = 0.25 * (1.0 + 0.3 * k)
        components.append(AnisotropicBarenblatt(
            m, _shape(rotation, np.roll(semi_axes, k), level), level, K=None, D=1.0,
            center=centre))
    flow = DisjointBarenblattMixture(components, horizon=2.0 * _T)
    name = f"porous-modes{'-dimaware' if dimaware else ''}-{dim}d"
    words = f"m = 1 + 1/d = {m:.4g}" if dimaware else "m = 2"
    where = "+-2 e1, +-2 e2" if dim > 1 else "+-2"
    return ExactPorousProblem(name, flow, _T_MIN, _T,
                              f"exact free porous flow (K = 0), {words}, {len(centres)} disjoint "
                              f"ellipsoidal modes at {where}")


#: the exact porous families by name: ``name -> f(dim) -> ExactPorousProblem``
FAMILIES = {"porous-ellipsoid": ellipsoid,
            "porous-ellipsoid-dimaware": lambda dim: ellipsoid(dim, dimaware=True),
            "porous-modes": modes,
            "porous-modes-dimaware": lambda dim: modes(dim, dimaware=True)}
