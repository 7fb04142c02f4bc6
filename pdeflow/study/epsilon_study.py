"""Epsilon studies: how a velocity error of size eps in L2(rho) moves the generated distribution.

:class:`EpsilonStudy` runs a :class:`~pdeflow.study.config.StudyConfig`
(docs/epsilon_study.md):

1. ground truth: a finite-volume solve to T for every equation (Scharfetter-Gummel flux for the
   linear ones, upwind CCH for the porous medium; the 2-D porous medium from the capped mixture
   by the Lagrangian solver, exported onto the grid, ``StudyConfig.porous_truth``), checked for
   mass and for its distance to the stationary state; the eps = 0 backward flow map is the ground-truth flow map, certified to the
   config's ``truth_tolerance`` / ``support_tolerance`` (:mod:`pdeflow.study.certification`);
2. velocities at eps: controlled perturbations v + eps w (:mod:`perturbations`) and trained
   networks at growing budgets (measured eps);
3. backward flows of samples of rho_T to t = 0 with :func:`pdeflow.solvers.sample_backward`
   (alpha = 0 always, the config's alphas > 0 for the linear equations);
4. metrics per point (:mod:`pdeflow.study.points`); 5. rate fits, HDF5, PNG and a text table
   (:mod:`pdeflow.study.result`).

Every point is written to a :class:`PointStore` as soon as it finishes, under
``<out>/cache/<config hash>/``, next to the ground-truth solutions; a restarted run reuses both
and computes only what is missing. Points run through
:func:`~pdeflow.study.executors.make_executor` (local processes, or Dask given a scheduler
address or cluster object); each point is a pure function of its parameters, so every executor
gives the same table.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from ..io import atomic_file, remove_stale_temporaries, temporary_tag
from ..problems import PRESENCE_CUTOFF
from .executors import TaskQueue, executor_slots, make_executor, release_workers, shares_files
from .point_store import PointStore
from .config import StudyConfig
from .data import initial_data
from ..validation.metrics import wasserstein2
from .points import ProblemContext, run_points, save_context
from .result import StudyResult

__all__ = ["EpsilonStudy", "all_points", "point_groups", "support_velocity", "MASS_TOLERANCE"]

#: Relative mass drift above which the ground truth is rejected.
MASS_TOLERANCE = 1e-10
#: Node spacing of the Lagrangian porous truth, in cells of the truth grid (256 cells on
#: [-4, 4]: h = 0.125; its companion on 128 cells: h = 0.25).
LAGRANGIAN_CELLS = 4
#: Share of the mass in the outer cell layer above which a RuntimeWarning says the box is small
#: (``truth_warnings``).
WALL_WARNING = 1e-3
#: Independent pairs of n-samples of rho_0 over which the W2 plug-in floor is measured.
PLUGIN_DRAWS = 5


def support_velocity(solution):
    """A copy of a porous-medium ``solution`` with the velocity of its support.

    Occupied cells are those with rho >= PRESENCE_CUTOFF (1e-6) x max rho at that time (the
    upwind scheme moves exponentially small amounts, down to 1e-50, ahead of the front). On an
    occupied cell v = -grad xi uses central differences between occupied cells and the one-sided
    difference where a neighbour is empty, so the kink of xi at the front (xi = C inside,
    ``kappa |x|^2 / 2`` outside at equilibrium) does not leak into the velocity of the front cells.
    An empty cell takes the velocity of its nearest occupied cell: where rho = 0 the equation
    does not determine v (no mass moves there), and the formula ``v = -grad(kappa |x|^2 / 2)`` would
    expel, exponentially fast in backward time, every particle that the O(h) front position or a
    perturbation places outside the support. The density is unchanged.
    """
    from scipy.ndimage import distance_transform_edt

    grid, equation = solution.grid, solution.equation
    coords = grid.coordinates()
    velocity = np.zeros_like(solution.velocity)
    for k, rho in enumerate(solution.density):
        occupied = rho >= PRESENCE_CUTOFF * rho.max()
        xi = equation.chemical_potential(rho, coords, axis=0)
        for axis, h in enumerate(grid.spacing):
            diff = np.diff(xi, axis=axis) / h
            pair = occupied & np.roll(occupied, -1, axis=axis)          # cell and its + neighbour
            pair = np.take(pair, np.arange(grid.shape[axis] - 1), axis=axis)
            diff = np.where(pair, diff, 0.0)
            pad_lo = [(0, 0)] * grid.dim
            pad_hi = [(0, 0)] * grid.dim
            pad_lo[axis], pad_hi[axis] = (1, 0), (0, 1)
            total = np.pad(diff, pad_lo) + np.pad(diff, pad_hi)           # backward + forward
            count = np.pad(pair, pad_lo).astype(float) + np.pad(pair, pad_hi)
            velocity[k, axis] = -np.where(count > 0, total / np.maximum(count, 1), 0.0)
        if not occupied.all():
            index = distance_transform_edt(~occupied, return_distances=False, return_indices=True)
            velocity[k] = velocity[k][(slice(None),) + tuple(index)]
    return dataclasses.replace(solution, velocity=velocity)


def all_points(config: StudyConfig) -> list:
    """Every point of the study as a parameter dict, in a fixed order."""
    points = []
    for name in config.equations:
        alphas = (0.0,) + config.alphas if config.equation(name).is_linear else (0.0,)
        for alpha in alphas:
            for seed in config.seeds:
                base = dict(problem=name, alpha=alpha, seed=seed)
                points.append(dict(base, route="baseline", kind="exact", eps=0.0, budget=0))
                points += [dict(base, route="perturbation", kind=kind, eps=eps, budget=0)
                           for kind in config.perturbations for eps in config.eps]
                points += [dict(base, route="network", kind="mlp", eps=0.0, budget=budget)
                           for budget in config.budgets]
    return points


def point_groups(points) -> list:
    """``points`` (parameter dicts) split into tasks of points that share their costliest work.

    The networks of one (problem, seed, budget) form one task over every alpha, so the network
    is trained once; the points of one perturbation kind (problem, seed, alpha) form one task
    over every eps; each baseline is a task of its own. Groups keep the order of ``points``."""
    groups: dict = {}
    for p in points:
        if p["route"] == "network":
            key = (p["problem"], p["seed"], "network", p["budget"])
        else:
            key = (p["problem"], p["seed"], p["route"], p["kind"], p["alpha"])
        groups.setdefault(key, []).append(p)
    return list(groups.values())


#: Rough seconds of the default study's work (measured on one core): per point by route (its
#: backward flow and distances; an SDE flow, alpha > 0, counts 1.5 times), and per network its
#: training data (2 s) and steps. Only the order in which tasks start depends on them
#: (costliest first, so that no long task starts last), never a number of the study.
_POINT_SECONDS = {"baseline": 0.3, "perturbation": 0.55, "network": 1.3}
_NETWORK_SECONDS, _STEP_SECONDS = 2.0, 3e-3


def _task_cost(group) -> float:
    """Estimated seconds of a task of :func:`point_groups`."""
    budgets = {int(p["budget"]) for p in group if p["route"] == "network"}
    points = sum(_POINT_SECONDS[p["route"]] * (1.5 if p["alpha"] > 0 else 1.0) for p in group)
    return points + sum(_NETWORK_SECONDS + _STEP_SECONDS * b for b in budgets)


def _import_result_modules() -> None:
    """Import what writing the results needs (matplotlib, scipy.stats: 1-2 s), in a thread
    started while the points run, so that the results are written without that wait.

    Only a warm-up: scipy.stats inspects ``sys.modules["torch"]`` at import, and a torch that
    the main thread is still importing has no ``Tensor`` yet (seen once as an AttributeError in
    this thread), so a torch import in progress is waited for first, and any failure here is
    left to the main thread's own imports when it writes the results."""
    try:
        if "torch" in sys.modules:
            import torch  # noqa: F401  (blocks until another thread's import of it finishes)
        from . import plot  # noqa: F401
        from scipy import stats  # noqa: F401
    except Exception:
        pass


