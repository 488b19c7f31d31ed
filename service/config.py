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
    chunk_tokens: int = 200
    chunk_overlap: int = 40
    faiss_kind: str = "flat"  # flat | hnsw | ivf
