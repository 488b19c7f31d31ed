"""llama-cpp-python on a local GGUF file: the default generator."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from service.errors import GeneratorError, VraagbaakError
from service.models.generators.base import OnToken

DEFAULT_THREADS = 2  # a process that has the machine to itself (CLI, eval): both cores of a 2-core machine
_default_threads = DEFAULT_THREADS


@contextmanager
def default_threads(n_threads: int) -> Iterator[None]:
    """Within the block, llama.cpp generators made without an explicit `n_threads` get this many. The
    server loads its pipeline (and with it the model) inside it, with VRAAGBAAK_GENERATOR_THREADS, since
    the pipeline's loader does not pass a thread count; nothing outside the block changes."""
    global _default_threads
    if n_threads < 1:
        raise VraagbaakError(f"llama.cpp heeft minstens 1 thread nodig, niet {n_threads}")
    before, _default_threads = _default_threads, n_threads
    try:
        yield
    finally:
        _default_threads = before


class LlamaCppGenerator:
    """llama-cpp-python on a local GGUF, with the chat template stored in the model.

    Consecutive prompts that share a token prefix (the same system prompt) reuse its KV cache:
    `Llama.generate` keeps the last prompt's tokens and only evaluates the new suffix.

    `n_threads` (default 2, or what an enclosing `default_threads` block says) also evaluates the prompt
    (`n_threads_batch`; llama-cpp-python would otherwise take every core for it).
    """

    def __init__(self, model_path: Path, n_ctx: int = 4096, n_threads: int | None = None, seed: int = 0) -> None:
        model_path = Path(model_path)
        if not model_path.is_file():
            raise VraagbaakError(f"GGUF-model niet gevonden: {model_path}")
        from llama_cpp import Llama

        self.name, self.n_ctx, self._seed = model_path.stem, n_ctx, seed
        self.n_threads = n_threads or _default_threads
        try:
            self._llm = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=self.n_threads,
                              n_threads_batch=self.n_threads, seed=seed, verbose=False)
        except ValueError as e:
            raise VraagbaakError(f"kan GGUF-model niet laden ({e}): {model_path}") from e
        self._lock = threading.Lock()  # a Llama context is not reentrant

    def count_tokens(self, text: str) -> int:
        """Number of model tokens in `text` (no BOS, special tokens as plain text)."""
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def generate(self, messages: list[dict], *, max_tokens: int = 200, temperature: float = 0.0,
                 stop: list[str] | None = None, on_token: OnToken | None = None) -> str:
        kw = dict(messages=messages, max_tokens=max_tokens, temperature=temperature, stop=stop or [],
                  seed=self._seed, stream=True)  # always streamed: one code path, same text
        pieces = []
        with self._lock:
            for chunk in _llama_errors(lambda: self._llm.create_chat_completion(**kw), self.name):
                if piece := chunk["choices"][0]["delta"].get("content"):
                    pieces.append(piece)
                    if on_token is not None:
                        on_token(piece)
        return "".join(pieces)


def _llama_errors(start: Callable[[], Iterator[dict]], name: str) -> Iterator[dict]:
    """The chunks of `start()`, with llama-cpp's errors (e.g. a prompt longer than the context window)
    turned into GeneratorError. Errors raised by the consumer (an `on_token` callback) are not touched."""
    try:
        yield from start()
    except (ValueError, RuntimeError) as e:
        raise GeneratorError(f"llama-cpp ({name}): {e}") from e
