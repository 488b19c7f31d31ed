# Vraagbaak as one image: dependencies installed, models assembled from their PyPI packages and the
# index built at image build time, so the container starts offline and serves on port 8000.
#
#   docker build -t vraagbaak .
#   docker run --rm -p 8000:8000 vraagbaak            # chat page on http://127.0.0.1:8000
#
# Build needs PyPI, Debian and the PyTorch CPU wheel index (TORCH_INDEX; without it pip would pick
# torch's multi-GB CUDA build). llama-cpp-python compiles from source (~10 min on 2 cores), for any x86-64
# CPU with AVX2 (GGML_NATIVE=OFF: the image runs on other machines than the one that built it; Makefile).
# The image is ~6 GB: the 1.1 GB GGUF, its 22 part packages, torch and the ONNX query encoder.
FROM python:3.11-slim-bookworm

ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CMAKE_ARGS=-DGGML_NATIVE=OFF \
    PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    VRAAGBAAK_CACHE_DIR=/opt/vraagbaak/cache \
    VRAAGBAAK_INDEX_DIR=/opt/vraagbaak/index \
    VRAAGBAAK_HOST=0.0.0.0 \
    VRAAGBAAK_PORT=8000

RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first (their layer survives code changes), pinned by requirements.lock.
COPY pyproject.toml requirements.lock README.md ./
RUN mkdir -p index service eval && touch index/__init__.py service/__init__.py eval/__init__.py \
    && pip install --extra-index-url "$TORCH_INDEX" -c requirements.lock -e . \
    && python -c "import torch; assert not torch.version.cuda, 'CUDA torch: set TORCH_INDEX'"

COPY index ./index
COPY service ./service
COPY eval ./eval
COPY corpus ./corpus
COPY scripts/setup.sh ./scripts/setup.sh
# Models (embedder conversion, ONNX query encoder, GGUF assembly) and the index, once, offline: the same
# script `make run` runs. At start it runs again (seconds: nothing changed, or it syncs a Qdrant collection
# when VRAAGBAAK_STORE=qdrant, as in compose.yaml) and then serves.
RUN scripts/setup.sh

RUN useradd --system --home /app vraagbaak && mkdir -p /app/var && chown -R vraagbaak /opt/vraagbaak /app/var
USER vraagbaak
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"
CMD ["scripts/setup.sh", "--serve"]
