"""Interrupts: Ctrl-C stops a run at once and keeps what finished; a killed parent leaves no
worker behind; a killed writer's temporary files are removed by the next run."""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pdeflow.io import remove_stale_temporaries, temporary_tag
from pdeflow.study.executors import run_and_keep, serial_executor
from pdeflow.study.point_store import PointStore

ROOT = Path(__file__).resolve().parents[1]

# 2 spawn workers: four short items, then items of 60 s, so both workers are busy when the
# signal comes (a worker that only checks its queue between items would outlive the parent)
POOL_SCRIPT = textwrap.dedent("""
    import sys, time
    from pdeflow.study.executors import local_executor, run_and_keep
    from pdeflow.study.point_store import PointStore
    if __name__ == "__main__":
        store = PointStore(sys.argv[1])
        items = [0.3 + i * 1e-6 for i in range(4)] + [60.0 + i * 1e-6 for i in range(20)]
        with local_executor(2) as ex:
            run_and_keep(ex, time.sleep, items, lambda t, r: store.write({"t": t}, {"r": 0}))
""")


# the same through the study's TaskQueue (costliest first: the long items carry the lower cost)
QUEUE_SCRIPT = textwrap.dedent("""
    import sys, time
    from pdeflow.study.executors import TaskQueue, local_executor
    from pdeflow.study.point_store import PointStore
    if __name__ == "__main__":
        store = PointStore(sys.argv[1])
        items = [0.3 + i * 1e-6 for i in range(4)] + [60.0 + i * 1e-6 for i in range(20)]
        with local_executor(2) as ex:
            queue = TaskQueue(ex)
            for t in items:
                queue.add(time.sleep, t, lambda t, r: store.write({"t": t}, {"r": 0}), cost=-t)
            queue.run()
""")


def _children(pid: int) -> list:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def _alive(pids) -> list:
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.append(pid)
    return alive


def _start_pool(tmp_path, script=POOL_SCRIPT, args=()):
    path = tmp_path / "run.py"
    path.write_text(script)
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, str(path), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow   # 44-46 s each on the loaded 2-core machine (spawn workers import pdeflow)
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find the workers")
@pytest.mark.parametrize("script", [POOL_SCRIPT, QUEUE_SCRIPT], ids=["run_and_keep", "TaskQueue"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_signal_to_the_parent_stops_it_and_leaves_no_worker(tmp_path, sig, script):
    store_dir = tmp_path / "points"
    process = _start_pool(tmp_path, script=script, args=(str(store_dir),))
    try:
        _wait_for(lambda: len(list(store_dir.glob("*.h5"))) >= 4, 90, "the short items")
        children = _children(process.pid)
        assert len(children) >= 2          # the two workers (and the resource tracker)
        sent = time.monotonic()
        process.send_signal(sig)
        process.wait(timeout=10)
        stopped = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
    assert stopped < 5, f"{stopped:.1f} s to stop"
    _wait_for(lambda: not _alive(children), 5, f"workers {children} to exit")
    kept = PointStore(store_dir).completed()      # every file complete and readable
    assert len(kept) == 4                         # finished items kept, queued ones cancelled
    if sig == signal.SIGINT:
        assert "KeyboardInterrupt" in process.stderr.read()


def test_an_interrupt_while_keeping_a_result_still_keeps_every_finished_item():
    kept, calls = [], []

    def keep(item, result):
        calls.append(item)
        if len(calls) == 2:
            raise KeyboardInterrupt       # Ctrl-C while item 1 is being written
        kept.append((item, result))

    with pytest.raises(KeyboardInterrupt):
        run_and_keep(serial_executor(), lambda x: x * x, range(5), keep)
    assert sorted(kept) == [(i, i * i) for i in range(5)]


def test_temporaries_of_a_dead_writer_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".result.h5.pid{dead}.abc.tmp"
    live = tmp_path / f".result.h5{temporary_tag()}xyz.tmp"
    other = tmp_path / "result.h5"
    for path in (stale, live, other):
        path.write_bytes(b"x")
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert live.exists() and other.exists() and not stale.exists()
