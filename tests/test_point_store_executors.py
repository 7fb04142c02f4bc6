import numpy as np
import pytest

from pdeflow.study.executors import make_executor, run_all
from pdeflow.study.point_store import PointStore


def noisy_point(params):
    """A pure function of its parameters (what every study point must be)."""
    rng = np.random.default_rng(params["seed"])
    return {"error": params["eps"] ** 0.5 * (1 + 0.01 * rng.standard_normal()),
            "samples": rng.standard_normal((3, 2))}


POINTS = [{"route": r, "eps": e, "seed": s}
          for r in ("smooth", "rough") for e in (0.01, 0.1) for s in (0, 1)]


def run_study(store, executor, crash_after=None):
    for done, (params, result) in enumerate(run_all(executor, noisy_point, store.pending(POINTS))):
        if crash_after is not None and done == crash_after:
            raise KeyboardInterrupt  # killed between two points
        store.write(params, result)


def table(store):
    return [(p, float(r["error"]), r["samples"].tolist()) for p, r in store.completed()]


def test_resume_after_a_crash_computes_only_what_is_missing(tmp_path):
    reference = PointStore(tmp_path / "reference")
    with make_executor(workers=1) as ex:
        run_study(reference, ex)
    store = PointStore(tmp_path / "crashed")
    with make_executor(workers=1) as ex, pytest.raises(KeyboardInterrupt):
        run_study(store, ex, crash_after=3)
    assert len(store.completed()) == 3          # the partial store is valid and readable
    assert len(store.pending(POINTS)) == len(POINTS) - 3
    with make_executor(workers=1) as ex:
        run_study(store, ex)
    assert table(store) == table(reference)


def test_local_processes_and_dask_give_the_serial_results(tmp_path):
    from distributed import LocalCluster

    stores = {name: PointStore(tmp_path / name) for name in ("serial", "processes", "dask")}
    with make_executor(workers=1) as ex:
        run_study(stores["serial"], ex)
    with make_executor(workers=2) as ex:
        run_study(stores["processes"], ex)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, make_executor(scheduler=cluster) as ex:
        run_study(stores["dask"], ex)
    assert table(stores["processes"]) == table(stores["serial"])
    assert table(stores["dask"]) == table(stores["serial"])


def test_bad_parameters_and_workers(tmp_path):
    with pytest.raises(ValueError, match="JSON"):
        PointStore(tmp_path).path({"eps": object()})
    with pytest.raises(ValueError, match="workers"):
        with make_executor(workers=-1):
            pass
