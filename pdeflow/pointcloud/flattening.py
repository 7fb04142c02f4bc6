"""Radial flattening autoencoder and its exact answer, the Riemannian log map at the centre.

The autoencoder (encoder ``phi: R^D -> R^n``, decoder ``R^n -> R^D``, :func:`pdeflow.geometry.mlp`)
is trained on a geodesic ball around a centre point ``x_0`` with the loss

``w_rec MSE(dec(phi(x)), x) + w_radial mean_y (||phi(y) - phi(x_0)|| - d_M(x_0, y))^2
+ w_affinity KL(Q || P) [+ w_uniform MMD(phi(x), uniform ball)]``

with ``P, Q`` the row-softmax Gaussian affinities ``exp(-|a_i - a_j|^2 / sigma^2)`` of the data
and of the embedding. The radial term compares each point's embedded distance *to the centre*
with its manifold distance to the centre. The reference code
(``professorwug/diffusion-curvature``, ``radial_ae.py``) instead forms ``torch.cdist(z, z[None,])``,
all pairwise embedded distances, and regresses that (N, N) matrix against the length-N vector of
distances to the centre, broadcast along rows: it asks ``||phi(y_i) - phi(y_j)|| = d_M(x_0, y_j)``
for every ``i``, which no embedding satisfies (it is zero on the diagonal) and which pulls every
point towards the centre's role. Only row ``i = 0`` of that matrix is the intended target.

The ideal radial flattening is the log map ``exp_{x_0}^{-1}`` (normal coordinates): it is exactly
radial, but it stretches tangential lengths at radius ``r`` by ``r / sin_K(r) = 1 + K r^2 / 6 + ...``
(K the sectional curvature), so a loss that claims zero distortion on curved data is a bug. Exact
data: a spherical cap (closed-form log map) and a torus patch (points ``exp_{x_0}(w)`` shot by the
geodesic ODE with pdeflow's Christoffel symbols, so ``log_{x_0}`` of each point is its ``w``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from scipy.linalg import orthogonal_procrustes
from sklearn.neighbors import NearestNeighbors

from torch.func import vmap

from ..geometry.curvature import _christoffel_pointwise
from ..geometry.datasets import _rng as rng_from_seed
from ..geometry.pullback import pointwise_metric, pullback_metric
from ..geometry.networks import mlp
from .manifolds import torus_map


@dataclass
class Patch:
    """A geodesic ball around ``points[0]`` with its exact normal coordinates.

    points: (N, D) ambient, row 0 the centre; log: (N, n) exact ``log_{x_0}`` (row 0 zero);
    radius: (N,) ``d_M(x_0, y) = |log|``; curvature: sectional curvature K at the centre;
    pair_distance: callable ``(i, j) -> d_M`` for index arrays, exact where known, else None.
    """
    points: np.ndarray
    log: np.ndarray
    radius: np.ndarray
    curvature: float
    pair_distance: Optional[object]


def sphere_cap(n: int, seed, cap_radius: float = 0.8, sphere_radius: float = 1.0) -> Patch:
    """Cap of geodesic radius ``cap_radius`` on the 2-sphere, uniform in area (Archimedes:
    height uniform), centre the north pole first. Closed-form log map and pair distances."""
    if not 0 < cap_radius < np.pi * sphere_radius:
        raise ValueError(f"cap_radius must be in (0, pi * sphere_radius), got {cap_radius}")
    rng = rng_from_seed(seed)
    a = sphere_radius
    h = rng.uniform(np.cos(cap_radius / a), 1.0, n - 1)
    phi = rng.uniform(0, 2 * np.pi, n - 1)
    theta = np.concatenate([[0.0], np.arccos(h)])
    phi = np.concatenate([[0.0], phi])
    x = a * np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], 1)
    log = a * theta[:, None] * np.stack([np.cos(phi), np.sin(phi)], 1)

    def pair_distance(i, j):
        c = np.clip((x[i] * x[j]).sum(-1) / a ** 2, -1.0, 1.0)
        return a * np.arccos(c)
    return Patch(x, log, a * theta, 1.0 / a ** 2, pair_distance)


def _geodesic_shoot(chart_map, z0: torch.Tensor, v0: torch.Tensor, steps: int) -> torch.Tensor:
    """RK4 for ``z'' = -Gamma(z)[z', z']`` on ``t in [0, 1]``; z0, v0 (m, d) -> z(1) (m, d)."""
    christoffel = vmap(_christoffel_pointwise(pointwise_metric(chart_map)))

    def rhs(z, v):
        gam = christoffel(z)[0]
        return v, -torch.einsum("kcab,ka,kb->kc", gam, v, v)

    z, v, dt = z0.clone(), v0.clone(), 1.0 / steps
    for _ in range(steps):
        k1 = rhs(z, v)
        k2 = rhs(z + 0.5 * dt * k1[0], v + 0.5 * dt * k1[1])
        k3 = rhs(z + 0.5 * dt * k2[0], v + 0.5 * dt * k2[1])
        k4 = rhs(z + dt * k3[0], v + dt * k3[1])
        z = z + dt / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        v = v + dt / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
    return z


def torus_patch(n: int, seed, patch_radius: float = 0.5, centre_v: float = 0.0,
                major: float = 2.0, minor: float = 1.0, steps: int = 32) -> Patch:
    """Points ``exp_{x_0}(w)`` on the torus for ``w`` uniform in the tangent disc of
    ``patch_radius`` (uniform in normal coordinates, not in area), centre at ``(u, v) =
    (0, centre_v)`` first. ``K = cos v / (b (a + b cos v))`` at the centre; pair distances are not
    known in closed form (None)."""
    rng = rng_from_seed(seed)
    f = torus_map(major, minor)
    rad = patch_radius * np.sqrt(rng.uniform(0, 1, n - 1))
    ang = rng.uniform(0, 2 * np.pi, n - 1)
    w = np.concatenate([[[0.0, 0.0]], np.stack([rad * np.cos(ang), rad * np.sin(ang)], 1)])
    z0 = torch.tensor([[0.0, centre_v]], dtype=torch.float64)
    g = pullback_metric(f, z0)[0]
    frame = torch.diag(1.0 / torch.sqrt(torch.diagonal(g)))    # g is diagonal in (u, v)
    wt = torch.as_tensor(w)
    z1 = _geodesic_shoot(f, z0.expand(n, 2), wt @ frame.T, steps)
    with torch.no_grad():
        x = f(z1).numpy()
    c = np.cos(centre_v)
    return Patch(x, w, np.linalg.norm(w, axis=1), c / (minor * (major + minor * c)), None)


# ----------------------------------------------------------------------- the autoencoder

@dataclass(frozen=True)
class FlatteningConfig:
    """Loss weights and training (defaults: the reference's weights 1 and lr 1e-3, sigma from
    the data: the median nearest-neighbour distance times 3; hidden width 64, 2000 full-batch
    Adam steps)."""
    w_rec: float = 1.0
    w_radial: float = 1.0
    w_affinity: float = 1.0
    w_uniform: float = 0.0
    sigma: Optional[float] = None
    hidden: int = 64
    steps: int = 2000
    lr: float = 1e-3
    seed: int = 0


def affinity_kl(x: torch.Tensor, z: torch.Tensor, sigma: float) -> torch.Tensor:
    """``KL(Q || P)`` averaged over rows, P and Q the row-softmax Gaussian affinities of x and z
    (self excluded)."""
    eye = torch.eye(len(x), dtype=torch.bool)
    big = 1e30          # finite, not -inf: 0 * (-inf + inf) would poison the gradient
    lp = torch.log_softmax((-torch.cdist(x, x) ** 2 / sigma ** 2).masked_fill(eye, -big), 1)
    lq = torch.log_softmax((-torch.cdist(z, z) ** 2 / sigma ** 2).masked_fill(eye, -big), 1)
    q = lq.exp()
    return (q * (lq - lp)).masked_fill(eye, 0.0).sum(1).mean()


def mmd_to_uniform_ball(z: torch.Tensor, radius: float, gen: torch.Generator,
                        bandwidth: float) -> torch.Tensor:
    """Gaussian-kernel MMD^2 between ``z`` (N, n) and as many uniform points of the n-ball of
    ``radius``. (A uniform-volume sample is not uniform in normal coordinates when K != 0.)"""
    m, n = z.shape
    u = torch.randn(m, n, generator=gen, dtype=z.dtype)
    u = u / u.norm(dim=1, keepdim=True) * radius * torch.rand(m, 1, generator=gen,
                                                              dtype=z.dtype) ** (1 / n)
    k = lambda a, b: torch.exp(-torch.cdist(a, b) ** 2 / (2 * bandwidth ** 2)).mean()
    return k(z, z) + k(u, u) - 2 * k(z, u)


def radial_loss(z: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    """Centre-only radial loss ``mean (||z_i - z_0|| - d_M(x_0, y_i))^2``, row 0 the centre."""
    return ((z - z[:1]).norm(dim=1) - radius).pow(2).mean()


def train_flattening(patch: Patch, config: FlatteningConfig = FlatteningConfig()):
    """Train the radial flattening autoencoder on ``patch``; returns ``(embedding (N, n) numpy,
    history dict of per-step losses)``."""
    x = torch.as_tensor(patch.points, dtype=torch.float64)
    r = torch.as_tensor(patch.radius, dtype=torch.float64)
    d_in, d_lat = x.shape[1], patch.log.shape[1]
    enc = mlp([d_in, config.hidden, config.hidden, d_lat], "softplus", config.seed,
              dtype=torch.float64)
    dec = mlp([d_lat, config.hidden, config.hidden, d_in], "softplus", config.seed + 1,
              dtype=torch.float64)
    if config.sigma is None:
        nn_d = NearestNeighbors(n_neighbors=1).fit(patch.points).kneighbors()[0]
        sigma = 3.0 * float(np.median(nn_d))
    else:
        sigma = float(config.sigma)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=config.lr)
    gen = torch.Generator().manual_seed(config.seed)
    hist = {k: [] for k in ("rec", "radial", "affinity", "uniform")}
    for _ in range(config.steps):
        z = enc(x)
        terms = {"rec": (dec(z) - x).pow(2).mean(), "radial": radial_loss(z, r),
                 "affinity": affinity_kl(x, z, sigma) if config.w_affinity else z.new_zeros(()),
                 "uniform": (mmd_to_uniform_ball(z - z[:1], float(r.max()), gen, sigma)
                             if config.w_uniform else z.new_zeros(()))}
        loss = (config.w_rec * terms["rec"] + config.w_radial * terms["radial"]
                + config.w_affinity * terms["affinity"] + config.w_uniform * terms["uniform"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        for k, v in terms.items():
            hist[k].append(float(v.detach()))
    with torch.no_grad():
        return enc(x).numpy(), hist


# ----------------------------------------------------------------------- error analysis

def tangential_pairs(patch: Patch, k: int = 6, max_radial_share: float = 0.3):
    """Index pairs ``(i, j)`` of near neighbours whose separation is mostly tangential
    (``|r_i - r_j| <= max_radial_share * |y_i - y_j|``), centre excluded."""
    idx = NearestNeighbors(n_neighbors=k + 1).fit(patch.points).kneighbors()[1][1:, 1:]
    i = np.repeat(np.arange(1, len(patch.points)), k)
    j = idx.ravel()
    chord = np.linalg.norm(patch.points[i] - patch.points[j], axis=1)
    keep = (j != 0) & (np.abs(patch.radius[i] - patch.radius[j]) <= max_radial_share * chord)
    return i[keep], j[keep]


def flattening_errors(patch: Patch, embedding: np.ndarray, n_bins: int = 5) -> dict:
    """Errors of an embedding ``(N, n)`` (row 0 the centre) against the exact log map.

    Returns a dict: ``radial_rmse`` and ``radial_max`` of ``||phi(y) - phi(x_0)|| - d_M``;
    ``log_rmse`` after the best orthogonal alignment of ``phi - phi(x_0)`` to the log map;
    per radius bin (``bin_radius``): ``tangential_stretch`` (median of ``||phi_i - phi_j|| / d_M
    - 1`` over tangential near-neighbour pairs), the same for the exact log map
    (``log_stretch``) and the prediction ``K r^2 / 6`` (``predicted``). ``d_M`` of a close pair is
    the exact arc where known, else the chord (relative error ~ ``(kappa d)^2 / 24``).
    """
    e = embedding - embedding[:1]
    rad_err = np.linalg.norm(e, axis=1) - patch.radius
    q, _ = orthogonal_procrustes(e, patch.log)
    i, j = tangential_pairs(patch)
    if patch.pair_distance is not None:
        dm = patch.pair_distance(i, j)
    else:
        dm = np.linalg.norm(patch.points[i] - patch.points[j], axis=1)
    r_mid = 0.5 * (patch.radius[i] + patch.radius[j])
    edges = np.linspace(0, patch.radius.max(), n_bins + 1)
    which = np.clip(np.digitize(r_mid, edges) - 1, 0, n_bins - 1)
    stretch = np.linalg.norm(e[i] - e[j], axis=1) / dm - 1
    log_stretch = np.linalg.norm(patch.log[i] - patch.log[j], axis=1) / dm - 1
    med = lambda v: np.array([np.median(v[which == b]) if np.any(which == b) else np.nan
                              for b in range(n_bins)])
    centres = np.array([np.mean(r_mid[which == b]) if np.any(which == b) else np.nan
                        for b in range(n_bins)])
    return {"radial_rmse": float(np.sqrt(np.mean(rad_err[1:] ** 2))),
            "radial_max": float(np.abs(rad_err[1:]).max()),
            "log_rmse": float(np.sqrt(np.mean(((e @ q) - patch.log) ** 2))),
            "bin_radius": centres, "tangential_stretch": med(stretch),
            "log_stretch": med(log_stretch), "predicted": patch.curvature * centres ** 2 / 6}
