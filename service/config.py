"""Settings, read once at the edge (CLI entry, app factory) from VRAAGBAAK_* environment variables.

Nothing here is built at import time; call `Settings()` where the program starts and pass values down.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VRAAGBAAK_", extra="ignore", populate_by_name=True)

    corpus_dir: Path = PROJECT_ROOT / "corpus"
    questions_dir: Path = PROJECT_ROOT / "questions"  # questions written per sentence (questions/README.md)
    index_dir: Path = PROJECT_ROOT / "var" / "index"
    cache_dir: Path = Path.home() / ".cache" / "vraagbaak"
    embedder: str = "e5-small"  # "e5-small", "fake", or a sentence-transformers folder
    embed_bf16: bool | None = None  # None: bf16 autocast when the CPU has native bf16
    query_onnx: bool = True  # queries on ONNX Runtime (exported once at setup); false: torch
    query_int8: bool = False  # the ONNX query encoder quantized to int8: ~2x faster, vectors ~0.986 cosine
    chunk_tokens: int = 256
    chunk_overlap: int = 48
    faiss_kind: str = "flat"  # flat | hnsw | ivf
    question_weight: float = 1.0  # RRF weight of the passages found by their sentences' questions (0: off)
    store: str = "faiss"  # faiss (vectors + BM25 in index_dir) | qdrant (a Qdrant collection, docs/scaling.md)
    qdrant_url: str | None = None  # a Qdrant server or cluster, e.g. http://qdrant:6333
    qdrant_path: Path | None = None  # embedded local mode (one process, small corpora): a folder
    qdrant_api_key: str | None = None
    qdrant_collection: str | None = None  # default: vraagbaak-<embedder name>, one collection per embedder
    generator: str = "llama-cpp"  # llama-cpp | transformers | openai | none (extractive only)
    generator_model: str | None = None  # llama-cpp: qwen2.5-coder-1.5b (default), -0.5b or a .gguf path
    generator_base_url: str | None = None  # openai: e.g. http://localhost:8080/v1
    generator_api_key: str | None = None
    generator_timeout: float = 60.0
    # The server's CPU split (docs/scaling.md, load): llama.cpp in process, at normal priority, on
    # `generator_threads` threads while the server is otherwise idle and `generator_busy_threads` while
    # searches / extractive answers (at most `search_workers` threads at a time) compute or wait.
    generator_threads: int = Field(2, ge=1)  # llama.cpp threads in `serve` and the Slack bot when idle (CLI, eval: 2)
    generator_busy_threads: int = Field(1, ge=1)  # llama.cpp threads in `serve` while the search lane is in use
    generation_nice: int = Field(0, ge=0, le=19)  # niceness of the generating thread in `serve` and the Slack bot
    search_workers: int = Field(1, ge=1)  # searches and extractive answers computed at once; the rest queue
    default_mode: str = "extractive"  # extractive | generate (docs/answers.md: generate does not beat it)
    # The forms of question for which generate mode asks the model for the lead; the rest get the
    # extractive answer at once (docs/answers.md, "generate mode lets the model write only where it did not
    # lose": the key facts by form). "all": every form.
    model_forms: str = "english,name,plan"
    k: int = 8  # passages retrieved per question
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None  # bearer key for all but /healthz, /readyz, the chat page, /docs
    cors_origins: list[str] = []  # VRAAGBAAK_CORS_ORIGINS='["https://intranet.example"]'
    max_concurrent_generations: int = 1
    max_queue: int = 8  # generations allowed to wait; beyond -> 429
    max_ask_wait_s: float | None = 30.0  # 429 at once when the measured queue wait + generation passes this
    retry_after_s: int = 5  # Retry-After of 429/503
    feedback_db: Path = PROJECT_ROOT / "var" / "feedback.sqlite3"  # 👍/👎 rows (and Slack's seen event ids)
    # Slack's own variable names: the routes /slack/* are served only when token and secret are set.
    slack_bot_token: str | None = Field(None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "slack_bot_token"))
    slack_signing_secret: str | None = Field(
        None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "slack_signing_secret"))
    slack_app_token: str | None = Field(None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "slack_app_token"))
    slack_api_url: str | None = None  # another Slack Web API base URL (a proxy, or a fake in tests)
    slack_max_queue: int = 32  # Slack answers waiting for a generation slot; beyond -> "erg druk" in the thread
    slack_timeout_s: float = 120.0  # per Slack answer, then a polite message in the thread


def qdrant_location(settings: Settings, embedder_name: str):
    """The Qdrant collection the settings name, or None for the FAISS store."""
    import re

    from index.errors import VraagbaakError
    from index.qdrant_store import QdrantLocation

    if settings.store not in ("faiss", "qdrant"):
        raise VraagbaakError(f"onbekende VRAAGBAAK_STORE {settings.store!r}; kies faiss of qdrant")
    if settings.store == "faiss":
        return None
    name = settings.qdrant_collection or "vraagbaak-" + re.sub(r"[^A-Za-z0-9_-]+", "-", embedder_name).strip("-")
    return QdrantLocation(name, url=settings.qdrant_url,
                          path=str(settings.qdrant_path) if settings.qdrant_path else None,
                          api_key=settings.qdrant_api_key)
