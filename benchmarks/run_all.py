"""Run every benchmark script in this folder in turn (`make bench`); names select a subset.

Prints each script's wall time as it finishes and a summary with the total at the end.
"""
import os
import runpy
import sys
import time
from pathlib import Path


def main(selected):
    here = Path(__file__).parent
    walls = []
    for script in sorted(here.glob("bench_*.py")):
        if selected and script.stem not in selected:
            continue
        print(f"\n=== {script.name} ===", flush=True)
        start = time.perf_counter()
        argv, sys.argv = sys.argv, [str(script)]
        try:
            runpy.run_path(str(script), run_name="__main__")
        finally:
            sys.argv = argv
        walls.append((script.name, time.perf_counter() - start))
        print(f"=== {script.name}: {walls[-1][1]:.1f} s wall, load "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} ===", flush=True)
    print("\nwall time per script:")
    for name, sec in walls:
        print(f"  {name:<24} {sec:8.1f} s")
    print(f"  {'total':<24} {sum(s for _, s in walls):8.1f} s")


if __name__ == "__main__":  # spawn-started worker processes re-import this file: no re-run
    main(sys.argv[1:])
