"""The validation table: point-cloud curvature estimators against the exact scalar curvature.

Three studies, each repeated over ``n_samplings`` independent clouds (seeded):

``surface_study``
    torus, ellipsoid, hyperboloid (2000 points, uniform in area) under ambient Gaussian noise;
    per-point Pearson and Spearman correlation with the exact R and the sign accuracy over points
    with ``|R| > tau``; the published numbers (:data:`PUBLISHED`) beside them.
``sign_study``
    saddles (quadric graphs with alternating signs), planes (uniform cubes) and unit spheres
    ``S^n`` in intrinsic dimension 2-6; one estimate per cloud at the sample point nearest the
    chart centre (the reference's protocol estimates at one point per cloud), scored by the sign
    of the exact R there (planes, ``R = 0``, are reported but cannot be scored); per-point
    correlation on the saddles.
``ambient_study``
    the torus rotated into ``R^D`` with noise: the dependence on the ambient dimension.
``decoder_study``
    images of random decoders ``z -> (z, 0) + mlp(z)`` over ``[-1, 1]^2`` (a new decoder per
    sampling) with the exact R from pdeflow's autograd curvature: surfaces no anchor has.

Estimates are the signed diffusion curvature (laziness minus the flat laziness of the same
dimension and size, :mod:`.diffusion_curvature`) and the Hickok-Blumberg ball-volume scalar
curvature (:mod:`.ball_volume`), both at their documented defaults.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Sequence

import numpy as np
import torch
from scipy.stats import pearsonr, spearmanr

from ..geometry.networks import mlp
from ..progress import progress_bar
from ._checks import check_cloud
from .ball_volume import BallVolumeConfig, ball_volume_curvature
from .diffusion_curvature import DiffusionConfig, diffusion_laziness, flat_laziness
from .manifolds import (PointCloud, catenoid, catenoid_map, decoder_cloud, ellipsoid,
                        ellipsoid_map, embed, flat_cylinder, flat_torus, hyperboloid,
                        hyperboloid_map, hyperboloid_meridian, plane, quadric_graph, sphere,
                        surface_area, torus)
from .quadric import QuadricConfig, quadric_curvature

ESTIMATORS = ("diffusion", "ball_volume", "quadric")
#: neighbours whose median distance is the interior margin: a point is *interior* when its
#: geodesic distance to the boundary exceeds the median distance to the 100th neighbour (the
#: diffusion kernel's bandwidth, ``DiffusionConfig.k_bandwidth``); closed surfaces are all interior
INTERIOR_NEIGHBOURS = 100
NOISES = (0.0, 0.05, 0.10, 0.15, 0.20, 0.25)

#: Published Pearson r with the exact curvature (2000 points), noise 0, .05, ..., .25
#: (``professorwug/diffusion-curvature``, paper/nbs/2-Toy-Manifolds-Benchmark), and the sign
#: scores of the sadspheres test (paper/nbs/5-sign-prediction-tests); see REFERENCES.md 2.2.
PUBLISHED = {
    ("diffusion", "torus"): (0.979, 0.978, 0.978, 0.972, 0.959, 0.937),
    ("diffusion", "ellipsoid"): (0.606, 0.626, 0.638, 0.640, 0.634, 0.621),
    ("diffusion", "hyperboloid"): (0.471, 0.501, 0.475, 0.422, 0.350, 0.297),
    ("ball_volume", "torus"): (0.987, 0.978, 0.950, 0.910, 0.861, 0.811),
    ("ball_volume", "ellipsoid"): (0.734, 0.745, 0.704, 0.623, 0.544, 0.479),
    ("ball_volume", "hyperboloid"): (0.651, 0.650, 0.644, 0.634, 0.622, 0.614),
    ("diffusion", "sign"): 0.945,
    ("ball_volume", "sign"): 0.600,
}

SURFACES: Dict[str, Callable[..., PointCloud]] = {
    "torus": torus, "ellipsoid": ellipsoid, "hyperboloid": hyperboloid, "catenoid": catenoid}


def _revolution_twin(length: float, area: float):
    return lambda n, seed: flat_cylinder(n, seed, area / (2 * np.pi * length), length)


def _twins() -> Dict[str, Callable[..., PointCloud]]:
    """Flat twins (R = 0) of :data:`SURFACES` with the same area (so the same sampling density
    at the same N) and the same boundary: cylinders of the same meridian length for the
    surfaces of revolution with two rims, flat tori in R^4 for the closed surfaces (the torus:
    sides 2 pi a x 2 pi b; the ellipsoid, which no flat closed surface matches in topology: a
    square flat torus of its area)."""
    ell = np.sqrt(surface_area(ellipsoid_map(3.0, 2.0, 1.0), [0, 0], [np.pi, 2 * np.pi]))
    hyp_len = 2 * float(hyperboloid_meridian(np.array([2.0]), 1.0, 1.0)[0])
    hyp_area = surface_area(hyperboloid_map(1.0, 1.0), [-2, 0], [2, 2 * np.pi])
    cat_area = surface_area(catenoid_map(1.0), [-1.5, 0], [1.5, 2 * np.pi])
    return {"torus": lambda n, seed: flat_torus(n, seed, 4 * np.pi, 2 * np.pi),
            "ellipsoid": lambda n, seed: flat_torus(n, seed, ell, ell),
            "hyperboloid": _revolution_twin(hyp_len, hyp_area),
            "catenoid": _revolution_twin(2 * np.sinh(1.5), cat_area)}


@dataclass
class Estimators:
    """The estimators at fixed hyper-parameters; caches the flat laziness per (dim, N)."""
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    ball_volume: BallVolumeConfig = field(default_factory=BallVolumeConfig)
    quadric: QuadricConfig = field(default_factory=QuadricConfig)
    flat_trials: int = 3
    seed: int = 0
    _flat: dict = field(default_factory=dict)

    def flat(self, dim: int, n_points: int) -> float:
        """Flat laziness of ``dim`` dimensions and ``n_points`` points (cached)."""
        key = (dim, n_points)
        if key not in self._flat:
            self._flat[key] = flat_laziness(dim, n_points, self.seed + 1000 * dim,
                                            self.diffusion, self.flat_trials)
        return self._flat[key]

    def __call__(self, which: str, points: np.ndarray, dim: int) -> np.ndarray:
        """Per-point estimate (N,) of ``which`` in :data:`ESTIMATORS`."""
        if which == "diffusion":
            return diffusion_laziness(points, self.diffusion) - self.flat(dim, len(points))
        if which == "ball_volume":
            return ball_volume_curvature(points, dim, self.ball_volume)
        if which == "quadric":
            return quadric_curvature(points, dim, self.quadric)
        raise ValueError(f"which must be one of {ESTIMATORS}, got {which!r}")


def scores(exact: np.ndarray, estimate: np.ndarray, tau: float) -> dict:
    """Pearson, Spearman (NaN when R is constant) and the sign accuracy over ``|R| > tau``."""
    varies = np.ptp(exact) > 0
    strong = np.abs(exact) > tau
    return {"pearson": pearsonr(estimate, exact)[0] if varies else np.nan,
            "spearman": spearmanr(estimate, exact)[0] if varies else np.nan,
            "sign": (float(np.mean(np.sign(estimate[strong]) == np.sign(exact[strong])))
                     if strong.any() else np.nan)}


def _summarise(values: List[dict]) -> dict:
    out = {}
    for key in values[0]:
        v = np.array([d[key] for d in values], dtype=float)
        out[key] = float(np.nanmean(v)) if np.isfinite(v).any() else np.nan
        out[key + "_sd"] = float(np.nanstd(v)) if np.isfinite(v).any() else np.nan
    return out


def interior_mask(points: np.ndarray, boundary, k: int = INTERIOR_NEIGHBOURS) -> np.ndarray:
    """Interior points (N,) bool: geodesic distance to the boundary above the median distance
    to the ``k``-th neighbour; all True when ``boundary`` is None (a closed surface)."""
    if boundary is None:
        return np.ones(len(points), dtype=bool)
    k = min(int(k), len(points) - 1)
    from sklearn.neighbors import NearestNeighbors
    dist = NearestNeighbors(n_neighbors=k).fit(points).kneighbors()[0][:, -1]
    return np.asarray(boundary) > np.median(dist)


def boundary_predictor(twin_estimate, twin_boundary, boundary, bins: int = 20) -> np.ndarray:
    """The flat twin's estimate as a function of boundary distance alone (means over ``bins``
    quantile bins of ``twin_boundary``, linearly interpolated), read at ``boundary``: what the
    estimator would report on this surface if it saw only the distance to the boundary."""
    order = np.argsort(twin_boundary)
    groups = np.array_split(order, bins)
    centre = np.array([np.mean(np.asarray(twin_boundary)[g]) for g in groups])
    value = np.array([np.mean(np.asarray(twin_estimate)[g]) for g in groups])
    return np.interp(boundary, centre, value)


def cloud_scores(estimate, exact=None, *, boundary=None, points=None, twin=None,
                 twin_estimate=None, tau: float = 0.1) -> dict:
    """Scores of one estimate (N,) of one cloud, each beside its scale.

    ``pearson``, ``spearman``, ``sign`` (over abs(R) > tau) against ``exact`` (N,) when given;
    ``sign_interior`` the same on interior points (:func:`interior_mask` of ``points`` and
    ``boundary``); with a flat twin (``twin`` a PointCloud, R = 0, ``twin_estimate`` on it):
    ``twin_mean``, ``twin_sd`` (the estimator's reading of R = 0), ``twin_negative`` (share of
    interior twin points read negative); with a boundary as well: ``r_boundary`` (Pearson of
    the boundary-only predictor :func:`boundary_predictor` with R) and ``r_beyond`` =
    ``pearson - r_boundary``, the correlation beyond what a flat surface with the same boundary
    gives (on a closed surface ``r_beyond = pearson``). A partial correlation given the
    predictor is not used: on surfaces of revolution R itself is a function of the boundary
    distance, so it is undefined (0 / 0) exactly where the confound is worst."""
    est = np.asarray(estimate, dtype=np.float64)
    nan = float("nan")
    out = {"pearson": nan, "spearman": nan, "sign": nan, "sign_interior": nan,
           "r_boundary": nan, "r_beyond": nan, "twin_mean": nan, "twin_sd": nan,
           "twin_negative": nan, "interior": nan}
    inner = (interior_mask(points, boundary) if points is not None
             else np.ones(len(est), dtype=bool))
    out["interior"] = float(inner.mean())
    if exact is not None:
        R = np.asarray(exact, dtype=np.float64)
        out.update(scores(R, est, tau))
        strong = inner & (np.abs(R) > tau)
        if strong.any():
            out["sign_interior"] = float(np.mean(np.sign(est[strong]) == np.sign(R[strong])))
    if twin is not None and twin_estimate is not None:
        t_est = np.asarray(twin_estimate, dtype=np.float64)
        t_inner = interior_mask(twin.points, twin.boundary)
        out.update(twin_mean=float(t_est.mean()), twin_sd=float(t_est.std()),
                   twin_negative=float(np.mean(t_est[t_inner] < 0)))
        if exact is not None and boundary is not None and twin.boundary is not None \
                and np.ptp(exact) > 0:
            pred = boundary_predictor(t_est, twin.boundary, boundary)
            out["r_boundary"] = float(pearsonr(pred, exact)[0]) if np.ptp(pred) > 0 else 0.0
            out["r_beyond"] = out["pearson"] - out["r_boundary"]
        elif exact is not None:
            out["r_beyond"] = out["pearson"]
    return out


def evaluate_cloud(points, dim: int, exact=None, *, boundary=None, twin=None,
                   estimators: "Estimators | None" = None, which: Sequence[str] = ESTIMATORS,
                   tau: float = 0.1) -> tuple[List[dict], dict]:
    """Run the estimators ``which`` on a point cloud (N, D) of intrinsic dimension ``dim`` (and
    on its flat twin, a PointCloud with R = 0, when given); rows ``{estimator, seconds,
    **cloud_scores}`` and the estimates ``{estimator: (N,)}``. ``exact``: optional exact scalar
    curvature (N,); ``boundary``: optional geodesic distance to the boundary (N,)."""
    import time
    x = check_cloud(points, dim)
    n = len(x)
    for name, value in (("exact", exact), ("boundary", boundary)):
        if value is not None:
            value = np.asarray(value, dtype=np.float64)
            if value.shape != (n,) or not np.isfinite(value).all():
                raise ValueError(f"{name} must be a finite ({n},) array, got shape {value.shape}")
    if boundary is not None and np.min(boundary) < 0:
        raise ValueError("boundary must be >= 0 (distances to the boundary)")
    if twin is not None:
        check_cloud(twin.points, dim)
    unknown = [w for w in which if w not in ESTIMATORS]
    if unknown or not which:
        raise ValueError(f"which must name estimators from {ESTIMATORS}, got {list(which)}")
    estimators = Estimators() if estimators is None else estimators
    rows, estimates = [], {}
    for w in which:
        start = time.perf_counter()
        est = estimators(w, x, dim)
        seconds = time.perf_counter() - start
        t_est = estimators(w, twin.points, dim) if twin is not None else None
        estimates[w] = est
        rows.append({"estimator": w, "seconds": seconds,
                     **cloud_scores(est, exact, boundary=boundary, points=x, twin=twin,
                                    twin_estimate=t_est, tau=tau)})
    return rows, estimates


def surface_study(estimators: Estimators, surfaces: Sequence[str] = tuple(SURFACES),
                  noises: Sequence[float] = NOISES, n_samplings: int = 20, n_points: int = 2000,
                  tau: float = 0.1, seed: int = 0, keep_first: bool = False,
                  which: Sequence[str] = ESTIMATORS) -> List[dict]:
    """Rows ``{surface, noise, estimator, pearson, spearman, sign, sign_interior, r_boundary,
    r_beyond, twin_mean, twin_sd, twin_negative (+ _sd), published}``: each sampling draws the
    surface and its flat twin (``_twins()``, the same N and noise); with ``keep_first`` each
    row also holds the first sampling's cloud and estimate (for figures)."""
    rows = []
    twins = _twins()
    jobs = [(s, nz) for s in surfaces for nz in noises]
    for name, noise in progress_bar(jobs, desc="surfaces", leave=False):
        per = {w: [] for w in which}
        first = {}
        for k in range(n_samplings):
            rng = np.random.default_rng([seed, k, int(1000 * noise), len(name)])
            base = SURFACES[name](n_points, rng)
            cloud = embed(base, 3, rng, noise)
            flat = twins[name](n_points, rng)
            flat = embed(flat, flat.points.shape[1], rng, noise)
            results, estimates = evaluate_cloud(cloud.points, cloud.dim, cloud.scalar,
                                                boundary=cloud.boundary, twin=flat,
                                                estimators=estimators, which=which, tau=tau)
            for w, r in zip(which, results):
                per[w].append({key: v for key, v in r.items() if key != "estimator"})
                if k == 0 and keep_first:
                    first[w] = (cloud, estimates[w])
        for w in which:
            pub = PUBLISHED.get((w, name))
            i = NOISES.index(noise) if pub is not None and noise in NOISES else None
            row = {"surface": name, "noise": noise, "estimator": w, **_summarise(per[w]),
                   "published": pub[i] if i is not None else np.nan, "n": n_samplings}
            if keep_first:
                row["first"] = first[w]
            rows.append(row)
    return rows


