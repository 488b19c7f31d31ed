"""Shared vocabulary of the answering side, imported by every layer (qa, api, cli, eval, Slack): a retrieved
Hit, an evidence Sentence, numbered Evidence, a Citation, an Answer, a chat Turn, and stream events.

Plain frozen dataclasses. `Answer.to_dict()` is the JSON of POST /v1/ask (and of the `done` event
of /v1/ask/stream), so every edge (HTTP, CLI --json, eval, Slack) shows the same shape. The indexing
side's vocabulary (Document, Chunk) is in index/schema.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

REFUSAL = ("Dat staat niet in de rapporten die ik kan raadplegen, dus daar kan ik geen betrouwbaar "
           "antwoord op geven.")


@dataclass(frozen=True)
class Hit:
    """A retrieved passage: one chunk, or neighbouring chunks of one document merged."""

    chunk_id: str
    doc_id: str
    title: str
    section: str
    page: int | None
    text: str
    start: int
    end: int
    score: float
    retrievers: tuple[str, ...]  # which retrievers had it in their top `depth`
    row: int = -1  # row in the index (internal)


@dataclass(frozen=True)
class Sentence:
    """A sentence of a hit's text, scored as evidence for the question."""

    text: str
    hit: int  # index of the hit it comes from
    start: int  # offset in the hit text
    end: int
    score: float


@dataclass(frozen=True)
class Turn:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class Citation:
    n: int
    chunk_id: str
    doc_id: str
    title: str
    section: str
    page: int | None
    text: str  # the whole cited passage
    quote: str  # the sentence(s) of the passage that support the claim
    score: float


@dataclass(frozen=True)
class Evidence:
    """Numbered evidence: n (1-based) -> the sentence and the hit it comes from."""

    sentences: tuple[Sentence, ...]
    hits: tuple[Hit, ...]
    parts: int = 1  # the first `parts` sentences each answer a part of the question: the answer keeps them

    def citation(self, n: int) -> Citation:
        sent = self.sentences[n - 1]
        h = self.hits[sent.hit]
        return Citation(n, h.chunk_id, h.doc_id, h.title, h.section, h.page, h.text, sent.text,
                        round(sent.score, 4))


@dataclass(frozen=True)
class Answer:
    answer: str
    refused: bool
    citations: tuple[Citation, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    mode: str = "extractive"
    question: str = ""  # the standalone question actually searched (after follow-up rewriting)
    prompt_tokens: int | None = None
    refusal_reason: str | None = None  # why the code refused (for logs and the eval report), else None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["citations"] = [asdict(c) for c in self.citations]
        return d


@dataclass(frozen=True)
class StreamEvent:
    """One server-sent event of /v1/ask/stream: 'sources', then 'token'*, then 'done' (or 'error')."""

    event: Literal["sources", "token", "done", "error"]
    data: dict
