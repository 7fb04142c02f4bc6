"""Snapshot data sets pushed by the true Lagrangian flow maps of pdeflow's problems.

A trajectory-inference method sees only unpaired snapshots: particles x_0 ~ rho_0 are carried by
the true flow map X(t; x_0) to K observation times and every snapshot is shuffled; by default
every snapshot after the first holds its own particles (``independent=True``). The truth (the
first snapshot's particles in their original order on a finer time grid, with the true velocity
there) is kept aside for the metrics, together with an independent true sample at every
observation time (two independent true samples give the finite-sample floor of a distance).

Problems (:data:`PROBLEMS`; all times in the equation's units, t in [0, T]):

* ``heat_1d``: heat (D = 1/2) from a 1-D two-component mixture. In 1-D every flow map is monotone,
  hence the OT map between its marginals.
* ``ou_gaussian``: Fokker-Planck (D = 1/2, kappa = 1) from an anisotropic 2-D Gaussian; the
  probability-flow map Sigma_t^{1/2} Sigma_0^{-1/2} is symmetric positive definite, i.e. the OT map.
* ``fokker_planck_mixture``: the same equation from pdeflow's 2-D three-component mixture.
* ``ou_mixture_5d``: the same equation in 5-D from the product of the 2-D mixture and a 3-D
  two-component mixture (a 6-component 5-D mixture; pdeflow's closed forms stop at d = 3, and
  the flow of a product measure is the product of the flows).
* ``porous_mixture``: the confined porous medium m = 2 from the demo mixture (finite volume truth).
* ``rotational``: Fokker-Planck from a radial (centred) two-scale mixture plus the
  divergence-free drift :func:`rotational_drift`, which keeps every marginal while rotating the
  particles: the true map is not the OT map, and no marginal-based method can see the rotation.

Flow maps are integrated with :func:`pdeflow.solvers.integrate_flow_map` through the exact
velocities of :mod:`pdeflow.exact` (dopri5, rtol 1e-7) or, for ``ou_gaussian``, taken in closed
form. Every truth carries ``truth_error``: the RMS position difference to a companion truth
(rtol 1e-5; for the porous medium a finite-volume solve on the grid of half the resolution).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import h5py
import numpy as np

from ..equations import FokkerPlanck, Heat
from ..exact import GaussianMixture, GaussianMixtureFlow
from ..io import atomic_h5, check_schema
from ..problems import demo_problem, three_component_mixture
from ..solvers import GridVelocity, integrate_flow_map, solve
from .energy import converged_energy

__all__ = ["TrueFlow", "SnapshotData", "PROBLEMS", "true_flow", "make_snapshots", "flow_energy",
           "rotational_drift", "porous_solution", "save_snapshots", "load_snapshots"]

KIND = "trajectory_snapshots"
#: the rotation rate at the origin of the ``rotational`` problem (radians per time unit)
ROTATION_RATE = 2.0


@dataclass(frozen=True)
class TrueFlow:
    """A problem with a known Lagrangian flow.

    Attributes
    ----------
    name : problem name (a key of :data:`PROBLEMS`).
    dim : space dimension d.
    T : final time.
    velocity : callable
        ``v(t, x)`` for x (n, d) -> (n, d), the true velocity.
    sample_initial : callable
        ``sample_initial(n, seed)`` -> (n, d) samples of rho_0.
    push : callable
        ``push(x0, times)``: x0 (n, d), times (M,) -> (M, n, d), the true flow map from t = 0.
    companion : callable
        as ``push`` but less accurate, for the truth's error estimate.
    params : dict
        JSON-able description: the equation, the initial condition, the integrator.
    """

    name: str
    dim: int
    T: float
    velocity: Callable
    sample_initial: Callable
    push: Callable
    companion: Callable
    params: dict = field(default_factory=dict)


def rotational_drift(x, rate: float = ROTATION_RATE) -> np.ndarray:
    """The drift ``w(x) = rate / (1 + |x|^2) J x``, J the rotation by +90 degrees; ``x`` (n, 2).

    div w = 0 and w is tangent to circles, so div(rho w) = grad rho . w + rho div w = 0 for every
    radial rho: adding w to a radial flow leaves all its marginals unchanged.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x must have shape (n, 2), got {x.shape}")
    omega = rate / (1.0 + (x * x).sum(1))
    return omega[:, None] * np.column_stack([-x[:, 1], x[:, 0]])


def _ode_pusher(velocity, rtol):
    def push(x0, times):
        return integrate_flow_map(velocity, x0, times, method="dopri5", rtol=rtol,
                                  atol=rtol * 1e-2).positions
    return push


