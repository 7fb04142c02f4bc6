"""Finite-volume solver for the gradient flows d_t rho = div(rho grad xi) on a no-flux box.

Scheme (docs/scheme.md): cell averages on a uniform :class:`~pdeflow.grid.Grid`;

* ``flux="upwind"`` (any equation): Carrillo-Chertock-Huang form. Face velocity
  u = -(xi_{j+1} - xi_j) / h with ``xi = D F'(rho) + kappa |x|^2 / 2``, flux u+ rho_E + u- rho_W with
  rho_E / rho_W the minmod-limited reconstructions (``order=2``) or the cell values (``order=1``).
* ``flux="scharfetter-gummel"`` (Heat / FokkerPlanck only): the exponentially fitted flux
  (D/h) [B(z) rho_j - B(-z) rho_{j+1}], z = (V_{j+1} - V_j) / D, B(z) = z / (e^z - 1); second order
  and exact on the discrete Gaussian steady state.
* Time stepping ``"euler"`` (default for Scharfetter-Gummel, cfl 0.6, and for the porous
  medium, cfl 0.4) or ``"ssprk3"`` (default for the linear equations with the upwind flux), with
  dt = cfl * limit recomputed every step (for the upwind flux the limit of the previous step's
  state, checked against the current one's inside the step), the limit being the positivity
  bound (and, for the upwind flux, the parabolic stability bound);
  ``"semi-implicit"`` (Scharfetter-Gummel only): implicit Euler on the SG operator, one sparse
  linear solve per step (an M-matrix, so positive for every dt; first order in time). The former
  frozen-velocity upwind variant was removed: it is wrong beyond a few explicit steps
  (docs/scheme.md, benchmarks/semi_implicit_upwind.py).

The walls are no-flux, so the box must contain the solution: see :func:`solve` for the rule.
"""
from __future__ import annotations

import math
import time
import warnings

import numba
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..equations import FokkerPlanck, GradientFlow, PorousMedium, as_real_array, check_density
from ..grid import Grid
from . import _kernels_fv as K
from .solution import Deferred, DeferredItem, GridSolution

__all__ = ["solve", "stable_time_step", "wall_mass_fraction", "WALL_MASS_TOLERANCE"]

FLUXES = ("upwind", "scharfetter-gummel")
TIME_STEPPING = ("ssprk3", "euler", "semi-implicit")
#: Linear equations warn when the outer cell layer holds more than this fraction of the mass.
WALL_MASS_TOLERANCE = 1e-6
#: A porous-medium run warns when the outer layer gains more than this fraction of the mass
#: (the upwind scheme moves exponentially small amounts one cell per stage ahead of the front).
POROUS_WALL_WARNING = 1e-12
#: Largest max(rho0)^m a porous-medium solve accepts: rho^m times the scheme's factors
#: (m / (m - 1), 1 / h^2 of the step limit) must stay far from float64's 1.8e308.
POROUS_MAX_POWER = 1e200
#: Default cfl of the Scharfetter-Gummel flux with forward Euler. For the heat operator, on every
#: Fourier mode Euler's leading time error (over-damping) has the opposite sign of the stencil's
#: spatial error (under-damping) and is at most twice it whenever cfl <= 2/3 (1-, 2- and 3-D), so
#: the total is at most the spatial error; 0.6 keeps a margin (measured: docs/scheme.md).
SG_EULER_CFL = 0.6

_compile_seconds: dict = {}   # kernel family -> seconds spent compiling / loading the cache


# ----------------------------------------------------------------------------------------------
# Input checks
# ----------------------------------------------------------------------------------------------
def wall_mass_fraction(rho, grid: Grid) -> float:
    """Fraction of the mass held by the outer layer of cells (any index 0 or n-1); rho ``(*shape)``."""
    rho = np.asarray(rho, dtype=np.float64)
    outer = np.ones(rho.shape, dtype=bool)
    outer[tuple(slice(1, -1) for _ in range(grid.dim))] = False
    total = rho.sum()
    return float(rho[outer].sum() / total) if total > 0 else 0.0


def _check_times(times) -> np.ndarray:
    times = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if times.ndim != 1 or len(times) < 1:
        raise ValueError(f"times must be a 1-D sequence of snapshot times, got shape {times.shape}")
    if not np.all(np.isfinite(times)):
        raise ValueError("times must be finite")
    if np.any(np.diff(times) <= 0):
        raise ValueError(f"times must be strictly increasing, got {times}")
    return times


