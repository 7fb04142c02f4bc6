"""Riemannian curvature of decoders ``Psi: R^d -> R^D`` (pullback metric ``g = J^T J``) and of
metric functions, batched over points with :mod:`torch.func`.

Conventions (index order as stored, ``k`` the point index omitted):

- ``christoffel[c, a, b] = Gamma^c_ab = 1/2 g^cl (d_a g_bl + d_b g_al - d_l g_ab)``;
- ``riemann[a, b, c, e] = R_abce = g( R(d_a, d_b) d_c, d_e )`` with
  ``R(X, Y) = nabla_X nabla_Y - nabla_Y nabla_X - nabla_[X,Y]``, so a sectional curvature is
  ``K(a, b) = R_abba / (g_aa g_bb - g_ab^2)`` (positive on the sphere);
- ``ricci[b, c] = g^ae R_abce``; ``scalar = g^bc ricci[b, c]`` (``2 K`` on a surface).

Two independent routes:

``"intrinsic"``
    Christoffel symbols from first derivatives of ``g`` and the Riemann tensor from their
    derivatives: second derivatives of ``g``, i.e. third derivatives of ``Psi``. Works for any
    metric function (e.g. the hyperbolic half-plane), not only for decoders.
``"extrinsic"``
    The Gauss equation; needs only ``J`` and the Hessian ``H`` of ``Psi``:
    ``P = I - J g^-1 J^T``, ``II_ab = P H_ab``, ``R_abce = <II_bc, II_ae> - <II_ac, II_be>``,
    ``scalar = <Hm, Hm> - g^ac g^be <II_ab, II_ce>`` with mean curvature ``Hm = g^ab II_ab``.

Cost per point: the extrinsic route takes ``d + d^2`` forward-mode derivative passes through the
decoder and ``O(D d^3)`` arithmetic for the scalar; the intrinsic route pushes a third derivative
through the decoder (``~d^3`` passes, each also re-forming ``g``), so it is slower for every
``d >= 2`` measured (see docs/curvature.md); ``"extrinsic"`` is the default.

Bad input raises ValueError: ``z`` not a finite ``(n, d)`` float tensor; ``d > D`` (the metric is
singular everywhere); a metric whose smallest eigenvalue is ``<= rcond * largest`` at some point
(the offending point indices are named); non-finite decoder values or derivatives. Nothing is
regularised silently: there is no hidden jitter.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch.func import jacfwd, vmap

from .pullback import Decoder, check_points, decoder_jet, pointwise_metric

MetricFn = Callable[[torch.Tensor], torch.Tensor]
METHODS = ("extrinsic", "intrinsic")


@dataclass
class Curvature:
    """Curvature tensors at ``n`` points in a ``d``-dimensional chart (shapes below).

    metric, metric_inv: (n, d, d); christoffel: (n, d, d, d) or None (extrinsic route);
    riemann: (n, d, d, d, d); ricci: (n, d, d); scalar: (n,). Units: 1 / length^2 for curvature.
    """
    metric: torch.Tensor
    metric_inv: torch.Tensor
    christoffel: Optional[torch.Tensor]
    riemann: torch.Tensor
    ricci: torch.Tensor
    scalar: torch.Tensor


def default_rcond(dtype: torch.dtype) -> float:
    """Smallest accepted eigenvalue ratio ``lambda_min / lambda_max`` of g: ``sqrt(eps)``."""
    return float(torch.finfo(dtype).eps) ** 0.5


def check_metric(g: torch.Tensor, rcond: Optional[float] = None, name: str = "metric") -> None:
    """Raise ValueError unless every ``g[k]`` (n, d, d) is finite and positive definite with
    ``lambda_min > rcond * lambda_max`` (default ``default_rcond(dtype)``)."""
    rcond = default_rcond(g.dtype) if rcond is None else rcond
    if not rcond > 0:
        raise ValueError(f"rcond must be > 0, got {rcond}")
    with torch.no_grad():
        finite = torch.isfinite(g).flatten(1).all(1)
        if not finite.all():
            bad = torch.nonzero(~finite).flatten()[:10].tolist()
            raise ValueError(f"{name} is not finite at points {bad} (decoder produced NaN/inf)")
        ev = torch.linalg.eigvalsh(0.5 * (g + g.transpose(-1, -2)))
        singular = ev[:, 0] <= rcond * ev[:, -1].clamp_min(0) + torch.finfo(g.dtype).tiny
        if singular.any():
            bad = torch.nonzero(singular).flatten()[:10].tolist()
            ratio = (ev[singular, 0] / ev[singular, -1]).min().item()
            raise ValueError(
                f"{name} is singular or not positive definite at points {bad} of z "
                f"(eigenvalue ratio {ratio:.3g} <= rcond={rcond:.3g}); the decoder is not an "
                "immersion there, curvature is undefined")


def _check_finite(t: torch.Tensor, what: str) -> None:
    with torch.no_grad():
        finite = torch.isfinite(t).flatten(1).all(1)
    if not finite.all():
        bad = torch.nonzero(~finite).flatten()[:10].tolist()
        raise ValueError(f"{what} is not finite at points {bad} of z")


def _check_module(decoder: Decoder, z: torch.Tensor) -> None:
    """A torch module decoder: no batch norm in training mode, parameters of z's dtype."""
    if not isinstance(decoder, torch.nn.Module):
        return
    for name, module in decoder.named_modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and module.training:
            raise ValueError(f"decoder: its submodule {name or 'decoder'!r} "
                             f"({type(module).__name__}) is in training mode, so its output couples the points of the batch and "
                             "the curvature (derivatives point by point) is undefined; call "
                             "decoder.eval() first")
    dtypes = sorted({str(p.dtype) for p in decoder.parameters() if p.is_floating_point()})
    if dtypes and dtypes != [str(z.dtype)]:
        raise TypeError(f"z has dtype {z.dtype} but the decoder's parameters are "
                        f"{', '.join(dtypes)}; convert one of them (z.to(dtype) or "
                        "decoder.to(dtype))")


