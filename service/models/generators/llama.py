"""llama-cpp-python on a local GGUF file: the default generator."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from service.errors import GeneratorError, VraagbaakError
from service.models.generators.base import OnToken

log = logging.getLogger("vraagbaak.generator")

DEFAULT_THREADS = 2  # the machine otherwise idle: both cores of a 2-core machine (the CLI and eval always)
DEFAULT_BUSY_THREADS = 1  # while `busy()` says searches compute or wait: one core left to them


class LlamaCppGenerator:
    """llama-cpp-python on a local GGUF, with the chat template stored in the model.

    Consecutive prompts that share a token prefix (the same system prompt) reuse its KV cache:
    `Llama.generate` keeps the last prompt's tokens and only evaluates the new suffix.

    Threads adapt to the machine: `n_threads` (default 2) when it is otherwise idle, `busy_threads`
    (default 1) while the probe `busy()` says other CPU work is running or waiting (the server's search
    lane). The count is chosen before the prompt is evaluated and again before each further token (each
    streamed chunk), for the prompt as well (`n_threads_batch`; llama-cpp-python would otherwise take
    every core for it), and llama.cpp is told only when it changes. Without a probe: always `n_threads`.
    A probe that raises counts as idle (logged once); it never breaks a generation.
    """

    def __init__(self, model_path: Path, n_ctx: int = 4096, n_threads: int | None = None, seed: int = 0, *,
                 busy_threads: int | None = None, busy: Callable[[], bool] | None = None) -> None:
        model_path = Path(model_path)
        if not model_path.is_file():
            raise VraagbaakError(f"GGUF-model niet gevonden: {model_path}")
        self.n_threads = _at_least_one(DEFAULT_THREADS if n_threads is None else n_threads)
        self.busy_threads = _at_least_one(DEFAULT_BUSY_THREADS if busy_threads is None else busy_threads)
        self.busy = busy
        import llama_cpp

        self.name, self.n_ctx, self._seed = model_path.stem, n_ctx, seed
        try:
            self._llm = llama_cpp.Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=self.n_threads,
                                        n_threads_batch=self.n_threads, seed=seed, verbose=False)
        except ValueError as e:
            raise VraagbaakError(f"kan GGUF-model niet laden ({e}): {model_path}") from e
        self._set_n_threads = llama_cpp.llama_set_n_threads
        self.threads = self.n_threads  # what llama.cpp uses now (/info)
        self._probe_failed = False
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
            self._adapt_threads()  # the stream is lazy: the prompt is evaluated at the first chunk
            for chunk in _llama_errors(lambda: self._llm.create_chat_completion(**kw), self.name):
                if piece := chunk["choices"][0]["delta"].get("content"):
                    pieces.append(piece)
                    if on_token is not None:
                        on_token(piece)
                self._adapt_threads()  # before the next token is decoded
        return "".join(pieces)

    def _adapt_threads(self) -> None:
        """Tell llama.cpp `busy_threads` while the machine is busy, else `n_threads`, when that changes."""
        wanted = self.busy_threads if self._is_busy() else self.n_threads
        if wanted != self.threads:
            self._set_n_threads(self._llm.ctx, wanted, wanted)  # tokens and prompt (batch)
            self.threads = wanted

    def _is_busy(self) -> bool:
        if self.busy is None:
            return False
        try:
            return bool(self.busy())
        except Exception:  # noqa: BLE001 - a broken probe must not break an answer: idle
            if not self._probe_failed:
                self._probe_failed = True
                log.warning("busy probe failed; generating with %d threads", self.n_threads, exc_info=True)
            return False


def _at_least_one(n_threads: int) -> int:
    if n_threads < 1:
        raise VraagbaakError(f"llama.cpp heeft minstens 1 thread nodig, niet {n_threads}")
    return int(n_threads)


def _llama_errors(start: Callable[[], Iterator[dict]], name: str) -> Iterator[dict]:
    """The chunks of `start()`, with llama-cpp's errors (e.g. a prompt longer than the context window)
    turned into GeneratorError. Errors raised by the consumer (an `on_token` callback) are not touched."""
    try:
        yield from start()
    except (ValueError, RuntimeError) as e:
        raise GeneratorError(f"llama-cpp ({name}): {e}") from e