def _sign_clouds(dim: int, n_points: int, rng) -> Dict[str, PointCloud]:
    coeffs = [(-1.0) ** i for i in range(dim)]
    return {"saddle": quadric_graph(n_points, rng, coeffs),
            "plane": plane(n_points, rng, dim, side=2.0),
            "sphere": sphere(n_points, rng, dim)}


def _centre_index(cloud: PointCloud) -> int:
    if cloud.chart is None:
        return 0                                      # the sphere is homogeneous
    centre = 0.5 * (cloud.chart.min(0) + cloud.chart.max(0))
    return int(np.argmin(np.linalg.norm(cloud.chart - centre, axis=1)))


def sign_study(estimators: Estimators, dims: Sequence[int] = (2, 3, 4, 5, 6),
               n_samplings: int = 20, n_points: int = 2000, tau: float = 0.1,
               seed: int = 0) -> List[dict]:
    """Per-cloud sign test at the centre point; rows ``{dim, estimator, sign_saddle,
    sign_sphere, sign (both), plane_value, sphere_value, saddle_value, saddle_pearson}``."""
    rows = []
    for dim in progress_bar(dims, desc="sign test", leave=False):
        per = {w: {"hits": [], "plane": [], "sphere": [], "saddle": [], "pearson": [],
                   "hit_saddle": [], "hit_sphere": []} for w in ESTIMATORS}
        for k in range(n_samplings):
            rng = np.random.default_rng([seed, k, dim, 7])
            for kind, cloud in _sign_clouds(dim, n_points, rng).items():
                i0 = _centre_index(cloud)
                for w in ESTIMATORS:
                    est = estimators(w, cloud.points, cloud.dim)
                    per[w][kind].append(est[i0])
                    if abs(cloud.scalar[i0]) > tau:
                        hit = float(np.sign(est[i0]) == np.sign(cloud.scalar[i0]))
                        per[w]["hits"].append(hit)
                        per[w]["hit_" + kind].append(hit)
                    if kind == "saddle":
                        per[w]["pearson"].append(pearsonr(est, cloud.scalar)[0])
        for w in ESTIMATORS:
            p = per[w]
            rows.append({"dim": dim, "estimator": w, "sign": float(np.mean(p["hits"])),
                         "sign_saddle": float(np.mean(p["hit_saddle"])),
                         "sign_sphere": float(np.mean(p["hit_sphere"])),
                         "plane_value": float(np.mean(p["plane"])),
                         "plane_sd": float(np.std(p["plane"])),
                         "sphere_value": float(np.mean(p["sphere"])),
                         "saddle_value": float(np.mean(p["saddle"])),
                         "saddle_pearson": float(np.mean(p["pearson"])), "n": n_samplings})
    return rows


