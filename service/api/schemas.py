"""Request and response bodies of the HTTP API, with the input limits they enforce.

Requests are strict (no type coercion, unknown fields rejected) so the OpenAPI schema is the exact
contract; responses mirror `Hit` and `Answer.to_dict()` and allow extra fields so the pipeline can add
some without breaking clients. The OpenAI-compatible bodies live in `service.api.openai`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from service.qa.retrieval import MAX_QUERY_CHARS
from service.types import Turn

MAX_BODY_BYTES = 64 * 1024
MAX_HISTORY_TURNS = 20
MAX_TURN_CHARS = 8000
MAX_K = 50
# At least one character that str.split() does not treat as whitespace (the service collapses
# whitespace first); \x1c-\x1f and \x85 are whitespace to Python but not to JSON Schema's \s.
NON_BLANK = r"[^\s\x1c-\x1f\x85]"

Question = Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS, pattern=NON_BLANK,
                                description=f"De vraag of zoekterm, maximaal {MAX_QUERY_CHARS} tekens.")]


def _integral(value: Any) -> Any:
    """JSON Schema counts 5.0 as an integer; strict pydantic would not."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


TopK = Annotated[int, Field(ge=1, le=MAX_K, description="Aantal passages."), BeforeValidator(_integral)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SearchFilters(_Request):
    doc_id: str | list[str] | None = Field(None, description="Alleen deze rapport(en).")
    year: int | list[int] | None = Field(None, description="Alleen rapporten uit dit jaar (of deze jaren).")


class SearchRequest(_Request):
    query: Question
    k: TopK = 10
    filters: SearchFilters | None = None

    def filter_dict(self) -> dict[str, Any] | None:
        return self.filters.model_dump(exclude_none=True) if self.filters else None


class TurnIn(_Request):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_TURN_CHARS)


class AskRequest(_Request):
    question: Question
    history: list[TurnIn] = Field(default_factory=list, max_length=MAX_HISTORY_TURNS,
                                  description="Eerdere beurten van het gesprek, oudste eerst.")
    mode: Literal["generate", "extractive"] | None = None
    k: TopK | None = None

    def turns(self) -> list[Turn]:
        return [Turn(t.role, t.content) for t in self.history]


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow")


class _PassageOut(BaseModel):
    """Fields shared by a search hit and a citation: which passage, where, and its text."""

    chunk_id: str
    doc_id: str
    title: str
    section: str
    page: int | None
    text: str
    score: float


class HitOut(_PassageOut):  # exactly Hit's public fields: the internal `row` is dropped
    start: int
    end: int
    retrievers: list[str] = []


class SearchResponse(_Response):
    hits: list[HitOut]
    timings_ms: dict[str, float]


class CitationOut(_PassageOut):
    model_config = ConfigDict(extra="allow")

    n: int
    quote: str


class AskResponse(_Response):
    answer: str
    refused: bool
    citations: list[CitationOut]
    timings_ms: dict[str, float]
    mode: str | None = None
    question: str | None = None
    prompt_tokens: int | None = None
    refusal_reason: str | None = None


class DocumentOut(_Response):
    doc_id: str
    title: str
    year: int | None = None
    chunks: int


class DocumentsResponse(_Response):
    documents: list[DocumentOut]


class StatusOut(_Response):
    status: str
