"""pdeflow.reproductions: thin library support for reproducing published seed results, the ODE-vs-SDE
study with the Fokker-Planck residual and the WGAN-critic W1 study (their drivers live in examples/)."""
from .wgan_critic import CriticResult, DiscreteMeasure, train_wgan_critic

__all__ = ["CriticResult", "DiscreteMeasure", "train_wgan_critic"]