def _check_options(equation, order, flux, time_stepping, cfl, dt):
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    if flux not in FLUXES:
        raise ValueError(f"flux must be one of {FLUXES}, got {flux!r}")
    if time_stepping not in TIME_STEPPING:
        raise ValueError(f"time_stepping must be one of {TIME_STEPPING}, got {time_stepping!r}")
    if flux == "scharfetter-gummel" and not isinstance(equation, FokkerPlanck):
        raise ValueError(f"flux='scharfetter-gummel' is for the linear Heat / FokkerPlanck "
                         f"equations, got {type(equation).__name__}; use flux='upwind'")
    cfl = float(cfl)
    if not (math.isfinite(cfl) and 0 < cfl <= 1):
        raise ValueError(f"cfl must be in (0, 1], got {cfl}")
    if dt is not None:
        dt = float(dt)
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"dt must be a finite number > 0 (or None for the CFL step), got {dt}")
    if time_stepping == "semi-implicit" and flux != "scharfetter-gummel":
        raise ValueError("time_stepping='semi-implicit' needs flux='scharfetter-gummel' (Heat / "
                         "FokkerPlanck); the frozen-velocity upwind variant was removed because it "
                         "is wrong beyond a few explicit steps (Barenblatt at 4x the explicit "
                         "step: L1 error 0.29, energy rising). Use time_stepping='ssprk3'")
    if time_stepping == "semi-implicit" and dt is None:
        raise ValueError("time_stepping='semi-implicit' needs dt (any dt > 0 keeps the density "
                         "positive; the error is first order in dt)")
    return cfl, dt


def _check_problem(equation, grid, rho0):
    if not isinstance(equation, GradientFlow):
        raise ValueError(f"equation must be Heat, FokkerPlanck or PorousMedium, got {equation!r}")
    if not isinstance(grid, Grid):
        raise ValueError(f"grid must be a pdeflow.grid.Grid, got {type(grid).__name__}")
    if equation.dim != grid.dim:
        raise ValueError(f"equation.dim = {equation.dim} differs from grid.dim = {grid.dim}")
    rho0 = as_real_array(rho0, "rho0")
    if rho0.shape != grid.shape:
        raise ValueError(f"rho0 must have the grid's shape {grid.shape}, got {rho0.shape}")
    rho0 = check_density(rho0, "rho0", strictly_positive=equation.is_linear)
    if not rho0.sum() > 0:
        raise ValueError("rho0 has zero mass; the density must carry positive mass")
    if isinstance(equation, PorousMedium) and \
            equation.m * math.log10(rho0.max()) > math.log10(POROUS_MAX_POWER):
        raise ValueError(f"rho0: max rho0^m = {rho0.max():.3g}^{equation.m:g} exceeds "
                         f"{POROUS_MAX_POWER:g}: the pressure, fluxes and energy of the porous "
                         "medium would overflow float64; rescale the density (or the units)")
    wall = wall_mass_fraction(rho0, grid)
    if isinstance(equation, PorousMedium) and wall > 0:
        raise ValueError(f"rho0 is nonzero in the outer cell layer (fraction {wall:.2e} of the "
                         "mass): the support touches the no-flux wall; enlarge the grid")
    if equation.is_linear and wall > WALL_MASS_TOLERANCE:
        warnings.warn(f"rho0 holds a fraction {wall:.2e} > {WALL_MASS_TOLERANCE:g} of its mass in "
                      "the outer cell layer; the no-flux walls will reflect it (enlarge the grid "
                      "to approximate the whole space)", RuntimeWarning, stacklevel=3)
    return np.ascontiguousarray(rho0)


# ----------------------------------------------------------------------------------------------
# Geometry helpers: front-padded three-axis layout used by the kernels
# ----------------------------------------------------------------------------------------------
def _padded_shape(grid: Grid) -> tuple:
    return (1,) * (3 - grid.dim) + tuple(grid.shape)


def _padded_inv_h(grid: Grid) -> np.ndarray:
    return np.array((1.0,) * (3 - grid.dim) + tuple(1.0 / h for h in grid.spacing))


