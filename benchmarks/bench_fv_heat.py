"""2-D heat equation: pdeflow's DEFAULT ``solve()`` vs py-pde's serial numba Euler stepper.

Problem: d_t rho = Lap rho (D = 1) on [-1, 1]^2 with no-flux (Neumann) walls, rho0 = exp(-|x|^2 /
0.05) + 0.1 sampled at the cell centres; at the final times used here the Gaussian has not felt
the walls, so its closed form (the heat kernel on the plane, plus the constant) is the reference.

* pdeflow: ``solve(Heat(D=1, dim=2), grid, rho0, [0, T])`` with no options: Scharfetter-Gummel
  flux (for kappa = 0 the 5-point Laplacian), forward Euler at cfl 0.6 (dt = 0.6 h^2 / 4), 4 steps
  fused per sweep over memory; row blocks in parallel when threads are available.
* py-pde: ``EulerSolver(adaptive=False)`` stepper of ``DiffusionPDE``, serial numba
  (``backend.numba.multithreading = "never"``): the same scheme.

Comparisons, all at the same final time T (a whole number of pdeflow default steps):

1. "same dt": py-pde at pdeflow's default step. Same scheme, same dt, same steps: the results
   agree to round-off (printed), so the accuracy is identical and the ratio is also the ratio per
   cell-update.
2. "py-pde dt 0.9": py-pde at 0.9 x its stability limit h^2 / 4 (fewer steps to T; a py-pde user's
   largest safe fixed step). Here the accuracies differ: the L1 density error and the L2(rho)
   velocity error against the closed form are printed for both (256^2 only: at 2048^2 the 40-step
   final time is too short for an error to be measured).

Also: pdeflow's compiled loop alone (``diagnostics["loop_seconds"]``), the whole ``solve()``
(velocity, face velocities and energy are computed on first access) and ``solve()`` followed by
reading all three; pdeflow with 1 and with 2 numba threads (bitwise equality checked); a numba
copy kernel on the same array (16 bytes per cell, the memory-bandwidth reference) and, to compare
like with like, the same compiled loop on work arrays allocated once (the copy kernel's arrays
are too; a ``solve()`` pays first-touch page faults on its fresh output arrays). Every case is
timed interleaved with the others by benchmarks/_harness.py; compile times are printed apart.

Usage: python benchmarks/bench_fv_heat.py [--quick] [--repeats N]
"""
from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numba  # noqa: E402
import numpy as np  # noqa: E402
from _harness import interleave, machine_line, ratio, report  # noqa: E402

from pdeflow.equations import Heat  # noqa: E402
from pdeflow.exact import GaussianMixture, GaussianMixtureFlow  # noqa: E402
from pdeflow.grid import Grid  # noqa: E402
from pdeflow.solvers import solve  # noqa: E402
from pdeflow.solvers.finite_volume import SG_EULER_CFL  # noqa: E402

S0, FLOOR = 0.025, 0.1      # rho0 = exp(-|x|^2 / (2 S0)) + FLOOR
EQ = Heat(D=1.0, dim=2)


@numba.njit(cache=True)
def _copy(dst, src):
    for i in range(src.size):
        dst[i] = src[i]


def setup(n):
    grid = Grid.cube(1.0, n, 2)
    x = grid.coordinates()
    return grid, np.exp(-(x ** 2).sum(0) / (2 * S0)) + FLOOR


def closed_form(grid, t):
    """(density (n, n), velocity (2, n, n)) of the Gaussian + FLOOR at t on the plane."""
    flow = GaussianMixtureFlow(EQ, GaussianMixture.isotropic(
        [1.0], [[0.0, 0.0]], [np.sqrt(S0)], mass=2 * np.pi * S0))
    pts = grid.points()
    g = flow.density(t, pts)
    v = -EQ.D * g[:, None] * flow.at(t).score(pts) / (g + FLOOR)[:, None]
    return (g + FLOOR).reshape(grid.shape), v.T.reshape((2,) + grid.shape)


def errors(grid, rho, velocity, t):
    """(L1 density error, L2(rho) velocity error) against the closed form."""
    rho_x, v_x = closed_form(grid, t)
    l1 = float(grid.integrate(np.abs(rho - rho_x)))
    l2 = float(np.sqrt(grid.integrate(((velocity - v_x) ** 2).sum(0) * rho_x)))
    return l1, l2


