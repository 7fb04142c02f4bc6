"""Where study points run: in this process, on local processes, or on a Dask cluster.

All three are used the same way::

    with make_executor(scheduler=None, workers=2) as ex:
        for item, result in run_all(ex, func, items):
            ...

Results stream back as points finish (so each can be stored at once); the order of completion
does not matter because every point is a pure function of its parameters and seed.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor, as_completed

__all__ = ["make_executor", "local_executor", "dask_executor", "serial_executor", "run_all"]


class serial_executor:
    """Runs each submitted call at once in this process (for debugging and tiny studies)."""

    def submit(self, func, *args, **kwargs) -> Future:
        future = Future()
        try:
            future.set_result(func(*args, **kwargs))
        except BaseException as err:  # surfaced by future.result(), as with real executors
            future.set_exception(err)
        return future


@contextlib.contextmanager
def local_executor(workers: int | None = None):
    """A pool of ``workers`` fresh ('spawn') processes; ``workers=1`` runs serially in-process."""
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if workers == 1:
        yield serial_executor()
        return
    # spawn, not fork: torch and numba threads do not survive a fork reliably
    with ProcessPoolExecutor(max_workers=workers,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@contextlib.contextmanager
def dask_executor(scheduler=None, cluster=None):
    """A dask.distributed Client on a scheduler address (``tcp://host:port``) or a cluster object
    (``distributed.LocalCluster``, a dask-jobqueue cluster, ...)."""
    try:
        from distributed import Client
    except ImportError as err:  # pragma: no cover - dask is a dependency
        raise ImportError("running on a Dask cluster needs `pip install dask[distributed]`") from err
    if (scheduler is None) == (cluster is None):
        raise ValueError("give exactly one of scheduler (an address) or cluster")
    client = Client(scheduler if scheduler is not None else cluster)
    try:
        yield client
    finally:
        client.close()


def make_executor(scheduler=None, workers: int | None = None):
    """Dask when a scheduler address or cluster is given, local processes otherwise."""
    if scheduler is None:
        return local_executor(workers)
    if isinstance(scheduler, str):
        return dask_executor(scheduler=scheduler)
    return dask_executor(cluster=scheduler)


def run_all(executor, func, items):
    """Submit ``func(item)`` for every item; yield ``(item, result)`` as each finishes."""
    items = list(items)
    futures = {executor.submit(func, item): i for i, item in enumerate(items)}
    if type(executor).__module__.startswith("distributed"):
        from distributed import as_completed as completed
    else:
        completed = as_completed
    for future in completed(list(futures)):
        yield items[futures[future]], future.result()
