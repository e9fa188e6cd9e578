# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
PLUGINS := $(wildcard plugins/*/pyproject.toml)

.PHONY: demo test bench venv clean

$(STAMP): pyproject.toml $(PLUGINS)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "dbsj needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' $(foreach p,$(PLUGINS),-e $(dir $(p)))
	@touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/dbsj demo

test: $(STAMP)
	$(PY) -m pytest -n 2 -p no:cacheprovider

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) demo .pytest_cache build