def _check_decoder(decoder: Decoder, z: torch.Tensor) -> None:
    """Check ``z``, that ``d <= D``, that the decoder's values at ``z`` are finite and that it
    acts row by row (its value at z[0] alone is its value at z[0] in the batch)."""
    check_points(z)
    _check_module(decoder, z)
    try:
        with torch.no_grad():
            x = decoder(z)
            first = decoder(z[:1]) if len(z) > 1 else None
    except RuntimeError as err:
        raise ValueError(f"decoder(z) failed for z of shape {tuple(z.shape)} and dtype "
                         f"{z.dtype}: {err}") from err
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[0] != z.shape[0]:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"decoder must map z (n, d) to a tensor (n, D), got {shape}")
    _check_dims(z.shape[1], x.shape[1])
    _check_finite(x, "the decoder's output")
    if first is not None:
        tol = float(torch.finfo(x.dtype).eps) ** 0.5 * (1.0 + float(x[:1].abs().max()))
        if first.shape != x[:1].shape or not float((first - x[:1]).abs().max()) <= tol:
            raise ValueError("decoder does not act row by row: its value at z[0] alone differs "
                             "from its value at z[0] within the batch (batch statistics such as "
                             "batch norm in training mode); curvature needs a pointwise map")


def _check_dims(d: int, D: int) -> None:
    if d > D:
        raise ValueError(f"latent dimension d={d} of z exceeds the decoder's ambient dimension "
                         f"D={D}; the pullback metric is singular, curvature is undefined")


