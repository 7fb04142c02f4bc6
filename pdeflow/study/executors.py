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
import ctypes
import multiprocessing
import numbers
import os
import signal
import sys
import threading
import time
import heapq
import itertools
from concurrent.futures import (FIRST_COMPLETED, Future, ProcessPoolExecutor, as_completed,
                                wait)

__all__ = ["check_workers", "check_scheduler", "run_and_keep", "make_executor", "local_executor", "dask_executor",
           "serial_executor", "run_all", "TaskQueue", "executor_slots", "shares_files",
           "release_workers"]


class serial_executor:
    """Runs each submitted call at once in this process (for debugging and tiny studies)."""

    def submit(self, func, *args, **kwargs) -> Future:
        future = Future()
        try:
            future.set_result(func(*args, **kwargs))
        except BaseException as err:  # surfaced by future.result(), as with real executors
            future.set_exception(err)
        return future


def check_workers(workers) -> int:
    """``workers`` as an int >= 1 (``None``: the number of cores); ValueError otherwise."""
    if workers is None:
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1 (or None for one per core), got "
                         f"{workers!r}")
    return int(workers)


def _watch_parent(parent_pid: int) -> None:
    """Worker initializer: die with the parent, never outlive it as an orphan.

    SIGINT is ignored (Ctrl-C in a terminal reaches the whole process group; the parent
    decides what stops). On Linux the kernel sends SIGKILL when the parent dies
    (prctl PR_SET_PDEATHSIG); everywhere a daemon thread also polls the parent pid.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):   # pragma: no cover - no prctl: the thread remains
            pass
    if os.getppid() != parent_pid:          # the parent died before prctl took effect
        os._exit(1)

    def watch():
        while True:
            time.sleep(_WATCH_SECONDS)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="pdeflow-parent-watch", daemon=True).start()


def _start_worker(parent_pid: int) -> None:
    """Worker initializer: numba on one thread, POT without scikit-learn
    (:func:`~pdeflow.validation.metrics.import_pot_without_sklearn`) and :func:`_watch_parent`.

    The pool already runs one process per core; numba's threads inside each process on top of
    that oversubscribe the cores (the default study took 125 CPU-s with two numba threads per
    worker, 111 CPU-s with one, for the same bitwise table). torch is set to one thread by each
    point (:func:`pdeflow.study.points.run_point`)."""
    import numba

    from ..validation.metrics import import_pot_without_sklearn

    numba.set_num_threads(1)
    import_pot_without_sklearn()      # POT's optional scikit-learn: 1-3 s per worker
    _watch_parent(parent_pid)


_PR_SET_PDEATHSIG = 1
_WATCH_SECONDS = 0.5
_STOP_SECONDS = 2.0


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel queued work and end the workers now (running points are lost, finished ones were
    handed back already)."""
    processes = list(getattr(pool, "_processes", {}).values())   # no public handle on them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + _STOP_SECONDS
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()


@contextlib.contextmanager
def local_executor(workers: int | None = None):
    """A pool of ``workers`` fresh ('spawn') processes, numba on one thread in each;
    ``workers=1`` runs serially in-process; ``None`` means one per core.

    Workers die with this process (even on ``kill -9``) and ignore SIGINT; an exception in the
    ``with`` body (KeyboardInterrupt included) cancels queued work and ends the workers at once
    instead of waiting for everything submitted.
    """
    workers = check_workers(workers)
    if workers == 1:
        yield serial_executor()
        return
    # spawn, not fork: torch and numba threads do not survive a fork reliably
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(os.getpid(),))
    try:
        yield pool
    except BaseException:
        _stop_pool(pool)
        raise
    pool.shutdown(wait=True)


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
    if scheduler is not None:
        check_scheduler(scheduler)
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except Exception as err:     # refused, timed out, or something else answered
            raise ValueError(f"scheduler {scheduler!r}: could not connect to a Dask scheduler "
                             f"(timeout {CONNECT_TIMEOUT:g} s; {type(err).__name__}: "
                             f"{str(err)[:200]})") from None
    else:
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()


#: Seconds to wait for a Dask scheduler to answer (a TCP connection, then the handshake).
CONNECT_TIMEOUT = 10.0


def check_scheduler(address: str, timeout: float = 3.0) -> None:
    """ValueError unless something accepts TCP connections at the scheduler ``address``
    (``tcp://host:port``, ``tls://host:port`` or ``host:port``), within ``timeout`` seconds;
    other schemes (``inproc://``, ``ucx://``) are left to Dask."""
    import socket
    from urllib.parse import urlsplit

    if not isinstance(address, str) or not address:
        raise ValueError(f"scheduler must be an address such as tcp://host:8786, got {address!r}")
    scheme = address.split("://", 1)[0] if "://" in address else "tcp"
    if scheme not in ("tcp", "tls"):
        return
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or port is None:
        raise ValueError(f"scheduler {address!r} must be tcp://host:port (a port number given)")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        raise ValueError(f"scheduler {address!r}: nothing answers at {host}:{port} "
                         f"({err.strerror or type(err).__name__}); start the Dask scheduler "
                         "first or check the address") from None


def make_executor(scheduler=None, workers: int | None = None):
    """Dask when a scheduler address or cluster is given, local processes otherwise."""
    check_workers(workers)
    if scheduler is None:
        return local_executor(workers)
    if isinstance(scheduler, str):
        return dask_executor(scheduler=scheduler)
    return dask_executor(cluster=scheduler)


