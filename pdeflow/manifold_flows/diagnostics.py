"""Diagnostics of a learned decoder's metric: G at points, MACS, latent usage, traversals, plots.

* ``metric_at(decoder, z)`` - G = J^T J at latent points (n, d, d);
* ``cosine_matrix(G)`` - C_ij = G_ij / sqrt(G_ii G_jj) (0 where G_ii G_jj = 0, since then
  G_ij = 0 too for a PSD G);
* ``macs(G)`` - mean over points and i != j of |C_ij|, in [0, 1] (the verbal definition);
* ``macs_authors(J)`` - the quantity the CMF authors' analysis code reports as MACS (rows of J
  normalised, signed average over the batch, then |.| averaged with the diagonal included);
* ``latent_usage(G)`` - mean G_kk per latent direction (squared length of the k-th tangent);
* ``spread_usage(G, z)`` - mean G_kk times the latent variance Var(z_k): the ambient variance
  direction k carries (invariant under a per-axis rescaling of the latent space, unlike G_kk);
* ``local_dimension(G, rel_threshold)`` - per point, the number of directions with
  G_kk(z) > rel_threshold * max_k G_kk(z) (which axis is small may change from point to point);
* ``inverse_condition(G)`` - per point lambda_min / lambda_max of G (how degenerate the metric
  is, whatever the basis: near 0 when some direction is squeezed, 1 for a conformal G);
* ``intrinsic_dimension(usage, rel_threshold)`` - number of directions with
  usage_k / max usage > rel_threshold;
* ``traversal_grid(decoder, d, ...)`` - decoded points moving one latent coordinate at a time.
"""
from __future__ import annotations

import numpy as np
import torch

from ..geometry.pullback import decoder_jacobian, pullback_metric


def metric_at(decoder, z: torch.Tensor) -> torch.Tensor:
    """Pullback metric of ``decoder`` at ``z`` (n, d); returns (n, d, d)."""
    return pullback_metric(decoder, z)


def _check_metric(G: torch.Tensor) -> torch.Tensor:
    if not isinstance(G, torch.Tensor) or G.ndim != 3 or G.shape[1] != G.shape[2]:
        raise ValueError(f"G must be a tensor of shape (n, d, d), got {getattr(G, 'shape', G)}")
    if not torch.isfinite(G).all():
        raise ValueError("G must be finite; it contains NaN or inf")
    return G


def cosine_matrix(G: torch.Tensor) -> torch.Tensor:
    """C_ij = G_ij / sqrt(G_ii G_jj) for ``G`` (n, d, d); returns (n, d, d)."""
    diag = _check_metric(G).diagonal(dim1=-2, dim2=-1)
    denom = torch.sqrt(diag[:, :, None] * diag[:, None, :])
    return torch.where(denom > 0, G / torch.where(denom > 0, denom, 1.0), torch.zeros_like(G))


def macs(G: torch.Tensor) -> float:
    """Mean absolute cosine similarity over points and pairs i != j; needs d >= 2."""
    d = _check_metric(G).shape[-1]
    if d < 2:
        raise ValueError(f"macs needs latent dim d >= 2 (pairs i != j), got d={d}")
    c = cosine_matrix(G).abs()
    off = c.sum((-1, -2)) - c.diagonal(dim1=-2, dim2=-1).sum(-1)
    return (off / (d * (d - 1))).mean().item()


def jacobian_at(decoder, z: torch.Tensor) -> torch.Tensor:
    """Decoder Jacobian ``J[n, a, i] = d x_a / d z_i`` at ``z`` (n, d); returns (n, D, d)."""
    return decoder_jacobian(decoder, z)


