"""The 2-D Lagrangian porous truth (docs/certified_truth.md, section 5): costs, the finite-
volume flow map against it, and the collapse of the Lagrangian mesh on the study's mixture.

* ``cost``: CPU seconds and steps of lagrangian_porous_solve on the confined anisotropic flow
  (exact; error printed) for h = 0.1 ... 0.0125;
* ``fv``: non-affine data (tests/_lagrangian_helpers.perturbed_rho0, kappa = 1, T = 1): the FV
  flow map (upwind CCH + the study's support velocity, 41 snapshots, RK4 dt 0.005) of the
  h = 0.025 Lagrangian nodes against their Lagrangian positions, on 32^2, 64^2, 128^2;
* ``mixture``: the study's former porous data, the three-component mixture cut at 1e-6 of its
  peak, h = 0.1: smallest det grad X and the explicit step at t = 0, 0.1, ..., 0.4;
* ``study``: the default study's porous truth (capped mixture, 256^2 truth grid, 36 snapshots)
  by the Lagrangian solver (h = 0.125, exported onto the grid) and by the finite volume (the
  peer), timed in the same run, interleaved, REPEATS times (medians and their ratio; a first
  small solve of each compiles, timed apart: run with an empty NUMBA_CACHE_DIR to see the
  compile time, with a warm cache it is only the small solve), and the RMS error of each one's backward flow map
  of the study's 1000 starting points against the pullback of an h = 0.0625 Lagrangian solve.
Usage: python benchmarks/lagrangian_porous.py [cost|fv|mixture|study]
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _lagrangian_helpers import A0, C0, anisotropic, perturbed_rho0  # noqa: E402

from pdeflow.equations import PorousMedium  # noqa: E402
from pdeflow.grid import Grid  # noqa: E402
from pdeflow.solvers import integrate_flow_map, solve  # noqa: E402
from pdeflow.solvers.lagrangian_porous import (ReferenceGrid, _Velocity,  # noqa: E402
                                               lagrangian_porous_solve, mass_weighted_rms)

BOX = ([-1.0, -1.0], [1.0, 1.0])


def cost():
    ref = anisotropic(2.0, 2 * A0, C0, K=np.eye(2), center=[0.2, -0.1])
    eq = PorousMedium(m=2.0, D=1.0, kappa=1.0, dim=2)
    for h in (0.1, 0.1, 0.05, 0.025, 0.0125):     # the first run compiles
        sol = lagrangian_porous_solve(eq, lambda x: ref.density(0.0, x), *BOX, h, [0.0, 0.6])
        err = mass_weighted_rms(sol.positions[-1], ref.flow_map(0.6, sol.reference.xi),
                                sol.node_mass)
        d = sol.diagnostics
        print(f"h={h} nodes={d['nodes']} steps={d['steps']} cpu={d['cpu_seconds']:.2f} s "
              f"error={err:.2e}")


REPEATS = 3


def study():
    import tempfile
    import time

    from pdeflow.solvers.backward import sample_backward
    from pdeflow.study.config import StudyConfig
    from pdeflow.study.epsilon_study import EpsilonStudy

    studies = {kind: EpsilonStudy(StudyConfig(equations=["porous"], porous_truth=kind))
               for kind in ("lagrangian", "finite-volume")}
    for kind, st in studies.items():                 # compile (and import) once, timed apart
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            st.solve_truth("porous", 32, 3, out)
        print(f"{kind}: first small solve (numba compile) {time.perf_counter() - start:.1f} s")
    seconds, truths = {kind: [] for kind in studies}, {}
    for _ in range(REPEATS):
        for kind, st in studies.items():              # interleaved, repeat by repeat
            with tempfile.TemporaryDirectory() as out:
                start = time.perf_counter()
                truths[kind] = st.solve_truth("porous", 256, 36, out)
                seconds[kind].append(time.perf_counter() - start)
    cfg = studies["lagrangian"].config
    eq = cfg.equation("porous")
    fine = truths["lagrangian"]
    x0 = fine.grid.sample_density(fine.density[-1], cfg.n_samples,
                                  np.random.default_rng([cfg.seeds[0], 1]))
    ref = lagrangian_porous_solve(eq, studies["lagrangian"].data.density_for(eq),
                                  fine.grid.lower, fine.grid.upper, 0.0625, fine.times)
    y_ref = ref.pullback(len(ref.times) - 1, x0)
    for kind, sol in truths.items():
        y = sample_backward(eq, sol, x0, [cfg.T, 0.0], dt=cfg.dt, outside="stop").final
        error = np.sqrt(np.mean(np.sum((y - y_ref) ** 2, 1)))
        print(f"{kind}: wall {np.round(seconds[kind], 2)} s, median "
              f"{np.median(seconds[kind]):.2f} s; backward flow-map error {error:.4f}")
    ratio = np.median(seconds["finite-volume"]) / np.median(seconds["lagrangian"])
    print(f"finite volume / Lagrangian, median wall: {ratio:.2f}")


def fv():
    from pdeflow.study.epsilon_study import support_velocity

    eq = PorousMedium(m=2.0, D=1.0, kappa=1.0, dim=2)
    rho0 = perturbed_rho0(eq)
    times = np.linspace(0.0, 1.0, 41)
    lag = lagrangian_porous_solve(eq, rho0, *BOX, 0.025, [0.0, 1.0])
    xi, w = lag.reference.xi, lag.node_mass
    rim = lag.reference.rho0 < 0.1 * lag.reference.rho0.max()
    for n in (32, 64, 128):
        grid = Grid.cube(1.5, n, 2)
        r0 = grid.sample_field(rho0)
        sol = support_velocity(solve(eq, grid, r0 / grid.integrate(r0) * w.sum(), times))
        x = integrate_flow_map(sol, xi, times, dt=0.005, outside="stop").final
        y = lag.positions[-1]
        print(f"FV {n}^2: all {mass_weighted_rms(x, y, w):.3e}, rim "
              f"{mass_weighted_rms(x[rim], y[rim], w[rim]):.3e}, interior "
              f"{mass_weighted_rms(x[~rim], y[~rim], w[~rim]):.3e}")


def mixture():
    from pdeflow.problems import PRESENCE_CUTOFF, three_component_mixture

    mix = three_component_mixture(2)
    peak = mix.density(mix.means).max()
    eq = PorousMedium(m=2.0, D=1.0, kappa=1.0, dim=2)

    def rho0(x):
        values = mix.density(x)
        return np.where(values >= PRESENCE_CUTOFF * peak, values, 0.0)

    ref = ReferenceGrid.covering(rho0, [-4, -4], [4, 4], 0.1)
    v = _Velocity(ref, eq, np.eye(2))
    x, t = ref.xi.copy(), 0.0
    for _ in range(5):
        dt = v.stable_step(x, 0.5)
        print(f"t={t:.1f} min J={v.jacobian.min():.3g} dt={dt:.2e}", flush=True)
        x = integrate_flow_map(v, x, [t, t + 0.1], dt=dt).final.copy()
        t += 0.1


if __name__ == "__main__":
    {"cost": cost, "fv": fv, "mixture": mixture, "study": study}[
        sys.argv[1] if len(sys.argv) > 1 else "cost"]()
