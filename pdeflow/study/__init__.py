"""pdeflow.study: the main job, epsilon studies (config, ground truths, perturbations, points,
resumable store, local/Dask executors, result, plot) and the memorisation limit of the empirical score."""
from .config import StudyConfig
from .epsilon_study import EpsilonStudy
from .memorisation_limit import MemorisationPoint, memorisation_point
from .result import StudyResult

__all__ = ["EpsilonStudy", "StudyConfig", "StudyResult", "MemorisationPoint", "memorisation_point"]
