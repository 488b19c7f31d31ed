"""Language-model generators behind one small interface: the protocol and the stop-string handling.

`Generator.generate(messages, ...)` takes OpenAI-style chat messages and returns the reply; with
`on_token` it also hands over text pieces as they are produced. The backends, one module each:
llama.py (llama-cpp-python on a local GGUF, the default), transformers.py, openai.py (any
OpenAI-compatible server, plain httpx), scripted.py (the fake for tests); factory.py builds one from
settings values.

Not here: prompts, refusals and citation checks (the pipeline's job), queueing of concurrent
requests (each backend merely serializes calls on its own lock), and downloading models.
Heavy libraries (llama_cpp, transformers, torch) are imported only when a backend is built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

OnToken = Callable[[str], None]


class Generator(Protocol):
    name: str

    def generate(self, messages: list[dict], *, max_tokens: int = 200, temperature: float = 0.0,
                 stop: list[str] | None = None, on_token: OnToken | None = None) -> str:
        """The reply to `messages`; `on_token` (if given) receives it piece by piece as it is made."""
        ...


def cut_at_stop(text: str, stop: list[str] | None) -> str:
    """`text` up to (not including) the earliest stop string, as OpenAI-style servers return it."""
    cut = min((i for s in stop or () if s and (i := text.find(s)) >= 0), default=len(text))
    return text[:cut]


def _emit_until_stop(pieces: Iterator[str], stop: list[str] | None, on_token: OnToken | None) -> str:
    """Consume `pieces` up to the first stop string; pass on only text that can no longer turn out to
    be the start of a stop string (it is held back until that is clear). Returns the text."""
    text, sent = "", 0
    longest = max((len(s) for s in stop or ()), default=0)
    for piece in pieces:
        text += piece
        cut = cut_at_stop(text, stop)
        done = len(cut) < len(text)
        safe = len(cut) if done else max(sent, len(text) - max(longest - 1, 0))
        if on_token is not None and safe > sent:
            on_token(text[sent:safe])
        sent = max(sent, safe)
        if done:
            return cut
    if on_token is not None and sent < len(text):
        on_token(text[sent:])
    return text
