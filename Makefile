# The README's commands. `make study` sets up and runs the main job (the default epsilon study);
# `make test` the tests.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.pdeflow-installed

.PHONY: venv install study demo test test-random test-all bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch; a bare `torch` requirement would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet "torch==2.13.0" || $(PY) -m pip install --quiet torch
	$(PY) -m pip install --quiet -e ".[test,bench]"
	touch $(STAMP)

venv install: $(STAMP)

study: $(STAMP)
	$(PY) -m pdeflow.cli study --out results

demo: $(STAMP)
	$(PY) -m pdeflow.cli demo --out results

# Derandomised hypothesis (the `ci` profile): every run tests the same examples.
test: $(STAMP)
	HYPOTHESIS_PROFILE=ci $(PY) -m pytest -q

# Exploration: fresh hypothesis examples each run, failures kept in .hypothesis/ (git-ignored).
test-random: $(STAMP)
	HYPOTHESIS_PROFILE=random $(PY) -m pytest -q

test-all: $(STAMP)
	$(PY) -m pytest -q -m "slow or not slow"

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) results .pytest_cache
