"""pdeflow.study: the machinery of epsilon-convergence studies (rates, resumable storage, executors)."""
from .executors import local_executor, dask_executor, make_executor
from .rates import RateFit, fit_rate
from .store import PointStore

__all__ = ["RateFit", "fit_rate", "PointStore", "make_executor", "local_executor", "dask_executor"]