def _potential(equation, grid) -> np.ndarray:
    """kappa |x|^2 / 2 at the cell centres, padded to three axes."""
    V = equation.external_potential(grid.coordinates(), axis=0)
    return np.ascontiguousarray(V.reshape(_padded_shape(grid)))


def _sg_coefficients(equation, grid):
    """Per-axis SG face coefficients A, B (length n+1, zero on the walls) and G (length n),
    padded to three axes (a padded axis has n = 1 and zero coefficients)."""
    coeffs = [(np.zeros(2), np.zeros(2), np.zeros(1))] * (3 - grid.dim)
    for axis in range(grid.dim):
        x = grid.axis_centers(axis)
        h = grid.spacing[axis]
        z = 0.5 * equation.kappa * np.diff(x * x) / equation.D
        A = np.zeros(len(x) + 1)
        B = np.zeros(len(x) + 1)
        A[1:-1] = equation.D * K.bernoulli(z) / h ** 2
        B[1:-1] = equation.D * K.bernoulli(-z) / h ** 2
        coeffs.append((A, B, -(A[1:] + B[:-1])))
    return coeffs


def _sg_limit(coeffs) -> float:
    """Largest Euler step keeping every coefficient of the update non-negative: 1 / max(-G)."""
    rate = sum(float(np.max(-G)) for _, _, G in coeffs)
    return 1.0 / rate


def stable_time_step(equation: GradientFlow, grid: Grid, rho, *, order: int = 2,
                     flux: str = "upwind") -> float:
    """The explicit step limit (cfl = 1) of the scheme at density ``rho`` ``(*shape)``.

    upwind: 1 / max(2 sum_i a_i / h_i, 2 D_eff sum_i 1 / h_i^2), a_i = ``max |u|`` on axis i,
    D_eff = D max rho F''(rho); Scharfetter-Gummel: 1 / max_j(-L_jj)."""
    _check_options(equation, order, flux, "ssprk3", 1.0, None)
    rho = check_density(rho, "rho", strictly_positive=equation.is_linear and flux == "upwind")
    if rho.shape != grid.shape:
        raise ValueError(f"rho must have the grid's shape {grid.shape}, got {rho.shape}")
    if flux == "scharfetter-gummel":
        return _sg_limit(_sg_coefficients(equation, grid))
    shape = _padded_shape(grid)
    r = np.ascontiguousarray(rho.reshape(shape))
    kind = K.LINEAR if equation.is_linear else K.POROUS
    m = getattr(equation, "m", 2.0)   # unused by the linear kernel branch
    limit = K.cch_limit(r, _potential(equation, grid), _padded_inv_h(grid), kind, equation.D,
                        float(m), np.empty((3, shape[2])), np.empty((1, 4)))
    if limit < 0:
        raise ValueError("the velocity is not finite: rho must be > 0 for log rho")
    return float(limit)


# ----------------------------------------------------------------------------------------------
# Compile-time accounting
# ----------------------------------------------------------------------------------------------
def _warm_up(family: str) -> float:
    """Compile (or load from the numba cache) one kernel family on a tiny grid, once per
    process; returns the seconds it took now (0 if already warm)."""
    if family in _compile_seconds:
        return 0.0
    start = time.perf_counter()
    grid = Grid((-1.0,), (1.0,), (6,))
    rho = np.exp(-grid.axis_centers(0) ** 2)
    eq = FokkerPlanck(D=1.0, kappa=1.0, dim=1)
    if family == "cch":
        _run_cch(eq, grid, rho, np.array([0.0, 1e-3]), 2, 3, 0.4, None, 100)
    else:
        _run_sg(eq, grid, rho, np.array([0.0, 1e-3]), 3, 0.4, None, 10**9)
    _compile_seconds[family] = time.perf_counter() - start
    return _compile_seconds[family]