def _contract(riemann: torch.Tensor, ginv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Ricci ``g^ae R_abce`` and scalar ``g^bc Ric_bc`` from the lowered Riemann tensor."""
    ricci = torch.einsum("kae,kabce->kbc", ginv, riemann)
    return ricci, torch.einsum("kbc,kbc->k", ginv, ricci)


# ---------------------------------------------------------------- intrinsic route

def _christoffel_pointwise(metric_pt: MetricFn):
    """One point: ``zi (d,) -> (Gamma (d,d,d), (Gamma, g))`` for use with jacfwd(has_aux)."""
    dmetric = jacfwd(metric_pt)

    def gamma(zi: torch.Tensor):
        g = metric_pt(zi)
        dg = dmetric(zi)                             # dg[a, b, m] = d_m g_ab
        first_kind = 0.5 * (torch.einsum("bla->lab", dg) + torch.einsum("alb->lab", dg)
                            - torch.einsum("abl->lab", dg))
        # inv, not linalg.solve: in torch 2.13 solve under vmap(jacfwd) is wrong for batch
        # elements after the first (measured; see docs/curvature.md)
        gam = torch.einsum("cl,lab->cab", torch.linalg.inv(g), first_kind)
        return gam, (gam, g)
    return gamma


def _intrinsic_pointwise(metric_pt: MetricFn, z: torch.Tensor, rcond: Optional[float]) -> Curvature:
    with torch.no_grad():
        check_metric(vmap(metric_pt)(z), rcond)     # before inverting g inside the derivatives
    d_gamma, (gam, g) = vmap(jacfwd(_christoffel_pointwise(metric_pt), has_aux=True))(z)
    _check_finite(d_gamma, "the derivative of the Christoffel symbols")
    # R^l_abc = d_a G^l_bc - d_b G^l_ac + G^l_am G^m_bc - G^l_bm G^m_ac; d_gamma[k,l,b,c,a]
    up = (torch.einsum("klbca->klabc", d_gamma) - torch.einsum("klacb->klabc", d_gamma)
          + torch.einsum("klam,kmbc->klabc", gam, gam) - torch.einsum("klbm,kmac->klabc", gam, gam))
    riemann = torch.einsum("kel,klabc->kabce", g, up)
    ginv = torch.linalg.inv(g)
    ricci, scalar = _contract(riemann, ginv)
    return Curvature(g, ginv, gam, riemann, ricci, scalar)


def metric_curvature(metric: MetricFn, z: torch.Tensor, rcond: Optional[float] = None) -> Curvature:
    """Intrinsic curvature of a metric field given as a function.

    ``metric`` maps ``(n, d) -> (n, d, d)`` row by row (symmetric positive definite, smooth,
    written in torch so it can be differentiated twice); ``z`` is (n, d).
    """
    check_points(z)
    n, d = z.shape
    with torch.no_grad():
        shape = tuple(metric(z).shape)
    if shape != (n, d, d):
        raise ValueError(f"metric must map z (n, d) to (n, d, d) = {(n, d, d)}, got {shape}")
    return _intrinsic_pointwise(lambda zi: metric(zi.unsqueeze(0)).squeeze(0), z, rcond)


def intrinsic_curvature(decoder: Decoder, z: torch.Tensor,
                        rcond: Optional[float] = None) -> Curvature:
    """Curvature of the pullback metric from derivatives of ``g`` (third derivatives of Psi)."""
    _check_decoder(decoder, z)
    return _intrinsic_pointwise(pointwise_metric(decoder), z, rcond)


# ---------------------------------------------------------------- extrinsic route

def _second_fundamental_form(decoder: Decoder, z: torch.Tensor, rcond: Optional[float]):
    """``(g, g^-1, II)`` with II (n, D, d, d) the normal part of the decoder's Hessian."""
    _check_decoder(decoder, z)
    jac, hess = decoder_jet(decoder, z)
    g = jac.transpose(-1, -2) @ jac
    check_metric(g, rcond)
    _check_finite(hess.flatten(1), "the decoder's Hessian")
    ginv = torch.linalg.inv(g)
    tangential = torch.einsum("kli,kxi,kxab->klab", ginv, jac, hess)   # g^-1 J^T H
    second = hess - torch.einsum("kxl,klab->kxab", jac, tangential)
    return g, ginv, second


def extrinsic_curvature(decoder: Decoder, z: torch.Tensor,
                        rcond: Optional[float] = None) -> Curvature:
    """Curvature of the pullback metric by the Gauss equation (second derivatives only)."""
    g, ginv, second = _second_fundamental_form(decoder, z, rcond)
    q = torch.einsum("kxab,kxce->kabce", second, second)              # <II_ab, II_ce>
    riemann = torch.einsum("kbcae->kabce", q) - torch.einsum("kacbe->kabce", q)
    ricci, scalar = _contract(riemann, ginv)
    return Curvature(g, ginv, None, riemann, ricci, scalar)


def _extrinsic_scalar(decoder: Decoder, z: torch.Tensor, rcond: Optional[float]) -> torch.Tensor:
    _, ginv, second = _second_fundamental_form(decoder, z, rcond)
    t = torch.einsum("kac,kxcb->kxab", ginv, second)                   # g^-1 II^x
    trace = torch.diagonal(t, dim1=-2, dim2=-1).sum(-1)                # <H, e_x>
    return (trace ** 2).sum(1) - torch.einsum("kxab,kxba->k", t, t)


# ---------------------------------------------------------------- public switch

def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def curvature(decoder: Decoder, z: torch.Tensor, method: str = "extrinsic",
              rcond: Optional[float] = None) -> Curvature:
    """All curvature tensors of the decoder's pullback metric at ``z`` (n, d)."""
    _check_method(method)
    route = extrinsic_curvature if method == "extrinsic" else intrinsic_curvature
    return route(decoder, z, rcond)


def scalar_curvature(decoder: Decoder, z: torch.Tensor, method: str = "extrinsic",
                     rcond: Optional[float] = None) -> torch.Tensor:
    """Scalar curvature ``R`` (n,) of the pullback metric at ``z`` (n, d); differentiable.

    The extrinsic default never forms the Riemann tensor (``O(D d^3)`` per point).
    """
    _check_method(method)
    if method == "extrinsic":
        return _extrinsic_scalar(decoder, z, rcond)
    return intrinsic_curvature(decoder, z, rcond).scalar