def quiet_solve(grid, rho0, T):
    with warnings.catch_warnings():   # the constant floor puts mass at the walls (intended)
        warnings.simplefilter("ignore", RuntimeWarning)
        return solve(EQ, grid, rho0, [0.0, T])


def pypde_stepper(n, rho0, dt):
    """A compiled py-pde stepper for dt; returns (stepper, state, compile seconds)."""
    import pde

    pde.config["backend.numba.multithreading"] = "never"
    state = pde.ScalarField(pde.CartesianGrid([[-1.0, 1.0], [-1.0, 1.0]], [n, n]), rho0)
    solver = pde.EulerSolver(pde.DiffusionPDE(diffusivity=1.0), adaptive=False)
    start = time.perf_counter()
    stepper = solver.make_stepper(state, dt=dt)
    stepper(state.copy(), 0.0, dt)     # the first call finishes the compilation
    return stepper, state, time.perf_counter() - start


def pypde_case(stepper, state, T, dt, out):
    def run():
        field = state.copy()
        t_end = stepper(field, 0.0, T)
        out["data"], out["steps"] = field.data, int(round(t_end / dt))
    return run


def mapped_kernel(grid, rho0, T, steps):
    """The default solve's compiled loop (``sg_solve``, 1 thread) on work arrays allocated and
    written once, as the copy kernel's are: ``solve()`` allocates fresh output arrays every call,
    whose first-touch page faults fall inside its loop (measured: about 0.25 s of the serial
    2048^2 loop when the allocator has returned the memory to the system)."""
    from pdeflow.solvers import _kernels_fv as K
    from pdeflow.solvers import finite_volume as FV

    coeffs = FV._sg_coefficients(EQ, grid)
    flat = [c for triple in coeffs for c in triple]
    shape = FV._padded_shape(grid)
    rho, u1, snaps = np.array(rho0.reshape(shape)), np.ones(shape), np.ones((2,) + shape)
    rings = np.ones((1, K.FUSED_STEPS, 3, shape[2]))
    times, nsteps = np.array([0.0, T]), np.array([steps])

    def run():
        numba.set_num_threads(1)
        K.sg_solve(rho, *flat, 1, nsteps, times, snaps, u1, np.zeros((1, 1, 1)), rings)
    run()
    return run


def benchmark(n, steps, repeats, accuracy):
    grid, rho0 = setup(n)
    h = 2.0 / n
    dt = SG_EULER_CFL * h * h / 4           # pdeflow's default step on this grid (kappa = 0)
    T = steps * dt
    start = time.perf_counter()
    quiet_solve(Grid.cube(1.0, 8, 2), np.ones((8, 8)), 1e-3)  # compile / load pdeflow's kernels
    compile_pdeflow = time.perf_counter() - start
    dt_big = T / np.ceil(T / (0.9 * h * h / 4))     # 0.9 x py-pde's limit, landing on T
    same, state, compile_same = pypde_stepper(n, rho0, dt)
    big, _, compile_big = pypde_stepper(n, rho0, dt_big) if accuracy else (None, None, 0.0)

    loops, results = {1: [], 2: []}, {}

    def ours(threads, fields=False):
        def run():
            numba.set_num_threads(threads)
            sol = quiet_solve(grid, rho0, T)
            if fields:
                sol.velocity, sol.face_velocity, sol.energy   # noqa: B018 (computed on access)
            else:
                loops[threads].append(sol.diagnostics["loop_seconds"])
            results[threads] = sol
        return run

    out_same, out_big = {}, {}
    src, dst = rho0.ravel().copy(), np.zeros(n * n)
    _copy(dst, src)
    cases = {"pdeflow solve() 1 thread": ours(1), "pdeflow solve() 2 threads": ours(2),
             "pdeflow solve()+fields 1 thr": ours(1, fields=True),
             "py-pde same dt": pypde_case(same, state, T, dt, out_same),
             "copy kernel (same array)": lambda: _copy(dst, src),
             "fused kernel, mapped arrays": mapped_kernel(grid, rho0, T, steps)}
    if accuracy:
        cases["py-pde dt 0.9 limit"] = pypde_case(big, state, T, dt_big, out_big)
    times = interleave(cases, repeats=repeats)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    times["pdeflow loop 1 thread"] = np.array(loops[1])
    times["pdeflow loop 2 threads"] = np.array(loops[2])
    updates = n * n * steps
    copy = times.pop("copy kernel (same array)")
    sol = results[1]
    assert sol.diagnostics["steps"] == steps and out_same["steps"] == steps, "step counts differ"
    rows = dict(n=n, steps=steps, T=T, times=times, updates=updates,
                copy_rate=n * n / np.median(copy), copy_times=copy,
                compile=(compile_pdeflow, compile_same, compile_big),
                same_diff=float(np.abs(sol.density[-1] - out_same["data"]).max()
                                / out_same["data"].max()),
                threads_bitwise=bool(np.array_equal(results[1].density, results[2].density)),
                pypde_big_steps=out_big.get("steps"))
    if accuracy:
        rows["err_pdeflow"] = errors(grid, sol.density[-1], sol.velocity[-1], T)
        rows["err_pypde_big"] = errors(grid, out_big["data"],
                                       EQ.velocity(out_big["data"], grid), T)
    return rows


