"""Run every benchmark script in this folder in turn (`make bench`); names select a subset."""
import runpy
import sys
from pathlib import Path


def main(selected):
    here = Path(__file__).parent
    for script in sorted(here.glob("bench_*.py")):
        if selected and script.stem not in selected:
            continue
        print(f"\n=== {script.name} ===", flush=True)
        runpy.run_path(str(script), run_name="__main__")


if __name__ == "__main__":  # spawn-started worker processes re-import this file: no re-run
    main(sys.argv[1:])
