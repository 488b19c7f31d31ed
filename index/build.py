"""Build (or refresh) the index folder from a corpus folder: clean -> chunk -> embed (cached) -> store.

A rebuild whose corpus, settings and embedder are unchanged is skipped after a checksum comparison;
otherwise only chunks whose text changed are embedded again (the embedding cache has the rest).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import documents as corpus
from index import store
from index.cache import EmbeddingCache, text_key
from index.chunking import chunk_documents
from index.embedder import Embedder
from index.qdrant_store import QdrantLocation
from index.sentences import SentenceQuestions, SentenceTokens, sentence_key, split_sentences

SPANS_KEY = "sentence-spans-v1\x00"  # cache key prefix of a chunk's sentence vectors
OWN_KEY = "sentence-own-v1\x00"  # cache key prefix of a sentence embedded alone
TOKENS_KEY = "sentence-tokens-v1\x00"  # cache key prefixes of its content tokens' states and ids
TOKEN_IDS_KEY = "sentence-token-ids-v1\x00"
QUESTION_KEY = "sentence-question-v1\x00"  # cache key prefix of a sentence question embedded as a query

PIPELINE_VERSION = 4  # bump when cleaning or chunking logic changes the chunks


@dataclass(frozen=True)
class BuildConfig:
    corpus: Path
    out: Path
    cache_dir: Path
    chunk_tokens: int = 256
    chunk_overlap: int = 48
    faiss_kind: str = "flat"
    qdrant: QdrantLocation | None = None  # None: FAISS + bm25s in the folder; else this Qdrant collection
    questions: Path | None = None  # folder of written-*.jsonl: questions per sentence (questions/README.md)

    def settings(self) -> dict:
        s = {"chunk_tokens": self.chunk_tokens, "chunk_overlap": self.chunk_overlap,
             "faiss": self.faiss_kind, "pipeline_version": PIPELINE_VERSION}
        if self.questions is not None:
            s["questions"] = questions_checksum(self.questions)
        if self.qdrant is not None:
            s["store"] = {"kind": "qdrant", **self.qdrant.describe()}
        return s


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
            _check_collection(cfg.qdrant, existing)
            return BuildResult(existing["document_count"], existing["chunk_count"], 0,
                               time.perf_counter() - t0, True, existing)
        except store.IndexStoreError:
            pass  # damaged: rebuild below
    docs = [corpus.to_document(s, entries.get(s.path.name, {})) for s in sources]
    chunks = chunk_documents(docs, embedder.count_tokens, cfg.chunk_tokens, cfg.chunk_overlap)
    vectors, sentences, embedded = _embed([c.text for c in chunks], embedder, cfg.cache_dir, progress,
                                          read_questions(cfg.questions) if cfg.questions else {})
    manifest = store.write_index(
        cfg.out, chunks, [d.meta() for d in docs], vectors,
        {"embedder": {"name": embedder.name, "fingerprint": embedder.fingerprint},
         "corpus_checksum": checksum, "settings": cfg.settings()},
        cfg.faiss_kind, sentences, qdrant=cfg.qdrant, recreate=force)
    return BuildResult(len(docs), len(chunks), embedded, time.perf_counter() - t0, False, manifest)


def _check_collection(loc: QdrantLocation | None, manifest: dict) -> None:
    """An up-to-date folder is only up to date if its Qdrant collection still holds every chunk."""
    if loc is not None:
        from index import qdrant_store

        try:
            points = qdrant_store.count(loc)
        except Exception as e:
            raise store.IndexStoreError(f"Qdrant niet bereikbaar: {type(e).__name__}") from e
        if points != manifest["chunk_count"]:
            raise store.IndexStoreError(f"collectie {loc.collection!r} heeft {points} punten")


def _embed(texts: list[str], embedder: Embedder, cache_dir: Path, progress: bool,
           questions: dict[str, list[str]] | None = None, batch: int = 32):
    """Chunk vectors and the vectors of the chunks' sentences (one forward pass per chunk; see
    embed_passages_with_spans), each sentence embedded alone, and the questions written for the
    sentences (by sentence key) embedded as queries, through the embedding cache; returns (vectors,
    (keys, sentence vectors, own sentence vectors, their token states, their questions), number of
    chunks embedded). A sentence in two overlapping chunks gets the mean."""
    spans = [split_sentences(t) for t in texts]
    keys = [text_key(t) for t in texts]
    span_keys = [text_key(SPANS_KEY + t) for t in texts]
    cache = EmbeddingCache(cache_dir / "embeddings", embedder.fingerprint)

    def chunk_pass(idx: list[int]) -> dict[str, np.ndarray]:
        vecs, span_vecs = embedder.embed_passages_with_spans([texts[i] for i in idx], [spans[i] for i in idx])
        return {keys[i]: v for i, v in zip(idx, vecs)} | {span_keys[i]: m.ravel() for i, m in zip(idx, span_vecs)}

    try:
        known, embedded = _through_cache(cache, list(zip(keys, span_keys)), texts, chunk_pass,
                                         "embedden", "chunk", progress, batch)
        vectors = np.stack([known[k] for k in keys]).astype(np.float32)
        table = _sentence_table(texts, spans, [known[k].reshape(-1, vectors.shape[1]) for k in span_keys])
        own = _own_vectors(table[2], embedder, cache, progress, batch)
        tokens = _token_table(table[2], embedder, cache, progress, batch, vectors.shape[1])
        asked = _question_table(table[0], questions or {}, embedder, cache, progress, batch, vectors.shape[1])
    finally:
        cache.close()
    return vectors, (table[0], table[1], own, tokens, asked), embedded


def _through_cache(cache: EmbeddingCache, item_keys: list[tuple[str, ...]], texts: list[str],
                   compute: Callable[[list[int]], dict[str, np.ndarray]], desc: str, unit: str, progress: bool,
                   batch: int) -> tuple[dict[str, np.ndarray], int]:
    """The cached values of every item's keys; items missing any are computed by `compute` (item
    indexes -> key: value), shortest text first, in batches, with a progress bar, and stored. Returns
    the values by key and the number of items computed."""
    from tqdm import tqdm

    known = cache.get_many(sorted({k for ks in item_keys for k in ks}))
    todo = sorted({i for i, ks in enumerate(item_keys) if any(k not in known for k in ks)}, key=lambda i: len(texts[i]))
    with tqdm(total=len(item_keys), initial=len(item_keys) - len(todo), desc=desc, unit=unit, file=sys.stderr,
              disable=not progress) as bar:
        for b in range(0, len(todo), batch):
            idx = todo[b:b + batch]
            fresh = compute(idx)
            cache.put_many(fresh)
            known.update(fresh)
            bar.update(len(idx))
    return known, len(todo)


def _own_vectors(sentences: list[str], embedder: Embedder, cache: EmbeddingCache, progress: bool,
                 batch: int) -> np.ndarray:
    """Each sentence embedded alone (`passage: ` + its text), through the cache, normalised."""
    keys = [text_key(OWN_KEY + t) for t in sentences]

    def own_pass(idx: list[int]) -> dict[str, np.ndarray]:
        return {keys[i]: v for i, v in zip(idx, embedder.embed_passages([sentences[i] for i in idx]))}

    known, _ = _through_cache(cache, [(k,) for k in keys], sentences, own_pass, "zinnen", "zin", progress, batch)
    if not keys:
        return np.zeros((0, 0), np.float32)
    return _unit_rows(np.stack([known[k] for k in keys]))


def _token_table(sentences: list[str], embedder: Embedder, cache: EmbeddingCache, progress: bool,
                 batch: int, dim: int) -> SentenceTokens | None:
    """Each sentence's content tokens embedded alone (`token_vectors`), through the cache; None for an
    embedder without token states. `dim`: the vectors' width (known from the chunk vectors, so that a
    build from the cache never loads the model to ask it)."""
    if not hasattr(embedder, "token_vectors") or not sentences:
        return None
    keys = [text_key(TOKENS_KEY + t) for t in sentences]
    id_keys = [text_key(TOKEN_IDS_KEY + t) for t in sentences]

    def token_pass(idx: list[int]) -> dict[str, np.ndarray]:
        out = embedder.token_vectors([sentences[i] for i in idx])
        return {keys[i]: v.ravel() for i, (v, _) in zip(idx, out)} | {
            id_keys[i]: ids.astype(np.float32) for i, (_, ids) in zip(idx, out)}

    known, _ = _through_cache(cache, list(zip(keys, id_keys)), sentences, token_pass, "zinstokens", "zin",
                              progress, batch)
    return SentenceTokens.from_lists([(known[k].reshape(-1, dim), known[ik].astype(np.int64))
                                      for k, ik in zip(keys, id_keys)], dim)


def read_questions(folder: Path) -> dict[str, list[str]]:
    """The questions of `folder`'s written-*.jsonl files ({"key", "kind", "question"} per line) by
    sentence key, in file order, without repeats."""
    out: dict[str, list[str]] = {}
    for path in sorted(folder.glob("written-*.jsonl")):
        for line in path.open(encoding="utf-8"):
            if line.strip():
                row = json.loads(line)
                qs = out.setdefault(row["key"], [])
                if row["question"] not in qs:
                    qs.append(row["question"])
    return out


def questions_checksum(folder: Path) -> str:
    """sha256 over the question files' names and bytes (a changed file rebuilds the index)."""
    h = hashlib.sha256()
    for path in sorted(folder.glob("written-*.jsonl")):
        h.update(path.name.encode() + b"\x00" + path.read_bytes())
    return h.hexdigest()


