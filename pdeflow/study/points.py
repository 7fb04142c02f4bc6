"""One point of an epsilon study: a velocity at some eps, flowed backward, measured.

A point is a pure function of its :class:`ProblemContext` (the ground truth and the config) and
its parameters ``{problem, route, kind, eps, budget, seed, alpha}``, so it gives the same numbers
in this process, in a local worker process or on a Dask worker. Routes:

* ``baseline``      the finite-volume velocity itself (eps = 0);
* ``perturbation``  v + eps w, w of ``kind`` with unit L2(rho) norm (:mod:`perturbations`);
* ``network``       a VelocityMLP trained for ``budget`` steps on the FV truth; its eps is the
                    measured :func:`pdeflow.learn.field_error` (held-out points).

Seeds (all derived from the point's ``seed``): starting samples of rho_T ``[seed, 1]``, reference
samples of rho_0 ``[seed, 2]``, reverse-SDE noise ``[seed, 3]`` (the same noise for every eps:
a synchronous coupling), network initialisation and minibatches ``seed``. The training set and
its fresh samples (memorisation) belong to the problem (``data_seed``), not to the point.
"""
from __future__ import annotations

import math
import pickle
import time
from dataclasses import dataclass

import numpy as np

from ..grid import Grid
from ..validation.metrics import flow_map_error, memorisation, wasserstein2
from .perturbations import perturbed_solution, unit_perturbation

__all__ = ["ProblemContext", "ContextFile", "save_context", "run_point", "run_points",
           "METRICS"]

#: Scalar results of every point (NaN where a metric does not apply).
METRICS = ("eps", "eps_stderr", "w2", "w2_gap", "flow_map", "l1", "escaped", "mem_median",
           "mem_fraction")

_CACHE: dict = {}   # per-process: (context key, what, ...) -> value


@dataclass
class ProblemContext:
    """Everything a point of one problem needs (picklable).

    name : equation name in the config; key : unique id of (config, problem) for caches;
    solution : the finite-volume GridSolution (face velocities dropped); training, fresh : the
    finite training set and as many fresh samples of its law (or None).
    """

    name: str
    key: str
    config: object
    solution: object
    training: np.ndarray | None = None
    fresh: np.ndarray | None = None

    @property
    def equation(self):
        return self.solution.equation


@dataclass(frozen=True)
class ContextFile:
    """A :class:`ProblemContext` saved in the file ``path`` (:func:`save_context`), for workers
    on this machine: tasks carry this handle instead of the truth itself (56 MB for the default
    porous truth, which cost about 0.5 CPU-s to send with every task), and each worker process
    reads the file once."""

    path: str

    def load(self) -> ProblemContext:
        def read():
            with open(self.path, "rb") as f:
                return pickle.load(f)

        return _cached(("context file", self.path), read)


def save_context(ctx: ProblemContext, path) -> ContextFile:
    """Write ``ctx`` to ``path`` (atomically) and return its :class:`ContextFile`."""
    from ..io import atomic_file

    def write(tmp):
        with open(tmp, "wb") as f:
            pickle.dump(ctx, f, protocol=pickle.HIGHEST_PROTOCOL)

    return ContextFile(str(atomic_file(path, write)))


def _cached(key, make):
    if key not in _CACHE:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = make()
    return _CACHE[key]


def _start_points(ctx, seed):
    sol = ctx.solution
    return _cached((ctx.key, "start", seed), lambda: sol.grid.sample_density(
        sol.density[-1], ctx.config.n_samples, np.random.default_rng([seed, 1])))


def _reference_points(ctx, seed):
    sol = ctx.solution
    return _cached((ctx.key, "reference", seed), lambda: sol.grid.sample_density(
        sol.density[0], ctx.config.n_samples, np.random.default_rng([seed, 2])))


def _flow(ctx, velocity, seed, alpha):
    """Backward samples at t = 0 from the starting points of ``seed``; (points, escaped share)."""
    from ..solvers.backward import sample_backward

    cfg, sol = ctx.config, ctx.solution
    flow = sample_backward(ctx.equation, velocity, _start_points(ctx, seed), [cfg.T, 0.0],
                           alpha=alpha, dt=cfg.dt, seed=np.random.default_rng([seed, 3]),
                           outside="stop")
    final = flow.final
    if flow.exit_index is not None:
        escaped = float(np.mean(flow.exit_index >= 0))
    else:
        escaped = float(np.mean(~sol.grid.contains(final)))
    return final, escaped


