"""Settings, read once at the edge (CLI entry, app factory) from VRAAGBAAK_* environment variables.

Nothing here is built at import time; call `Settings()` where the program starts and pass values down.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VRAAGBAAK_", extra="ignore")

    corpus_dir: Path = PROJECT_ROOT / "corpus"
    index_dir: Path = PROJECT_ROOT / "var" / "index"
    cache_dir: Path = Path.home() / ".cache" / "vraagbaak"
    embedder: str = "e5-small"  # "e5-small", "fake", or a sentence-transformers folder
    embed_bf16: bool | None = None  # None: bf16 autocast when the CPU has native bf16
    query_onnx: bool = True  # queries on ONNX Runtime (exported once at setup); false: torch
    chunk_tokens: int = 256
    chunk_overlap: int = 48
    faiss_kind: str = "flat"  # flat | hnsw | ivf
    generator: str = "llama-cpp"  # llama-cpp | transformers | openai | none (extractive only)
    generator_model: str | None = None  # llama-cpp: qwen2.5-coder-1.5b (default), -0.5b or a .gguf path
    generator_base_url: str | None = None  # openai: e.g. http://localhost:8080/v1
    generator_api_key: str | None = None
    generator_timeout: float = 60.0
    default_mode: str = "generate"  # generate | extractive
    k: int = 8  # passages retrieved per question
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None  # bearer key for all but /healthz, /readyz, the chat page, /docs
    cors_origins: list[str] = []  # VRAAGBAAK_CORS_ORIGINS='["https://intranet.example"]'
    max_concurrent_generations: int = 1
    max_queue: int = 8  # generations allowed to wait; beyond -> 429
    retry_after_s: int = 5  # Retry-After of 429/503