# ----------------------------------------------------------------------------------------------
# Runners
# ----------------------------------------------------------------------------------------------
def _run_cch(equation, grid, rho0, times, order, stages, cfl, dt, max_steps):
    shape = _padded_shape(grid)
    rho = np.array(rho0.reshape(shape), dtype=np.float64, order="C")
    snaps = np.empty((len(times),) + shape)
    work = [np.zeros(shape) for _ in range(3)]
    nchunks = K.chunk_count(shape)
    scratch = np.zeros((nchunks, K._CCH_BUFFERS, shape[2] + 1))
    red = np.zeros((nchunks, 4))
    stats = np.zeros(8)
    kind = K.LINEAR if equation.is_linear else K.POROUS
    m = float(getattr(equation, "m", 2.0))   # unused by the linear kernel branch
    start = time.perf_counter()
    status = K.cch_solve(rho, _potential(equation, grid), _padded_inv_h(grid), kind, equation.D,
                         m, int(order), int(stages), float(cfl), -1.0 if dt is None else float(dt),
                         times, snaps, *work, scratch, red, int(max_steps), stats)
    loop_seconds = time.perf_counter() - start
    if status == K.DT_TOO_LARGE:
        raise ValueError(f"dt = {dt:.6g} exceeds the stable limit {stats[5]:.6g} "
                         f"(positivity/CFL) reached at t = {stats[4]:.6g}; use dt <= the limit "
                         "or dt=None for the adaptive step")
    if status == K.NONFINITE:
        raise ValueError(f"the velocity -grad(D log rho + V) became non-finite at "
                         f"t = {stats[4]:.6g}: the density underflowed to 0; enlarge the "
                         "density floor of rho0 or use flux='scharfetter-gummel'")
    if status == K.STEP_BUDGET:
        raise ValueError(f"max_steps = {max_steps} steps were not enough to reach "
                         f"t = {times[-1]} (stopped at t = {stats[4]:.6g}); raise max_steps")
    diag = dict(steps=int(stats[0]), rejected_steps=int(stats[1]), dt_min=float(stats[2]),
                dt_max=float(stats[3]), loop_seconds=loop_seconds)
    return snaps.reshape((len(times),) + grid.shape), diag


def _equal_steps(times, dt_max) -> np.ndarray:
    """Steps per interval so that every interval is cut into equal steps <= dt_max."""
    return np.maximum(1, np.ceil(np.diff(times) / dt_max * (1 - 1e-12))).astype(np.int64)


#: Post-processing runs its rows in parallel from this many cells on.
PARALLEL_CELLS = 2 ** 18
#: Rows per parallel block of the fused Euler sweep at least (each block recomputes a halo of
#: 2 (FUSED_STEPS - 1) rows; results do not depend on the blocking).
MIN_BLOCK_ROWS = 256


