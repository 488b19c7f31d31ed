"""Build (or refresh) the index folder from a corpus folder: clean -> chunk -> embed (cached) -> store.

A rebuild whose corpus, settings and embedder are unchanged is skipped after a checksum comparison;
otherwise only chunks whose text changed are embedded again (the embedding cache has the rest).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from index import documents as corpus
from index import store
from index.cache import EmbeddingCache, embed_with_cache
from index.chunking import chunk_documents
from index.embedder import Embedder

PIPELINE_VERSION = 3  # bump when cleaning or chunking logic changes the chunks


@dataclass(frozen=True)
class BuildConfig:
    corpus: Path
    out: Path
    cache_dir: Path
    chunk_tokens: int = 256
    chunk_overlap: int = 48
    faiss_kind: str = "flat"

    def settings(self) -> dict:
        return {"chunk_tokens": self.chunk_tokens, "chunk_overlap": self.chunk_overlap,
                "faiss": self.faiss_kind, "pipeline_version": PIPELINE_VERSION}


@dataclass(frozen=True)
class BuildResult:
    documents: int
    chunks: int
    embedded: int
    seconds: float
    skipped: bool
    manifest: dict


def _up_to_date(existing: dict | None, checksum: str, cfg: BuildConfig, embedder: Embedder) -> bool:
    return bool(existing) and existing.get("format_version") == store.FORMAT_VERSION \
        and existing.get("corpus_checksum") == checksum and existing.get("settings") == cfg.settings() \
        and existing.get("embedder", {}).get("fingerprint") == embedder.fingerprint


def _refuse_overwrite(out: Path, existing: dict | None, embedder: Embedder) -> None:
    """Never silently replace a folder that is not ours, or an index made with another embedder."""
    if existing is None and out.exists() and any(out.iterdir()):
        raise store.IndexStoreError(f"uitvoermap {out} is niet leeg en bevat geen Vraagbaak-index; "
                                    "kies een andere --out")
    other = (existing or {}).get("embedder", {})
    if existing and other.get("fingerprint") != embedder.fingerprint:
        raise store.IndexStoreError(f"index in {out} is gebouwd met embedder {other.get('name')!r}, "
                                    f"niet met {embedder.name!r}; gebruik --force om te vervangen")


def build_index(cfg: BuildConfig, embedder: Embedder, progress: bool = True, force: bool = False,
                ) -> BuildResult:
    """Build the index described by `cfg` with `embedder`; see the module docstring."""
    t0 = time.perf_counter()
    sources = corpus.list_sources(cfg.corpus)
    entries = corpus.read_manifest(cfg.corpus)
    checksum = corpus.corpus_checksum(sources, entries)
    existing = store.read_manifest(cfg.out)
    if not force:
        _refuse_overwrite(cfg.out, existing, embedder)
    if _up_to_date(existing, checksum, cfg, embedder):
        try:
            store.check_manifest(cfg.out, existing, embedder.fingerprint)
            return BuildResult(existing["document_count"], existing["chunk_count"], 0,
                               time.perf_counter() - t0, True, existing)
        except store.IndexStoreError:
            pass  # damaged: rebuild below
    docs = [corpus.to_document(s, entries.get(s.path.name, {})) for s in sources]
    chunks = chunk_documents(docs, embedder.count_tokens, cfg.chunk_tokens, cfg.chunk_overlap)
    vectors, embedded = _embed(chunks, embedder, cfg.cache_dir, progress)
    manifest = store.write_index(
        cfg.out, chunks, [d.meta() for d in docs], vectors,
        {"embedder": {"name": embedder.name, "fingerprint": embedder.fingerprint},
         "corpus_checksum": checksum, "settings": cfg.settings()},
        cfg.faiss_kind)
    return BuildResult(len(docs), len(chunks), embedded, time.perf_counter() - t0, False, manifest)


def _embed(chunks, embedder: Embedder, cache_dir: Path, progress: bool):
    from tqdm import tqdm

    cache = EmbeddingCache(cache_dir / "embeddings", embedder.fingerprint)
    bar = tqdm(total=len(chunks), desc="embedden", unit="chunk", file=sys.stderr, disable=not progress)
    try:
        return embed_with_cache([c.text for c in chunks], embedder.embed_passages, cache,
                                on_progress=bar.update)
    finally:
        bar.close()
        cache.close()
