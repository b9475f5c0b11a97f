# MiniFlow: `make` sets up and builds the book; `make test` runs every test.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(abspath $(VENV))/bin
# nbgrader runs alembic as a subprocess, and jupyter-book runs a kernel: both need the venv first on PATH.
export PATH := $(BIN):$(PATH)

.PHONY: all setup lock web-assets book serve test mutation bench clean

all: book

setup: $(VENV)/.installed

# Everything installs from requirements.txt: every package pinned, every file hash-checked. The lock is
# complete, so pip takes it as it is (--no-deps; pip's resolver cannot check the hashes of a package that
# another one asks for with extras) and `pip check` confirms that nothing is missing or mismatched.
# --clear: the venv holds what the lock says and nothing left over from an earlier one.
$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements.txt
	$(BIN)/pip check
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# Resolve requirements.in again for every Python from 3.11 on, keeping the pins that still fit it
# (`make lock LOCK_FLAGS=--upgrade` moves everything to the newest versions it allows). An unchanged
# lock keeps its date, so the venv is not rebuilt for nothing.
# Left out of the lock: rfc3987-syntax (and lark, which only it needs). jsonschema's format-nongpl extra
# brings it (for the "iri" format, which no Jupyter schema uses), and jsonschema imports it eagerly: it builds
# about 35 parsers at import, 1.5 s of CPU in every process that imports nbformat: every sandboxed notebook,
# nbgrader command and book build (python-jsonschema/jsonschema#1428). Without it jsonschema skips that check.
LOCK_FLAGS ?=
LOCK_OMIT  := --no-emit-package rfc3987-syntax --no-emit-package lark
lock: setup
	cp requirements.txt requirements.txt.new
	$(BIN)/uv pip compile requirements.in --generate-hashes --universal --python-version 3.11 --quiet \
		--custom-compile-command "make lock" $(LOCK_OMIT) $(LOCK_FLAGS) -o requirements.txt.new
	if cmp -s requirements.txt.new requirements.txt; then rm requirements.txt.new; \
	else mv requirements.txt.new requirements.txt; fi

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

# SITE: another built copy of the site to serve (the tests serve the one their own build made).
SITE ?= _build/html
serve:
	@test -f $(SITE)/index.html || $(MAKE) --no-print-directory book
	@echo "Serving the book at http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	$(BIN)/python -m http.server $(PORT) --bind $(HOST) --directory $(SITE)

# Two workers (CI has two cores); tests that share an expensive fixture stay on one worker (xdist_group).
JOBS ?= 2
test: setup
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup

# Mutation testing of the core (miniflow/ but draw.py) against its own tests; settings in pyproject.toml.
# MUTANTS picks some by name, e.g. `make mutation MUTANTS='miniflow.optim.*'`; the score counts the ones run.
MUTANTS ?=
mutation: setup
	$(BIN)/mutmut run $(MUTANTS)
	$(BIN)/mutmut export-cicd-stats
	$(BIN)/python -c 'import json; s = json.load(open("mutants/mutmut-cicd-stats.json")); \
		run = sum(v for key, v in s.items() if key != "total"); k = s["killed"] + s["timeout"]; \
		print("mutation score: %d of %d mutants killed (%.1f%%); mutmut results lists the survivors" \
		      % (k, run, 100 * k / run))'

# `make bench QUICK=1` runs one round of each benchmark: it shows they run, its numbers mean little.
QUICK ?=
bench: setup
	$(BIN)/python benchmarks/train_step.py $(if $(QUICK),--repeat 1)
	$(BIN)/python benchmarks/digits.py $(if $(QUICK),--rounds 1)

clean:
	rm -rf _build mutants

# exercises/ is what learners get: generated from solutions/ (solutions and hidden tests) by nbgrader,
# never edited by hand. This also records each assignment's tests in the gradebook, for autograding.
ASSIGNMENTS = $(notdir $(wildcard solutions/ps*))
.PHONY: exercises
exercises: setup
	for a in $(ASSIGNMENTS); do $(BIN)/nbgrader generate_assignment $$a --force --log-level=WARN || exit 1; done