def macs_authors(J: torch.Tensor, eps: float = 1e-8) -> float:
    """MACS as the CMF authors' analysis code computes it (``cmf/visualizer.py``,
    ``plot_metric_components``), from Jacobians ``J`` (n, D, d); returns a float.

    Steps: every *row* of J (one ambient coordinate a, indexed by the latent i) is divided by
    ``||J[n, a, :]|| + eps``; ``C[n] = R[n]^T R[n]`` (d, d), i.e.
    ``C_ij = sum_a J_ai J_aj / ||J_a||^2``; C is averaged over the batch *with its sign*; the
    result is the mean of ``|mean_n C_ij|`` over all d^2 entries, the diagonal included.

    How it differs from :func:`macs` (mean over points and i != j of
    ``|G_ij| / sqrt(G_ii G_jj)``, the cosine between *columns* of J):

    * it is not a cosine between tangent vectors: orthogonal columns of unequal length give
      off-diagonal entries (J = R(pi/6) diag(1, 2) gives 0.614, :func:`macs` gives 0);
    * the diagonal is included and ``trace C = `` the number of non-zero rows of J, so for a
      full-rank J the diagonal alone contributes ``D / d^2`` (1/3 for d = D = 3, 2/3 for
      d = 3, D = 6), and the value lies in [about D/d^2, D/d], not [0, 1];
    * signed averaging over the batch lets entries of opposite sign at different points cancel;
    * it changes under a rescaling of latent axes (J -> J diag(c)), under a per-point sign flip
      of a latent axis and under an ambient rotation (J -> Q J), all of which leave :func:`macs`
      unchanged; conversely it is unchanged under a rescaling of ambient coordinates
      (``J -> diag(r) J``, ``r_a != 0``), which changes :func:`macs` unless all ``|r_a|`` are equal.

    ``eps`` > 0 is the authors' 1e-8 guard (a zero row gives a zero row of R).
    """
    if not isinstance(J, torch.Tensor) or J.ndim != 3:
        raise ValueError(f"J must be a tensor of shape (n, D, d), got {getattr(J, 'shape', J)}")
    if not torch.isfinite(J).all():
        raise ValueError("J must be finite; it contains NaN or inf")
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    rows = J / (J.norm(dim=2, keepdim=True) + eps)
    c = torch.einsum("nai,naj->nij", rows, rows).mean(0)
    return c.abs().mean().item()


def latent_usage(G: torch.Tensor) -> torch.Tensor:
    """Mean G_kk over points for each latent direction k; returns (d,)."""
    return _check_metric(G).diagonal(dim1=-2, dim2=-1).mean(0)


