"""Deterministic blob method (Carrillo, Craig & Patacchini 2019) for heat and porous medium.

The internal energy int U(rho) with U(rho) = rho F(rho) (F = log rho for the heat family, the
equation's porous_density / rho for m > 1) is regularised as E_delta(rho) = int F(phi_delta * rho)
d rho, with phi_delta the Gaussian of standard deviation ``delta``. For particles x_j with masses
m_j and rho_delta(x) = sum_j m_j phi_delta(x - x_j), the Wasserstein gradient flow of
``D E_delta + kappa |x|^2 / 2`` moves particle i with

    v_i = -D sum_j m_j grad phi_delta(x_i - x_j) (G(rho_delta(x_i)) + G(rho_delta(x_j))) - kappa x_i,

G = (U / rho)' = rho^(m - 2) (m = 1 for the heat / Fokker-Planck family: G = 1 / rho). Mass is
carried by the particles (conserved exactly) and the pair terms are antisymmetric, so with
kappa = 0 the centre of mass is conserved exactly by the velocity.

Two evaluation paths with the same result up to mesh error:

* ``"direct"``: all pairs, numba-parallel, O(N^2);
* ``"mesh"`` (particle-mesh): deposit masses by cloud-in-cell on a mesh of spacing
  delta / cells_per_delta covering the particles, linear (zero-padded) FFT convolution with
  phi_delta and grad phi_delta (scipy.fft), multilinear interpolation back: O(N + M log M).

``path="auto"`` takes the direct path for N <= direct_max (default DIRECT_MAX[dim], set from
benchmarks/bench_blob.py).

delta must shrink more slowly than the particle spacing h as N grows (delta ~ h^0.8 or ~ 2h);
delta ~ h stalls (see docs/flow_maps_and_particles.md).
"""
from __future__ import annotations

import math
import warnings
from functools import lru_cache

import numpy as np
import scipy.fft as sfft

from ..equations import FokkerPlanck, GradientFlow, PorousMedium
from ..grid import Grid
from . import _kernels_blob as kernels
from .deposit import cloud_in_cell
from .flow_map import FlowMap, integrate_flow_map
from .interpolation import _as_points, interpolate_field

__all__ = ["BlobVelocity", "blob_solve", "blob_exponent", "DIRECT_MAX"]

#: default largest N for the direct path with path="auto", per dimension (crossovers measured
#: by benchmarks/bench_blob.py with delta = 2 h, cells_per_delta = 4; see the docs page)
DIRECT_MAX = {1: 2000, 2: 2000, 3: 20000}
#: largest zero-padded FFT size of the mesh path (memory guard, ~16 bytes per point and array)
MESH_MAX_CELLS = 2e7
# below this many pairs the direct kernels run serially (thread start-up dominates)
_SERIAL_PAIRS = 250_000


def blob_exponent(equation: GradientFlow) -> float:
    """The exponent m of G(rho) = (U(rho)/rho)' = rho^(m-2): 1 for heat / Fokker-Planck, m for
    the porous medium."""
    if isinstance(equation, PorousMedium):
        return equation.m
    if isinstance(equation, FokkerPlanck):
        return 1.0
    raise ValueError(f"equation must be FokkerPlanck/Heat or PorousMedium, got "
                     f"{type(equation).__name__}")


