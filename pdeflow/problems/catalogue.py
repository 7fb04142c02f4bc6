"""The named problems with a known truth: :func:`get` by name, :func:`names` / :func:`listing`.

The names:

``{convention}-{mixture}-{d}d``
    exact: a mixture of :mod:`~pdeflow.problems.mixtures` (``separated``, ``anisotropic``,
    ``many``), any d in 1-128, under ``vp`` (beta 0.1 -> 20, t in [1e-3, 1]), ``sub-vp`` (same),
    ``ve`` (sigma 0.01 -> 50, t in [1e-5, 1]), ``edm`` (sigma = t in [0.002, 80]), ``fp``
    (pdeflow's Fokker-Planck D = 1/2, kappa = 1, t in [1e-3, 5]), ``heat`` (D = 1/2,
    t in [1e-3, 10]) or ``fm`` (the flow-matching linear interpolant from N(0, I) at t = 0 to the
    mixture at t = 1, t in [1e-3, 0.999]), or a DDPM table of :mod:`~pdeflow.schedules` on its
    integer timesteps t in [0, 999]: ``ddpm`` (linear betas), ``scaled-linear``, ``cosine``.
``vp-circle-2d``, ``vp-two-circles-2d``, ``vp-checkerboard-2d``
    exact: the empirical-score flow of 1000 seeded points (smoothed by 0.01) under VP.
``{convention}-patterns-{C}x{H}x{W}``
    exact: image-shaped low-rank-plus-diagonal Gaussian mixtures (:mod:`~pdeflow.problems.images`),
    listed 1x28x28 and 3x32x32, under every convention but ``fm``.
``heat-mixture-{d}d``, ``fp-mixture-{d}d``, ``porous-mixture-{d}d``, ``porous-dimaware-{d}d``
    certified, d = 1-3 (:mod:`~pdeflow.problems.certified`).
``porous-ellipsoid-{d}d``, ``porous-ellipsoid-dimaware-{d}d``
    exact porous-medium flow, any d in 1-128 (:mod:`~pdeflow.problems.porous`): one anisotropic
    confined ellipsoid; m = 2 or 1 + 1/d.
``porous-modes-{d}d``, ``porous-modes-dimaware-{d}d``
    exact porous-medium flow, any d in 1-128 (:mod:`~pdeflow.problems.porous`): four disjoint
    free ellipsoidal modes; m = 2 or 1 + 1/d.
``porous-radial-{d}d``, ``porous-radial-dimaware-{d}d``
    certified, any d in 1-128: a radial core and two shells merging under the confined porous
    medium, m = 2 or 1 + 1/d, Lagrangian truth (:mod:`~pdeflow.problems.porous_radial`).
"""
from __future__ import annotations

import re

from ..conventions import EDM, VE, VP, FlowMatching, FokkerPlanckConvention, SubVP
from ..schedules import cosine, ddpm_linear, scaled_linear
from ..exact import GaussianMixture
from . import certified, porous, porous_radial
from .base import ExactMixtureProblem, Problem
from .images import IMAGE_SHAPES, ImageMixtureProblem
from .mixtures import MIXTURES

__all__ = ["get", "names", "listing", "CONVENTION_SETTINGS", "LISTED_DIMS"]

#: convention factory, t_min, T, description of the convention
CONVENTION_SETTINGS = {
    "vp": (VP, 1e-3, 1.0, "VP (beta 0.1 -> 20)"),
    "sub-vp": (SubVP, 1e-3, 1.0, "sub-VP (beta 0.1 -> 20)"),
    "ve": (VE, 1e-5, 1.0, "VE (sigma 0.01 -> 50)"),
    "edm": (EDM, 2e-3, 80.0, "EDM (sigma = t)"),
    "fp": (lambda: FokkerPlanckConvention(D=0.5, kappa=1.0), 1e-3, 5.0,
           "Fokker-Planck (D = 1/2, kappa = 1)"),
    "heat": (lambda: FokkerPlanckConvention(D=0.5, kappa=0.0), 1e-3, 10.0, "heat (D = 1/2)"),
    "fm": (FlowMatching, 1e-3, 0.999, "flow matching N(0, I) -> mixture"),
    "ddpm": (ddpm_linear, 0.0, 999.0, "DDPM linear betas (1000 integer timesteps)"),
    "scaled-linear": (scaled_linear, 0.0, 999.0, "scaled-linear betas (1000 integer timesteps)"),
    "cosine": (cosine, 0.0, 999.0, "cosine schedule (1000 integer timesteps)"),
}
#: the dimensions that :func:`listing` shows (any d in 1-128 is accepted by :func:`get`)
LISTED_DIMS = (1, 2, 8, 128)
_EMPIRICAL = {"circle": "points on the unit circle", "two-circles": "points on two circles "
              "(radii 0.5, 1)", "checkerboard": "points on a 4 x 4 checkerboard"}
