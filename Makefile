# One-command set-up: every target creates the virtual environment it needs on a fresh machine.
# torch==2.13.0 is installed first so that no multi-GB CUDA build is pulled in.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup test demo bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest tests

demo: $(STAMP)
	$(VENV)/bin/allinone demo

bench: $(STAMP)
	$(PY) benchmarks/speed.py
	$(PY) benchmarks/track.py
	$(PY) benchmarks/data.py
	$(PY) benchmarks/train.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
