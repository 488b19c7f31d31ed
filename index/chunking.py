"""Cut cleaned Documents into overlapping, sentence-aware Chunks sized in embedder tokens.

Uses langchain-text-splitters' recursive splitter with paragraph > line > sentence > clause > word
separators and a length function that counts the embedder's own tokens. Each chunk keeps a stable
content-derived id, character offsets into the cleaned text, the nearest section heading and the page.
Does not embed or store anything.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections.abc import Callable

from index.schema import Chunk, Document

LengthFn = Callable[[str], int]

SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ": ", ", ", " ", ""]
_HEADING = re.compile(
    r"^(?:\d{1,2}(?:\.\d{1,2}){0,3}\.?\s+\S.{0,90}"  # numbered: "3.2 Nederlandse bijdrage"
    r"|[A-ZÀ-Ý][^.!?;:,]{2,80})$"  # short capitalised line without sentence punctuation
)


def find_headings(text: str) -> list[tuple[int, str]]:
    """(offset, heading) for lines that look like section headings: short, on their own line."""
    out: list[tuple[int, str]] = []
    offset = 0
    for line in text.split("\n"):
        stripped = line.strip()
        if _HEADING.match(stripped) and len(stripped.split()) <= 12 and not stripped.endswith(("-", ",")):
            out.append((offset, stripped))
        offset += len(line) + 1
    return out


def chunk_id(doc_id: str, text: str) -> str:
    """Stable id from content: re-indexing unchanged text keeps the id."""
    return hashlib.sha1(f"{doc_id}\0{text}".encode()).hexdigest()[:16]


def make_splitter(length_fn: LengthFn, size: int, overlap: int):
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    if not 0 <= overlap < size:
        raise ValueError(f"chunk overlap must be in [0, size): size={size}, overlap={overlap}")
    return RecursiveCharacterTextSplitter(
        chunk_size=size,
        chunk_overlap=overlap,
        length_function=length_fn,
        separators=SEPARATORS,
        keep_separator="end",
        add_start_index=True,
        strip_whitespace=True,
    )


def chunk_document(doc: Document, length_fn: LengthFn, size: int, overlap: int) -> list[Chunk]:
    """Chunks of `doc`, in document order, each at most `size` tokens by `length_fn`."""
    splitter = make_splitter(length_fn, size, overlap)
    headings = find_headings(doc.text)
    heading_offsets = [o for o, _ in headings]
    pieces = [p.page_content for p in splitter.create_documents([doc.text])]
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for text, start in zip(pieces, place(doc.text, pieces)):
        cid = chunk_id(doc.doc_id, text)
        while cid in seen:  # identical text twice in one document: still unique, still stable
            cid = chunk_id(doc.doc_id, cid + text)
        seen.add(cid)
        i = bisect.bisect_right(heading_offsets, start) - 1
        section = headings[i][1] if i >= 0 else ""
        chunks.append(Chunk(cid, doc.doc_id, doc.title, section, doc.page_at(start), start,
                            start + len(text), text, doc.year))
    return chunks


def place(text: str, pieces: list[str]) -> list[int]:
    """The start offset of each piece in `text`. The splitter drops only whitespace and emits pieces in
    order, each reaching further than the last, with no text between two pieces but whitespace; the first
    starts at the first non-blank character, the last ends at the last one. Where words repeat ('de de.
    de de.') a piece occurs several times, and only one choice of occurrences satisfies all that: found by
    depth-first search, earliest occurrences first (the splitter's own `start_index` is a char-count guess
    and can point at the wrong repeat). Raises ValueError when a piece is not in the text at all."""
    first, last = len(text) - len(text.lstrip()), len(text.rstrip())
    starts: list[int] = []

    def fits(i: int, at: int) -> bool:
        prev_start, prev_end = (starts[-1], starts[-1] + len(pieces[i - 1])) if i else (-1, first)
        end = at + len(pieces[i])
        return at > prev_start and end > prev_end and not text[prev_end:at].strip() and \
            (i + 1 < len(pieces) or end == last)

    resume: list[int | None] = [None] * len(pieces)  # where the search for piece i goes on
    i, budget = 0, 100_000  # backtracking steps; past the budget the greedy placement stands in
    while 0 <= i < len(pieces) and budget > 0:
        budget -= 1
        bound = starts[-1] + len(pieces[i - 1]) if i else first  # no gap: start at or before here
        while bound < len(text) and text[bound].isspace():
            bound += 1
        at = text.find(pieces[i], resume[i] if resume[i] is not None else (starts[-1] + 1 if i else 0))
        while 0 <= at <= bound and not fits(i, at):
            at = text.find(pieces[i], at + 1)
        if 0 <= at <= bound:
            starts.append(at)
            resume[i] = at + 1
            i += 1
        else:  # no occurrence of piece i fits: move the piece before it to its next occurrence
            resume[i] = None
            i -= 1
            if i >= 0:
                starts.pop()
    if i == len(pieces):
        return starts
    return _greedy(text, pieces)


def _greedy(text: str, pieces: list[str]) -> list[int]:
    """First occurrence after the previous piece's start (no consistent placement exists)."""
    starts, prev = [], -1
    for piece in pieces:
        at = text.find(piece, prev + 1)
        if at < 0:
            at = text.find(piece)
        if at < 0:
            raise ValueError(f"chunk text not found in its document: {piece[:60]!r}")
        starts.append(prev := at)
    return starts


def chunk_documents(docs: list[Document], length_fn: LengthFn, size: int, overlap: int) -> list[Chunk]:
    return [c for d in docs for c in chunk_document(d, length_fn, size, overlap)]
