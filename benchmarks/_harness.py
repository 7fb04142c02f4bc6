"""Shared timing harness for the benchmark scripts: interleaved repeats, medians, spread, load.

Every benchmark times pdeflow and its peer *in the same process, repeat by repeat*
(pdeflow, peer, pdeflow, peer, ...), so that a change in the machine's load hits both codes alike;
the ratio of medians is the number to quote. Compile time (numba, py-pde) is measured by the
caller on a first, separate call and reported apart.

    from _harness import interleave, report, machine_line
    times = interleave({"pdeflow": run_a, "py-pde": run_b}, repeats=5)
    print(report(times, work=cells * steps, unit="G cell-updates/s", scale=1e-9,
                 reference="py-pde"))
"""
from __future__ import annotations

import os
import platform
import time
from typing import Callable, Mapping

import numpy as np

MIN_REPEATS = 5


def load_average() -> str:
    """The 1, 5 and 15 minute load averages as a string (``"n/a"`` where unavailable)."""
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "n/a"


def machine_line() -> str:
    """One line naming the machine, the core count and the library versions that matter."""
    import numba
    cpu = platform.processor() or platform.machine()
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"numpy {np.__version__}, numba {numba.__version__}, "
            f"NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}, load {load_average()}")


def interleave(cases: Mapping[str, Callable[[], object]], repeats: int = MIN_REPEATS,
               cpu: dict | None = None) -> dict[str, np.ndarray]:
    """Time each callable once per repeat, in turn, ``repeats`` times.

    Parameters
    ----------
    cases : mapping name -> zero-argument callable. Each call is one timed repeat; the callables
        are already compiled (warm) when passed in.
    repeats : number of rounds, at least ``MIN_REPEATS``.
    cpu : optional dict, filled with name -> (repeats,) CPU seconds of the process (all threads)
        for the same calls: a rate per CPU-second does not depend on how many cores the
        machine's other load left free.

    Returns
    -------
    dict name -> (repeats,) array of wall seconds, in the order run.
    """
    if not isinstance(repeats, int) or repeats < MIN_REPEATS:
        raise ValueError(f"repeats must be an integer >= {MIN_REPEATS}, got {repeats!r}")
    if not cases:
        raise ValueError("cases must name at least one callable")
    times = {name: np.empty(repeats) for name in cases}
    cpu_times = {name: np.empty(repeats) for name in cases}
    for r in range(repeats):
        for name, run in cases.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            run()
            times[name][r] = time.perf_counter() - start
            cpu_times[name][r] = time.process_time() - cpu_start
    if cpu is not None:
        cpu.update(cpu_times)
    return times


def spread(seconds: np.ndarray) -> tuple[float, float, float]:
    """(median, min, max) of a set of repeat times."""
    return float(np.median(seconds)), float(np.min(seconds)), float(np.max(seconds))


def ratio(times: Mapping[str, np.ndarray], fast: str, slow: str) -> tuple[float, float, float]:
    """Speed ratio ``slow / fast`` as (ratio of medians, min, max of the per-repeat ratios)."""
    per_repeat = times[slow] / times[fast]
    return (float(np.median(times[slow]) / np.median(times[fast])),
            float(per_repeat.min()), float(per_repeat.max()))


def report(times: Mapping[str, np.ndarray], *, work: float, unit: str, scale: float = 1.0,
           reference: str | None = None) -> str:
    """A plain-text table: median seconds, rate (``work / seconds * scale``) and spread per case.

    With ``reference`` the last column is each case's speed relative to it (ratio of medians,
    with the range of the per-repeat ratios).
    """
    lines = [f"  {'case':<28} {'median s':>10} {'min s':>10} {'max s':>10} {unit:>20}"
             + ("   vs " + reference if reference else "")]
    for name, sec in times.items():
        med, lo, hi = spread(sec)
        line = f"  {name:<28} {med:10.4g} {lo:10.4g} {hi:10.4g} {work / med * scale:20.4g}"
        if reference and name != reference:
            r, rlo, rhi = ratio(times, name, reference)
            line += f"   {r:6.2f}x [{rlo:.2f}, {rhi:.2f}]"
        lines.append(line)
    lines.append(f"  ({len(next(iter(times.values())))} interleaved repeats; load {load_average()})")
    return "\n".join(lines)