def _mixture_flow(name, equation, mixture, T, extra=None, closed_form=False) -> TrueFlow:
    flow = GaussianMixtureFlow(equation, mixture)
    velocity = flow.velocity if extra is None else (
        lambda t, x: flow.velocity(t, x) + extra(x))
    params = {"equation": repr(equation), "weights": mixture.weights.tolist(),
              "means": mixture.means.tolist(), "covariances": mixture.covariances.tolist(),
              "T": T, "integrator": "dopri5 rtol 1e-7 (companion 1e-5)"}
    push = _ode_pusher(velocity, 1e-7)
    if closed_form:
        def push(x0, times):   # noqa: F811 - the exact linear map replaces the ODE solve
            return np.stack([flow.flow_map(t, x0) for t in times])
        params["integrator"] = "closed-form flow map (companion: dopri5 rtol 1e-5)"
    if extra is not None:
        params["rotation_rate"] = ROTATION_RATE
    return TrueFlow(name, mixture.dim, T, velocity, mixture.sample, push,
                    _ode_pusher(velocity, 1e-5), params)


@lru_cache(maxsize=4)
def porous_solution(n: int = 128, T: float = 0.5):
    """The finite-volume truth of ``porous_mixture``: :func:`pdeflow.problems.demo_problem` (n^2
    cells) solved to T with 41 snapshots (a GridSolution, cached)."""
    equation, grid, rho0, _ = demo_problem(n)
    return solve(equation, grid, rho0, np.linspace(0.0, T, 41))


