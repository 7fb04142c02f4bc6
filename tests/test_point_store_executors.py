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


def square(x):
    return x * x


def test_task_queue_runs_costliest_first_and_tasks_added_by_done():
    from pdeflow.study.executors import TaskQueue, serial_executor

    order, results = [], {}
    queue = TaskQueue(serial_executor(), slots=0)      # one task in flight: a strict order

    def done(item, result):
        order.append(item)
        results[item] = result
        if item == 3:                                  # work that depends on a finished task
            queue.add(square, 30, done, cost=100.0)    # costliest of all: runs next
    for item, cost in ((1, 1.0), (2, 5.0), (3, 9.0), (4, 2.0)):
        queue.add(square, item, done, cost=cost)
    queue.run()
    assert order == [3, 30, 2, 4, 1]
    assert results == {i: i * i for i in (1, 2, 3, 4, 30)}


def test_task_queue_interrupted_in_done_keeps_every_finished_task():
    from pdeflow.study.executors import TaskQueue, serial_executor

    kept, calls = [], []

    def keep(item, result):
        calls.append(item)
        if len(calls) == 2:
            raise KeyboardInterrupt          # Ctrl-C while the second result is being kept
        kept.append((item, result))

    queue = TaskQueue(serial_executor(), slots=3)      # four tasks finish at submission
    for item in range(6):
        queue.add(square, item, keep, cost=-item)
    with pytest.raises(KeyboardInterrupt):
        queue.run()
    # the four submitted tasks are all kept (the interrupted one again), the two queued dropped
    assert sorted(kept) == [(i, i * i) for i in range(4)]


def test_task_queue_on_processes_and_dask_gives_the_serial_results():
    from distributed import LocalCluster

    from pdeflow.study.executors import TaskQueue, executor_slots

    def collect(executor):
        out = {}
        queue = TaskQueue(executor)
        for item in range(8):
            queue.add(square, item, lambda i, r: out.__setitem__(i, r), cost=item % 3)
        queue.run()
        return out

    with make_executor(workers=2) as ex:
        assert executor_slots(ex) == 2
        on_processes = collect(ex)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, make_executor(scheduler=cluster) as ex:
        assert executor_slots(ex) == 2
        on_dask = collect(ex)
    assert on_processes == on_dask == {i: i * i for i in range(8)}


def pot_in_a_worker(_):
    """W2 and Sinkhorn in a worker; whether scikit-learn was imported for them."""
    import sys

    from pdeflow.validation.metrics import sinkhorn_w2, wasserstein2

    x = np.linspace(0.0, 1.0, 20)[:, None]
    return wasserstein2(x, x + 0.5), sinkhorn_w2(x, x), "sklearn" in sys.modules


def test_workers_import_pot_without_sklearn():
    """Issue 28: ``import ot`` pulled scikit-learn (1-3 s) into every worker; POT's uses of it
    are optional and pdeflow needs none. The results are POT's own (a shift by 0.5: W2 = 0.5;
    Sinkhorn as in this process)."""
    import subprocess
    import sys

    with make_executor(workers=2) as ex:
        w2, sinkhorn, sklearn_loaded = ex.submit(pot_in_a_worker, None).result()
    x = np.linspace(0.0, 1.0, 20)[:, None]
    from pdeflow.validation.metrics import sinkhorn_w2

    assert w2 == pytest.approx(0.5, rel=1e-12)
    assert sinkhorn == pytest.approx(sinkhorn_w2(x, x), rel=1e-12)    # this process: plain POT
    assert not sklearn_loaded
    # the hook is gone after the import: scikit-learn still imports in that process
    code = ("import sys; from pdeflow.validation import metrics as m; "
            "m.import_pot_without_sklearn(); m._ot(); assert 'sklearn' not in sys.modules; "
            "import sklearn.neighbors; print(len(sys.meta_path))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]


def test_pot_that_needs_sklearn_still_imports(tmp_path):
    """If a POT release made scikit-learn required, the worker's import without it would fail:
    pdeflow then forgets the half-imported package and imports it as usual (slower, not broken).
    A stand-in ``ot`` package that imports scikit-learn unconditionally plays that release."""
    import subprocess
    import sys

    (tmp_path / "ot").mkdir()
    (tmp_path / "ot" / "__init__.py").write_text("import sklearn\nSTAND_IN = True\n")
    code = ("import sys; sys.path.insert(0, %r); from pdeflow.validation import metrics as m; "
            "m.import_pot_without_sklearn(); ot = m._ot(); "
            "assert ot.STAND_IN and 'sklearn' in sys.modules; print('ok')" % str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
