"""Confined porous medium (m = 2, D = 1, kappa = 1): time to a given accuracy, pdeflow vs py-pde.

Problem: d_t rho = Lap(rho^2) + div(x rho) from the confined Barenblatt profile at t = 0
(pdeflow.exact.ConfinedBarenblatt, tau0 = 1) to T = 0.5, in 1-D and 2-D on the box of half width
1.5 x the initial support radius. Error: L1 distance to the closed form at T divided by the mass.

* pdeflow: ``solve()`` defaults (CCH upwind, minmod reconstruction, SSP-RK3, adaptive CFL step).
* py-pde: ``PDE({"c": "laplace(c**2) + d c + x . grad c"})`` (central differences, Neumann walls),
  explicit Euler with the fixed step 0.4 h^2 / (2 d m max c^(m-1)) (its stability limit), serial
  numba. Its minimum density and mass drift are recorded: central differences are not positivity
  preserving and the expanded drift is not conservative. Where c < 0, laplace(c**2) is backward
  diffusion and the run blows up on fine grids, so a second, sign-safe variant
  ``laplace(c * abs(c))`` (what a careful user would write) is timed as well.

For each code the grids are refined until the target error is met; the wall time (median of
repeats, compile time excluded and reported apart) at the first grid that meets it is compared.

Usage: python benchmarks/bench_fv_porous.py [--quick]
"""
from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from pdeflow.exact import ConfinedBarenblatt  # noqa: E402
from pdeflow.grid import Grid  # noqa: E402
from pdeflow.solvers import solve  # noqa: E402

M, T = 2.0, 0.5


def setup(dim, n):
    exact = ConfinedBarenblatt(M, dim)
    grid = Grid.cube(1.5 * exact.support_radius(0.0), n, dim)
    rho0 = grid.sample_field(lambda x: exact.density(0.0, x))
    reference = grid.sample_field(lambda x: exact.density(T, x))
    return exact, grid, rho0, reference


def rel_error(grid, rho, reference, mass):
    return float(grid.integrate(np.abs(rho - reference)) / mass)


def pdeflow_case(dim, n, repeats):
    exact, grid, rho0, reference = setup(dim, n)
    seconds = []
    for _ in range(repeats):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            sol = solve(exact.equation, grid, rho0, [0.0, T])
        seconds.append(sol.diagnostics["run_seconds"])
    rho = sol.density[-1]
    return dict(n=n, error=rel_error(grid, rho, reference, exact.mass),
                seconds=float(np.median(seconds)), steps=sol.diagnostics["steps"],
                compile=sol.diagnostics["compile_seconds"], min_density=float(rho.min()),
                mass_drift=float(abs(sol.mass[-1] / sol.mass[0] - 1)))


def pypde_case(dim, n, repeats, sign_safe=False):
    import pde

    pde.config["backend.numba.multithreading"] = "never"
    exact, grid, rho0, reference = setup(dim, n)
    names = "xyz"[:dim]
    drift = " + ".join(f"{v} * d_d{v}(c)" for v in names)
    power = f"c * abs(c)**{M - 1:g}" if sign_safe else f"c**{M:g}"
    equation = pde.PDE({"c": f"laplace({power}) + {dim} * c + {drift}"})
    box = [[lo, hi] for lo, hi in zip(grid.lower, grid.upper)]
    state = pde.ScalarField(pde.CartesianGrid(box, list(grid.shape)), rho0)
    h = min(grid.spacing)
    dt = 0.4 * h * h / (2 * dim * M * rho0.max() ** (M - 1))
    solver = pde.EulerSolver(equation, adaptive=False)
    start = time.perf_counter()
    stepper = solver.make_stepper(state, dt=dt)
    stepper(state.copy(), 0.0, dt)
    compile_seconds = time.perf_counter() - start
    seconds = []
    for _ in range(repeats):
        field = state.copy()
        start = time.perf_counter()
        with np.errstate(all="ignore"):
            t_end = stepper(field, 0.0, T - 0.5 * dt)   # stops at the first t >= T - dt/2
        seconds.append(time.perf_counter() - start)
    rho = field.data
    mass0 = grid.integrate(rho0)
    return dict(n=n, error=rel_error(grid, rho, reference, exact.mass),
                seconds=float(np.median(seconds)), steps=int(round(t_end / dt)),
                compile=compile_seconds, min_density=float(rho.min()),
                mass_drift=float(abs(grid.integrate(rho) / mass0 - 1)), t_end=float(t_end))


def time_to_target(run, dim, ns, target, repeats):
    """Refine until the error is <= target; returns (rows, first row meeting it or None)."""
    rows = []
    for n in ns:
        row = run(dim, n, repeats)
        rows.append(row)
        if row["error"] <= target:
            return rows, row
        if not np.isfinite(row["error"]):   # blew up; finer grids (smaller h^2 steps) do too
            break
    return rows, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dims", type=int, nargs="+", default=[1, 2], choices=[1, 2])
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    cases = [(1, 3e-3, [25, 50, 100, 200, 400, 800, 1600]),
             (2, 2e-2, [24, 32, 48, 64, 96, 128, 192])]
    summary = []
    for dim, target, ns in cases:
        if dim not in args.dims:
            continue
        print(f"\n{dim}-D confined porous medium m = {M:g}, T = {T}, target relative L1 error "
              f"{target:g} (median of {repeats})")
        print(f"{'code':>9} {'n':>5} {'L1 error':>10} {'seconds':>9} {'steps':>7} "
              f"{'min rho':>10} {'mass drift':>10} {'compile s':>9}")
        found = {}
        codes = (("pdeflow", pdeflow_case), ("py-pde", pypde_case),
                 ("py-pde|c|", lambda *a: pypde_case(*a, sign_safe=True)))
        for name, run in codes:
            rows, hit = time_to_target(run, dim, ns, target, repeats)
            for r in rows:
                print(f"{name:>9} {r['n']:>5} {r['error']:>10.2e} {r['seconds']:>9.4f} "
                      f"{r['steps']:>7} {r['min_density']:>10.2e} {r['mass_drift']:>10.1e} "
                      f"{r['compile']:>9.2f}")
            found[name] = (hit, rows[-1])
        lines = []
        ours = found["pdeflow"][0]
        for peer in ("py-pde", "py-pde|c|"):
            theirs, last = found[peer]
            if ours and theirs:
                ratio = theirs["seconds"] / ours["seconds"]
                lines.append(f"time to error {target:g}: pdeflow {ours['seconds']:.4f} s "
                             f"(n={ours['n']}), {peer} {theirs['seconds']:.4f} s "
                             f"(n={theirs['n']}): ratio {ratio:.1f}x")
            elif ours and not np.isfinite(last["error"]):
                ratio = np.nan
                lines.append(f"time to error {target:g}: pdeflow {ours['seconds']:.4f} s "
                             f"(n={ours['n']}); {peer} blew up (NaN) at n={last['n']} before "
                             "reaching it")
            elif ours:
                ratio = last["seconds"] / ours["seconds"]
                lines.append(f"time to error {target:g}: pdeflow {ours['seconds']:.4f} s "
                             f"(n={ours['n']}); {peer} did not reach it (error "
                             f"{last['error']:.2e} at n={last['n']} after {last['seconds']:.4f} s)"
                             f": ratio > {ratio:.1f}x")
            else:
                ratio = np.nan
                lines.append(f"pdeflow did not reach {target:g} on the grids tried")
            summary.append((dim, target, peer, ratio))
        line = "\n".join(lines)
        print(line)
    return summary


if __name__ == "__main__":
    main()
