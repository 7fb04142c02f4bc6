"""Square (bijective) flow x = f(z) on R^D with d = D, trained with the same CMF objective.

This is how Flouris & Konukoglu (2023) learn the sphere: the authors' command
``main.py --model non-square --dataset sphere --config latent_dimension=3`` keeps all three
coordinates, so the "injective" map is a bijection of R^3, the reconstruction term vanishes
identically and the 2-D data manifold can only show up in the metric G = J^T J, through one latent
direction whose G_kk (or whose eigenvalue of G) collapses. :class:`SquareFlow` is an
:class:`~pdeflow.manifold_flows.injective_flow.InjectiveFlow` without padding: ``decode`` = f,
``project`` = f^{-1} (an exact inverse), so every training and diagnostic routine of the package
applies unchanged.
"""
from __future__ import annotations

from .injective_flow import InjectiveFlow


class SquareFlow(InjectiveFlow):
    """Bijective flow on R^D (latent dim d = D) with a prior flow on the latent space.

    Parameters are those of :class:`InjectiveFlow` with ``d`` fixed to ``D``; ``prior_layers = 0``
    gives a learned diagonal-Gaussian prior (the authors' ``prior = "affine"``).
    """

    def __init__(self, D: int, n_layers: int = 5, hidden: int = 10, prior_layers: int = 0,
                 prior_hidden: int = 10, seed: int = 0, coupling: str = "affine"):
        super().__init__(D, D, n_layers=n_layers, hidden=hidden, prior_layers=prior_layers,
                         prior_hidden=prior_hidden, seed=seed, coupling=coupling)

    @staticmethod
    def _check_dims(d: int, D: int) -> None:
        if D < 2:
            raise ValueError(f"D must be >= 2 for coupling layers, got D={D}")