def spread_usage(G: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Ambient variance carried by each latent direction, u_k = mean_n G_kk(z_n) * Var_n(z_nk).

    ``G`` (n, d, d) is the metric at the latent points ``z`` (n, d); returns (d,). For a linear
    decoder x = A z + b this is ||A e_k||^2 Var(z_k), and for orthogonal columns of A and
    uncorrelated latents sum_k u_k = tr Cov(x). Unlike ``latent_usage`` (raw mean G_kk), it does
    not change when a latent axis is rescaled, z_k -> c z_k (G_kk -> G_kk / c^2), which a flow
    with a learned prior can do at no cost in likelihood.
    """
    G = _check_metric(G)
    if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape != G.shape[:2]:
        raise ValueError(f"z must be a tensor of shape {tuple(G.shape[:2])} (n, d) matching G, "
                         f"got {getattr(z, 'shape', z)}")
    if len(z) < 2:
        raise ValueError(f"spread_usage needs at least 2 points for a variance, got n={len(z)}")
    if not torch.isfinite(z).all():
        raise ValueError("z must be finite; it contains NaN or inf")
    return latent_usage(G) * z.to(G.dtype).var(0)


def local_dimension(G: torch.Tensor, rel_threshold: float = 0.05) -> torch.Tensor:
    """Per point, the number of latent directions with G_kk > rel_threshold * max_k G_kk.

    ``G`` (n, d, d) -> (n,) int64. A direction can be collapsed at every point although a
    different axis collapses at different points (e.g. the normal of a closed surface in a
    3-D latent space cannot be one fixed axis everywhere), which mean usages average away.
    """
    if not 0 < rel_threshold < 1:
        raise ValueError(f"rel_threshold must be in (0, 1), got {rel_threshold!r}")
    diag = _check_metric(G).diagonal(dim1=-2, dim2=-1)
    if (diag < 0).any():
        raise ValueError("G must have a non-negative diagonal (a metric J^T J)")
    return (diag > rel_threshold * diag.max(-1, keepdim=True).values).sum(-1)


def inverse_condition(G: torch.Tensor) -> torch.Tensor:
    """Per point lambda_min(G) / lambda_max(G) for ``G`` (n, d, d); returns (n,) in [0, 1].

    Basis-independent, so it separates a squeezed direction that is *not* a latent axis
    (small ratio, no small G_kk) from a conformal metric (ratio 1).
    """
    ev = torch.linalg.eigvalsh(_check_metric(G))
    if (ev[:, -1] <= 0).any():
        raise ValueError("G must be positive semidefinite and non-zero at every point")
    return ev[:, 0].clamp_min(0.0) / ev[:, -1]


def intrinsic_dimension(usage: torch.Tensor, rel_threshold: float = 0.05) -> int:
    """Number of latent directions with usage_k > rel_threshold * max_k usage_k."""
    if usage.ndim != 1 or not torch.isfinite(usage).all() or (usage < 0).any():
        raise ValueError("usage must be a finite non-negative (d,) tensor")
    if not 0 < rel_threshold < 1:
        raise ValueError(f"rel_threshold must be in (0, 1), got {rel_threshold!r}")
    return int((usage > rel_threshold * usage.max()).sum())


def traversal_grid(decoder, d: int, n_steps: int = 7, span: float = 2.0,
                   dtype=torch.float64) -> torch.Tensor:
    """Decode z = t e_k for t in linspace(-span, span, n_steps), k = 0..d-1 (others at zero).

    Returns (d, n_steps, D).
    """
    if not isinstance(d, int) or d < 1:
        raise ValueError(f"d must be a positive int, got {d!r}")
    if not isinstance(n_steps, int) or n_steps < 2:
        raise ValueError(f"n_steps must be an int >= 2, got {n_steps!r}")
    t = torch.linspace(-span, span, n_steps, dtype=dtype)
    z = torch.zeros(d, n_steps, d, dtype=dtype)
    for k in range(d):
        z[k, :, k] = t
    with torch.no_grad():
        x = decoder(z.reshape(d * n_steps, d))
    return x.reshape(d, n_steps, -1)


# ---------------------------------------------------------------- plots (matplotlib, PNG)

def _fig():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_metric(G: torch.Tensor, path: str, title: str = "mean |G_ij|") -> None:
    """Heat map of the point-averaged ``|G|`` and of ``|C|`` (cosine matrix), saved as PNG."""
    plt = _fig()
    fig, axes = plt.subplots(1, 2, figsize=(7, 3))
    for ax, mat, name in ((axes[0], G.abs().mean(0), title),
                          (axes[1], cosine_matrix(G).abs().mean(0), "mean |C_ij|")):
        im = ax.imshow(mat.detach().numpy(), cmap="viridis")
        ax.set_title(name)
        fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_usage(usages: dict, path: str, ylabel: str = "mean G_kk") -> None:
    """Bar chart of per-latent usage for several methods {name: (d,) tensor}, sorted, log scale."""
    plt = _fig()
    fig, ax = plt.subplots(figsize=(6, 3))
    width = 0.8 / max(len(usages), 1)
    for i, (name, u) in enumerate(usages.items()):
        u = np.sort(u.detach().numpy())[::-1]
        ax.bar(np.arange(len(u)) + i * width, u, width, label=name)
    ax.set_yscale("log")
    n_dirs = max(len(u) for u in usages.values())
    ax.set_xticks(np.arange(n_dirs) + width * (len(usages) - 1) / 2, np.arange(1, n_dirs + 1))
    ax.set_xlabel("latent direction (sorted by usage)")
    ax.set_ylabel(ylabel)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_traversals(grid: torch.Tensor, path: str, data: torch.Tensor | None = None,
                    image_shape: tuple | None = None) -> None:
    """Plot a (d, n_steps, D) traversal grid: as images if ``image_shape`` is given, else as
    curves in the first three ambient coordinates over optional ``data`` points."""
    plt = _fig()
    d, n_steps, _ = grid.shape
    if image_shape is not None:
        fig, axes = plt.subplots(d, n_steps, figsize=(n_steps * 0.8, d * 0.8), squeeze=False)
        lo, hi = grid.min().item(), grid.max().item()  # one grey scale for the whole grid
        for k in range(d):
            for j in range(n_steps):
                axes[k, j].imshow(grid[k, j].reshape(image_shape).numpy(), cmap="gray",
                                  vmin=lo, vmax=hi)
                axes[k, j].axis("off")
    else:
        fig = plt.figure(figsize=(4, 4))
        ax = fig.add_subplot(projection="3d")
        if data is not None:
            ax.scatter(*data[:, :3].T.numpy(), s=1, alpha=0.2, color="gray")
        for k in range(d):
            ax.plot(*grid[k, :, :3].T.numpy(), marker="o", ms=2, label=f"z_{k}")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
