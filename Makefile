# Two entry points, each self-contained on a fresh clone:
#   make demo  -> create .venv, install, run the main job on the embedded demo data
#   make test  -> create .venv, install, run ruff then the whole test suite
# and after make demo: make segmentation (the thesis's SR-before-segmentation study on the demo generators).
# make demo-cyclegan: the CycleGAN-DCT demo (vanilla vs DCT on the stego preset, <= 10 min on 2 cores).
# and the inner loop: make test-fast (ruff, then the tests not marked slow).
PYTHON ?= python3
# test processes (pytest-xdist; a test file stays in one process): 2 halves the suite's time on 2 cores
PYTEST_WORKERS ?= 2
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo demo-cyclegan segmentation test test-fast lint install clean

$(STAMP): setup.cfg setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,bioimageio]' --config-settings editable_mode=compat
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

demo-cyclegan: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo_cyclegan.sh

segmentation: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/segmentation.sh

lint: $(STAMP)
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile

test-fast: lint
	$(BIN)/python -m pytest -q -m "not slow"

clean:
	rm -rf $(VENV) backup logs result demo_out
