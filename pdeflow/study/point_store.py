"""A resumable store of study points: one small HDF5 file per finished point.

Each point (a dict of JSON-serialisable parameters, e.g. route, epsilon, seed) is written
atomically as soon as it finishes, to a file named by a hash of its parameters. A study that is
killed and restarted asks :meth:`PointStore.pending` for what is missing and computes only that;
since every file on disk is complete (atomic rename), nothing half-written is ever read back.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ..io import atomic_h5, open_h5

__all__ = ["PointStore"]

_KIND = "study_point"


def _canonical(params: dict) -> str:
    try:
        return json.dumps(params, sort_keys=True, separators=(",", ":"))
    except TypeError as err:
        raise ValueError(f"point parameters must be JSON-serialisable: {err}") from None


class PointStore:
    """Files ``<directory>/<hash>.h5``, one per finished point.

    Results are a dict of names to numbers or arrays; parameters a dict of JSON values.
    """

    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, params: dict) -> Path:
        digest = hashlib.sha1(_canonical(params).encode()).hexdigest()[:16]
        return self.directory / f"{digest}.h5"

    def done(self, params: dict) -> bool:
        return self.path(params).exists()

    def pending(self, all_params) -> list:
        """The parameter dicts of ``all_params`` that have no finished file yet (order kept)."""
        return [p for p in all_params if not self.done(p)]

    def write(self, params: dict, results: dict) -> Path:
        path = self.path(params)
        with atomic_h5(path, kind=_KIND) as f:
            f.attrs["params"] = _canonical(params)
            for name, value in results.items():
                f.create_dataset(name, data=np.asarray(value))
        return path

    def read(self, params: dict) -> dict:
        return self._read_file(self.path(params))[1]

    def completed(self) -> list:
        """All finished points as ``(params, results)`` pairs, sorted by their parameters."""
        items = [self._read_file(p) for p in self.directory.glob("*.h5")]
        return sorted(items, key=lambda item: _canonical(item[0]))

    @staticmethod
    def _read_file(path: Path):
        with open_h5(path, _KIND) as f:
            params = json.loads(f.attrs["params"])
            results = {name: f[name][()] for name in f}
        return params, results
