"""The one rule for progress bars: a tqdm bar only where someone watches it.

Every long loop of pdeflow takes a ``progress`` flag and makes its bar with :func:`progress_bar`.
With ``progress=True`` the bar is drawn on a terminal (stderr is a TTY) and in a Jupyter
notebook, and stays silent elsewhere: a redirected stderr, a log file, a CI job or a test gets no
carriage-return updates (tqdm's own convention, ``disable=None``). ``progress=False`` never
draws. Layer 0: imports tqdm only when a bar is made.
"""
from __future__ import annotations

__all__ = ["progress_bar"]


def _in_notebook(tqdm_class) -> bool:
    """True when tqdm.auto chose its notebook bar (a Jupyter kernel with widgets)."""
    return any(cls.__module__ == "tqdm.notebook" for cls in tqdm_class.__mro__)


def progress_bar(iterable=None, *, progress: bool = True, **kwargs):
    """``tqdm.auto.tqdm(iterable, **kwargs)``, drawn only if ``progress`` and a person watches
    (a terminal or a notebook); otherwise a silent bar (it iterates, draws nothing).

    ``kwargs`` are tqdm's (``desc``, ``total``, ``initial``, ``leave``, ...); ``disable`` is
    set here and must not be passed."""
    from tqdm.auto import tqdm

    if "disable" in kwargs:
        raise TypeError("progress_bar sets disable itself; pass progress=False instead")
    disable = True if not progress else (False if _in_notebook(tqdm) else None)
    return tqdm(iterable, disable=disable, **kwargs)
