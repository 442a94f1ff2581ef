# The two commands of the README: `make demo` and `make test`. Both bootstrap .venv from nothing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The demo needs only agentbook itself; tests add the dev tools and the backtest extras (scikit-learn,
# matplotlib, ray), which are large. Each stamp is redone when pyproject.toml changes.
BASE := $(VENV)/.installed-base
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean dist changelog

$(VENV)/bin/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(BASE): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e .
	touch $(BASE)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e '.[dev,backtest]'
	touch $(BASE) $(STAMP)

demo: $(BASE)
	$(BIN)/agentbook demo

test: $(STAMP)
	@bash .ci/sysdeps
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check runner tests bench
	$(BIN)/mypy

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

# The release build: sdist, then a wheel built from that sdist (so a file missing from the sdist shows up
# here), both with agentbook/_version.py naming this commit. The dev tools bring setuptools and build.
dist: $(STAMP)
	rm -rf dist build
	$(BIN)/python -m build --no-isolation --outdir dist .
	@ls -l dist

# Rewrite CHANGELOG.md's Unreleased section from the commits since the last vX.Y.Z tag.
changelog:
	$(PY) .ci/changelog.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache dist build
