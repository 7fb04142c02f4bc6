"""log det G for the pullback metric G = J^T J of a decoder, exact and stochastic.

* :func:`logdet_exact` - Cholesky of the (n, d, d) batch G with a guarded jitter: if a
  factorisation fails, ``jitter * mean(diag G)`` is added and multiplied by 10 up to
  ``max_tries`` times; beyond that a ValueError is raised (never silently clipped).
* :func:`logdet_surrogate` - matrix-free, gradient-unbiased surrogate for large d
  (rectangular flows, Caterini et al. 2021): with Hutchinson probes e ~ N(0, I_d) and
  v = G^{-1} e solved by conjugate gradients (v treated as a constant),

      grad_theta log det G = tr(G^{-1} dG) = E[ v^T dG e ],   v^T G e = (J v) . (J e),

  so ``surrogate = mean_probes (J v).(J e)`` has the gradient of log det G in expectation
  (its *value* is not log det G). J u is a JVP and J^T w a VJP (torch.func); G is never formed.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch.func import jvp, vjp

from ..geometry.pullback import check_points


def logdet_exact(G: torch.Tensor, jitter: float = 1e-10, max_tries: int = 6):
    """log det of an SPD batch ``G`` (n, d, d) via Cholesky; returns ``(logdet (n,), jitter_used)``.

    ``jitter_used`` is the relative diagonal shift that was needed (0.0 if none).
    """
    if G.ndim != 3 or G.shape[1] != G.shape[2]:
        raise ValueError(f"G must have shape (n, d, d), got {tuple(G.shape)}")
    if not torch.isfinite(G).all():
        raise ValueError("G must be finite; it contains NaN or inf")
    if not jitter > 0:
        raise ValueError(f"jitter must be > 0, got {jitter!r}")
    chol, info = torch.linalg.cholesky_ex(G)
    rel = 0.0
    if bool((info > 0).any()):
        scale = G.diagonal(dim1=-2, dim2=-1).mean(-1)
        if not bool((scale > 0).all()):
            raise ValueError("G has a non-positive mean diagonal; the decoder Jacobian vanishes")
        eye = torch.eye(G.shape[-1], dtype=G.dtype, device=G.device)
        for k in range(max_tries):
            rel = jitter * 10.0 ** k
            chol, info = torch.linalg.cholesky_ex(G + rel * scale[:, None, None] * eye)
            if not bool((info > 0).any()):
                break
        else:
            raise ValueError(f"G is not positive definite even with relative jitter {rel:g}; "
                             "the decoder Jacobian is rank deficient")
    return 2.0 * torch.log(chol.diagonal(dim1=-2, dim2=-1)).sum(-1), rel


def batched_cg(matvec: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor,
               tol: float = 1e-6, maxiter: int = 100):
    """Solve A x = b for a batch of SPD systems given ``matvec`` (n, d) -> (n, d).

    Stops when every relative residual ||b - A x|| / ||b|| <= ``tol`` or after ``maxiter``
    iterations. Returns ``(x (n, d), max relative residual, iterations)``.
    """
    if not tol > 0:
        raise ValueError(f"cg_tol must be > 0, got {tol!r}")
    if not isinstance(maxiter, int) or maxiter < 1:
        raise ValueError(f"cg_maxiter must be a positive int, got {maxiter!r}")
    x = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()
    rs = (r * r).sum(-1)
    bnorm = b.norm(dim=-1).clamp_min(torch.finfo(b.dtype).tiny)
    it = 0
    for it in range(1, maxiter + 1):
        ap = matvec(p)
        alpha = rs / (p * ap).sum(-1).clamp_min(torch.finfo(b.dtype).tiny)
        x = x + alpha[:, None] * p
        r = r - alpha[:, None] * ap
        rs_new = (r * r).sum(-1)
        if bool(((rs_new.sqrt() / bnorm) <= tol).all()):
            break
        p = r + (rs_new / rs.clamp_min(torch.finfo(b.dtype).tiny))[:, None] * p
        rs = rs_new
    # Report the true residual, not the recursively updated one.
    resid = ((b - matvec(x)).norm(dim=-1) / bnorm).max().item()
    return x, resid, it


def _metric_matvec(decoder, z):
    """u (n, d) -> G u = J^T (J u), without building J (one VJP linearisation, JVPs per call)."""
    with torch.no_grad():
        zd = z.detach()
        _, pullback = vjp(decoder, zd)

        def matvec(u):
            with torch.no_grad():
                ju = jvp(decoder, (zd,), (u,))[1]
                return pullback(ju)[0]
    return matvec


def logdet_surrogate(decoder, z: torch.Tensor, n_probes: int = 1, cg_tol: float = 1e-6,
                     cg_maxiter: int = 100, generator: torch.Generator | None = None):
    """Gradient-unbiased surrogate for log det G at ``z`` (n, d); returns ``(s (n,), info)``.

    ``s`` has E[grad s] = grad log det G (gradients w.r.t. the decoder's parameters and z);
    ``info`` = {"cg_residual": max relative CG residual, "cg_iterations": int}.
    The decoder must act row by row (see ``pdeflow.geometry.pullback``).
    """
    check_points(z)
    if not isinstance(n_probes, int) or n_probes < 1:
        raise ValueError(f"n_probes must be a positive int, got {n_probes!r}")
    if generator is None:
        raise ValueError("generator must be a torch.Generator (explicit seed for the probes)")
    n, d = z.shape
    matvec = _metric_matvec(decoder, z)
    total, worst, iters = z.new_zeros(n), 0.0, 0
    for _ in range(n_probes):
        e = torch.randn(n, d, generator=generator, dtype=z.dtype)
        v, resid, it = batched_cg(matvec, e, cg_tol, cg_maxiter)
        worst, iters = max(worst, resid), max(iters, it)
        # Differentiable bilinear form (J v).(J e); v and e are constants.
        jv = jvp(decoder, (z,), (v,))[1]
        je = jvp(decoder, (z,), (e,))[1]
        total = total + (jv * je).sum(-1)
    return total / n_probes, {"cg_residual": worst, "cg_iterations": iters}
