"""The question-answering service as the edges (HTTP, CLI, eval, Slack) see it.

`QAService` is implemented by `service.qa.pipeline.Pipeline` (real models) and by fakes in tests.
Errors: `index.errors.VraagbaakError` for bad input (HTTP 400/422), `GeneratorError` (502),
`GeneratorTimeout` (504), `Busy` (429). A refusal is a normal Answer with refused=True.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from service.types import Answer, Hit, StreamEvent, Turn

MODES = ("generate", "extractive")


class QAService(Protocol):
    def search(self, query: str, k: int = 10, filters: dict | None = None) -> list[Hit]:
        """Ranked passages for `query` (validated: non-empty, at most 2,000 characters)."""
        ...

    def ask(self, question: str, history: list[Turn] | None = None, mode: str | None = None,
            k: int | None = None) -> Answer:
        """A grounded Dutch answer with checked citations, or a refusal."""
        ...

    def ask_stream(self, question: str, history: list[Turn] | None = None, mode: str | None = None,
                   k: int | None = None) -> Iterator[StreamEvent]:
        """'sources' first (candidate passages), then 'token' events, then 'done' with Answer.to_dict()."""
        ...

    def documents(self) -> list[dict]:
        """The indexed reports: doc_id, title, publisher, year, kind, chunks."""
        ...

    def info(self) -> dict:
        """Model names and the index manifest."""
        ...


def lane(service: object, question: str, history: list, mode: str | None) -> str | None:
    """The mode whose lane (and generation gate) an answer takes: 'extractive' for a question the service
    answers without its language model even in generate mode (`Pipeline.model_writes` says no), else
    `mode` as asked (None: the service's default)."""
    writes = getattr(service, "model_writes", None)
    return "extractive" if writes is not None and not writes(question, history) else mode
