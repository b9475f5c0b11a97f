# MiniFlow: `make` sets up and builds the book; `make test` runs every test.
VENV   ?= .venv
PYTHON ?= python3
BIN    := $(abspath $(VENV))/bin
# nbgrader runs alembic as a subprocess, and jupyter-book runs a kernel: both need the venv first on PATH.
export PATH := $(BIN):$(PATH)

.PHONY: all setup book serve test bench clean

all: book

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -e .
	touch $@

book: setup
	@echo "the book is built by a later step"

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