def _truth_task(item):
    """Worker side of the ground truth of one equation; ``item`` = (config, key, name, out,
    path of the context file).

    Returns (ContextFile, checks, warnings, rho_0): the context saved in the study's cache
    folder (the tasks of its points carry only that handle), the checks, the warnings the truth
    raised (the box is small, ...) for the parent to give where the user sees them, and the
    initial grid density."""
    config, key, name, out, context_path = item
    study = EpsilonStudy(config)          # its initial data hold closures: rebuilt, not pickled
    if study.key != key:
        raise ValueError(f"samples_file {config.samples_file!r} changed during the run (its "
                         "contents no longer match the study's cache key); run the study again")
    # no warnings.catch_warnings here: it changes the process-wide filters, and a Dask worker
    # runs tasks in threads; the truth's warnings are computed from its checks instead
    solution, checks = study.ground_truth(name, out, warn=False)
    handle = save_context(study._context(name, solution), context_path)
    return handle, checks, truth_warnings(name, checks), solution.density[0]


def truth_warnings(name: str, checks: dict) -> list:
    """(message, category) of the warnings the ground truth of ``name`` deserves, from its
    ``checks``: the outer cell layer holds more than WALL_WARNING of the mass."""
    wall = float(checks.get("wall_mass", 0.0))
    if wall > WALL_WARNING:
        return [(f"{name}: the outer cell layer holds {wall:.2e} of the mass (> "
                 f"{WALL_WARNING:g}): the no-flux walls reflect it; enlarge half_width",
                 RuntimeWarning)]
    return []


