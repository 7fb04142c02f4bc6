# The README's commands. `make study` sets up and runs the main job (the default epsilon study);
# `make test` the tests; `make docs` the documentation site (docs/_build/html).
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
	# torchcfm -> torchdyn -> torchvision, whose newest release would replace torch: keep the
	# torch installed above by pinning it to its own version on the same command line.
	$(PY) -m pip install --quiet -e ".[test,bench,docs,trajectory,validate-adapters,k-diffusion]" \
		"torch==$$($(PY) -c 'import torch; print(torch.__version__.split("+")[0])')"
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

# The documentation site, from scratch (-E) so that every warning is reported; warnings fail it.
docs: $(STAMP)
	# one thread each: the build only imports; set here, not in conf.py, which the docs tests exec in-process
	NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 $(PY) -m sphinx -b html -E -W --keep-going -q docs docs/_build/html
	$(PY) docs/_ext/apigen.py docs/_build/html/objects.inv
	@echo "docs: open docs/_build/html/index.html"

clean:
	rm -rf $(VENV) results .pytest_cache docs/_build docs/api