def _is_dask(executor) -> bool:
    """A dask.distributed Client (its futures need distributed's own waiting functions)."""
    return type(executor).__module__.startswith("distributed")


class run_all:
    """Submit ``func(item)`` for every item; iterating yields ``(item, result)`` as each finishes.

    After an interruption, :meth:`finished` gives the results that completed but were not yet
    yielded (so the caller can keep them) and :meth:`cancel` drops what has not started.
    """

    def __init__(self, executor, func, items):
        self.items = list(items)
        self.futures = {executor.submit(func, item): i for i, item in enumerate(self.items)}
        self._yielded = set()
        self._distributed = _is_dask(executor)

    def __iter__(self):
        if self._distributed:
            from distributed import as_completed as completed
        else:
            completed = as_completed
        for future in completed(list(self.futures)):
            yield self.items[self.futures[future]], future.result()
            # marked only once the caller asks for the next one: an item whose handling was
            # interrupted counts as not yet handed over
            self._yielded.add(future)

    def cancel(self) -> None:
        """Cancel every submitted call that has not started."""
        for future in self.futures:
            future.cancel()

    def finished(self) -> list:
        """``(item, result)`` of the futures that succeeded and were not yet yielded."""
        out = []
        for future, i in self.futures.items():
            if future in self._yielded or not future.done() or future.cancelled():
                continue
            if future.exception() is None:
                out.append((self.items[i], future.result()))
                self._yielded.add(future)
        return out


def run_and_keep(executor, func, items, keep) -> None:
    """``keep(item, func(item))`` for every item as it finishes; if the loop is interrupted
    (Ctrl-C, a failed item), queued items are cancelled, the ones that finished meanwhile are
    kept too, and the exception propagates."""
    batch = run_all(executor, func, items)
    try:
        for item, result in batch:
            keep(item, result)
    except BaseException:
        batch.cancel()
        for item, result in batch.finished():
            keep(item, result)
        raise


def executor_slots(executor) -> int:
    """How many calls ``executor`` runs at once: 1 in process, the pool's processes, or the
    Dask cluster's threads."""
    if isinstance(executor, ProcessPoolExecutor):
        return executor._max_workers          # no public accessor; set by the constructor
    if _is_dask(executor):
        return max(1, sum(executor.nthreads().values()))
    return 1


def release_workers(executor) -> None:
    """Let the local worker processes of ``executor`` exit now, in the background, while this
    process goes on (writing results; a worker's exit takes a second or two); nothing can be
    submitted after this. No-op for the in-process and Dask executors (a Dask cluster belongs
    to whoever started it)."""
    if isinstance(executor, ProcessPoolExecutor):
        executor.shutdown(wait=False)


def shares_files(executor) -> bool:
    """True when the executor's calls run on this machine (in this process or in local worker
    processes), so that files they write are files this process can read."""
    return not _is_dask(executor)


class TaskQueue:
    """Run tasks on ``executor``, costliest ready task first, at most ``slots`` + 1 in flight.

    A task is ``func(item)`` with a ``cost`` (larger starts earlier) and ``done(item, result)``,
    called in this process as the task finishes; ``done`` may call ``add`` for more tasks (work
    that depends on a finished one). Holding tasks back here instead of submitting them all
    keeps the order a choice of this queue at every moment: a costly task added late still
    starts before the cheap ones already waiting (an executor's own queue is first in, first
    out). One task beyond ``slots`` is in flight so that a worker never waits for this process
    to submit.

    ``run()`` returns when nothing is left. If it is interrupted (Ctrl-C, a failed task, an
    exception in ``done``), tasks not yet started are cancelled, ``done`` is still called for
    every task that finished, and the exception propagates.
    """

    def __init__(self, executor, slots: int | None = None):
        self.executor = executor
        self.slots = executor_slots(executor) if slots is None else int(slots)
        self._ready: list = []            # heap of (-cost, order, func, item, done)
        self._order = itertools.count()
        self._running: dict = {}          # future -> (item, done)

    def add(self, func, item, done, cost: float = 0.0) -> None:
        heapq.heappush(self._ready, (-float(cost), next(self._order), func, item, done))

    def _fill(self) -> None:
        while self._ready and len(self._running) <= self.slots:
            _, _, func, item, done = heapq.heappop(self._ready)
            self._running[self.executor.submit(func, item)] = (item, done)

    def _wait(self):
        futures = list(self._running)
        if _is_dask(self.executor):
            from distributed import wait as dask_wait

            finished = dask_wait(futures, return_when="FIRST_COMPLETED").done
        else:
            finished = wait(futures, return_when=FIRST_COMPLETED).done
        return [f for f in futures if f in finished]       # submission order: deterministic

    def run(self) -> None:
        try:
            self._fill()
            while self._running:
                for future in self._wait():
                    item, done = self._running[future]
                    done(item, future.result())
                    del self._running[future]   # only now: an interrupted ``done`` is redone
                self._fill()
        except BaseException:
            self._ready.clear()
            for future in self._running:
                future.cancel()
            for future, (item, done) in list(self._running.items()):
                if future.done() and not future.cancelled() and future.exception() is None:
                    del self._running[future]
                    done(item, future.result())
            raise
