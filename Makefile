# vaekit — every install step lives here. `make test` and `make demo` set themselves up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TF_EXTRA ?= cpu
STAMP := $(VENV)/.installed-$(TF_EXTRA)

# Real data, offline: ../shared/data when it is there (CI), else a folder staged by `make data`.
SHARED_DATA := $(abspath ../shared/data)
ifeq ($(wildcard $(SHARED_DATA)/mnist.npz),)
VAE_DATA_DIR ?= $(CURDIR)/.data
else
VAE_DATA_DIR ?= $(SHARED_DATA)
endif
export VAE_DATA_DIR
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export TF_CPP_MIN_LOG_LEVEL ?= 3
export PYTHONUNBUFFERED := 1
export MPLBACKEND := Agg

.PHONY: setup data sandbox browser test test-fast demo bench release solutions clean help

help:
	@echo "make test   - set up (venv, data, browser) and run the whole test suite"
	@echo "make demo   - release -> example submissions -> autograde -> feedback -> grade table"
	@echo "make bench  - benchmarks (training speed vs keras.io, grading speed)"
	@echo "make release    - regenerate release/ from source/ with nbgrader (checked)"
	@echo "make solutions  - execute the solution notebooks in full into solutions/"

# vaekit (vae_lib, autograder) and the students' package vae-runtime (./student), both editable.
$(STAMP): pyproject.toml student/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ./student -e ".[$(TF_EXTRA),dev]"
	@touch $@

# vae_lib's PyTorch and JAX train steps are tested too (CPU builds; torch 2.13.0 is a wheel file on these machines),
# from a folder of their own that only that test puts on its sys.path: in the venv's site-packages, JAX would be
# imported by every `import tensorflow` (tensorflow/lite/python/util.py tries `from jax import jit`), ~0.5 CPU-s in
# each grading kernel and worker, which a course's grading server (vaekit without JAX) does not pay.
export VAEKIT_REQUIRE_BACKENDS := 1
export VAEKIT_BACKENDS_PATH := $(CURDIR)/$(VENV)/backends
BACKENDS_STAMP := $(VENV)/.installed-backends-apart
$(BACKENDS_STAMP): $(STAMP)
	@$(PY) -m pip uninstall -q -y torch jax jaxlib >/dev/null 2>&1 || true  # from a venv made before they moved
	$(PY) -m pip install -q --upgrade --target "$(VAEKIT_BACKENDS_PATH)" torch==2.13.0 jax==0.10.2 jaxlib==0.10.2
	@touch $@

setup: $(STAMP) $(BACKENDS_STAMP) data

# (Staging imports the package, hence TensorFlow, whose oneDNN notice TF_CPP_MIN_LOG_LEVEL does not silence.)
data: $(STAMP)
	@TF_ENABLE_ONEDNN_OPTS=0 $(PY) -m vae_lib stage "$(VAE_DATA_DIR)"

# Debian's chromium for the JupyterLab browser tests (Playwright drives it; no browser download).
AXE := $(VENV)/axe/node_modules/axe-core/axe.min.js
browser: $(AXE)
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# axe-core (npm) checks the feedback pages and the TA's report for accessibility (tests/pagecheck.py).
$(AXE):
	@command -v npm >/dev/null 2>&1 || { \
	  echo "installing Debian's npm for axe-core"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq npm >/dev/null; }
	npm install --prefix $(VENV)/axe --no-audit --no-fund --loglevel=error axe-core@4.14.1

# Debian's bubblewrap: every grading kernel runs in a bwrap sandbox (autograder/sandbox.py).
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  echo "installing Debian's bubblewrap for the grading sandbox"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq bubblewrap >/dev/null; }
	@sh deploy/apparmor/install.sh  # Ubuntu >= 23.10: AppArmor profile that lets bwrap create user namespaces

test: setup sandbox browser
	$(PY) -m pytest -q

test-fast: setup sandbox
	$(PY) -m pytest -q -m "not slow and not browser"

demo: setup sandbox
	$(PY) -m autograder.cli demo --exchange --cell-timeout 90

bench: setup sandbox
	$(PY) benchmarks/run.py

release: setup sandbox
	$(PY) -m autograder.cli release vae_clase
	$(PY) -m autograder.cli release vae_tarea
	$(PY) -m autograder.cli release vae_condicional

solutions: setup
	$(PY) -m autograder.cli solutions

clean:
	rm -rf build demo gradebook.db submitted autograded feedback test-output .pytest_cache