_MIXTURE_WORDS = {"separated": "well-separated isotropic", "anisotropic": "anisotropic",
                  "many": "32-component"}
_PATTERN = re.compile(r"^(?P<family>[a-z+/-]+?)-(?P<dim>\d+)d$")
_IMAGES = re.compile(r"^(?P<convention>[a-z-]+?)-patterns-(?P<c>\d+)x(?P<h>\d+)x(?P<w>\d+)$")


def _mixture_problem(convention: str, mixture: str, dim: int) -> Problem:
    factory, t_min, T, words = CONVENTION_SETTINGS[convention]
    return ExactMixtureProblem(f"{convention}-{mixture}-{dim}d", factory(), MIXTURES[mixture](dim),
                               t_min, T, f"{_MIXTURE_WORDS[mixture]} Gaussian mixture under "
                               f"{words}")


def _empirical_problem(kind: str, size: int = 1000, bandwidth: float = 0.01) -> Problem:
    from ..learn.toy_targets import checkerboard, two_circles   # numpy functions (imports torch)

    seed = 20260102
    if kind == "circle":
        reference = two_circles(size, seed, radii=(1.0,))
    elif kind == "two-circles":
        reference = two_circles(size, seed)
    else:
        reference = checkerboard(size, seed)
    factory, t_min, T, words = CONVENTION_SETTINGS["vp"]
    problem = ExactMixtureProblem(f"vp-{kind}-2d", factory(),
                                  GaussianMixture.empirical(reference, bandwidth), t_min, T,
                                  f"empirical-score flow of {size} {_EMPIRICAL[kind]} under "
                                  f"{words}")
    problem.reference = reference
    return problem


def _parse(name: str):
    match = _PATTERN.match(name) if isinstance(name, str) else None
    if match is None:
        return None
    family, dim = match["family"], int(match["dim"])
    if family in certified.FAMILIES:
        return ("certified", family, dim)
    if family in porous_radial.FAMILIES:
        return ("radial", family, dim)
    if family in porous.FAMILIES:
        return ("porous", family, dim)
    for convention in CONVENTION_SETTINGS:
        for mixture in MIXTURES:
            if family == f"{convention}-{mixture}":
                return ("mixture", (convention, mixture), dim)
    if dim == 2 and family.startswith("vp-") and family[3:] in _EMPIRICAL:
        return ("empirical", family[3:], dim)
    return None


def _image_problem(name: str):
    match = _IMAGES.match(name) if isinstance(name, str) else None
    if match is None or match["convention"] not in CONVENTION_SETTINGS:
        return None
    if match["convention"] == "fm":
        raise ValueError("image problems exist for the diffusion conventions, not fm (the "
                         "low-rank score needs a(t) > 0 everywhere)")
    factory, t_min, T, words = CONVENTION_SETTINGS[match["convention"]]
    shape = (int(match["c"]), int(match["h"]), int(match["w"]))
    return ImageMixtureProblem(name, factory(), shape, t_min, T,
                               f"{shape[0]}x{shape[1]}x{shape[2]} images: 4 smooth patterns, "
                               f"rank-6 + diagonal covariances, under {words}")


