"""Resumable training: a torch checkpoint file written atomically.

:class:`TorchCheckpoint` is the ``checkpoint`` object that :func:`pdeflow.learn.train_loop` and
:func:`pdeflow.learn.fit_dsm` accept: ``train_loop`` hands it the full training state (model,
optimiser, scheduler, generator states, losses) every ``every`` steps, and it writes the state
with ``torch.save`` through :func:`pdeflow.io.atomic_file`, so a run killed mid-write leaves the
previous checkpoint intact. ``identity`` (a JSON-able dict, e.g. target, w_R, seed and the
config) is stored with the state and checked on load, so a run never resumes from another
run's file.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ..io import atomic_file

__all__ = ["TorchCheckpoint"]


class TorchCheckpoint:
    """Checkpoint of one training run at ``path`` (a ``.pt`` file).

    Parameters
    ----------
    path : file to write (its folder is created).
    every : save every ``every`` optimiser steps (and after the last step), integer >= 1.
    identity : JSON-able dict describing the run; a stored checkpoint with another identity is
        refused on load.
    resume : if False, :meth:`load` ignores an existing file (a fresh run overwrites it).
    keep : also keep a copy of every save as ``<stem>_step<k>.pt`` beside ``path`` (networks
        part-way through the schedule, for comparing runs at equal steps).
    """

    def __init__(self, path, every: int, identity: dict | None = None, resume: bool = True,
                 keep: bool = False):
        if isinstance(every, bool) or int(every) != every or every < 1:
            raise ValueError(f"every must be an integer >= 1, got {every!r}")
        self.path, self.every, self.resume = Path(path), int(every), bool(resume)
        self.keep = bool(keep)
        self.identity = json.dumps(identity or {}, sort_keys=True)
        self.saves = 0

    def load(self) -> dict | None:
        """The stored state, or None if there is none (or ``resume`` is False)."""
        if not (self.resume and self.path.exists()):
            return None
        state = torch.load(self.path, map_location="cpu", weights_only=False)
        if state.get("identity") != self.identity:
            raise ValueError(f"checkpoint {self.path} belongs to another run: "
                             f"{state.get('identity')} != {self.identity}")
        return state

    def save(self, state: dict) -> None:
        """Write ``state`` (plus the identity) atomically."""
        full = {**state, "identity": self.identity}
        atomic_file(self.path, lambda tmp: torch.save(full, tmp))
        if self.keep:
            copy = self.path.with_name(f"{self.path.stem}_step{state['step']}{self.path.suffix}")
            atomic_file(copy, lambda tmp: torch.save(full, tmp))
        self.saves += 1
