"""Order table of the radial Lagrangian porous solver against the Barenblatt solutions, and its
cost against the explicit Dormand-Prince integrator of pdeflow.solvers.flow_map.

Free (t in [1, 2]) and confined (t in [0, 3/lambda]) Barenblatt, m = 2, d = 1, 2, 8, 32, the
non-uniform label map g(s) = s (1 - s^2/4) / (3/4) (uniform labels are exact in space for a
Barenblatt), N = 16 ... 256 cells, default time step (t_end - t_start) / (2 N). Prints the markdown
rows of docs/radial_lagrangian.md section 2: errors at N = 256 relative to the support radius,
orders 64 -> 128 / 128 -> 256 of the flow-map RMS, max (all nodes), front node, density L1,
density sup, density max relative; steps and seconds of the N = 256 solve. Then SDIRK2 against
Dormand-Prince (rtol 1e-6) on the same node system (confined, d = 8).
Usage: PYTHONPATH=. python benchmarks/radial_lagrangian_orders.py   (about 1 minute)
"""
import math
import time

import numpy as np

from pdeflow.exact import Barenblatt, ConfinedBarenblatt
from pdeflow.solvers import integrate_flow_map
from pdeflow.solvers.radial_lagrangian import _System, exact_error, solve_radial_lagrangian

NAMES = ("flow_map_rms", "flow_map_max", "front", "density_l1", "density_sup", "density_max_rel")


def label_map(s):
    return s * (1.0 - 0.25 * s * s) / 0.75


def case(kind, d):
    if kind == "free":
        return Barenblatt(2.0, d), 1.0, 2.0
    closed = ConfinedBarenblatt(2.0, d)
    return closed, 0.0, 3.0 / closed.rate


def solve(kind, d, cells):
    closed, t0, t1 = case(kind, d)
    e1 = np.eye(d)[0]
    solution = solve_radial_lagrangian(
        closed.equation, lambda r: closed.density(t0, r[:, None] * e1), closed.support_radius(t0),
        [t0, t1], cells=cells, label_map=label_map)
    return solution, closed


def orders_table():
    for kind in ("free", "confined"):
        for d in (1, 2, 8, 32):
            history = []
            for cells in (16, 32, 64, 128, 256):
                solution, closed = solve(kind, d, cells)
                error = exact_error(solution, closed)
                history.append({name: getattr(error, name)[-1] for name in NAMES})
            radius = closed.support_radius(solution.times[-1])
            pairs = " | ".join(
                f"{math.log2(history[2][n] / history[3][n]):.2f}/"
                f"{math.log2(history[3][n] / history[4][n]):.2f}" for n in NAMES)
            print(f"| {kind} | {d} | {history[-1]['flow_map_rms'] / radius:.1e} | "
                  f"{history[-1]['flow_map_max'] / radius:.1e} | {pairs} | "
                  f"{solution.provenance['steps']} | {solution.provenance['seconds']:.2f} |",
                  flush=True)


def explicit_against_implicit(cells_list=(64, 128, 512)):
    for cells in cells_list:
        solution, closed = solve("confined", 8, cells)
        labels = solution.labels
        mid = 0.5 * (labels[:-1] + labels[1:])
        e1 = np.eye(8)[0]
        rho_mid = closed.density(0.0, mid[:, None] * e1)
        with np.errstate(divide="ignore"):
            ratio = np.where(labels[1:] > 0, labels[:-1] / labels[1:], 0.0)
            log_dv0 = 8 * np.log(labels[1:]) + np.log(-np.expm1(8 * np.log(ratio)))
        system = _System(closed.equation, labels, np.ascontiguousarray(log_dv0), np.log(rho_mid),
                         False, 8)

        def velocity(t, x):
            out = system.velocity(np.ascontiguousarray(x[:, 0]))
            return np.full_like(x, np.inf) if out is None else out[:, None]   # crossing: reject

        start = time.perf_counter()
        with np.errstate(invalid="ignore"):
            flow = integrate_flow_map(velocity, labels[:, None], solution.times, method="dopri5",
                                      rtol=1e-6, atol=1e-9)
        seconds = time.perf_counter() - start
        stats = flow.provenance["integrator"]
        print(f"N = {cells}: SDIRK2 {solution.provenance['steps']} steps "
              f"{solution.provenance['seconds']:.2f} s; Dormand-Prince {stats['accepted_steps']} + "
              f"{stats['rejected_steps']} rejected steps {seconds:.2f} s; max |difference| "
              f"{np.abs(flow.final[:, 0] - solution.positions[-1]).max():.1e}", flush=True)


if __name__ == "__main__":
    orders_table()
    explicit_against_implicit()