def get(name: str, **options) -> Problem:
    """The problem called ``name`` (see the module docstring and :func:`names`).

    ``options`` go to the problem's factory: ``n``, ``n_snapshots``, ``progress`` for certified
    problems; ``size``, ``bandwidth`` for the empirical ones. ValueError for an unknown name.
    """
    image = _image_problem(name)
    if image is not None:
        if options:
            raise ValueError(f"image problems take no options, got {sorted(options)}")
        return image
    parsed = _parse(name)
    if parsed is None:
        raise ValueError(f"problem must be a catalogue name (see `pdeflow problems`), got "
                         f"{name!r}; e.g. {', '.join(names()[:3])}")
    kind, family, dim = parsed
    if kind == "certified":
        if dim not in (1, 2, 3):
            raise ValueError(f"certified problems exist in 1-3 D, got {name!r}")
        return certified.FAMILIES[family](dim, **options)
    if kind == "radial":
        if not 1 <= dim <= 128:
            raise ValueError(f"radial porous problems exist in 1-128 D, got {name!r}")
        return porous_radial.FAMILIES[family](dim, **options)
    if kind == "empirical":
        return _empirical_problem(family, **options)
    if kind == "porous":
        if options:
            raise ValueError(f"exact porous problems take no options, got {sorted(options)}")
        return porous.FAMILIES[family](dim)
    if options:
        raise ValueError(f"exact mixture problems take no options, got {sorted(options)}")
    return _mixture_problem(*family, dim)


def _entries():
    for convention, (_, _, _, words) in CONVENTION_SETTINGS.items():
        for mixture in MIXTURES:
            for dim in LISTED_DIMS:
                yield (f"{convention}-{mixture}-{dim}d", "exact", dim,
                       f"{_MIXTURE_WORDS[mixture]} Gaussian mixture under {words}")
    for convention, (_, _, _, words) in CONVENTION_SETTINGS.items():
        if convention == "fm":
            continue
        for c, h, w in IMAGE_SHAPES:
            yield (f"{convention}-patterns-{c}x{h}x{w}", "exact", c * h * w,
                   f"{c}x{h}x{w} images: 4 smooth patterns, rank-6 + diagonal covariances, "
                   f"under {words}")
    for kind, words in _EMPIRICAL.items():
        yield f"vp-{kind}-2d", "exact", 2, f"empirical-score flow of 1000 {words} under VP"
    for family in certified.FAMILIES:
        for dim in (1, 2, 3):
            yield f"{family}-{dim}d", "certified", dim, {
                "heat-mixture": "heat (D = 1/2) from the 3-component mixture, FV truth",
                "fp-mixture": "Fokker-Planck (D = 1/2, kappa = 1) from the 3-component mixture, "
                              "FV truth",
                "porous-mixture": "confined porous medium m = 2 from the 3-component mixture, "
                                  "FV truth (velocity only)",
                "porous-dimaware": "confined porous medium m = 1 + 1/d from the 3-component "
                                   "mixture, FV truth (velocity only)"}[family]
    yield from porous_radial.entries(LISTED_DIMS)
    for family, words in _POROUS.items():
        for dim in LISTED_DIMS:
            m = "m = 1 + 1/d" if family.endswith("dimaware") else "m = 2"
            yield f"{family}-{dim}d", "exact", dim, f"{words[0]}, {m}, {words[1]}"


#: the listing's words for the exact porous families (the problems carry their own, with m)
_POROUS = {
    "porous-ellipsoid": ("exact anisotropic porous flow", "K = I, one rotated ellipsoid"),
    "porous-ellipsoid-dimaware": ("exact anisotropic porous flow", "K = I, one rotated ellipsoid"),
    "porous-modes": ("exact free porous flow (K = 0)", "4 disjoint ellipsoidal modes"),
    "porous-modes-dimaware": ("exact free porous flow (K = 0)", "4 disjoint ellipsoidal modes"),
}


def names() -> list:
    """The listed problem names (mixture, exact porous and radial porous problems also accept
    any other d in 1-128)."""
    return [entry[0] for entry in _entries()]


def listing() -> list:
    """One line per listed problem: ``name  exact|certified  dim  description``."""
    return [f"{name:28s} {truth:9s} {dim:4d}  {text}" for name, truth, dim, text in _entries()]
