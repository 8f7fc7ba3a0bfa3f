# Two commands on a fresh machine: `make run` (quickstart) and `make test`.
# torch is installed first, pinned, so pip never pulls a CUDA build through a dependency.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test

.PHONY: run test test-fast check install browser bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# `make run` needs only the package; `make test` adds the extras (pytest, Ray, TensorBoard, the
# multi-agent tasks).
$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet --disable-pip-version-check "$(TORCH)"
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	touch $(STAMP)

# torch-fidelity and clean-fid are the FID parity tests' oracles. Both declare torchvision,
# which cannot import beside the pinned torch, so they come without their dependencies; the tests
# import only their modules that need none (tests/reference_libraries.py).
ORACLES := torch-fidelity==0.4.0 clean-fid==0.1.35

$(TESTSTAMP): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev,ray,tensorboard,marl]"
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps $(ORACLES)
	touch $(TESTSTAMP)

install: $(TESTSTAMP)

run: $(STAMP)
	$(PY) -m genarena.quickstart

# The report pages are tested in headless Chromium (Debian's package); install it where missing.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	    >/dev/null 2>&1 || echo "note: chromium could not be installed: the browser tests will skip"; }

# One pytest worker per core, one torch thread each (tests/conftest.py); Ray tests share a worker.
PYTEST_JOBS ?= auto
test: $(TESTSTAMP) browser
	$(PY) -m pytest -q -n $(PYTEST_JOBS) --dist loadgroup $(PYTEST_ARGS)

# The tier a contributor runs between edits: everything but the end-to-end tests marked `slow`
# (benches, SIGKILL and resume, Ray, torch.distributed, MARL training).
test-fast: $(TESTSTAMP)
	$(PY) -m pytest -q -n $(PYTEST_JOBS) --dist loadgroup -m "not slow" $(PYTEST_ARGS)

# Lint (ruff: pycodestyle, pyflakes, import order) and types (mypy, flags in pyproject.toml).
check: $(TESTSTAMP)
	$(VENV)/bin/ruff check src tests
	$(PY) -m mypy

bench: $(STAMP)
	$(VENV)/bin/genarena bench         # lists the suites; run one with .venv/bin/genarena bench SUITE

clean:
	rm -rf $(VENV) runs .pytest_cache