def _check_box(name: str, grid, rho0, solution=None) -> None:
    """ValueError unless the box holds the solution: before the solve (``solution`` None) the
    outer cell layer of rho_0 holds at most WALL_MASS_TOLERANCE of the mass (linear
    equations); after it, a porous-medium support never reached the outer layer."""
    from ..solvers.finite_volume import POROUS_WALL_WARNING, WALL_MASS_TOLERANCE, \
        wall_mass_fraction

    if solution is None:
        wall = wall_mass_fraction(rho0, grid)
        if wall > WALL_MASS_TOLERANCE:
            raise ValueError(f"{name}: rho_0 holds a fraction {wall:.2e} > "
                             f"{WALL_MASS_TOLERANCE:g} of its mass in the outer cell layer: the "
                             "box does not hold the solution; raise half_width")
        return
    wall = float(solution.diagnostics.get("wall_mass_fraction", 0.0))
    if not solution.equation.is_linear and wall > POROUS_WALL_WARNING:
        raise ValueError(f"{name}: the porous-medium support reached the no-flux wall (outer "
                         f"cell layer holds {wall:.2e} of the mass): the box does not hold the "
                         "solution; raise half_width")


#: Share of baseline (eps = 0) particles leaving the box above which a RuntimeWarning is given.
ESCAPE_WARNING = 0.01


def _warn_escaped_baseline(completed) -> None:
    """RuntimeWarning when the ground-truth backward flow itself loses particles: the box or
    the grid does not resolve the run (typical of coarse 3-D grids)."""
    for params, results in completed:
        escaped = float(results["escaped"])
        if params["route"] == "baseline" and escaped > ESCAPE_WARNING:
            warnings.warn(
                f"{params['problem']} (alpha = {params['alpha']:g}, seed {params['seed']}): the "
                f"eps = 0 baseline loses {100 * escaped:.1f} % of its particles (> "
                f"{100 * ESCAPE_WARNING:g} %) out of the box: the run is under-resolved; raise "
                "half_width or grid_n", RuntimeWarning, stacklevel=4)