def show(r):
    n, t = r["n"], r["times"]
    print(f"\n{n}^2, T = {r['T']:.4g}: pdeflow {r['steps']} steps (dt = {SG_EULER_CFL} h^2/4); "
          f"py-pde same dt {r['steps']} steps"
          + (f", py-pde dt 0.9 limit {r['pypde_big_steps']} steps" if r["pypde_big_steps"] else ""))
    ref = {k: v for k, v in t.items() if not k.startswith("py-pde dt 0.9")}
    print(report(ref, work=r["updates"], unit="G cell-upd/s", scale=1e-9,
                 reference="py-pde same dt"))
    if "py-pde dt 0.9 limit" in t:
        big = {k: t[k] for k in ("pdeflow solve() 1 thread", "py-pde dt 0.9 limit")}
        print("  equal final time, py-pde at 0.9 x its limit (rate = pdeflow's updates / s):")
        print(report(big, work=r["updates"], unit="G cell-upd/s", scale=1e-9,
                     reference="py-pde dt 0.9 limit"))
        (l1a, l2a), (l1b, l2b) = r["err_pdeflow"], r["err_pypde_big"]
        print(f"  errors vs closed form at T: pdeflow default L1 {l1a:.3e} v-L2(rho) {l2a:.3e}; "
              f"py-pde dt 0.9 limit L1 {l1b:.3e} v-L2(rho) {l2b:.3e}")
    loop1 = np.median(t["pdeflow loop 1 thread"])
    mapped = np.median(t["fused kernel, mapped arrays"])
    print(f"  copy kernel: {r['copy_rate'] / 1e9:.3f} G cells/s (median; "
          f"{16 * r['copy_rate'] / 1e9:.1f} GB/s); fused loop / copy: 1 thread "
          f"{r['updates'] / loop1 / r['copy_rate']:.2f}, 2 threads "
          f"{r['updates'] / np.median(t['pdeflow loop 2 threads']) / r['copy_rate']:.2f}; "
          f"fused kernel on mapped arrays / copy, 1 thread: "
          f"{r['updates'] / mapped / r['copy_rate']:.2f}")
    whole = np.median(t["pdeflow solve() 1 thread"])
    fields = np.median(t["pdeflow solve()+fields 1 thr"])
    print(f"  whole solve() / loop alone: {whole / loop1:.2f} (solve() then reading velocity, "
          f"face velocity, energy: {fields / loop1:.2f})")
    r12 = ratio(t, "pdeflow solve() 2 threads", "pdeflow solve() 1 thread")
    print(f"  2 threads vs 1: {r12[0]:.2f}x [{r12[1]:.2f}, {r12[2]:.2f}]; results bitwise equal: "
          f"{r['threads_bitwise']}; pdeflow vs py-pde same dt max rel diff {r['same_diff']:.1e}")
    c = r["compile"]
    print(f"  compile s: pdeflow {c[0]:.2f} (numba cache load or compile), py-pde {c[1]:.2f}"
          + (f" + {c[2]:.2f} (second dt)" if c[2] else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps, no accuracy case")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    start = time.perf_counter()
    print(machine_line())
    cases = [(256, 200 if args.quick else 1200, not args.quick), (2048, 8 if args.quick else 40,
                                                                   False)]
    rows = []
    for n, steps, accuracy in cases:
        rows.append(benchmark(n, steps, args.repeats, accuracy))
        show(rows[-1])
    print(f"\nwall time {time.perf_counter() - start:.0f} s; {machine_line()}")
    return rows


if __name__ == "__main__":
    main()
