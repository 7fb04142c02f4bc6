# The README's commands. `make study` sets up and runs the main job (the default epsilon study);
# `make test` the tests.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.pdeflow-installed

.PHONY: venv install study demo test test-all bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch; a bare `torch` requirement would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet "torch==2.13.0" || $(PY) -m pip install --quiet torch
	# torchcfm -> torchdyn -> torchvision, whose newest release would replace torch: keep the
	# torch installed above by pinning it to its own version on the same command line.
	$(PY) -m pip install --quiet -e ".[test,bench,trajectory]" \
		"torch==$$($(PY) -c 'import torch; print(torch.__version__.split("+")[0])')"
	touch $(STAMP)

venv install: $(STAMP)

study: $(STAMP)
	$(PY) -m pdeflow.cli study --out results

demo: $(STAMP)
	$(PY) -m pdeflow.cli demo --out results

test: $(STAMP)
	$(PY) -m pytest -q

test-all: $(STAMP)
	$(PY) -m pytest -q -m "slow or not slow"

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) results .pytest_cache
