# Two commands on a fresh machine: `make demo` and `make test`. Each sets itself up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# What the demo, the tests, the load test and the benchmarks need (a user's `pip install medium`
# gets none of these extras).
EXTRAS := dev,bench,loadtest,embedded

.PHONY: demo test lint bench chromium node clean narrator eval

$(STAMP): pyproject.toml setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[$(EXTRAS)]'
	@touch $(STAMP)

# Browser tests drive Debian's chromium; install it when missing (never download a browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null; }

# node's test runner drives the web client's Supabase channel logic (tests/web/).
node:
	@command -v node >/dev/null 2>&1 || { \
	  echo "installing Debian's nodejs for the web client's tests"; \
	  (apt-get update -qq && apt-get install -y -qq nodejs) >/dev/null; }

demo: $(STAMP)
	$(BIN)/medium demo $(if $(LLM),--llm $(LLM))

# The local narrator: llama.cpp (compiled once, ~6 min on 2 cores) and a verified GGUF.
narrator: $(STAMP)
	$(BIN)/medium narrator install $(if $(MODEL),--model $(MODEL))

# Real-model checks (skipped unless `make narrator` ran); never part of `make test`.
eval: $(STAMP)
	$(BIN)/pytest -q -m realmodel tests/realmodel

test: $(STAMP) chromium node
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check synthesis api workers benchmarks tests
	$(BIN)/mypy synthesis api workers

bench: $(STAMP)
	$(BIN)/medium bench timers

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