def _porous_flow(T: float = 0.5, n: int = 128) -> TrueFlow:
    solution = porous_solution(n, T)
    velocity = GridVelocity(solution, "face")
    coarse = GridVelocity(porous_solution(n // 2, T), "face")
    grid, rho0 = velocity.grid, solution.density[0]

    def sample(count, seed):
        return grid.sample_density(rho0, count, seed)

    def pusher(v):
        return lambda x0, times: integrate_flow_map(v, x0, times, dt=T / 400).positions

    equation = demo_problem(n)[0]
    params = {"equation": repr(equation), "initial": "demo_problem three-component mixture",
              "grid_n": n, "T": T, "integrator": f"FV face velocity, RK4 dt = {T / 400} "
              f"(companion: FV on {n // 2}^2)"}
    return TrueFlow("porous_mixture", 2, T, velocity, sample, pusher(velocity), pusher(coarse),
                    params)


def _heat_1d():
    mixture = GaussianMixture.isotropic([0.5, 0.5], [[-1.0], [1.5]], [0.3, 0.5])
    return _mixture_flow("heat_1d", Heat(D=0.5, dim=1), mixture, 1.0)


def _ou_gaussian():
    mixture = GaussianMixture(np.array([1.0]), np.array([[1.0, -0.5]]),
                              np.array([[[0.30, 0.12], [0.12, 0.10]]]))
    return _mixture_flow("ou_gaussian", FokkerPlanck(D=0.5, kappa=1.0, dim=2), mixture, 1.0,
                         closed_form=True)


def _fp_mixture():
    return _mixture_flow("fokker_planck_mixture", FokkerPlanck(D=0.5, kappa=1.0, dim=2),
                         three_component_mixture(2), 1.0)


def _ou_mixture_5d():
    # pdeflow's closed forms stop at d = 3: the 5-D mixture is the product of a 2-D and a 3-D
    # mixture (6 components), whose flow is the product of the two exact flows.
    equation2, equation3 = FokkerPlanck(D=0.5, kappa=1.0, dim=2), FokkerPlanck(D=0.5, kappa=1.0,
                                                                             dim=3)
    first = _mixture_flow("fp2", equation2, three_component_mixture(2), 1.0)
    second = _mixture_flow("fp3", equation3, GaussianMixture.isotropic(
        [0.6, 0.4], [[1.0, 0.0, -0.5], [-0.8, 0.6, 0.5]], [0.3, 0.45]), 1.0)
    return _product_flow("ou_mixture_5d", first, second)


def _product_flow(name: str, first: TrueFlow, second: TrueFlow) -> TrueFlow:
    """The flow of the product measure rho^1 x rho^2: velocities and maps act per factor."""
    d1 = first.dim

    def velocity(t, x):
        x = np.asarray(x, dtype=np.float64)
        return np.hstack([first.velocity(t, x[:, :d1]), second.velocity(t, x[:, d1:])])

    def sample(n, seed):
        rng = np.random.default_rng(seed)
        return np.hstack([first.sample_initial(n, rng), second.sample_initial(n, rng)])

    def push(which):
        def run(x0, times):
            return np.concatenate([getattr(first, which)(x0[:, :d1], times),
                                   getattr(second, which)(x0[:, d1:], times)], axis=-1)
        return run

    params = {"product_of": [first.params, second.params], "T": first.T}
    return TrueFlow(name, d1 + second.dim, first.T, velocity, sample,
                    push("push"), push("companion"), params)


def _rotational():
    mixture = GaussianMixture.isotropic([0.5, 0.5], [[0.0, 0.0], [0.0, 0.0]], [0.4, 1.2])
    return _mixture_flow("rotational", FokkerPlanck(D=0.5, kappa=1.0, dim=2), mixture, 1.0,
                         extra=rotational_drift)


#: problem name -> constructor of its :class:`TrueFlow`
PROBLEMS = {"heat_1d": _heat_1d, "ou_gaussian": _ou_gaussian,
            "fokker_planck_mixture": _fp_mixture, "ou_mixture_5d": _ou_mixture_5d,
            "porous_mixture": _porous_flow, "rotational": _rotational}


def true_flow(name: str) -> TrueFlow:
    """The :class:`TrueFlow` of problem ``name`` (a key of :data:`PROBLEMS`)."""
    if name not in PROBLEMS:
        raise ValueError(f"problem must be one of {sorted(PROBLEMS)}, got {name!r}")
    return PROBLEMS[name]()


@dataclass
class SnapshotData:
    """Unpaired snapshots of a known flow, with the truth kept aside.

    Build one from your own arrays with :func:`pdeflow.trajectory.snapshot_data` (which also
    integrates a true velocity if you have one), or from a built-in problem with
    :func:`make_snapshots`. Every field is checked on construction (ValueError naming it).

    Attributes
    ----------
    name : data set name.
    times : (K,) observation times, strictly increasing, K >= 2 (time units).
    snapshots : (K, n, d) the observed particles, each snapshot shuffled independently
        (length units).
    held_out : index of the observation time left out of training: None or an interior index
        1..K-2.
    truth_times : (M,) a finer time grid that contains every observation time exactly (to
        1e-12 of the time span; a time that is not on it is refused, never moved).
    truth_positions : (M, n_t, d) true trajectories X(t; x_0) of n_t particles (length units).
    truth_velocities : (M, n_t, d) the true velocity v(t, X(t; x_0)), or None when unknown
        (velocity errors are then NaN).
    reference : (K, n_r, d) an independent true sample at every observation time (the
        finite-sample floor of W1 / W2), or None (floors NaN).
    truth_error : RMS over particles and times of ``|X - X_companion|`` (length units; NaN when
        not estimated).
    params : JSON-able description.
    truth_energy : ``int E|v|^2 dt`` over [times[0], times[-1]] on the truth particles, computed
        once by converged quadrature (``params["truth_energy"]`` records how), or None: then it
        is computed from ``truth_velocities`` by the trapezoid rule (with a warning in params).
    """

    name: str
    times: np.ndarray
    snapshots: np.ndarray
    held_out: int | None
    truth_times: np.ndarray
    truth_positions: np.ndarray
    truth_velocities: np.ndarray | None
    reference: np.ndarray | None
    truth_error: float
    params: dict = field(default_factory=dict)
    truth_energy: float | None = None

    def __post_init__(self):
        self.times = _checked_times(self.times, "times")
        K = len(self.times)
        self.snapshots = _finite_array(self.snapshots, "snapshots", 3)
        if self.snapshots.shape[0] != K:
            raise ValueError(f"snapshots must have shape (K, n, d) with K = len(times) = {K}, "
                             f"got {self.snapshots.shape}")
        if self.snapshots.shape[1] < 2 or self.snapshots.shape[2] < 1:
            raise ValueError(f"snapshots must hold n >= 2 points of dimension d >= 1 per time, "
                             f"got shape {self.snapshots.shape}")
        d = self.snapshots.shape[2]
        if self.held_out is not None:
            if isinstance(self.held_out, (bool, np.bool_)) or \
                    not isinstance(self.held_out, (int, np.integer)) or \
                    not 0 < self.held_out < K - 1:
                raise ValueError(f"held_out must be None or an interior index 1..{K - 2} "
                                 f"(an integer), got {self.held_out!r}")
            self.held_out = int(self.held_out)
        self.truth_times = _checked_times(self.truth_times, "truth_times")
        self._index = _locate(self.times, self.truth_times)
        self.truth_positions = _finite_array(self.truth_positions, "truth_positions", 3)
        M = len(self.truth_times)
        if self.truth_positions.shape[0] != M or self.truth_positions.shape[2] != d \
                or self.truth_positions.shape[1] < 1:
            raise ValueError(f"truth_positions must have shape (M = len(truth_times) = {M}, n_t, "
                             f"d = {d}), got {self.truth_positions.shape}")
        if self.truth_velocities is not None:
            self.truth_velocities = _finite_array(self.truth_velocities, "truth_velocities", 3)
            if self.truth_velocities.shape != self.truth_positions.shape:
                raise ValueError(f"truth_velocities must have the shape of truth_positions "
                                 f"{self.truth_positions.shape}, got "
                                 f"{self.truth_velocities.shape}")
        if self.reference is not None:
            self.reference = _finite_array(self.reference, "reference", 3)
            if self.reference.shape[0] != K or self.reference.shape[2] != d \
                    or self.reference.shape[1] < 1:
                raise ValueError(f"reference must have shape (K = {K}, n_r, d = {d}), got "
                                 f"{self.reference.shape}")
        if self.truth_energy is not None:
            self.truth_energy = float(self.truth_energy)
            if not (np.isfinite(self.truth_energy) and self.truth_energy >= 0):
                raise ValueError(f"truth_energy must be a finite number >= 0 or None, got "
                                 f"{self.truth_energy}")

    @property
    def dim(self) -> int:
        return self.snapshots.shape[2]

    @property
    def snapshot_index(self) -> np.ndarray:
        """(K,) indices of ``times`` in ``truth_times`` (exact: checked on construction)."""
        return self._index

    @property
    def train_indices(self) -> list:
        """Observation indices used for training (all but ``held_out``)."""
        return [k for k in range(len(self.times)) if k != self.held_out]


def _checked_times(values, name: str) -> np.ndarray:
    t = np.asarray(values, dtype=np.float64)
    if t.ndim != 1 or len(t) < 2:
        raise ValueError(f"{name} must be a 1-D array of at least 2 times, got shape {t.shape}")
    if not np.isfinite(t).all():
        raise ValueError(f"{name} must be finite, got {t.tolist()}")
    steps = np.diff(t)
    if (steps == 0).any():
        raise ValueError(f"{name} must not repeat a time: duplicate {t[1:][steps == 0][0]!r}")
    if (steps < 0).any():
        raise ValueError(f"{name} must be strictly increasing, got {t.tolist()}")
    return t


def _finite_array(values, name: str, ndim: int) -> np.ndarray:
    try:
        a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a numeric array") from None
    if a.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {a.shape}")
    if not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"{name} must be finite: NaN or inf at index {tuple(bad.tolist())}")
    return a


def _locate(times: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Indices of ``times`` in ``grid``; a time farther than 1e-12 of the span from every grid
    time raises (it is never moved to the nearest one)."""
    tol = 1e-12 * max(grid[-1] - grid[0], abs(grid[-1]), 1.0)
    index = np.clip(np.searchsorted(grid, times), 0, len(grid) - 1)
    left = np.clip(index - 1, 0, len(grid) - 1)
    index = np.where(np.abs(grid[left] - times) < np.abs(grid[index] - times), left, index)
    off = np.abs(grid[index] - times) > tol
    if off.any():
        k = int(np.argmax(off))
        raise ValueError(f"times must lie on truth_times: observation time {times[k]!r} (index "
                         f"{k}) is not on the truth grid (nearest {grid[index[k]]!r}); give "
                         f"truth positions at every observation time")
    return index


def _check_layout(K: int, n: int, substeps: int, held_out):
    if int(K) != K or K < 2:
        raise ValueError(f"K must be an integer >= 2, got {K}")
    if int(n) != n or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n}")
    if int(substeps) != substeps or substeps < 1:
        raise ValueError(f"substeps must be an integer >= 1, got {substeps}")
    if held_out is not None and not (0 < held_out < K - 1):
        raise ValueError(f"held_out must be None or an interior index 1..{K - 2}, got {held_out}")


def make_snapshots(name: str, *, K: int = 6, n: int = 500, held_out: int | None = None,
                   substeps: int = 4, independent: bool = True, seed=0,
                   T: float | None = None) -> SnapshotData:
    """Snapshot data set of problem ``name`` at K equally spaced times in [0, T].

    Parameters
    ----------
    name : a key of :data:`PROBLEMS`.
    K : number of observation times (>= 2; the issue asks K >= 5 for the table).
    n : particles per snapshot.
    held_out : interior observation index left out of training, or None.
    substeps : truth times per observation interval (the truth grid has (K-1) substeps + 1 times).
    independent : True (default): every snapshot after the first holds its own particles (as
        when the measurement destroys the cells); False: all snapshots are the same particles
        (shuffled), so an exact matching of consecutive snapshots can recover the true pairs
        exactly wherever the true map is the OT map (the known-answer checks use this).
    seed : int or numpy Generator; draws x_0, the shuffles and the independent reference sample.
    T : final time (default: the problem's).
    """
    _check_layout(K, n, substeps, held_out)
    flow = true_flow(name)
    T = flow.T if T is None else float(T)
    if not (math.isfinite(T) and 0 < T <= flow.T):
        raise ValueError(f"T must be in (0, {flow.T}] for {name}, got {T}")
    rng = np.random.default_rng(seed)
    times = np.linspace(0.0, T, K)
    truth_times = np.linspace(0.0, T, (K - 1) * substeps + 1)
    x0 = flow.sample_initial(n, rng)
    positions = flow.push(x0, truth_times)
    companion = flow.companion(x0, truth_times)
    velocities = np.stack([flow.velocity(t, x) for t, x in zip(truth_times, positions)])
    index = np.arange(0, len(truth_times), substeps)
    # the independent snapshots and the reference sample are pushed in one call
    fresh = flow.sample_initial(n * K if independent else n, rng)
    pushed = flow.push(fresh, times).reshape(K, -1, n, flow.dim)   # (K times, blocks, n, d)
    reference = pushed[:, -1]
    observed = [positions[i] for i in index]
    if independent:
        observed[1:] = [pushed[k, k - 1] for k in range(1, K)]
    snapshots = np.stack([x[rng.permutation(n)] for x in observed])
    error = float(np.sqrt(np.mean(np.sum((positions - companion) ** 2, axis=-1))))
    energy, info = flow_energy(flow.velocity, flow.push, x0, truth_times)
    return SnapshotData(name, times, snapshots, held_out, truth_times, positions, velocities,
                        reference, error, {**flow.params, "seed": repr(seed), "n": n, "K": K,
                         "independent": bool(independent), "truth_energy": info},
                        truth_energy=energy)


def flow_energy(velocity, push, x0, times, rtol: float = 1e-4) -> tuple[float, dict]:
    """``int_{times[0]}^{times[-1]} mean_i |v(t, X(t; x0_i))|^2 dt`` on the particles ``x0``
    (n, d) by :func:`~pdeflow.trajectory.energy.converged_energy` (``push(x0, grid)`` the flow
    map, ``velocity(t, x)`` the velocity); returns the value and the refinement history."""
    def mean_speed2(grid):
        paths = push(x0, grid)
        return np.array([np.mean(np.sum(np.asarray(velocity(t, x)) ** 2, -1))
                         for t, x in zip(grid, paths)])
    value, info = converged_energy(mean_speed2, times, rtol=rtol)
    return value, {**info, "method": "converged quadrature on the truth particles"}


_ARRAYS = ("times", "snapshots", "truth_times", "truth_positions", "truth_velocities",
           "reference")


def save_snapshots(path, data: SnapshotData):
    """Write ``data`` to ``path`` (HDF5, kind ``trajectory_snapshots``, atomically; schema in
    docs/hdf5_schema.md). Arrays that are None are left out."""
    with atomic_h5(path, kind=KIND) as f:
        f.attrs["name"] = data.name
        f.attrs["held_out"] = -1 if data.held_out is None else int(data.held_out)
        f.attrs["truth_error"] = float(data.truth_error)
        f.attrs["truth_energy"] = np.nan if data.truth_energy is None else data.truth_energy
        f.attrs["params_json"] = json.dumps(data.params)
        for key in _ARRAYS:
            value = getattr(data, key)
            if value is not None:
                f.create_dataset(key, data=np.asarray(value, dtype=np.float64),
                                 compression="gzip" if value.ndim == 3 else None)
    return path


def load_snapshots(path) -> SnapshotData:
    """Read a file written by :func:`save_snapshots`."""
    with h5py.File(path, "r") as f:
        check_schema(f, KIND)
        held = int(f.attrs["held_out"])
        arrays = {k: (f[k][()] if k in f else None) for k in _ARRAYS}
        energy = float(f.attrs.get("truth_energy", np.nan))
        return SnapshotData(str(f.attrs["name"]), arrays["times"], arrays["snapshots"],
                            None if held < 0 else held, arrays["truth_times"],
                            arrays["truth_positions"], arrays["truth_velocities"],
                            arrays["reference"], float(f.attrs["truth_error"]),
                            json.loads(f.attrs["params_json"]),
                            None if not np.isfinite(energy) else energy)
