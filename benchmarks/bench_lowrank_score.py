"""Exact velocity of the image problems (issue 26, item 6): the batched Woodbury score of
:class:`pdeflow.exact.LowRankGaussianMixture` against the per-component loop it replaced
(``before`` below, the same arithmetic as the old ``_solve``: per component, Delta^-1 (x - mu_k),
two triangular solves, a (K, n, d) stack and an einsum). Same points, same law, interleaved
repeats (median of 5); the two results are compared at 1e-12 relative first.

    cd benchmarks && PYTHONPATH=.. NUMBA_NUM_THREADS=1 python bench_lowrank_score.py
"""
from __future__ import annotations

import numpy as np

from _harness import interleave, machine_line, report

from pdeflow.problems import get


def before(mix, x):
    """The score by the per-component loop (the implementation before the batched one)."""
    logs, solved = [], []
    for k in range(len(mix.weights)):
        u, inv = mix.factors[k], 1.0 / mix.diagonals[k]
        chol = np.linalg.cholesky(np.eye(mix.rank) + u.T @ (u * inv[:, None]))
        res = x - mix.means[k]
        y = res * inv
        sol = np.linalg.solve(chol.T, np.linalg.solve(chol, (y @ u).T)).T
        out = y - (sol @ u.T) * inv
        log_det = np.log(mix.diagonals[k]).sum() + 2 * np.log(np.diag(chol)).sum()
        logs.append(np.log(mix.weights[k]) - 0.5 * ((res * out).sum(1) + log_det
                                                    + mix.dim * np.log(2 * np.pi)))
        solved.append(out)
    logs = np.stack(logs, 1)
    post = np.exp(logs - logs.max(1, keepdims=True))
    post /= post.sum(1, keepdims=True)
    return -np.einsum("nk,knd->nd", post, np.stack(solved))


def main(points: int = 2000):
    print(machine_line())
    for name, t in (("ddpm-patterns-1x28x28", 500.0), ("ddpm-patterns-3x32x32", 500.0)):
        problem = get(name)
        x = problem.sample(t, points, np.random.default_rng(0))
        mix = problem.flow.at(t)
        old, new = before(mix, x), mix.score(x)
        err = np.max(np.abs(new - old) / np.linalg.norm(old, axis=1, keepdims=True))
        assert err < 1e-12, err
        times = interleave({"batched": lambda: mix.score(x), "before": lambda: before(mix, x)},
                           repeats=5)
        velocity = interleave({"velocity": lambda: problem.velocity(t, x)}, repeats=5)
        print(f"\n{name} (d = {problem.dim}), {points} points, max relative difference "
              f"{err:.1e}")
        print(report(times, work=points, unit="k points/s", scale=1e-3, reference="before"))
        print(f"exact velocity (score + law at t): median {np.median(velocity['velocity']):.3f} s"
              f" per {points} points")


if __name__ == "__main__":
    main()
