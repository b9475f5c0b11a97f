# MiniFlow: `make` sets up and builds the book; `make test` runs every test.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(abspath $(VENV))/bin
# nbgrader runs alembic as a subprocess, and jupyter-book runs a kernel: both need the venv first on PATH.
export PATH := $(BIN):$(PATH)

.PHONY: all setup web-assets book serve test bench clean

all: book

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -e .
	touch $@

# The site serves its own MathJax (PyPI: sphinx-mathjax-offline) and widget scripts (npm, from the lockfile).
web-assets: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# Strict (warnings are errors) and from a fresh Sphinx environment (--all), so every warning shows on
# every build; executed notebooks come from the cache in _build/.jupyter_cache unless their code changed.
HOST ?= 127.0.0.1
PORT ?= 8000
book: setup web-assets
	$(BIN)/jupyter-book build . --all -W -n --keep-going
	@echo "The book is built: $(abspath _build/html)/index.html"
	@echo "Serve it with 'make serve', then open http://$(HOST):$(PORT)/"

serve:
	@test -f _build/html/index.html || $(MAKE) --no-print-directory book
	@echo "Serving the book at http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	$(BIN)/python -m http.server $(PORT) --bind $(HOST) --directory _build/html

test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/train_step.py

clean:
	rm -rf _build

# exercises/ is what learners get: generated from solutions/ (solutions and hidden tests) by nbgrader,
# never edited by hand. This also records each assignment's tests in the gradebook, for autograding.
ASSIGNMENTS = $(notdir $(wildcard solutions/ps*))
.PHONY: exercises
exercises: setup
	for a in $(ASSIGNMENTS); do $(BIN)/nbgrader generate_assignment $$a --force --log-level=WARN || exit 1; done
