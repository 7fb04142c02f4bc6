"""Convergence studies behind docs/flow_maps_and_particles.md: writes the plots and the table.

1. integrators on the OU flow map (closed-form velocity): RK4 and Dormand-Prince 5 (fixed step);
2. grid velocity: space (cell and face fields, 2-component mixture) and time (snapshot spacing);
3. blob method vs the 1-D Barenblatt solution (m = 2) for delta = h, 2h, h^0.8.

    PYTHONPATH=. python examples/flow_map_convergence.py [--out results/flow_map_convergence]
    (--out docs/img refreshes the docs figure)

Quick run (tested): python examples/flow_map_convergence.py  -- under 130 s on 2 cores (measured 30 s)
"""
import argparse
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import ot  # noqa: E402

from pdeflow.equations import FokkerPlanck  # noqa: E402
from pdeflow.exact import Barenblatt, GaussianMixture, GaussianMixtureFlow  # noqa: E402
from pdeflow.grid import Grid  # noqa: E402
from pdeflow.solvers import blob_solve, integrate_flow_map, sample_solution  # noqa: E402
from pdeflow.solvers.flow_map import _dopri5_step  # noqa: E402


def slope(x, y):
    return np.polyfit(np.log(x), np.log(y), 1)[0]


def integrator_study():
    eq = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
    flow = GaussianMixtureFlow(eq, GaussianMixture([1.0], [[0.3, -0.2]],
                                                   [[[0.35, 0.05], [0.05, 0.3]]]))
    x0 = flow.initial.sample(200, 0)
    exact = flow.flow_map(1.0, x0)
    hs = np.array([0.2, 0.1, 0.05, 0.025, 0.0125])
    rk4 = [np.abs(integrate_flow_map(flow, x0, [0, 1], dt=h).final - exact).max() for h in hs]
    dp5 = []
    for h in hs:
        x, k = x0.copy(), flow.velocity(0.0, x0)
        for i in range(round(1 / h)):
            x, _, k = _dopri5_step(flow.velocity, i * h, x, h, k)
        dp5.append(np.abs(x - exact).max())
    return hs, rk4, dp5


def grid_study():
    eq = FokkerPlanck(D=0.5, kappa=1.0, dim=2)
    flow = GaussianMixtureFlow(eq, GaussianMixture.isotropic([0.4, 0.6], [[0.6, 0.0],
                                                                         [-0.6, 0.2]],
                                                             [0.3, 0.4]))
    x0 = flow.initial.sample(300, 1)
    x0 = x0[np.abs(x0).max(1) < 1.2]
    t0, t1 = 0.1, 0.6
    ref = integrate_flow_map(flow, x0, [t0, t1], method="dopri5", rtol=1e-11, atol=1e-11).final
    ns = np.array([16, 32, 64, 128])
    space = {f: [] for f in ("cell", "face")}
    for n in ns:
        sol = sample_solution(flow, Grid.cube(3.0, n, 2), np.linspace(t0, t1, 101))
        for f in space:
            space[f].append(np.abs(integrate_flow_map(sol, x0, [t0, t1], dt=0.0025,
                                                      field=f).final - ref).max())
    grid = Grid.cube(3.0, 64, 2)
    fine = integrate_flow_map(sample_solution(flow, grid, np.linspace(t0, t1, 321)), x0,
                              [t0, t1], dt=0.0025).final
    counts = np.array([6, 11, 21, 41])
    timeerr = [np.abs(integrate_flow_map(sample_solution(flow, grid, np.linspace(t0, t1, c)),
                                         x0, [t0, t1], dt=0.0025).final - fine).max()
               for c in counts]
    return ns, space, (t1 - t0) / (counts - 1), timeerr


def blob_study():
    sol = Barenblatt.from_mass(2.0, 1, 1.0)
    t0, t1 = 1.0, 2.0
    r0 = sol.support_radius(t0)
    counts = np.array([25, 50, 100, 200, 400])
    out = {}
    for rule in ["h", "2h", "h^0.8"]:
        errs = []
        for n in counts:
            h = 2 * r0 / n
            x0 = (-r0 + h * (np.arange(n) + 0.5))[:, None]
            m = sol.density(t0, x0) * h
            delta = {"h": h, "2h": 2 * h, "h^0.8": h ** 0.8}[rule]
            fm = blob_solve(sol.equation, x0, [t0, t1], delta, masses=m, method="dopri5",
                            rtol=1e-7, atol=1e-9, path="direct")
            p = m / m.sum()
            errs.append(math.sqrt(ot.emd2_1d(fm.final[:, 0], sol.flow_map(t1, x0, t0)[:, 0], p,
                                             p)))
        out[rule] = errs
    return counts, out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="results/flow_map_convergence",
                        help="folder for the PNG (docs/img refreshes the docs figure)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    hs, rk4, dp5 = integrator_study()
    ns, space, dts, timeerr = grid_study()
    counts, blob = blob_study()

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    ax = axes[0]
    ax.loglog(hs, rk4, "o-", label=f"RK4 (slope {slope(hs, rk4):.2f})")
    ax.loglog(hs, dp5, "s-", label=f"Dormand-Prince 5 (slope {slope(hs[:3], dp5[:3]):.2f})")
    ax.set_xlabel("step")
    ax.set_ylabel("max |X - Y_exact|")
    ax.set_title("OU flow map, closed-form velocity")
    ax.legend()
    ax = axes[1]
    for f, errs in space.items():
        ax.loglog(1 / ns, errs, "o-", label=f"space, {f} field (slope {slope(1 / ns, errs):.2f})")
    ax.loglog(dts, timeerr, "s--", label=f"time, snapshot spacing (slope {slope(dts, timeerr):.2f})")
    ax.set_xlabel("h = 1/n  or  snapshot spacing")
    ax.set_ylabel("max flow-map error")
    ax.set_title("grid velocity interpolation")
    ax.legend(fontsize=8)
    ax = axes[2]
    for rule, errs in blob.items():
        ax.loglog(counts, errs, "o-", label=f"delta = {rule} (rate {-slope(counts, errs):.2f})")
    ax.set_xlabel("N particles")
    ax.set_ylabel("W2(blob, exact push-forward)")
    ax.set_title("blob method vs Barenblatt 1-D, m = 2, t: 1 -> 2")
    ax.legend()
    fig.tight_layout()
    path = os.path.join(args.out, "flow_map_convergence.png")
    fig.savefig(path, dpi=110)

    print("| study | sizes | errors | observed order |")
    print("|---|---|---|---|")
    fmt = lambda v: ", ".join(f"{e:.2e}" for e in v)  # noqa: E731
    print(f"| RK4, OU flow map | dt {list(hs)} | {fmt(rk4)} | {slope(hs, rk4):.2f} |")
    print(f"| DP5 fixed step | dt {list(hs[:3])} | {fmt(dp5[:3])} | {slope(hs[:3], dp5[:3]):.2f} |")
    for f, errs in space.items():
        print(f"| grid space ({f}) | n {list(ns)} | {fmt(errs)} | {-slope(ns, errs):.2f} |")
    print(f"| grid time (linear) | snapshots {[round(x, 4) for x in dts]} | {fmt(timeerr)} | "
          f"{slope(dts, timeerr):.2f} |")
    for rule, errs in blob.items():
        print(f"| blob delta={rule} | N {list(counts)} | {fmt(errs)} | {-slope(counts, errs):.2f} |")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
