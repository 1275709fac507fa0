# One command surface for wasmbridge: CI (.ci/run) and the README call these targets.
#
#   make build   compile the extension into .venv (release profile, incremental: ~2.5 s rebuilds)
#   make test    build, then pytest + cargo test + stubtest + docs: the whole suite
#   make lint    cargo clippy -D warnings and ruff
#   make docs    the HTML docs (guides + API reference from the stubs) in docs/_build/html
#   make bench   benchmarks against the reference packages (on demand, never in `test`)
#   make dist    optimized wheels (dist profile: fat LTO, one codegen unit)

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

# Compiled dependencies (wasmtime takes minutes) live outside the checkout, so fresh clones and
# `git clean` keep them.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/wasmbridge/target

VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed

.PHONY: venv build test lint docs bench dist clean

venv: $(VENV_STAMP)

$(VENV_STAMP):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install maturin pytest pytest-timeout mypy ruff hypothesis numpy \
		sphinx sphinx-autoapi myst-parser "dask[distributed]"
	touch $@

build: venv
	VIRTUAL_ENV=$(CURDIR)/$(VENV) $(VENV)/bin/maturin develop --release

# cargo test links libpython: point PyO3 at the venv's interpreter, and the loader at that
# interpreter's libpython (cargo drops library paths outside the target directory).
PY_LIBDIR = $$($(PY) -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')

test: build
	$(PY) -m pytest
	PYO3_PYTHON=$(CURDIR)/$(PY) LD_LIBRARY_PATH="$(PY_LIBDIR)$${LD_LIBRARY_PATH:+:$$LD_LIBRARY_PATH}" \
		cargo test --release
	$(PY) -m mypy.stubtest wasmtime --allowlist tests/stubtest_allowlist.txt
	$(MAKE) docs

lint: venv
	PYO3_PYTHON=$(CURDIR)/$(PY) cargo clippy --release -- -D warnings
	$(VENV)/bin/ruff check python tests bench examples fuzz
	$(VENV)/bin/ruff format --check python tests bench examples fuzz

# The API pages come from the sources and stubs (read, not imported), so this needs no build.
# Warnings are errors: a broken cross-reference or docstring markup fails the test run.
docs: venv
	rm -rf docs/_build
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html

bench: build
	$(PY) bench/bench.py

dist: venv
	$(VENV)/bin/maturin build --profile dist --out dist

clean:
	rm -rf $(VENV) dist