def ambient_study(estimators: Estimators, ambient_dims: Sequence[int] = (3, 10, 100),
                  noise: float = 0.1, n_samplings: int = 20, n_points: int = 2000,
                  tau: float = 0.1, seed: int = 0) -> List[dict]:
    """Torus rotated into ``R^D`` with isotropic noise ``noise`` in all D coordinates."""
    rows = []
    for amb in progress_bar(ambient_dims, desc="ambient", leave=False):
        per = {w: [] for w in ESTIMATORS}
        for k in range(n_samplings):
            rng = np.random.default_rng([seed, k, amb, 11])
            cloud = embed(torus(n_points, rng), amb, rng, noise)
            for w in ESTIMATORS:
                per[w].append(scores(cloud.scalar, estimators(w, cloud.points, 2), tau))
        for w in ESTIMATORS:
            rows.append({"ambient_dim": amb, "noise": noise, "estimator": w,
                         **_summarise(per[w]), "n": n_samplings})
    return rows


def random_decoder(seed: int, gain: float = 1.5, hidden: int = 16):
    """``z (m, 2) -> (z, 0) + mlp(z)`` in R^3: a random smooth sheet (seeded tanh MLP)."""
    net = mlp([2, hidden, 3], activation="tanh", seed=seed, gain=gain, dtype=torch.float64)

    def decoder(z: torch.Tensor) -> torch.Tensor:
        return torch.cat([z, torch.zeros_like(z[:, :1])], 1) + net(z)
    return decoder


def decoder_study(estimators: Estimators, n_samplings: int = 20, n_points: int = 2000,
                  tau: float = 0.1, seed: int = 0, gain: float = 1.5) -> List[dict]:
    """Random decoder surfaces (one per sampling), exact R by autograd; rows per estimator."""
    per = {w: [] for w in ESTIMATORS}
    for k in progress_bar(range(n_samplings), desc="decoders", leave=False):
        cloud = decoder_cloud(random_decoder(seed + k, gain), [-1, -1], [1, 1], n_points,
                              np.random.default_rng([seed, k, 13]), f"decoder {seed + k}")
        for w in ESTIMATORS:
            per[w].append(scores(cloud.scalar, estimators(w, cloud.points, 2), tau))
    return [{"surface": "random decoder", "gain": gain, "estimator": w, **_summarise(per[w]),
             "n": n_samplings} for w in ESTIMATORS]