def _sweep_blocks(shape) -> int:
    """Row blocks of the fused sweep: one per numba thread, none smaller than MIN_BLOCK_ROWS."""
    return max(1, min(numba.get_num_threads(), shape[1] // MIN_BLOCK_ROWS))


def _run_sg(equation, grid, rho0, times, stages, cfl, dt, max_steps):
    coeffs = _sg_coefficients(equation, grid)
    limit = _sg_limit(coeffs)
    if dt is not None and dt > limit * (1 + 1e-12):
        raise ValueError(f"dt = {dt:.6g} exceeds the stable limit {limit:.6g} of the "
                         "Scharfetter-Gummel scheme (positivity); use dt <= the limit")
    nsteps = _equal_steps(times, cfl * limit if dt is None else dt)
    if nsteps.sum() > max_steps:
        raise ValueError(f"max_steps = {max_steps} steps are not enough to reach t = {times[-1]} "
                         f"({int(nsteps.sum())} needed); raise max_steps")
    shape = _padded_shape(grid)
    rho = np.array(rho0.reshape(shape), dtype=np.float64, order="C")
    snaps = np.zeros((len(times),) + shape)
    flat = [c for triple in coeffs for c in triple]   # A0 B0 G0 A1 B1 G1 A2 B2 G2
    rings = np.empty((_sweep_blocks(shape), K.FUSED_STEPS, 3, shape[2]))
    u1 = np.zeros_like(rho)
    u2 = np.zeros_like(rho) if stages == 3 else np.zeros((1, 1, 1))   # Euler needs one buffer
    start = time.perf_counter()
    steps = K.sg_solve(rho, *flat, int(stages), nsteps, times, snaps, u1, u2, rings)
    loop_seconds = time.perf_counter() - start
    dts = np.diff(times) / nsteps
    diag = dict(steps=int(steps), rejected_steps=0, dt_min=float(dts.min(initial=np.inf)),
                dt_max=float(dts.max(initial=0.0)), dt_limit=limit, loop_seconds=loop_seconds)
    return snaps.reshape((len(times),) + grid.shape), diag


def _sg_matrix(coeffs, grid, dt):
    """I - dt L_SG as a sparse matrix (Kronecker sum of the per-axis tridiagonal operators)."""
    L = sp.csc_matrix((grid.size, grid.size))
    real = coeffs[3 - grid.dim:]
    for axis, (A, B, G) in enumerate(real):
        T = sp.diags([A[1:-1], G, B[1:-1]], [-1, 0, 1], format="csc")
        left = sp.identity(int(np.prod(grid.shape[:axis], dtype=int)), format="csc")
        right = sp.identity(int(np.prod(grid.shape[axis + 1:], dtype=int)), format="csc")
        L = L + sp.kron(sp.kron(left, T), right, format="csc")
    return sp.identity(grid.size, format="csc") - dt * L


def _run_semi_implicit(equation, grid, rho0, times, dt):
    """Implicit Euler on the SG operator: a fixed matrix, factorised once per step size."""
    nsteps = _equal_steps(times, dt)
    rho = rho0.ravel().copy()
    snaps = np.empty((len(times), rho.size))
    snaps[0] = rho
    coeffs = _sg_coefficients(equation, grid)
    factors = {}
    for s, n in enumerate(nsteps, start=1):
        step = (times[s] - times[s - 1]) / n
        for _ in range(n):
            if step not in factors:
                factors[step] = spla.splu(_sg_matrix(coeffs, grid, step))
            rho = factors[step].solve(rho)
        snaps[s] = rho
    dts = np.diff(times) / nsteps
    diag = dict(steps=int(nsteps.sum()), rejected_steps=0, dt_min=float(dts.min(initial=np.inf)),
                dt_max=float(dts.max(initial=0.0)))
    return snaps.reshape((len(times),) + grid.shape), diag


# ----------------------------------------------------------------------------------------------
# Post-processing
# ----------------------------------------------------------------------------------------------
def _snapshot_fields(equation, grid, density, potential, want_velocity=True,
                     want_energy=True) -> dict:
    """Mass, outer-layer mass fraction and min rho ``(nt,)`` of the snapshots ``density``
    ``(nt, *shape)``, and as asked the velocity ``(nt, d, *shape)`` with the face velocities
    and the energy ``(nt,)``: one compiled pass per snapshot (``potential`` from
    :func:`_potential`; only read for the velocity and the energy).

    The same values as :meth:`GradientFlow.velocity` (central differences of xi, one-sided at
    the walls), u = -(xi_{j+1} - xi_j) / h on the faces (zero on the walls), to a few roundings
    of xi / h (the kernel may fuse multiply-adds that numpy rounds twice),
    :meth:`Grid.integrate` and :meth:`GradientFlow.energy` (sums may differ in the last bits:
    row sums, then a pairwise sum over the rows)."""
    if want_velocity and min(grid.shape) < 3:
        raise ValueError(f"every axis needs >= 3 cells for the second-order velocity, got "
                         f"shape {grid.shape}")
    nt, d = len(density), grid.dim
    shape = _padded_shape(grid)
    real = np.array([False] * (3 - d) + [True] * d)
    dummy = np.empty((1, 1, 1))
    velocity = np.empty((nt, d) + grid.shape) if want_velocity else None
    faces = [np.empty((nt,) + tuple(n + (a == axis) for a, n in enumerate(grid.shape)))
             for axis in range(d)] if want_velocity else []
    sums = np.empty((nt, shape[0] * shape[1], 4))
    kind = K.LINEAR if equation.is_linear else K.POROUS
    m = float(getattr(equation, "m", 2.0))   # unused by the linear kernel branch
    h = np.array((1.0,) * (3 - d) + tuple(grid.spacing))
    xi = np.empty(shape) if want_velocity else dummy
    kernel = K.snapshot_fields if grid.size < PARALLEL_CELLS else K.snapshot_fields_parallel
    for k in range(nt):
        v = [dummy] * 3
        f = [dummy] * 3
        if want_velocity:
            v[3 - d:] = [velocity[k, a].reshape(shape) for a in range(d)]
            f[3 - d:] = [faces[a][k].reshape(shape[:3 - d] + faces[a].shape[1:])
                         for a in range(d)]
        kernel(density[k].reshape(shape), potential, kind, equation.D, m, h, real,
               want_velocity, want_energy, xi, *v, *f, sums[k])
    total = sums[..., 0].sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        walls = np.where(total > 0, sums[..., 1].sum(1) / total, 0.0)
    out = dict(mass=total * grid.cell_volume, walls=walls, min=sums[..., 3].min(1))
    if want_velocity:
        out.update(velocity=velocity, face_velocity=tuple(faces))
    if want_energy:
        out["energy"] = sums[..., 2].sum(1) * grid.cell_volume
    return out


def solve(equation: GradientFlow, grid: Grid, rho0, times, *, order: int = 2,
          flux: str | None = None, time_stepping: str | None = None, cfl: float | None = None,
          dt: float | None = None, max_steps: int = 10_000_000,
          progress: bool = False) -> GridSolution:
    """Solve ``equation`` on ``grid`` from ``rho0`` (cell values, ``*shape``) at ``times[0]``.

    Parameters
    ----------
    times : (nt,) strictly increasing snapshot times; ``rho0`` is the density at ``times[0]``.
    order : 1 or 2, reconstruction order of the upwind flux (the SG flux is second order).
    flux : ``"upwind"`` (CCH, any equation) or ``"scharfetter-gummel"`` (Heat / FokkerPlanck);
        None (default) picks the accurate one: Scharfetter-Gummel for Heat / FokkerPlanck (flow
        maps 5-7x more accurate than upwind, and faster), upwind for the porous medium.
    time_stepping : ``"ssprk3"``, ``"euler"`` or ``"semi-implicit"`` (the last with
        ``flux="scharfetter-gummel"`` only); None (default) picks ``"euler"`` for the
        Scharfetter-Gummel flux (at cfl 0.6 its time error partly cancels the spatial one; the
        steps are fused, 4 per sweep over memory on 1-D and 2-D grids) and for the porous medium
        (at cfl 0.4 its time error is at most 0.3 of the spatial one, the total within 3 % of
        SSP-RK3's), and ``"ssprk3"`` for Heat / FokkerPlanck with the upwind flux (there Euler's
        total error is up to 1.6x SSP-RK3's). Measurements: docs/scheme.md.
    cfl : fraction in (0, 1] of the stable step used when ``dt`` is None; None (default) is
        ``SG_EULER_CFL`` (0.6) for Scharfetter-Gummel with Euler, 0.4 otherwise.
    dt : fixed step; explicit schemes raise ValueError if it ever exceeds the stable limit;
        required by ``"semi-implicit"``. Steps are shortened to land on the snapshot times.
    max_steps : budget of explicit steps (ValueError when exhausted).
    progress : a tqdm bar over the snapshot intervals, on a terminal only
        (:func:`pdeflow.progress.progress_bar`).

    Input rules (ValueError): rho0 finite, >= 0 (> 0 for Heat / FokkerPlanck, whose velocity
    uses log rho), positive mass, shape = grid.shape; times strictly increasing. The walls are
    no-flux, so the box must contain the solution: for the porous medium rho0 must vanish on the
    outer cell layer; for the linear equations a RuntimeWarning is issued when the outer layer
    holds more than WALL_MASS_TOLERANCE (1e-6) of the mass. ``diagnostics["wall_mass_fraction"]``
    reports the largest outer-layer fraction over the snapshots; a porous-medium run warns when it
    exceeds POROUS_WALL_WARNING (1e-12), i.e. the support reached the wall.

    Returns
    -------
    GridSolution with density (nt, *shape), cell-centred velocity (nt, d, *shape) (central
    differences of xi, one-sided at the walls), face velocities, mass, energy and diagnostics
    (steps, rejected_steps, dt_min, dt_max, cfl, compile_seconds, run_seconds, scheme settings).
    """
    if flux is None:
        flux = "scharfetter-gummel" if isinstance(equation, FokkerPlanck) else "upwind"
    if time_stepping is None:
        time_stepping = "ssprk3" if (flux == "upwind" and equation.is_linear) else "euler"
    if cfl is None:
        cfl = SG_EULER_CFL if (flux, time_stepping) == ("scharfetter-gummel", "euler") else 0.4
    cfl, dt = _check_options(equation, order, flux, time_stepping, cfl, dt)
    rho0 = _check_problem(equation, grid, rho0)
    times = _check_times(times)
    if int(max_steps) < 1:
        raise ValueError(f"max_steps must be >= 1, got {max_steps}")
    if dt is not None and time_stepping != "semi-implicit":
        limit = stable_time_step(equation, grid, rho0, order=order, flux=flux)
        if dt > limit * (1 + 1e-12):
            raise ValueError(f"dt = {dt:.6g} exceeds the stable limit {limit:.6g} "
                             "(positivity/CFL) of rho0; use dt <= the limit or dt=None")

    explicit = time_stepping != "semi-implicit"
    family = "sg" if flux == "scharfetter-gummel" else "cch"
    compile_seconds = _warm_up(family) if explicit else 0.0
    stages = 3 if time_stepping == "ssprk3" else 1

    def run(chunk, start):
        if not explicit:
            return _run_semi_implicit(equation, grid, start, chunk, dt)
        if family == "sg":
            return _run_sg(equation, grid, start, chunk, stages, cfl, dt, max_steps)
        return _run_cch(equation, grid, start, chunk, order, stages, cfl, dt, max_steps)

    start = time.perf_counter()
    if progress and len(times) > 2:
        from ..progress import progress_bar
        parts, diags, current = [rho0[None]], [], rho0
        for s in progress_bar(range(1, len(times)), desc="finite volume"):
            snaps, d = run(times[s - 1:s + 1], current)
            parts.append(snaps[1:])
            diags.append(d)
            current = snaps[-1]
        density = np.concatenate(parts)
        diag = dict(steps=sum(d["steps"] for d in diags),
                    rejected_steps=sum(d["rejected_steps"] for d in diags),
                    dt_min=min(d["dt_min"] for d in diags), dt_max=max(d["dt_max"] for d in diags))
    else:
        density, diag = run(times, rho0)
    run_seconds = time.perf_counter() - start
    return _package(equation, grid, times, density, diag, dict(
        flux=flux, order=order if flux == "upwind" else 2, time_stepping=time_stepping,
        cfl=cfl if dt is None else None, dt=dt, compile_seconds=compile_seconds,
        run_seconds=run_seconds))


def _deferred_fields(equation, grid, density, velocity: bool) -> dict:
    """The velocity and face velocities (``velocity`` True) or the energy of the snapshots."""
    return _snapshot_fields(equation, grid, density, _potential(equation, grid), velocity,
                            not velocity)


def _package(equation, grid, times, density, diag, settings) -> GridSolution:
    """The GridSolution of a solve: mass and wall diagnostics now (one cheap pass), velocity,
    face velocities and energy on first access (they cost a logarithm per cell and snapshot,
    several times the time loop on large grids)."""
    sums = _snapshot_fields(equation, grid, density, np.empty((1, 1, 1)), False, False)
    finite = np.isfinite(sums["mass"])
    if not finite.all():      # a guard: the input checks should have refused the problem
        raise ValueError(f"the density became non-finite (NaN or inf) by t = "
                         f"{times[int(np.argmin(finite))]:.6g}; the problem is out of float64's "
                         "range or the step is unstable")
    if equation.is_linear and not sums["min"].min() > 0:
        raise ValueError(f"the density reached {sums['min'].min():.3e}: it must stay > 0 for "
                         "log rho (Heat / FokkerPlanck)")
    walls = sums["walls"]
    if isinstance(equation, PorousMedium) and walls.max() > POROUS_WALL_WARNING:
        first = times[int(np.argmax(walls > POROUS_WALL_WARNING))]
        warnings.warn(f"the porous-medium support reached the no-flux wall by t = {first:.6g}; "
                      "later snapshots feel the wall (enlarge the grid)", RuntimeWarning,
                      stacklevel=3)
    diag.update(settings)
    diag["wall_mass_fraction"] = float(walls.max())
    if min(grid.shape) < 3:   # numpy.gradient's rule: say so now, not on first access
        raise ValueError(f"every axis needs >= 3 cells for the second-order velocity, got "
                         f"shape {grid.shape}")
    fields = Deferred(_deferred_fields, equation, grid, density, True)
    energy = Deferred(_deferred_fields, equation, grid, density, False)
    return GridSolution(equation=equation, grid=grid, times=times, density=density,
                        velocity=DeferredItem(fields, "velocity"),
                        face_velocity=DeferredItem(fields, "face_velocity"), mass=sums["mass"],
                        energy=DeferredItem(energy, "energy"), diagnostics=diag)