class BlobVelocity:
    """The blob-method velocity of a particle ensemble, callable as v(t, X) -> (N, d).

    Parameters
    ----------
    equation : Heat, FokkerPlanck or PorousMedium
        Its D, kappa, m and its dimension are used.
    masses : (N,) positive particle masses.
    delta : blob width (standard deviation of the Gaussian mollifier, length units).
    path : "auto", "direct" or "mesh".
    cells_per_delta : mesh resolution of the mesh path (mesh spacing delta / cells_per_delta).
    direct_max : largest N that "auto" sends to the direct path (default ``DIRECT_MAX[d]``).
    """

    def __init__(self, equation: GradientFlow, masses, delta: float, path: str = "auto",
                 cells_per_delta: float = 4.0, direct_max: int | None = None):
        if equation.dim > 3:   # a PorousMedium may have any dim (radial and closed-form truths)
            raise ValueError(f"the blob method runs in 1-3 D, got equation.dim = {equation.dim}")
        self.equation, self.exponent = equation, blob_exponent(equation)
        masses = np.ascontiguousarray(masses, dtype=np.float64)
        if masses.ndim != 1 or len(masses) < 1 or not np.all(np.isfinite(masses)) \
                or np.any(masses <= 0):
            raise ValueError("masses must be a non-empty 1-D array of finite numbers > 0")
        if not (math.isfinite(delta) and delta > 0):
            raise ValueError(f"delta must be a finite number > 0, got {delta}")
        if path not in ("auto", "direct", "mesh"):
            raise ValueError(f"path must be 'auto', 'direct' or 'mesh', got {path!r}")
        if not (math.isfinite(cells_per_delta) and cells_per_delta >= 1):
            raise ValueError(f"cells_per_delta must be a finite number >= 1, got {cells_per_delta}")
        if path == "auto":
            limit = DIRECT_MAX[equation.dim] if direct_max is None else int(direct_max)
            path = "direct" if len(masses) <= limit else "mesh"
        self.masses, self.delta, self.path = masses, float(delta), path
        self.cells_per_delta = float(cells_per_delta)
        d = equation.dim
        self._norm = (2.0 * math.pi * self.delta ** 2) ** (-d / 2.0)
        self._inv_two_delta2 = 0.5 / self.delta ** 2
        self.evaluations = 0

    @property
    def provenance(self) -> dict:
        return {"source": "blob", "equation": repr(self.equation), "delta": self.delta,
                "path": self.path, "cells_per_delta": self.cells_per_delta, "n": len(self.masses)}

    def _check(self, x):
        x = _as_points(x, self.equation.dim)
        if len(x) != len(self.masses):
            raise ValueError(f"x must hold {len(self.masses)} particles (one per mass), got {len(x)}")
        return x

    def density(self, x, points=None) -> np.ndarray:
        """rho_delta at ``points`` (k, d) (default: at the particles x (N, d)), shape (k,)."""
        x = self._check(x)
        points = x if points is None else _as_points(points, self.equation.dim, "points")
        out = np.empty(len(points))
        density = kernels.blob_density if len(points) * len(x) > _SERIAL_PAIRS \
            else kernels.blob_density_serial
        density(points, x, self.masses, self._inv_two_delta2, self._norm, out)
        return out

    def __call__(self, t: float, x) -> np.ndarray:
        """Particle velocities (N, d) for positions x (N, d) (t is unused: autonomous)."""
        x = self._check(x)
        self.evaluations += 1
        if self.path == "direct":
            v = self._direct(x)
        else:
            v = self._mesh(x)
        return v + self.equation.drift(x)

    def _direct(self, x):
        rho = self.density(x)
        g = rho ** (self.exponent - 2.0)
        out = np.empty_like(x)
        coef = self.equation.D * self._norm / self.delta ** 2
        velocity = kernels.blob_velocity if len(x) ** 2 > _SERIAL_PAIRS \
            else kernels.blob_velocity_serial
        velocity(x, self.masses, g, self._inv_two_delta2, coef, out)
        return out

    # -- particle-mesh path ------------------------------------------------------------------
    def mesh_for(self, x) -> Grid:
        """The mesh covering the particles with two spare cells per side."""
        h = self.delta / self.cells_per_delta
        lower = x.min(axis=0) - 2 * h
        shape = np.ceil((x.max(axis=0) + 2 * h - lower) / h).astype(int)
        return Grid(tuple(lower), tuple(lower + shape * h), tuple(shape))

    def _mesh(self, x):
        grid = self.mesh_for(x)
        padded = np.prod([2 * n for n in grid.shape], dtype=float)
        if padded > MESH_MAX_CELLS:
            raise ValueError(f"the particle mesh would need {grid.shape} cells ({padded:.2e} "
                             f"padded FFT points > {MESH_MAX_CELLS:.0e}); use a smaller "
                             "cells_per_delta, a larger delta or path='direct'")
        kernels_hat = _kernel_transforms(grid.shape, grid.spacing[0], self.delta)
        fft_shape = kernels_hat[0]
        cv = grid.cell_volume

        def convolve(cell_sums, which):
            spectrum = sfft.rfftn(cell_sums, s=fft_shape)
            full = sfft.irfftn(spectrum * kernels_hat[1 + which], s=fft_shape)
            return full[tuple(slice(0, n) for n in grid.shape)]

        sums = cloud_in_cell(x, grid, self.masses) * cv
        d = grid.dim
        rho_grid = convolve(sums, 0)
        grad_rho = np.stack([convolve(sums, 1 + a) for a in range(d)])
        rho = interpolate_field(rho_grid, grid, x)
        g = np.maximum(rho, 1e-300) ** (self.exponent - 2.0)
        weighted = cloud_in_cell(x, grid, self.masses * g) * cv
        grad_weighted = np.stack([convolve(weighted, 1 + a) for a in range(d)])
        at_particles = interpolate_field(np.concatenate([grad_rho, grad_weighted]), grid, x)
        return -self.equation.D * (g[:, None] * at_particles[:, :d] + at_particles[:, d:])


