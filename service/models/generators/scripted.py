"""The scripted fake generator for tests (as simonw/llm's MockModel): replies come from a queue."""

from __future__ import annotations

import re
from collections import deque

from service.models.generators.base import OnToken, _emit_until_stop


class ScriptExhausted(AssertionError):
    """The script ran out: a test called the model more often than it enqueued replies. An AssertionError,
    not a GeneratorError, so the pipeline's fallback to the extractive answer does not swallow it."""


class ScriptedGenerator:
    """A fake for tests: replies come from a queue; each call's messages are kept in `.calls`.

    Replies stream word by word (whitespace kept, so the pieces join to the reply) and honour `stop`;
    `max_tokens` and `temperature` are ignored. An enqueued exception is raised instead of replying.
    An empty queue raises ScriptExhausted (rather than returning ""), which no fallback catches, so a
    test that forgot to enqueue a reply fails loudly.
    """

    name = "scripted"

    def __init__(self, replies: list[str | Exception] | None = None) -> None:
        self._replies: deque[str | Exception] = deque(replies or [])
        self.calls: list[list[dict]] = []

    def enqueue(self, reply: str | Exception) -> None:
        self._replies.append(reply)

    def generate(self, messages: list[dict], *, max_tokens: int = 200, temperature: float = 0.0,
                 stop: list[str] | None = None, on_token: OnToken | None = None) -> str:
        self.calls.append([dict(m) for m in messages])
        if not self._replies:
            raise ScriptExhausted("ScriptedGenerator: no reply left in the script (call enqueue)")
        reply = self._replies.popleft()
        if isinstance(reply, Exception):
            raise reply
        return _emit_until_stop(iter(re.findall(r"\s+|\S+\s*", reply)), stop, on_token)
