"""A generator from settings values: `make_generator(backend, model, cache_dir, ...)`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from service.errors import VraagbaakError
from service.models.generators.base import Generator
from service.models.generators.llama import LlamaCppGenerator
from service.models.generators.openai import OpenAIGenerator
from service.models.generators.scripted import ScriptedGenerator
from service.models.generators.transformers import TransformersGenerator
from service.models.gguf import GGUF_MODELS, ensure_gguf

DEFAULT_GGUF = "qwen2.5-coder-1.5b"
BACKENDS = ("llama-cpp", "transformers", "openai", "scripted")


def make_generator(backend: str, model: str | None, cache_dir: Path, *, base_url: str | None = None,
                   api_key: str | None = None, timeout: float = 60.0, n_threads: int | None = None,
                   busy_threads: int | None = None, busy: Callable[[], bool] | None = None) -> Generator:
    """A generator from settings values: backend "llama-cpp" (model: a name from GGUF_MODELS,
    default qwen2.5-coder-1.5b, or a .gguf path), "transformers" (model: a folder, a .gguf path or a
    GGUF_MODELS name), "openai" (base_url like http://host:8080/v1; model defaults to "default"),
    or "scripted". "transformers:<path>" is accepted as backend plus model in one string. For llama-cpp:
    `n_threads` threads while the machine is otherwise idle (None: 2), `busy_threads` (None: 1) while the
    probe `busy()` is true (None: no probe, always `n_threads`); see LlamaCppGenerator."""
    if ":" in backend and model is None:
        backend, model = backend.split(":", 1)
    if backend == "scripted":
        return ScriptedGenerator()
    if backend == "openai":
        if not base_url:
            raise VraagbaakError("generator 'openai' heeft een base_url nodig, bv. http://localhost:8080/v1")
        return OpenAIGenerator(base_url, model or "default", api_key=api_key, timeout=timeout)
    if backend == "llama-cpp":
        return LlamaCppGenerator(_model_file(model or DEFAULT_GGUF, cache_dir), n_threads=n_threads,
                                 busy_threads=busy_threads, busy=busy)
    if backend == "transformers":
        if not model:
            raise VraagbaakError("generator 'transformers' heeft een model nodig (map of .gguf-pad)")
        return TransformersGenerator(_model_file(model, cache_dir) if model in GGUF_MODELS else model)
    raise VraagbaakError(f"onbekende generator-backend {backend!r}; kies uit {', '.join(BACKENDS)}")


def _model_file(model: str, cache_dir: Path) -> Path:
    if model in GGUF_MODELS:
        return ensure_gguf(model, cache_dir)
    if model.endswith(".gguf"):
        return Path(model).expanduser()
    raise VraagbaakError(f"onbekend model {model!r}; kies uit {', '.join(GGUF_MODELS)} of geef een .gguf-pad")
