"""The index folder on disk: FAISS vectors + BM25 + chunks + a manifest that `load_index` checks.

Layout of an index folder (format version 6):
    manifest.json     format, embedder name/fingerprint/dim, counts, corpus checksum, build time, file sha256s
    chunks.jsonl      one chunk per line, row i = FAISS id i = BM25 doc i
    documents.json    document metadata (title, publisher, year, pages)
    dense.faiss       inner-product index over L2-normalised vectors (flat, hnsw or ivf)
    bm25/             bm25s files
    sentences.npy     vectors of the distinct sentences of the chunks (float32, normalised)
    sentences.json    their keys (index.sentences.sentence_key), row i = vector i
    sentences_own.npy the same sentences each embedded alone (float32, normalised)
    sentence_tokens.npy, sentence_token_ids.npy, sentence_token_offsets.npy
                      their content tokens' states embedded alone (float16), token ids, offsets
    sentence_questions.npy, sentence_question_rows.npy
                      questions written for the sentences (questions/), embedded as queries (float16),
                      and the sentence row of each (absent when the build had no questions)
    sentence_questions.json
                      those questions' texts, row i = question vector i
Written into a temporary sibling folder and renamed into place, so a crash never leaves a half index.
With the Qdrant store (index/qdrant_store.py) dense.faiss and bm25/ are replaced by a Qdrant collection
(named in the manifest under "store") and the compound heads are kept in heads.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from index.errors import IndexStoreError
from index.lexical import LexicalIndex, compound_heads
from index.qdrant_store import QdrantLocation, QdrantStore
from index.schema import Chunk
from index.sentences import SentenceQuestions, SentenceTokens, SentenceVectors

FORMAT_VERSION = 6  # 2: sentence vectors; 3: each sentence embedded alone as well; 4: their token states;
# 5: the questions written for the sentences (doc2query), embedded; 6: and their texts
FAISS_KINDS = ("flat", "hnsw", "ivf", "ivfpq")
PQ_MIN_VECTORS = 10_000  # below this IVF-PQ has too little to train on: "ivfpq" is built flat


class RetrievalStore(Protocol):
    """What retrieval asks of every store: the chunks by row, the documents, the compound heads of the
    lexical analyzer and the sentence vectors. A store then either scores every row (`ScoringStore`:
    `LoadedIndex`, FAISS + BM25 on disk, fused by the Retriever) or fuses itself (`FusingStore`:
    index.qdrant_store.QdrantStore, fused by Qdrant's Query API)."""

    manifest: dict
    chunks: list[Chunk]
    documents: list[dict]
    sentences: SentenceVectors | None

    @property
    def heads(self) -> frozenset[str]:
        """Compound heads of the lexical analyzer ('missie' for 'vredesmissie')."""
        ...


@runtime_checkable
class FusingStore(Protocol):
    def fused_rank(self, queries: list[tuple[str, np.ndarray]], doc_ids: tuple[str, ...], years: tuple[int, ...],
                   depth: int, rrf_k: float, weights: tuple[float, float],
                   ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Rows by fused score of the (text, query vector) pairs within the filters, and the rows each side
        found: {"dense": rows, "bm25": rows, "fused": score of every row}."""
        ...


class ScoringStore(RetrievalStore, Protocol):
    def dense_scores(self, query_vector: np.ndarray) -> np.ndarray:
        """Inner product of every row with the (normalised) query vector; -1 for rows not returned."""
        ...

    def lexical_scores(self, query: str) -> np.ndarray:
        """BM25 score of every row for `query`."""
        ...


@dataclass
class LoadedIndex:
    """An index folder loaded into memory: the RetrievalStore over FAISS and bm25s."""

    manifest: dict
    chunks: list[Chunk]
    documents: list[dict]
    dense: object  # faiss.Index
    lexical: LexicalIndex
    sentences: SentenceVectors | None = None  # None for an index built without sentence vectors

    @property
    def heads(self) -> frozenset[str]:
        return self.lexical.heads

    def dense_scores(self, query_vector: np.ndarray) -> np.ndarray:
        n = self.dense.ntotal
        scores, ids = self.dense.search(query_vector[None, :], n)
        out = np.full(n, -1.0, dtype=np.float32)
        valid = ids[0] >= 0
        out[ids[0][valid]] = scores[0][valid]
        return out

    def lexical_scores(self, query: str) -> np.ndarray:
        return self.lexical.scores(query)


def build_faiss(vectors: np.ndarray, kind: str = "flat"):
    """An inner-product FAISS index over `vectors` (rows must be L2-normalised). `flat` is exact; `hnsw`
    a graph (M 32, efSearch 128); `ivf` sqrt(n) inverted lists, a quarter of them probed (at most 64);
    `ivfpq` the same lists holding 8-bit product-quantized codes (dim/8 bytes a vector), the best 4k
    candidates re-ranked on the exact vectors (scripts/bench_store.py has the figures at 1 M vectors)."""
    import faiss

    if kind not in FAISS_KINDS:
        raise ValueError(f"unknown FAISS index kind {kind!r}; choose one of {', '.join(FAISS_KINDS)}")
    dim = vectors.shape[1]
    nlist = max(1, int(np.sqrt(len(vectors))))
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = 128
    elif kind == "ivf":
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.train(vectors)
        index.nprobe = max(1, min(nlist // 4, 64))
    elif kind == "ivfpq" and len(vectors) >= PQ_MIN_VECTORS and dim % 8 == 0:
        ivf = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, dim // 8, 8, faiss.METRIC_INNER_PRODUCT)
        ivf.train(vectors[np.random.default_rng(0).permutation(len(vectors))[:max(PQ_MIN_VECTORS, 64 * nlist)]])
        ivf.nprobe = max(1, min(nlist // 4, 64))
        index = faiss.IndexRefineFlat(ivf)
        index.k_factor = 4
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    return index


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json")


def write_index(out: Path, chunks: list[Chunk], documents: list[dict], vectors: np.ndarray,
                manifest: dict, faiss_kind: str = "flat",
                sentences: tuple[list[str], np.ndarray, np.ndarray] | None = None, qdrant: QdrantLocation | None = None,
                recreate: bool = False) -> dict:
    """Write a complete index folder at `out` atomically; returns the manifest written.
    `sentences`: (keys, late-chunked vectors, own vectors) of the chunks' sentences, optional. With
    `qdrant` the vectors go to that collection (synced incrementally; `recreate` rewrites it) instead of
    dense.faiss and bm25/."""

    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_builds(out)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as f:
            for c in chunks:
                f.write(json.dumps(asdict(c), ensure_ascii=False) + "\n")
        (tmp / "documents.json").write_text(json.dumps(documents, ensure_ascii=False, indent=1), "utf-8")
        if qdrant is None:
            _write_faiss_bm25(tmp, chunks, vectors, faiss_kind)
            where = {}
        else:
            heads = compound_heads([c.text for c in chunks])
            (tmp / "heads.json").write_text(json.dumps(sorted(heads)), "utf-8")
            synced = _sync_qdrant(qdrant, chunks, vectors, heads, recreate)
            where = {"store": "qdrant", "qdrant": {**qdrant.describe(), "last_sync": asdict(synced)}}
        if sentences is not None:
            np.save(tmp / "sentences.npy", np.asarray(sentences[1], dtype=np.float32))
            (tmp / "sentences.json").write_text(json.dumps(sentences[0]), "utf-8")
            np.save(tmp / "sentences_own.npy", np.asarray(sentences[2], dtype=np.float32))
            tokens = sentences[3] if len(sentences) > 3 else None
            if tokens is not None:
                np.save(tmp / "sentence_tokens.npy", tokens.vectors.astype(np.float16))
                np.save(tmp / "sentence_token_ids.npy", tokens.ids.astype(np.int32))
                np.save(tmp / "sentence_token_offsets.npy", tokens.offsets.astype(np.int64))
            asked = sentences[4] if len(sentences) > 4 else None
            if asked is not None:
                np.save(tmp / "sentence_questions.npy", asked.vectors.astype(np.float16))
                np.save(tmp / "sentence_question_rows.npy", asked.rows.astype(np.int32))
                (tmp / "sentence_questions.json").write_text(json.dumps(asked.texts, ensure_ascii=False), "utf-8")
        manifest = {**manifest, **where, "format_version": FORMAT_VERSION, "faiss": faiss_kind,
                    "sentence_count": len(sentences[0]) if sentences else 0,
                    "question_count": len(sentences[4]) if sentences and len(sentences) > 4 and sentences[4] else 0,
                    "dim": int(vectors.shape[1]), "chunk_count": len(chunks),
                    "document_count": len(documents),
                    "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "files": {str(p.relative_to(tmp)): _sha256(p) for p in _files(tmp)}}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1), "utf-8")
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def remove_stale_builds(out: Path) -> list[Path]:
    """Delete the temporary folders of builds of `out` whose process is gone (killed midway, SIGKILL:
    no `finally` ran); returns them. A build still running keeps its folder."""
    removed = []
    for path in out.parent.glob(f".{out.name}.*-*"):
        kind, _, pid = path.name[len(out.name) + 2:].partition("-")
        if kind in ("tmp", "old") and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_faiss_bm25(folder: Path, chunks: list[Chunk], vectors: np.ndarray, faiss_kind: str) -> None:
    import faiss

    faiss.write_index(build_faiss(vectors, faiss_kind), str(folder / "dense.faiss"))
    LexicalIndex.build([c.text for c in chunks]).save(folder / "bm25")


def _sync_qdrant(loc: QdrantLocation, chunks: list[Chunk], vectors: np.ndarray, heads: frozenset[str],
                 recreate: bool):
    from index import qdrant_store

    try:
        return qdrant_store.sync(loc, chunks, vectors, heads, recreate)
    except IndexStoreError:
        raise
    except Exception as e:  # connection refused, timeouts, a server's error answer
        raise IndexStoreError(f"Qdrant-collectie {loc.collection!r} niet bij te werken "
                              f"({loc.url or loc.path}): {type(e).__name__}: {e}") from e


def _swap_into_place(tmp: Path, out: Path) -> None:
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        os.rename(out, old)
    os.rename(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def read_manifest(folder: Path) -> dict | None:
    """The manifest of an index folder, or None when there is no (readable) index there."""
    try:
        return json.loads((folder / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None


def check_manifest(folder: Path, manifest: dict | None, fingerprint: str | None) -> dict:
    if manifest is None:
        raise IndexStoreError(f"geen index gevonden in {folder}; bouw die met 'vraagbaak index'")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexStoreError(f"index in {folder} heeft formaat {manifest.get('format_version')}, "
                              f"verwacht {FORMAT_VERSION}; bouw opnieuw met 'vraagbaak index'")
    emb = manifest.get("embedder", {})
    if fingerprint is not None and emb.get("fingerprint") != fingerprint:
        raise IndexStoreError(f"index in {folder} is gebouwd met embedder {emb.get('name')!r} "
                              f"({str(emb.get('fingerprint'))[:19]}), niet met de ingestelde; "
                              "bouw opnieuw met 'vraagbaak index'")
    for name, digest in manifest.get("files", {}).items():
        path = folder / name
        if not path.exists() or _sha256(path) != digest:
            raise IndexStoreError(f"indexbestand ontbreekt of is beschadigd: {path}; "
                                  "bouw opnieuw met 'vraagbaak index'")
    return manifest


def _read_common(folder: Path) -> tuple[list[Chunk], list[dict], SentenceVectors | None]:
    with (folder / "chunks.jsonl").open(encoding="utf-8") as f:
        chunks = [Chunk(**json.loads(line)) for line in f]
    documents = json.loads((folder / "documents.json").read_text("utf-8"))
    sentences = None
    if (folder / "sentences.npy").exists():
        keys = json.loads((folder / "sentences.json").read_text("utf-8"))
        own = folder / "sentences_own.npy"
        tokens = None
        if (folder / "sentence_tokens.npy").exists():
            tokens = SentenceTokens(np.load(folder / "sentence_tokens.npy"), np.load(folder / "sentence_token_ids.npy"),
                                    np.load(folder / "sentence_token_offsets.npy"))
        asked = None
        if (folder / "sentence_questions.npy").exists():
            asked = SentenceQuestions(np.load(folder / "sentence_questions.npy"),
                                      np.load(folder / "sentence_question_rows.npy"), len(keys),
                                      json.loads((folder / "sentence_questions.json").read_text("utf-8")))
        sentences = SentenceVectors(keys, np.load(folder / "sentences.npy"), np.load(own) if own.exists() else None,
                                    tokens, asked)
    return chunks, documents, sentences


def load_index(folder: Path, fingerprint: str | None, qdrant: QdrantLocation | None = None,
               ) -> LoadedIndex | QdrantStore:
    """Load and verify an index folder; `fingerprint` must match the embedder it was built with. A folder
    built for Qdrant opens its collection: at `qdrant` when given, else where the manifest says."""
    import faiss

    manifest = check_manifest(folder, read_manifest(folder), fingerprint)
    if manifest.get("store") == "qdrant":
        return _load_qdrant(folder, manifest, qdrant)
    try:
        chunks, documents, sentences = _read_common(folder)
        dense = faiss.read_index(str(folder / "dense.faiss"))
        lexical = LexicalIndex.load(folder / "bm25")
    except (OSError, ValueError, TypeError, RuntimeError) as e:
        raise IndexStoreError(f"index in {folder} is onleesbaar ({type(e).__name__}); "
                              "bouw opnieuw met 'vraagbaak index'") from e
    if dense.ntotal != len(chunks) or len(chunks) != manifest["chunk_count"]:
        raise IndexStoreError(f"index in {folder} is inconsistent; bouw opnieuw met 'vraagbaak index'")
    return LoadedIndex(manifest, chunks, documents, dense, lexical, sentences)


def _load_qdrant(folder: Path, manifest: dict, loc: QdrantLocation | None) -> QdrantStore:
    from index import qdrant_store

    if loc is None:
        recorded = manifest["qdrant"]
        loc = QdrantLocation(recorded["collection"], url=recorded.get("url"), path=recorded.get("path"))
    try:
        chunks, documents, sentences = _read_common(folder)
        heads = frozenset(json.loads((folder / "heads.json").read_text("utf-8")))
    except (OSError, ValueError, TypeError) as e:
        raise IndexStoreError(f"index in {folder} is onleesbaar ({type(e).__name__}); "
                              "bouw opnieuw met 'vraagbaak index'") from e
    try:
        points = qdrant_store.count(loc)
    except Exception as e:
        raise IndexStoreError(f"Qdrant niet bereikbaar ({loc.url or loc.path}): {type(e).__name__}") from e
    if points != len(chunks) or len(chunks) != manifest["chunk_count"]:
        raise IndexStoreError(f"Qdrant-collectie {loc.collection!r} heeft {points} punten, de index in {folder} "
                              f"{len(chunks)} chunks; bouw opnieuw met 'vraagbaak index'")
    return qdrant_store.QdrantStore(manifest, chunks, documents, loc, heads, sentences)
