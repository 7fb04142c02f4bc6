"""A user's own data for ``pdeflow trajectory``: snapshots of a spiral sink whose true map is not an
optimal-transport map (docs/trajectory_inference.md, "Your own snapshots").

dx/dt = A x with A = [[-0.5, -2], [2, -0.5]]: particles turn by 2 rad per time unit while the
cloud contracts by e^{-t/2}. Writes ``spiral.npz`` (times (6,), snapshots (6, 300, 2), each
snapshot its own particles; reference (6, 300, 2), another independent sample at every time, for
the finite-sample floor of the held-out distances) and defines ``velocity(t, x)``:

    python examples/spiral_sink.py                   # writes results/spiral_sink/spiral.npz
    pdeflow trajectory results/spiral_sink/spiral.npz --velocity examples/spiral_sink.py:velocity \
        --held-out 3

Quick run (tested): python examples/spiral_sink.py  -- under 30 s on 2 cores (measured 1 s)
"""
import numpy as np
from scipy.linalg import expm

A = np.array([[-0.5, -2.0], [2.0, -0.5]])


def velocity(t, x):
    """The true velocity A x, x (n, 2) -> (n, 2)."""
    return np.asarray(x) @ A.T


def make_arrays(n: int = 300, K: int = 6, seed: int = 0):
    """times (K,) on [0, 1], snapshots and reference (K, n, 2): independent draws from a
    Gaussian blob centred at (1.5, 0), pushed by the exact map e^{A t}."""
    rng = np.random.default_rng(seed)
    times = np.linspace(0.0, 1.0, K)
    snapshots, reference = (np.stack([rng.normal([1.5, 0.0], 0.3, (n, 2)) @ expm(A * t).T
                                      for t in times]) for _ in range(2))
    return times, snapshots, reference


if __name__ == "__main__":
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/spiral_sink", help="folder of spiral.npz")
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    times, snapshots, reference = make_arrays()
    np.savez(out / "spiral.npz", times=times, snapshots=snapshots, reference=reference)
    print(f"wrote {out / 'spiral.npz'}: times {times.shape}, snapshots {snapshots.shape}")