def _file_digest(path) -> str:
    """SHA-256 of a file's contents (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class EpsilonStudy:
    """An epsilon study of ``config`` (a StudyConfig, a dict of its fields, or a TOML path).

    The config is validated on construction (ValueError before any compute)."""

    def __init__(self, config=None):
        if config is None:
            config = StudyConfig()
        elif isinstance(config, dict):
            config = StudyConfig.from_dict(config)
        elif isinstance(config, (str, Path)):
            config = StudyConfig.from_toml(config)
        elif not isinstance(config, StudyConfig):
            raise ValueError(f"config must be a StudyConfig, a dict or a TOML path, got "
                             f"{type(config).__name__}")
        self.config = config
        self.data = initial_data(config)
        self._key = self._make_key()
        self.points = all_points(config)

    @property
    def key(self) -> str:
        """Hash of the config and, for ``initial = "samples"``, of the samples file's bytes read
        when the study was made: the cache folder of this study's points (an edited file never
        reuses old results)."""
        return self._key

    def _make_key(self) -> str:
        digest = hashlib.sha1(self.config.to_toml().encode())
        if self.config.samples_file is not None:
            digest.update(_file_digest(self.config.samples_file).encode())
        return digest.hexdigest()[:12]

    def cache_dir(self, out_dir) -> Path:
        return Path(out_dir) / "cache" / self.key

    # -- ground truth ---------------------------------------------------------------------------
    def ground_truth(self, name: str, out_dir, progress: bool = False, warn: bool = True):
        """The certified grid solution of equation ``name`` (refined to the config's
        truth targets, :mod:`pdeflow.study.certification`) and its checks (dict).

        ValueError if the box does not hold the solution (linear: more than 1e-6 of rho_0's
        mass in the outer cell layer; porous: the support reaches it). ``warn``: give the
        ``truth_warnings`` (a RuntimeWarning when the walls hold much mass at T)."""
        from .certification import certified_truth

        solution, certificate = certified_truth(self, name, out_dir, progress)
        checks = self._checks(name, solution)
        checks.update(certificate)
        for message, category in (truth_warnings(name, checks) if warn else []):
            warnings.warn(message, category, stacklevel=2)
        return solution, checks

    def solve_truth(self, name: str, grid_n: int, n_snapshots: int, out_dir,
                    progress: bool = False):
        """The grid solution of ``name`` on grid_n cells per axis at n_snapshots equally spaced
        times (cached in the study's cache folder): finite volume (porous: with the support
        velocity), or for ``config.porous_solver == "lagrangian"`` the Lagrangian solution at
        node spacing LAGRANGIAN_CELLS cells exported onto that grid."""
        from ..grid import Grid
        from ..io import load_solution, save_solution
        from ..solvers.finite_volume import solve

        cfg = self.config
        path = self._truth_path(name, grid_n, n_snapshots, out_dir)
        equation = cfg.equation(name)
        lagrangian = not equation.is_linear and cfg.porous_solver == "lagrangian"
        if path.exists():
            solution = load_solution(path)
        else:
            grid = Grid.cube(cfg.half_width, grid_n, cfg.dim)
            rho0 = self.data.grid_density(grid, equation)
            if equation.is_linear:
                _check_box(name, grid, rho0)           # the box must hold the solution
            times = np.linspace(0.0, cfg.T, n_snapshots)
            if lagrangian:
                solution = self._lagrangian_truth(equation, grid, times, progress)
            else:
                solution = solve(equation, grid, rho0, times, progress=progress)
            _check_box(name, grid, rho0, solution)
            save_solution(path, solution)
        return solution if equation.is_linear or lagrangian else support_velocity(solution)

    def _lagrangian_truth(self, equation, grid, times, progress):
        """The 2-D Lagrangian porous solution (node spacing LAGRANGIAN_CELLS cells of ``grid``)
        exported onto ``grid`` (:meth:`LagrangianSolution.to_grid_solution`)."""
        from ..solvers.lagrangian_porous import lagrangian_porous_solve

        h = LAGRANGIAN_CELLS * float(grid.spacing[0])
        solution = lagrangian_porous_solve(equation, self.data.density_for(equation), grid.lower,
                                           grid.upper, h, times, progress=progress)
        return solution.to_grid_solution(grid)

    def _truth_path(self, name, grid_n, n_snapshots, out_dir) -> Path:
        return self.cache_dir(out_dir) / f"truth_{name}_{grid_n}_{n_snapshots}.h5"

    def _context_path(self, name, out_dir) -> Path:
        """Where the workers' copy of ``name``'s context lives during a run: named like a
        temporary of this process, so that concurrent runs never share one and a killed run's
        copy is removed by the next run (:func:`pdeflow.io.remove_stale_temporaries`)."""
        return self.cache_dir(out_dir) / f".context_{name}{temporary_tag()}tmp.pickle"

    def store_truth_error(self, name, grid_n, n_snapshots, out_dir, error):
        """Add ``error`` (a SolutionError) to the cached truth file of that resolution."""
        from ..io import store_error_estimate

        store_error_estimate(self._truth_path(name, grid_n, n_snapshots, out_dir), error)

    def _checks(self, name, solution) -> dict:
        grid, equation = solution.grid, solution.equation
        drift = abs(solution.mass[-1] / solution.mass[0] - 1)
        if drift > MASS_TOLERANCE:
            raise RuntimeError(f"{name}: mass drift {drift:.2e} > {MASS_TOLERANCE:g}")
        wall = float(solution.diagnostics.get("wall_mass_fraction", 0.0))
        checks = {"mass_drift": float(drift),
                  "energy_drop": float(solution.energy[0] - solution.energy[-1]),
                  "wall_mass": wall,
                  "truth_steps": int(solution.diagnostics.get("steps", 0)),
                  "truth_solver": str(solution.diagnostics.get("source", "finite-volume")),
                  "velocity_outside_support": "linear: n/a" if equation.is_linear
                  else "nearest Lagrangian node outside the moved mesh"
                  if solution.diagnostics.get("source") == "lagrangian"
                  else "one-sided at the front, nearest occupied cell outside"}
        # the plug-in floor: W2 between two independent n-samples of the same rho_0, over draws
        cfg = self.config
        floors = []
        for draw in range(PLUGIN_DRAWS):
            a, b = (grid.sample_density(solution.density[0], cfg.n_samples,
                                        np.random.default_rng([cfg.data_seed, k, draw]))
                    for k in (5, 6))
            floors.append(wasserstein2(a, b, max_points=cfg.max_w2_points))
        checks.update(w2_plugin_floor=float(np.mean(floors)),
                      w2_plugin_floor_sd=float(np.std(floors, ddof=1)),
                      w2_plugin_floor_draws=PLUGIN_DRAWS)
        if equation.kappa > 0:
            rho_inf = grid.sample_field(equation.stationary_density)
            rho_inf /= grid.integrate(rho_inf)
            l1 = [float(grid.integrate(np.abs(r - rho_inf))) for r in solution.density[[0, -1]]]
            checks.update(l1_stationary_0=l1[0], l1_stationary_T=l1[1],
                          w2_bound_T=self.config.relaxation(name)["bound"])
        return checks

    def _context(self, name, solution) -> ProblemContext:
        training = fresh = None
        if self.data.has_training_set:
            training = self.data.training
            fresh = self.data.fresh(len(training), [self.config.data_seed, 4])
        slim = dataclasses.replace(solution, face_velocity=(), energy=np.zeros(0))
        return ProblemContext(name, f"{self.key}/{name}", self.config, slim, training, fresh)

    # -- the run --------------------------------------------------------------------------------
    def run(self, out_dir="results", scheduler=None, workers=None, progress: bool = True,
            stem: str = "epsilon_study") -> StudyResult:
        """Run (or resume) the study; write ``<out>/<stem>.h5``, ``.png`` and ``.txt``.

        Parameters
        ----------
        scheduler : None (local processes), a Dask scheduler address ``tcp://...`` or a Dask
            cluster object.
        workers : local processes (default: all cores; 1 = this process).
        progress : tqdm bars for the ground truths (their finite-volume solves when they run in
            this process) and the points.
        """
        from ..progress import progress_bar

        out = Path(out_dir)
        start = time.perf_counter()
        for folder in (out, self.cache_dir(out), self.cache_dir(out) / "points"):
            remove_stale_temporaries(folder)     # left by a killed run
        store = PointStore(self.cache_dir(out) / "points")
        todo = store.pending(self.points)
        groups = {name: [] for name in self.config.equations}
        for group in point_groups(todo):
            groups[group[0]["problem"]].append(group)
        contexts, checks, rho0 = {}, {}, {}
        computed = {}                          # store path -> results of this run's points
        warm = threading.Thread(target=_import_result_modules, daemon=True)
        with make_executor(scheduler, workers) as executor:
            warm.start()                       # while this process mostly waits for workers
            queue = TaskQueue(executor)
            # truths on the workers when their files are this machine's (local processes), so
            # that the two equations solve at once and points start as soon as theirs is ready
            in_workers = bool(todo) and shares_files(executor) and executor_slots(executor) > 1
            bars = [progress_bar(total=len(self.config.equations), desc="ground truths",
                                 progress=progress and in_workers),  # else: the solvers' bars
                    progress_bar(total=len(self.points), initial=len(self.points) - len(todo),
                                 desc="epsilon study points", progress=progress)]

            def keep(item, results):
                for params, result in zip(item[0], results):
                    store.write(params, result)
                    computed[store.path(params)] = result
                    bars[1].update()

            def truth_done(item, outcome):
                name = item[2]
                contexts[name], checks[name], caught, rho0[name] = outcome
                for message, category in caught:
                    warnings.warn(message, category, stacklevel=2)
                bars[0].update()
                for group in groups[name]:    # its points can start now
                    queue.add(run_points, (group, contexts[name]), keep, cost=_task_cost(group))

            try:   # on Ctrl-C every point that finished is kept, queued ones cancelled
                for name in self.config.equations:
                    if in_workers:
                        queue.add(_truth_task, (self.config, self.key, name, out,
                                                self._context_path(name, out)),
                                  truth_done, cost=math.inf)
                    else:
                        solution, found = self.ground_truth(name, out, progress)
                        truth_done((self.config, self.key, name, out, None),
                                   (self._context(name, solution), found, [],
                                    solution.density[0]))
                queue.run()
            finally:
                for bar in bars:
                    bar.close()
                for name in self.config.equations:      # the workers' copies of the truths
                    self._context_path(name, out).unlink(missing_ok=True)
            release_workers(executor)      # they exit while the results are written
            result = self._write_results(out, stem, self._completed(store, computed), checks,
                                         rho0)
        result.wall_seconds = time.perf_counter() - start
        return result

    def _write_results(self, out, stem, completed, checks, rho0) -> StudyResult:
        """The StudyResult of the ``completed`` points, written to ``<out>/<stem>.{h5,png,txt}``."""
        _warn_escaped_baseline(completed)
        checks = {name: checks[name] for name in self.config.equations}   # config order
        result = StudyResult.from_points(self.config, completed, checks, rho0)
        result.save(out / f"{stem}.h5")
        atomic_file(out / f"{stem}.png", result.plot)
        atomic_file(out / f"{stem}.txt", lambda p: Path(p).write_text(result.table() + "\n"))
        return result

    def _completed(self, store, computed=None) -> list:
        """(params, results) of this study's points, in the order of :attr:`points`; the results
        of points computed in this run are taken from ``computed`` (store path -> results, the
        values just written), the others read from ``store``."""
        computed = computed or {}
        return [(p, computed[store.path(p)] if store.path(p) in computed else store.read(p))
                for p in self.points]