def _question_table(keys: list[str], questions: dict[str, list[str]], embedder: Embedder, cache: EmbeddingCache,
                    progress: bool, batch: int, dim: int) -> SentenceQuestions | None:
    """The questions of the index's sentences (`keys`) embedded as queries, through the cache; None when
    no sentence has any. Questions of sentences the index lacks are left out."""
    pairs = [(row, q) for row, k in enumerate(keys) for q in questions.get(k, ())]
    if not pairs:
        return None
    texts = [q for _, q in pairs]
    qkeys = [text_key(QUESTION_KEY + t) for t in texts]

    def question_pass(idx: list[int]) -> dict[str, np.ndarray]:
        return {qkeys[i]: v for i, v in zip(idx, embedder.embed_queries([texts[i] for i in idx]))}

    known, _ = _through_cache(cache, [(k,) for k in qkeys], texts, question_pass, "zinsvragen", "vraag",
                              progress, batch)
    vectors = _unit_rows(np.stack([known[k].reshape(dim) for k in qkeys]))
    return SentenceQuestions(vectors.astype(np.float16), np.array([r for r, _ in pairs]), len(keys), texts)


def _sentence_table(texts: list[str], spans: list[list[tuple[int, int]]], matrices: list[np.ndarray],
                    ) -> tuple[list[str], np.ndarray, list[str]]:
    """(keys, late-chunked vectors, the sentences' texts) of the distinct sentences of `texts`."""
    sums: dict[str, np.ndarray] = {}
    first: dict[str, str] = {}
    for text, sp, m in zip(texts, spans, matrices):
        for (s, e), v in zip(sp, m):
            key = sentence_key(text[s:e])
            sums[key] = sums[key] + v if key in sums else v.copy()
            first.setdefault(key, text[s:e].strip())
    keys = list(sums)
    if not keys:
        return [], np.zeros((0, matrices[0].shape[1] if matrices else 0), np.float32), []
    return keys, _unit_rows(np.stack([sums[k] for k in keys])), [first[k] for k in keys]


def _unit_rows(mat: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (float32); a zero row stays zero."""
    mat = mat.astype(np.float32)
    return mat / np.maximum(np.linalg.norm(mat, axis=1, keepdims=True), 1e-12)
