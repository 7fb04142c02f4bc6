"""Distances between point clouds and densities.

* :func:`wasserstein` - exact W1 / W2 between (weighted) empirical measures by linear programming
  (POT ``ot.emd2``; memory O(n m), so it refuses clouds beyond ``max_points``).
* :func:`sinkhorn_w2` - entropic W2 (``ot.sinkhorn``, log domain, convergence checked); biased upwards by the
  regularisation, O(n m) per iteration.
* :func:`sinkhorn_divergence` - the debiased Sinkhorn divergence
  ``S_eps = OT_eps(x, y) - (OT_eps(x, x) + OT_eps(y, y)) / 2``, an estimator of W2^2.
* :func:`histogram_w2sq` - squared W2 between 2-D histograms on a fixed box (exact OT between
  the bin centres), the distance of the ODE-vs-SDE seed paper.
* :func:`sliced_w2` - sliced W2 over random directions (exact 1-D W2 per direction, O(n log n)).
* :func:`mmd2` - unbiased squared MMD with a Gaussian kernel; :func:`energy_distance`.
* :func:`flow_map_error` - ||Y_a - Y_b||_{L2(rho)} on shared starting points.
* :func:`density_l1` - ``int |rho_a - rho_b| dx`` on a grid.
* :func:`gaussian_w2` - the closed form (Bures) W2 between two Gaussians, for checks.
* :func:`memorisation` - nearest-training-point vs nearest-fresh-point distance ratios of
  generated samples (does a generator return its training set?).

Points are (n, d) arrays (DESIGN.md section 6); distances are in length units (mmd2 is in the
kernel's units). Bad input raises ValueError naming the argument.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
from scipy.linalg import sqrtm
from scipy.spatial import cKDTree

__all__ = ["wasserstein", "wasserstein1", "wasserstein2", "sinkhorn_w2", "sinkhorn_divergence",
           "HistogramW2", "histogram_w2sq", "sliced_w2", "mmd2",
           "energy_distance", "flow_map_error", "density_l1", "gaussian_w2", "check_cloud",
           "Memorisation", "memorisation", "import_pot_without_sklearn"]


#: Set by :func:`import_pot_without_sklearn` (pdeflow's worker processes): POT is imported
#: without scikit-learn on first use.
_POT_WITHOUT_SKLEARN = False


def _ot():
    """POT, imported on first use: ``import ot`` loads its torch backend and scikit-learn
    (about 4 s), which a process that only schedules work (the study's parent) never needs."""
    import sys

    if _POT_WITHOUT_SKLEARN and "ot" not in sys.modules and "sklearn" not in sys.modules:
        hook = _NoSklearnHere()
        sys.meta_path.insert(0, hook)
        try:
            import ot  # noqa: F401
        except ImportError:
            # a POT that needs scikit-learn after all: forget the half-imported package and
            # import it as usual below (slower, never broken)
            for name in [n for n in sys.modules if n == "ot" or n.startswith("ot.")]:
                del sys.modules[name]
        finally:
            sys.meta_path.remove(hook)
    import ot

    return ot


class _NoSklearnHere:
    """Import hook: ``sklearn`` is missing for imports made by one thread (the one importing
    POT), present for every other thread."""

    def __init__(self):
        self.thread = threading.get_ident()

    def find_spec(self, name, path=None, target=None):
        if threading.get_ident() == self.thread and name.split(".")[0] == "sklearn":
            raise ModuleNotFoundError(f"No module named {name!r} (pdeflow imports POT without "
                                      "scikit-learn in its worker processes)", name=name)
        return None


def import_pot_without_sklearn() -> None:
    """From now on, import POT without scikit-learn (on first use), for pdeflow's own worker
    processes: every ``sklearn`` import of POT is optional (k-means initialisations of
    ``ot.lowrank`` and ``ot.gromov``, ``ot.dr``), pdeflow uses none of them, and scikit-learn
    takes about half of ``import ot`` once torch is loaded (measured under load, 5 fresh
    processes each: median 5.2 s -> 2.4 s). Those POT options then see scikit-learn as absent
    in this process: do not call it where user code uses them. Only the importing thread
    is affected; no effect if POT or scikit-learn is already imported."""
    global _POT_WITHOUT_SKLEARN
    _POT_WITHOUT_SKLEARN = True


def check_cloud(x, name: str = "x", dim: int | None = None) -> np.ndarray:
    """``x`` as a finite float64 (n, d) array with n >= 1 (and d == dim if given)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1 and dim in (None, 1):
        raise ValueError(f"{name} must have shape (n, d); for 1-D data pass x[:, None], "
                         f"got shape {x.shape}")
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"{name} must have shape (n, d) with n >= 1, got {x.shape}")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"{name} must have {dim} columns to match the other cloud, got {x.shape[1]}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    return x


def _pair(x, y):
    x = check_cloud(x, "x")
    return x, check_cloud(y, "y", x.shape[1])


def _weights(w, n: int, name: str) -> np.ndarray:
    if w is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{name} must be {n} finite non-negative weights, got shape {w.shape}")
    if abs(w.sum() - 1.0) > 1e-9:
        raise ValueError(f"{name} must sum to 1, sums to {w.sum()}")
    return w


def wasserstein(x, y, p: int = 2, weights_x=None, weights_y=None,
                max_points: int = 10000) -> float:
    """Exact W_p (p = 1 or 2) between the empirical measures sum_i a_i delta_{x_i} and
    sum_j b_j delta_{y_j} (uniform weights by default); returns W_p, not W_p^p."""
    if p not in (1, 2):
        raise ValueError(f"p must be 1 or 2, got {p}")
    x, y = _pair(x, y)
    if max(len(x), len(y)) > max_points:
        raise ValueError(f"exact OT on {len(x)} x {len(y)} points exceeds max_points = "
                         f"{max_points} (memory O(n m)); use sliced_w2 / sinkhorn_w2 or subsample")
    a, b = _weights(weights_x, len(x), "weights_x"), _weights(weights_y, len(y), "weights_y")
    cost = _ot().dist(x, y, metric="sqeuclidean" if p == 2 else "euclidean")
    value = float(_ot().emd2(a, b, cost, numItermax=10 ** 7))
    return math.sqrt(max(value, 0.0)) if p == 2 else value


def wasserstein1(x, y, **kwargs) -> float:
    """Exact W1 (see :func:`wasserstein`)."""
    return wasserstein(x, y, p=1, **kwargs)


def wasserstein2(x, y, **kwargs) -> float:
    """Exact W2 (see :func:`wasserstein`)."""
    return wasserstein(x, y, p=2, **kwargs)


def sinkhorn_w2(x, y, reg: float = 0.05, relative: bool = True, max_iter: int = 10000,
                tol: float = 1e-4) -> float:
    """sqrt of the transport cost ``<P, |x - y|^2>`` of the entropic (Sinkhorn) plan P, uniform weights.

    ``reg`` is the entropic regularisation, relative to the mean squared cost if ``relative``.
    Log-domain iterations (``ot.sinkhorn``, method 'sinkhorn_log'): stable for small ``reg`` but
    the iteration count grows roughly like 1 / reg. The value overestimates W2 (the plan is
    blurred) and is not debiased. Raises RuntimeError if the plan's marginals are off by more
    than ``tol`` (L1) after ``max_iter`` iterations, instead of returning a wrong number.
    """
    x, y = _pair(x, y)
    if not (math.isfinite(reg) and reg > 0):
        raise ValueError(f"reg must be a finite number > 0, got {reg}")
    if int(max_iter) != max_iter or max_iter < 1 or not tol > 0:
        raise ValueError(f"max_iter must be a positive integer and tol > 0, got {max_iter}, {tol}")
    cost = _ot().dist(x, y)
    if not cost.max() > 0:          # every point of x and y at one place: no transport at all
        return 0.0
    eps = reg * float(cost.mean()) if relative else reg
    a, b = np.full(len(x), 1.0 / len(x)), np.full(len(y), 1.0 / len(y))
    # non-convergence is checked below: POT's warning is off (warn=False) and numpy's error
    # state is per thread (warnings.catch_warnings would change process-wide filters)
    with np.errstate(all="ignore"):
        plan = _ot().sinkhorn(a, b, cost, eps, method="sinkhorn_log", numItermax=int(max_iter),
                              stopThr=0.5 * tol / math.sqrt(max(len(x), len(y))),  # POT: L2
                              warn=False)
    marginal_error = np.abs(plan.sum(1) - a).sum() + np.abs(plan.sum(0) - b).sum()
    if not (np.all(np.isfinite(plan)) and marginal_error <= tol):
        raise RuntimeError(f"Sinkhorn did not converge in max_iter = {max_iter} iterations "
                           f"(marginal error {marginal_error:.2e} > tol = {tol}); increase reg "
                           f"or max_iter")
    return math.sqrt(max(float((plan * cost).sum()), 0.0))


def _softmin(eps: float, cost: np.ndarray, h: np.ndarray) -> np.ndarray:
    """-eps log sum_j exp(h_j - C_ij / eps) over the columns, stably (rows of ``cost``)."""
    z = h[None, :] - cost / eps
    top = z.max(1)
    return -eps * (top + np.log(np.exp(z - top[:, None]).sum(1)))


def _row_error(cost, eps, log_a, f, log_b, g) -> float:
    """L1 error of the row marginals of P_ij = a_i b_j exp((f_i + g_j - C_ij) / eps)."""
    rows = np.exp(log_a + (f - _softmin(eps, cost, log_b + g / eps)) / eps)
    return float(np.abs(rows - np.exp(log_a)).sum())


def _entropic_ot(x, y, eps: float, max_iter: int, tol: float, symmetric: bool = False) -> float:
    """OT_eps(x, y) = min_P <P, C> + eps KL(P | a x b) for uniform weights a, b: log-domain
    Sinkhorn on the dual potentials (f, g) with eps-scaling (start at the squared diameter,
    halve down to ``eps``, then iterate at ``eps`` until both marginals are within ``tol``
    in L1). Updates are averaged, f <- (f + T_b g) / 2 and g <- (g + T_a f) / 2 at once,
    which does not oscillate as the alternating update does at small eps; ``symmetric``
    (y is x) iterates one potential. The value is <a, f> + <b, g>."""
    cost = _ot().dist(x, y)
    log_a, log_b = np.full(len(x), -math.log(len(x))), np.full(len(y), -math.log(len(y)))
    f, g = np.zeros(len(x)), np.zeros(len(y))
    levels, e = [], max(float(cost.max()), eps)
    while e > eps:
        levels.append(e)
        e *= 0.5
    error = float("nan")
    for k in range(len(levels) * 3 + int(max_iter)):
        e = levels[k // 3] if k < len(levels) * 3 else eps
        if symmetric:
            f = 0.5 * (f + _softmin(e, cost, log_a + f / e))
            g = f
        else:
            f, g = (0.5 * (f + _softmin(e, cost, log_b + g / e)),
                    0.5 * (g + _softmin(e, cost.T, log_a + f / e)))
        if k >= len(levels) * 3:
            error = (_row_error(cost, eps, log_a, f, log_b, g)
                     + _row_error(cost.T, eps, log_b, g, log_a, f))
            if error <= tol:
                return float(np.exp(log_a) @ f + np.exp(log_b) @ g)
    raise RuntimeError(f"Sinkhorn did not converge in max_iter = {max_iter} iterations "
                       f"(marginal error {error:.2e} > tol = {tol}); increase eps or max_iter")


def sinkhorn_divergence(x, y, eps: float, max_iter: int = 5000, tol: float = 1e-6) -> float:
    """Debiased Sinkhorn divergence between the uniform empirical measures of x (n, d) and
    y (m, d), in length^2::

        S_eps(x, y) = OT_eps(x, y) - (OT_eps(x, x) + OT_eps(y, y)) / 2,

    ``OT_eps`` the entropic transport cost with squared Euclidean cost and regulariser ``eps``
    (length^2, absolute) including the entropy term ``eps KL(P | a x b)``. S_eps is symmetric,
    >= 0, 0 for x = y,
    and exactly ``|d|^2`` between a cloud and its translate by d; as eps -> 0 it tends to W2^2,
    as eps -> infinity to the squared distance of the means. Subtracting the self terms removes
    the entropic blur of :func:`sinkhorn_w2`; what remains of the bias relative to W2^2 (of
    order eps^2 for smooth laws) and its plug-in bias at finite n are measured, not assumed:
    see docs/ode_vs_sde.md. Three log-domain Sinkhorn solves with eps-scaling, memory O(n m),
    time O(n m) per iteration.

    Raises ValueError on bad shapes, non-finite points or eps <= 0, RuntimeError if a solve
    leaves a marginal error above ``tol`` (L1) after ``max_iter`` iterations.
    """
    x, y = _pair(x, y)
    if not (isinstance(eps, (int, float, np.floating)) and math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    if int(max_iter) != max_iter or max_iter < 1 or not tol > 0:
        raise ValueError(f"max_iter must be a positive integer and tol > 0, got {max_iter}, {tol}")
    eps = float(eps)
    value = (_entropic_ot(x, y, eps, max_iter, tol)
             - 0.5 * (_entropic_ot(x, x, eps, max_iter, tol, symmetric=True)
                      + _entropic_ot(y, y, eps, max_iter, tol, symmetric=True)))
    return max(value, 0.0)


@dataclass(frozen=True)
class HistogramW2:
    """Squared W2 between two binned clouds (see :func:`histogram_w2sq`).

    Attributes
    ----------
    w2sq : squared W2 (length^2) between the normalised histograms, mass at the bin centres.
    outside_x, outside_y : fraction of each cloud's points outside the box (dropped).
    bins, box : the binning used.
    """

    w2sq: float
    outside_x: float
    outside_y: float
    bins: int
    box: tuple


def _histogram(x, box, bins: int):
    lo, hi = box
    inside = np.all((x >= lo) & (x <= hi), axis=1)
    counts, _, _ = np.histogram2d(x[inside, 0], x[inside, 1], bins=bins, range=[box, box])
    return counts.ravel(), 1.0 - inside.mean()


def histogram_w2sq(x, y, box=(-2.0, 2.0), bins: int = 64,
                   max_outside: float = 0.01) -> HistogramW2:
    """Squared W2 between the ``bins x bins`` histograms of two 2-D clouds x (n, 2), y (m, 2).

    Both clouds are binned on the same square ``box = (lo, hi)`` (length units, both axes);
    each histogram is normalised to mass 1 over the box and its mass is put at the bin centres;
    the value is the exact OT cost (POT ``emd2``, squared Euclidean cost between centres) between
    them. Points outside the box are dropped and their fraction is returned
    (``outside_x``, ``outside_y``); if either exceeds ``max_outside`` a ValueError is raised
    instead, since the value would then describe a truncated law. Empty bins are left out of the
    linear program (exact, and fast: at most ``bins^2`` = 4096 supports).

    Binning moves each point by at most half a bin diagonal, so the value differs from W2^2 of
    the clouds by a discretisation term of order h W2 + h^2 (h = (hi - lo) / bins); between
    two samples of one law it is a plug-in bias like any other, measured in docs/ode_vs_sde.md.
    """
    x, y = _pair(x, y)
    if x.shape[1] != 2:
        raise ValueError(f"histogram_w2sq needs 2-D points, got d = {x.shape[1]}")
    if isinstance(bins, bool) or int(bins) != bins or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    lo, hi = (float(v) for v in box)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"box must be (lo, hi) with finite lo < hi, got {box}")
    if not 0 <= max_outside <= 1:
        raise ValueError(f"max_outside must lie in [0, 1], got {max_outside}")
    (hx, out_x), (hy, out_y) = (_histogram(c, (lo, hi), int(bins)) for c in (x, y))
    for name, out in (("x", out_x), ("y", out_y)):
        if out > max_outside or out == 1.0:
            raise ValueError(f"{out:.3%} of {name} lies outside box {box} (max_outside = "
                             f"{max_outside}); enlarge the box")
    edges = np.linspace(lo, hi, int(bins) + 1)
    mid = 0.5 * (edges[1:] + edges[:-1])
    centres = np.stack(np.meshgrid(mid, mid, indexing="ij"), -1).reshape(-1, 2)
    kx, ky = hx > 0, hy > 0
    cost = _ot().dist(centres[kx], centres[ky])
    value = float(_ot().emd2(hx[kx] / hx.sum(), hy[ky] / hy.sum(), cost, numItermax=10 ** 7))
    return HistogramW2(max(value, 0.0), float(out_x), float(out_y), int(bins), (lo, hi))


def sliced_w2(x, y, n_projections: int = 256, seed=0) -> float:
    """Sliced W2: sqrt(E_theta W2^2(theta . x, theta . y)), theta uniform on the sphere
    (``n_projections`` directions from ``seed``). Exact per direction (1-D quantile coupling)."""
    x, y = _pair(x, y)
    if int(n_projections) != n_projections or n_projections < 1:
        raise ValueError(f"n_projections must be a positive integer, got {n_projections}")
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal((x.shape[1], int(n_projections)))
    theta /= np.linalg.norm(theta, axis=0, keepdims=True)
    px, py = x @ theta, y @ theta
    if len(x) == len(y):    # equal uniform weights: the quantile coupling pairs sorted values
        per_direction = ((np.sort(px, axis=0) - np.sort(py, axis=0)) ** 2).mean(0)
    else:
        per_direction = _ot().wasserstein_1d(px, py, p=2)  # W2^2 per column
    return math.sqrt(float(np.mean(per_direction)))


def _sq_dists(a, b):
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None] - 2 * a @ b.T, 0.0)


def mmd2(x, y, bandwidth=1.0) -> float:
    """Unbiased squared MMD with ``k(a, b) = exp(-|a - b|^2 / (2 bandwidth^2))``; ``bandwidth``
    a number or a sequence of numbers (then k is the sum of those kernels, still
    characteristic; the distances are computed once).

    Needs n, m >= 2; its expectation is 0 iff the laws agree (it can be slightly negative).
    """
    x, y = _pair(x, y)
    widths = np.atleast_1d(np.asarray(bandwidth, dtype=np.float64))
    if widths.ndim != 1 or widths.size == 0 or not np.all(np.isfinite(widths) & (widths > 0)):
        raise ValueError(f"bandwidth must be a finite number > 0 (or a sequence of them), got "
                         f"{bandwidth}")
    n, m = len(x), len(y)
    if n < 2 or m < 2:
        raise ValueError(f"mmd2 needs at least 2 points in each cloud, got {n} and {m}")

    def k(a, b):
        d2 = _sq_dists(a, b)
        return sum(np.exp(-d2 / (2 * w * w)) for w in widths)

    kxx, kyy = k(x, x), k(y, y)
    sxx = (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(sxx + syy - 2 * k(x, y).mean())


def energy_distance(x, y) -> float:
    """Energy distance 2 E|X - Y| - E|X - X'| - E|Y - Y'| (V-statistic: all pairs, so it is
    exactly 0 for identical clouds and >= 0 always); its square root is a metric on laws."""
    x, y = _pair(x, y)
    dist = lambda a, b: np.sqrt(_sq_dists(a, b)).mean()
    return float(max(2 * dist(x, y) - dist(x, x) - dist(y, y), 0.0))


def flow_map_error(y_a, y_b) -> float:
    """||Y_a - Y_b||_{L2(rho)} = ``sqrt(mean_i |Y_a(x_i) - Y_b(x_i)|^2)`` for endpoints of two flow
    maps started from the same points x_i ~ rho (row i of both arrays is the same start)."""
    y_a = check_cloud(y_a, "y_a")
    y_b = check_cloud(y_b, "y_b", y_a.shape[1])
    if len(y_a) != len(y_b):
        raise ValueError(f"y_a and y_b must have the same rows (shared starting points), got "
                         f"{len(y_a)} and {len(y_b)}")
    return math.sqrt(float(((y_a - y_b) ** 2).sum(1).mean()))


def density_l1(rho_a, rho_b, grid) -> float:
    """``int |rho_a - rho_b| dx`` by the midpoint rule; both arrays have shape ``grid.shape``."""
    rho_a, rho_b = np.asarray(rho_a, dtype=np.float64), np.asarray(rho_b, dtype=np.float64)
    for name, rho in (("rho_a", rho_a), ("rho_b", rho_b)):
        if rho.shape != tuple(grid.shape):
            raise ValueError(f"{name} must have the grid's shape {grid.shape}, got {rho.shape}")
        if not np.all(np.isfinite(rho)):
            raise ValueError(f"{name} must be finite")
    return float(grid.integrate(np.abs(rho_a - rho_b)))


def _gaussian(mean, cov, which: str):
    """Validated float64 (d,) mean and symmetric positive semidefinite (d, d) covariance."""
    mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
    cov = np.atleast_2d(np.asarray(cov, dtype=np.float64))
    if mean.ndim != 1:
        raise ValueError(f"mean_{which} must be a vector (d,), got shape {mean.shape}")
    if not np.all(np.isfinite(mean)):
        raise ValueError(f"mean_{which} contains NaN or inf")
    d = len(mean)
    if cov.shape != (d, d):
        raise ValueError(f"cov_{which} must be ({d}, {d}) to match mean_{which}, got {cov.shape}")
    if not np.all(np.isfinite(cov)):
        raise ValueError(f"cov_{which} contains NaN or inf")
    scale = max(float(np.abs(cov).max()), 1e-300)
    if np.abs(cov - cov.T).max() > 1e-10 * scale:
        raise ValueError(f"cov_{which} must be symmetric")
    lowest = float(np.linalg.eigvalsh(cov).min())
    if lowest < -1e-10 * scale:
        raise ValueError(f"cov_{which} must be positive semidefinite, has eigenvalue {lowest:.3g}")
    return mean, cov


def gaussian_w2(mean_a, cov_a, mean_b, cov_b) -> float:
    """W2 between N(mean_a, cov_a) and N(mean_b, cov_b) (Bures):
    ``W2^2 = |m_a - m_b|^2 + tr(A + B - 2 (A^{1/2} B A^{1/2})^{1/2})``.

    Means (d,), covariances (d, d) symmetric positive semidefinite (a scalar is a 1-D variance);
    ValueError naming the argument otherwise (NaN, inf, negative variance, shape).
    """
    mean_a, cov_a = _gaussian(mean_a, cov_a, "a")
    mean_b, cov_b = _gaussian(mean_b, cov_b, "b")
    if mean_b.shape != mean_a.shape:
        raise ValueError(f"mean_b must have the dimension of mean_a ({len(mean_a)}), got "
                         f"{len(mean_b)}")
    root_a = np.real(sqrtm(cov_a))
    cross = np.real(sqrtm(root_a @ cov_b @ root_a))
    w2sq = ((mean_a - mean_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * cross)
    return math.sqrt(max(float(w2sq), 0.0))


@dataclass(frozen=True)
class Memorisation:
    """Nearest-neighbour ratios of generated points (see :func:`memorisation`).

    Attributes
    ----------
    ratios : (n,) distance to the nearest training point / distance to the nearest fresh point.
    median_ratio : median of ``ratios`` (about 1 for a generator that does not copy its training
        set; tends to 0 when it returns training points).
    fraction : share of generated points with ratio < ``threshold`` (counted as copies).
    """

    ratios: np.ndarray
    median_ratio: float
    fraction: float
    threshold: float


def memorisation(generated, training, fresh, threshold: float = 1.0 / 3.0) -> Memorisation:
    """Does a generator return its training set?

    For each generated point, the distance to its nearest point of ``training`` (N, d) is divided
    by the distance to its nearest point of ``fresh`` (M, d), an independent sample of the same
    target that the generator never saw. Use M = N so both sets are equally dense: a generator
    that samples the target afresh then gives ratios around 1, one that copies training points
    gives ratios near 0. ``threshold`` in (0, 1) sets which ratios count as copies (1/3 is the
    usual choice in the memorisation literature).
    """
    generated = check_cloud(generated, "generated")
    training = check_cloud(training, "training", generated.shape[1])
    fresh = check_cloud(fresh, "fresh", generated.shape[1])
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
    d_train = cKDTree(training).query(generated)[0]
    d_fresh = cKDTree(fresh).query(generated)[0]
    if np.any(d_fresh == 0):
        raise ValueError("fresh contains generated points exactly; it must be an independent "
                         "sample of the target")
    ratios = d_train / d_fresh
    return Memorisation(ratios=ratios, median_ratio=float(np.median(ratios)),
                        fraction=float(np.mean(ratios < threshold)), threshold=float(threshold))