@lru_cache(maxsize=8)
def _kernel_transforms(shape: tuple, h: float, delta: float):
    """FFT length per axis (>= 2n - 1: linear convolution) and the transforms of phi and of
    grad phi sampled at the mesh offsets (wrapped circularly)."""
    fft_shape = tuple(sfft.next_fast_len(2 * n - 1, real=True) for n in shape)
    d = len(shape)
    offsets = []
    for n, length in zip(shape, fft_shape):
        o = np.zeros(length)
        idx = np.arange(length)
        o[:n] = idx[:n] * h
        o[length - n + 1:] = (idx[length - n + 1:] - length) * h
        valid = np.zeros(length, dtype=bool)
        valid[:n] = True
        valid[length - n + 1:] = True
        offsets.append((o, valid))
    mesh = np.meshgrid(*[o for o, _ in offsets], indexing="ij")
    mask = np.ones(fft_shape, dtype=bool)
    for a, (_, valid) in enumerate(offsets):
        mask &= valid.reshape((-1,) + (1,) * (d - 1 - a)) if a == 0 else \
            valid.reshape((1,) * a + (-1,) + (1,) * (d - 1 - a))
    r2 = sum(m ** 2 for m in mesh)
    phi = np.where(mask, (2 * math.pi * delta ** 2) ** (-d / 2) * np.exp(-0.5 * r2 / delta ** 2), 0)
    kernels = [phi] + [-mesh[a] / delta ** 2 * phi for a in range(d)]
    return (fft_shape,) + tuple(sfft.rfftn(k) for k in kernels)


def _warn_unresolved_blobs(x0: np.ndarray, delta: float) -> None:
    """RuntimeWarning if delta is below the particle spacing (median nearest-neighbour distance
    of x0): the blobs do not overlap, the regularised density is a set of spikes."""
    if len(x0) < 2:
        return
    from scipy.spatial import cKDTree

    spacing = float(np.median(cKDTree(x0).query(x0, k=2)[0][:, 1]))
    if delta < spacing:
        warnings.warn(f"delta = {delta:g} is below the particle spacing {spacing:.3g} (median "
                      "nearest-neighbour distance of x0): the blobs do not overlap and the "
                      "density is under-resolved; take delta ~ 2 x spacing or more particles",
                      RuntimeWarning, stacklevel=3)


def blob_solve(equation: GradientFlow, x0, times, delta: float, *, masses=None,
               method: str = "rk4", dt: float | None = None, rtol: float = 1e-6,
               atol: float = 1e-9, path: str = "auto", cells_per_delta: float = 4.0,
               direct_max: int | None = None) -> FlowMap:
    """Evolve blob particles x0 (N, d) through ``times`` (forward, increasing).

    ``masses`` (N,) default to total mass 1 split equally. Integration by
    :func:`integrate_flow_map` (RK4 with max step ``dt`` or adaptive "dopri5") on the coupled
    ensemble velocity; the explicit step must resolve the stiffness ~ D rho^(m-1) / delta^2.
    Returns a FlowMap whose provenance holds the blob settings and evaluation count.
    """
    x0 = _as_points(x0, equation.dim, "x0")
    if masses is None:
        masses = np.full(len(x0), 1.0 / len(x0))
    velocity = BlobVelocity(equation, masses, delta, path, cells_per_delta, direct_max)
    _warn_unresolved_blobs(x0, velocity.delta)
    times = np.asarray(times, dtype=np.float64)
    if times.ndim == 1 and len(times) > 1 and np.any(np.diff(times) <= 0):
        raise ValueError("times must be strictly increasing for the blob method (diffusion is "
                         "not reversible)")
    fm = integrate_flow_map(velocity, x0, times, method=method, dt=dt, rtol=rtol, atol=atol)
    fm.provenance = {**velocity.provenance, "integrator": fm.provenance["integrator"],
                     "evaluations": velocity.evaluations}
    return fm
