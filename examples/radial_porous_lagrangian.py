"""The porous medium in any dimension as one 1-D Lagrangian solve in mass coordinates.

1. Order against the confined Barenblatt in d = 2, 8, 32 (flow map at every node, the front
   node included; density), and the Richardson estimate against the true error.
2. The certified radial multimodal problems ``porous-radial-8d`` (m = 2) and
   ``porous-radial-dimaware-8d`` (m = 1 + 1/8): density profiles while the core and the two shells
   merge, and the flow map X(t, r0) of every 8th node (the particles), with the error estimate.
Run: python examples/radial_porous_lagrangian.py [--out results/radial_porous_lagrangian]
(writes radial_porous_lagrangian.png there; --out docs/img refreshes the docs figure)

Quick run (tested): python examples/radial_porous_lagrangian.py  -- under 40 s on 2 cores (measured 8 s)
"""
import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from pdeflow.exact import ConfinedBarenblatt  # noqa: E402
from pdeflow.problems import get  # noqa: E402
from pdeflow.solvers.radial_lagrangian import exact_error, solve_radial_lagrangian  # noqa: E402

_PARSER = argparse.ArgumentParser(description=__doc__.splitlines()[0])
_PARSER.add_argument("--out", default="results/radial_porous_lagrangian",
                     help="folder of the PNG (created; docs/img refreshes the docs figure)")
_ARGS = _PARSER.parse_args()


def label_map(s):
    """Odd, increasing map of [0, 1]: non-uniform labels, so the spatial error shows (uniform
    labels are exact in space for a Barenblatt, whose flow map is linear in the label)."""
    return s * (1.0 - 0.25 * s * s) / 0.75


print("confined Barenblatt, m = 2, t in [0, 3/lambda]: errors relative to the support radius")
print("  d    N   flow map RMS  max (front incl.)  front     order   L1 / mass   estimate/true")
for d in (2, 8, 32):
    closed = ConfinedBarenblatt(2.0, d)
    t1 = 3.0 / closed.rate
    e1 = np.eye(d)[0]
    previous = None
    for cells in (32, 64, 128):
        solution = solve_radial_lagrangian(
            closed.equation, lambda r: closed.density(0.0, r[:, None] * e1),
            closed.support_radius(0.0), [0.0, t1], cells=cells, label_map=label_map,
            certify=True)
        true, estimate = exact_error(solution, closed), solution.error_estimate
        radius = closed.support_radius(t1)
        order = (f"{math.log2(previous / true.flow_map_max[-1]):5.2f}" if previous else "     ")
        previous = true.flow_map_max[-1]
        print(f"{d:3d} {cells:4d}   {true.flow_map_rms[-1] / radius:9.2e}   "
              f"{true.flow_map_max[-1] / radius:9.2e}        {true.front[-1] / radius:9.2e} "
              f"{order}   {true.density_l1[-1] / solution.mass:9.2e}   "
              f"{estimate.flow_map_max[-1] / true.flow_map_max[-1]:.2f}")

fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
for column, name in enumerate(("porous-radial-8d", "porous-radial-dimaware-8d")):
    problem = get(name, cells=256)
    solution = problem.solution
    estimate = solution.error_estimate
    print(f"{name}: m = {problem.equation.m:.4g}, R0 = {problem.radius:.3f}, t in "
          f"[{problem.t_min:.3g}, {problem.T:.3g}]; {solution.cells} cells, "
          f"{solution.provenance['steps']} steps, {solution.provenance['seconds']:.1f} s (+ the "
          f"{solution.companion.cells}- and {solution.cells // 4}-cell companions); estimated "
          f"flow-map error max "
          f"{estimate.flow_map_max.max() / problem.radius:.1e} R0, density L1 "
          f"{estimate.density_l1.max():.1e}")
    ax = axes[0, column]
    for t in (0.0, 0.01 * problem.T, 0.05 * problem.T, 0.2 * problem.T, problem.T):
        r = np.linspace(0.0, 1.05 * solution.support(t)[1], 600)
        x = np.zeros((len(r), problem.dim))
        x[:, 0] = r
        rho = solution.density(t, x)
        ax.plot(r / problem.radius, rho / rho.max(), label=f"t = {t:.3g}")
    ax.set(title=f"{name} (m = {problem.equation.m:.3g}): density / max",
           xlabel="r / R0", ylabel="rho / max rho")
    ax.legend(fontsize=8)
    ax = axes[1, column]
    for i in range(0, solution.cells + 1, 8):
        ax.plot(solution.times, solution.positions[:, i] / problem.radius, lw=0.7,
                color="C3" if i == solution.cells else "C0")
    ax.set(title="flow map X(t, r0) of every 8th node (red: the front)", xlabel="t",
           ylabel="X / R0", xscale="symlog", )
    ax.set_xscale("symlog", linthresh=problem.T * 1e-3)
fig.tight_layout()
out = Path(_ARGS.out) / "radial_porous_lagrangian.png"
out.parent.mkdir(parents=True, exist_ok=True)
fig.savefig(out, dpi=110)
print(f"wrote {out}")