def _network(ctx, budget, seed):
    """A VelocityMLP trained for ``budget`` steps and its measured eps (EpsilonEstimate)."""
    from ..learn import VelocityMLP, fit_regression, grid_solution_target

    def train():
        cfg = ctx.config
        model = VelocityMLP(cfg.dim, cfg.hidden, horizon=cfg.T, seed=seed)
        target = grid_solution_target(ctx.solution)
        result = fit_regression(model, target, steps=budget, lr=cfg.lr, seed=seed, n_eval=8192)
        return model, result.epsilon

    return _cached((ctx.key, "network", budget, seed), train)


def _density_l1(ctx, points) -> float:
    """int |rho_generated - rho_0| on the grid coarsened by l1_coarsen; points outside the box
    count with their whole mass (the deposit is cloud-in-cell)."""
    from ..solvers.deposit import cloud_in_cell

    grid, c = ctx.solution.grid, ctx.config.l1_coarsen
    coarse = Grid(grid.lower, grid.upper, tuple(n // c for n in grid.shape))
    rho0 = ctx.solution.density[0]
    blocks = rho0.reshape(sum(((n // c, c) for n in grid.shape), ())).mean(
        axis=tuple(range(1, 2 * grid.dim, 2)))
    inside = coarse.contains(points)
    deposit = cloud_in_cell(points[inside], coarse, np.full(inside.sum(), 1.0 / len(points)))
    return float(coarse.integrate(np.abs(deposit - blocks))) + float(np.mean(~inside))


def run_point(item) -> dict:
    """Compute one point; ``item`` = (params dict, ProblemContext). Returns METRICS (floats),
    ``generated`` (n, d) samples at t = 0, ``seconds``, and for the baseline ``x0`` (n, d), the
    starting samples of rho_T (x0 -> generated is the ground-truth backward flow map)."""
    import torch

    torch.set_num_threads(1)   # identical numbers in every executor
    params, ctx = item
    start = time.perf_counter()
    seed, alpha, route = int(params["seed"]), float(params["alpha"]), params["route"]
    sol = ctx.solution
    baseline = _cached((ctx.key, "baseline", seed, alpha), lambda: _flow(ctx, sol, seed, alpha))
    out = dict.fromkeys(METRICS, math.nan)
    if route == "baseline":
        (generated, escaped), out["eps"] = baseline, 0.0
    elif route == "perturbation":
        w = _cached((ctx.key, "w", params["kind"], seed),
                    lambda: unit_perturbation(params["kind"], sol, seed))
        out["eps"] = float(params["eps"])
        generated, escaped = _flow(ctx, perturbed_solution(sol, w, out["eps"]), seed, alpha)
    elif route == "network":
        model, estimate = _network(ctx, int(params["budget"]), seed)
        out["eps"], out["eps_stderr"] = estimate.eps, estimate.stderr / (2 * estimate.eps)
        generated, escaped = _flow(ctx, model, seed, alpha)
    else:
        raise ValueError(f"route must be baseline, perturbation or network, got {route!r}")
    out["w2"] = wasserstein2(generated, _reference_points(ctx, seed),
                             max_points=ctx.config.max_w2_points)
    out["w2_gap"] = wasserstein2(generated, baseline[0], max_points=ctx.config.max_w2_points)
    out["flow_map"] = flow_map_error(generated, baseline[0])
    out["l1"] = _density_l1(ctx, generated)
    out["escaped"] = escaped
    if ctx.training is not None:
        mem = memorisation(generated, ctx.training, ctx.fresh)
        out["mem_median"], out["mem_fraction"] = mem.median_ratio, mem.fraction
    out["generated"] = generated
    if route == "baseline":     # with ``generated``: the ground-truth backward flow map
        out["x0"] = _start_points(ctx, seed)
    out["seconds"] = time.perf_counter() - start
    return out


def run_points(item) -> list:
    """Compute several points of one problem; ``item`` = (list of params dicts, ProblemContext
    or ContextFile).

    Returns their :func:`run_point` results in order. One task for points that share work (a
    network trained once for every alpha, the baseline flow of one seed and alpha) computes that
    work once, and ships the context (the truth: tens of MB for a fine grid) once."""
    group, ctx = item
    if isinstance(ctx, ContextFile):
        ctx = ctx.load()
    return [run_point((params, ctx)) for params in group]
