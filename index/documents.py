"""Read a corpus folder into cleaned Documents.

Accepts `.txt`, `.md` and `.pdf` files; `manifest.json` in the folder gives title, publisher, year and
kind per file (files without an entry get a title from their first line and a year from their name).
PDF pages are joined with form feeds so cleaning can keep page numbers. Does not chunk or embed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from index.clean import clean_text
from index.errors import CorpusError
from index.schema import Document

SUPPORTED = (".txt", ".md", ".pdf")
_YEAR = re.compile(r"(19|20)\d\d")
_MD_MARKUP = re.compile(r"^\s{0,3}(#{1,6}\s+|[-*+]\s+|>\s?)", re.M)


@dataclass(frozen=True)
class SourceFile:
    path: Path
    raw: bytes


def list_sources(folder: Path) -> list[SourceFile]:
    """All supported files in `folder` (sorted by name), read as bytes. Raises CorpusError when unusable."""
    if not folder.exists():
        raise CorpusError(f"corpusmap bestaat niet: {folder}")
    if not folder.is_dir():
        raise CorpusError(f"corpus is geen map: {folder}")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED)
    if not files:
        raise CorpusError(f"corpusmap bevat geen .txt-, .md- of .pdf-bestanden: {folder}")
    return [SourceFile(p, p.read_bytes()) for p in files]


def corpus_checksum(sources: list[SourceFile], manifest: dict) -> str:
    """sha256 over file names, contents and the manifest: changes whenever the corpus does."""
    h = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode())
    for s in sources:
        h.update(s.path.name.encode() + b"\0" + hashlib.sha256(s.raw).digest())
    return h.hexdigest()


def read_manifest(folder: Path) -> dict[str, dict]:
    """Manifest entries keyed by file name; {} when the folder has no manifest.json."""
    path = folder / "manifest.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {d["file"]: d for d in data["documents"]}
    except (ValueError, KeyError, TypeError) as e:
        raise CorpusError(f"manifest.json is ongeldig ({e}): {path}") from e


def decode_text(raw: bytes, path: Path) -> str:
    """UTF-8 text, falling back to cp1252/latin-1; refuses binary data posing as text."""
    if b"\0" in raw[:65536] or _control_ratio(raw[:65536]) > 0.05:
        raise CorpusError(f"bestand is binair, geen tekst: {path}")
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CorpusError(f"kan bestand niet decoderen: {path}")  # unreachable: latin-1 decodes anything


def _control_ratio(raw: bytes) -> float:
    if not raw:
        return 0.0
    bad = sum(1 for b in raw if b < 32 and b not in (9, 10, 12, 13))
    return bad / len(raw)


def pdf_text(raw: bytes, path: Path) -> str:
    """Text of a PDF with pages separated by form feeds."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as e:
        raise CorpusError(f"kan PDF niet lezen ({type(e).__name__}): {path}") from e
    if not any(p.strip() for p in pages):
        raise CorpusError(f"PDF bevat geen tekst (gescand?): {path}")
    return "\f".join(pages)


def raw_text(source: SourceFile) -> str:
    suffix = source.path.suffix.lower()
    if suffix == ".pdf":
        return pdf_text(source.raw, source.path)
    text = decode_text(source.raw, source.path)
    return _MD_MARKUP.sub("", text) if suffix == ".md" else text


def to_document(source: SourceFile, entry: dict) -> Document:
    cleaned = clean_text(raw_text(source))
    if not cleaned.text.strip():
        raise CorpusError(f"bestand bevat geen tekst: {source.path}")
    stem = source.path.stem
    year = entry.get("year") or _year_from_name(stem)
    return Document(
        doc_id=stem,
        title=entry.get("title") or _first_line(cleaned.text) or stem,
        publisher=entry.get("publisher", ""),
        year=int(year) if year else None,
        kind=entry.get("kind", ""),
        path=source.path.name,
        text=cleaned.text,
        pages=cleaned.pages,
        source_sha256=hashlib.sha256(source.raw).hexdigest(),
    )


def _year_from_name(stem: str) -> int | None:
    years = [m.group(0) for m in _YEAR.finditer(stem)]
    return int(years[-1]) if years else None


def _first_line(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line[:120]


def load_corpus(folder: Path) -> tuple[list[Document], str]:
    """Cleaned documents of `folder` and the corpus checksum."""
    sources = list_sources(folder)
    manifest = read_manifest(folder)
    docs = [to_document(s, manifest.get(s.path.name, {})) for s in sources]
    return docs, corpus_checksum(sources, manifest)
