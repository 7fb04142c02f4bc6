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

from ..progress import progress_bar
from .ball_volume import BallVolumeConfig, ball_volume_curvature
from .diffusion_curvature import DiffusionConfig, diffusion_laziness, flat_laziness
from ..geometry.networks import mlp
from .manifolds import (PointCloud, decoder_cloud, ellipsoid, embed, hyperboloid, plane,
                        quadric_graph, sphere, torus)

ESTIMATORS = ("diffusion", "ball_volume")
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
    "torus": torus, "ellipsoid": ellipsoid, "hyperboloid": hyperboloid}


@dataclass
class Estimators:
    """The two estimators at fixed hyper-parameters; caches the flat laziness per (dim, N)."""
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    ball_volume: BallVolumeConfig = field(default_factory=BallVolumeConfig)
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


def surface_study(estimators: Estimators, surfaces: Sequence[str] = tuple(SURFACES),
                  noises: Sequence[float] = NOISES, n_samplings: int = 20, n_points: int = 2000,
                  tau: float = 0.1, seed: int = 0, keep_first: bool = False) -> List[dict]:
    """Rows ``{surface, noise, estimator, pearson, spearman, sign (+ _sd), published}``; with
    ``keep_first`` each row also holds the first sampling's cloud and estimate (for figures)."""
    rows = []
    jobs = [(s, nz) for s in surfaces for nz in noises]
    for name, noise in progress_bar(jobs, desc="surfaces", leave=False):
        per = {w: [] for w in ESTIMATORS}
        first = {}
        for k in range(n_samplings):
            rng = np.random.default_rng([seed, k, int(1000 * noise), len(name)])
            cloud = embed(SURFACES[name](n_points, rng), 3, rng, noise)
            for w in ESTIMATORS:
                est = estimators(w, cloud.points, cloud.dim)
                per[w].append(scores(cloud.scalar, est, tau))
                if k == 0 and keep_first:
                    first[w] = (cloud, est)
        for w in ESTIMATORS:
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
