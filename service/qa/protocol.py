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
