"""Shared vocabulary of the indexing side: a cleaned Document and the Chunks cut from it.

Plain frozen dataclasses; no behaviour beyond small derived values.
"""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    publisher: str
    year: int | None
    kind: str
    path: str  # file name inside the corpus folder
    text: str  # cleaned text
    pages: tuple[tuple[int, int], ...] = ()  # (start offset in text, page number), ascending
    source_sha256: str = ""

    def page_at(self, offset: int) -> int | None:
        """Page number of the character at `offset`, or None when the document has no page marks."""
        if not self.pages:
            return None
        i = bisect.bisect_right([start for start, _ in self.pages], offset) - 1
        return self.pages[max(i, 0)][1]

    def meta(self) -> dict:
        """Everything but the text, for the index's documents.json."""
        d = asdict(self)
        d.pop("text")
        d["pages"] = [list(p) for p in self.pages]
        return d


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    title: str
    section: str
    page: int | None
    start: int  # character offsets into the cleaned document text
    end: int
    text: str
    year: int | None = None
