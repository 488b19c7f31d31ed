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
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for piece in splitter.create_documents([doc.text]):
        text = piece.page_content
        start = _locate(doc.text, text, piece.metadata.get("start_index", -1))
        cid = chunk_id(doc.doc_id, text)
        while cid in seen:  # identical text twice in one document: still unique, still stable
            cid = chunk_id(doc.doc_id, cid + text)
        seen.add(cid)
        i = bisect.bisect_right(heading_offsets, start) - 1
        section = headings[i][1] if i >= 0 else ""
        chunks.append(Chunk(cid, doc.doc_id, doc.title, section, doc.page_at(start), start,
                            start + len(text), text, doc.year))
    return chunks


def _locate(text: str, piece: str, hint: int) -> int:
    if hint >= 0 and text.startswith(piece, hint):
        return hint
    found = text.find(piece, max(hint, 0))
    if found < 0:
        found = text.find(piece)
    if found < 0:
        raise ValueError(f"chunk text not found in its document: {piece[:60]!r}")
    return found


def chunk_documents(docs: list[Document], length_fn: LengthFn, size: int, overlap: int) -> list[Chunk]:
    return [c for d in docs for c in chunk_document(d, length_fn, size, overlap)]
