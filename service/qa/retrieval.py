"""Hybrid retrieval: dense (e5 over FAISS) + lexical (BM25, Dutch stemming), fused, filtered, deduplicated.
Over a Qdrant store the same two sides are fused by Qdrant (index/qdrant_store.py) with the same depth,
k and weights.

`Retriever.search(query, k, filters)` is the one entry point (`search_followup` for a follow-up question);
the Retriever also answers what the pipeline needs to know of the index (chunk texts, compound heads,
sentence similarities, documents, manifest), so nothing reaches into the store. Fusion is weighted
reciprocal rank fusion over each retriever's top `depth`; the weights and depth were tuned on the dev set
(docs/retrieval.md). Does not generate answers and does not load models itself: it is handed a
loaded index and an embedder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from index.embedder import Embedder
from index.schema import Chunk
from index.sentences import split_sentences
from index.store import FusingStore, RetrievalStore
from service.errors import VraagbaakError
from service.types import Hit

MAX_QUERY_CHARS = 2000


@dataclass(frozen=True)
class Filters:
    doc_ids: tuple[str, ...] = ()
    years: tuple[int, ...] = ()

    @classmethod
    def from_dict(cls, d: dict | None) -> Filters:
        d = d or {}
        unknown = set(d) - {"doc_id", "doc_ids", "year", "years"}
        if unknown:
            raise VraagbaakError(f"onbekend filter: {', '.join(sorted(unknown))} (toegestaan: doc_id, year)")
        docs = d.get("doc_ids", d.get("doc_id", ()))
        years = d.get("years", d.get("year", ()))
        docs = (docs,) if isinstance(docs, str) else tuple(docs or ())
        years = (years,) if isinstance(years, int) else tuple(years or ())
        return cls(tuple(str(x) for x in docs), tuple(int(y) for y in years))


@dataclass(frozen=True)
class FusionParams:
    depth: int = 60  # candidates taken from each retriever
    rrf_k: float = 60.0
    dense_weight: float = 1.0
    lexical_weight: float = 1.25
    question_weight: float = 1.0  # the passages ranked by their sentences' written questions (0: off)
    merge_chars: int = 2000  # a neighbouring chunk joins an earlier hit while the hit stays this short


def validate_query(query: str) -> str:
    q = " ".join(str(query).split())
    if not q:
        raise VraagbaakError("lege vraag: typ een vraag of zoekterm")
    if len(q) > MAX_QUERY_CHARS:
        raise VraagbaakError(f"vraag te lang: {len(q)} tekens (maximaal {MAX_QUERY_CHARS})")
    return q


def rrf(rankings: list[tuple[np.ndarray, float]], n: int, k: float) -> np.ndarray:
    """Weighted reciprocal rank fusion: sum of weight / (k + rank) over rankings (rank from 1)."""
    fused = np.zeros(n, dtype=np.float64)
    for order, weight in rankings:
        fused[order] += weight / (k + np.arange(1, len(order) + 1))
    return fused


@dataclass
class Retriever:
    index: RetrievalStore
    embedder: Embedder
    params: FusionParams = field(default_factory=FusionParams)

    def __post_init__(self) -> None:
        chunks = self.index.chunks
        self._doc_ids = np.array([c.doc_id for c in chunks])
        self._years = np.array([c.year or 0 for c in chunks])
        self._query_vectors: dict[str, np.ndarray] = {}  # small cache: ask() scores sentences with it too
        self._question_best: dict[str, np.ndarray] = {}  # per query: each sentence's best question match
        self._cache_lock = threading.Lock()  # searches run in worker threads; the cache evicts
        self._chunk_rows: tuple[np.ndarray, np.ndarray] | None = None  # (chunk, sentence row) pairs, lazily

    # -- what the pipeline reads of the index, without reaching into it --------------------------------
    @property
    def manifest(self) -> dict:
        return self.index.manifest

    @property
    def embedder_name(self) -> str:
        return self.embedder.name

    @property
    def compound_heads(self) -> frozenset[str]:
        return self.index.heads

    def chunk_texts(self) -> list[str]:
        """The text of every indexed chunk, in row order."""
        return [c.text for c in self.index.chunks]

    def documents(self) -> list[dict]:
        """The indexed reports: doc_id, title, publisher, year, kind, chunks."""
        counts: dict[str, int] = {}
        for c in self.index.chunks:
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
        return [{"doc_id": d["doc_id"], "title": d["title"], "publisher": d.get("publisher", ""),
                 "year": d.get("year"), "kind": d.get("kind", ""), "chunks": counts.get(d["doc_id"], 0)}
                for d in self.index.documents]

    def sentence_similarity(self, query: str, embed_missing: bool = True,
                            own: bool = False) -> Callable[[list[str]], np.ndarray] | None:
        """Sentence texts -> cosine to `query`, from the index's sentence vectors (late-chunked, or with
        `own` the sentences embedded alone; a sentence the index lacks, a fragment cut at a passage edge,
        is embedded, or with `embed_missing=False` gets the lowest similarity of the others); None when
        the index holds no sentence vectors."""
        vectors = self.index.sentences
        if vectors is None or not len(vectors):
            return None
        qv = self.query_vector(query)
        embed = self.embedder.embed_passages if embed_missing else None
        return lambda texts: vectors.similarities(texts, qv, embed=embed, own=own)

    def token_match(self, query: str) -> Callable[[list[str]], np.ndarray] | None:
        """Sentence texts -> (n, 2) late-interaction match of `query`'s tokens with the sentences'
        (`SentenceTokens.match`); None when the index or the embedder has no token states."""
        vectors = self.index.sentences
        if vectors is None or vectors.tokens is None or not hasattr(self.embedder, "token_vectors"):
            return None
        self.query_vector(query)  # the ONNX encoder keeps the tokens of the call that embeds the query
        q, ids = self.embedder.token_vectors([query], "query")[0]
        return lambda texts: vectors.token_match(texts, q, ids)

    def question_match(self, query: str) -> Callable[[list[str]], np.ndarray] | None:
        """Sentence texts -> the best cosine of `query` to the questions written for each sentence
        (`SentenceVectors.question_match`); None when the index holds no such questions."""
        vectors = self.index.sentences
        if vectors is None or vectors.questions is None:
            return None
        best = self.question_best(query)
        return lambda texts: vectors.question_match(texts, best=best)

    def question_best(self, query: str) -> np.ndarray:
        """Each index sentence's best cosine of `query` to its written questions (NaN without any): the
        search's question ranking and the ranker's `q2q` features read it; cached like the query vector."""
        return self._cached(self._question_best, query, 64,
                            lambda: self.index.sentences.questions.best(self.query_vector(query)))

    def _cached(self, cache: dict[str, np.ndarray], query: str, limit: int,
                compute: Callable[[], np.ndarray]) -> np.ndarray:
        """`cache[query]`, computed (outside the lock) when missing; the oldest entry goes beyond `limit`."""
        with self._cache_lock:
            value = cache.get(query)
        if value is None:
            value = compute()
            with self._cache_lock:
                if len(cache) >= limit:
                    cache.pop(next(iter(cache)), None)
                cache[query] = value
        return value

    # -- search ----------------------------------------------------------------------------------------
    def query_vector(self, query: str) -> np.ndarray:
        """The embedder's (normalised) vector of `query`, cached for the last few hundred queries."""
        return self._cached(self._query_vectors, query, 256, lambda: self.embedder.embed_queries([query])[0])

    def _mask(self, filters: Filters) -> np.ndarray | None:
        if not filters.doc_ids and not filters.years:
            return None
        mask = np.ones(len(self.index.chunks), dtype=bool)
        if filters.doc_ids:
            mask &= np.isin(self._doc_ids, filters.doc_ids)
        if filters.years:
            mask &= np.isin(self._years, filters.years)
        return mask

    def clear_query_cache(self) -> None:
        """Forget cached query vectors (benchmarks time cold queries)."""
        with self._cache_lock:
            self._query_vectors.clear()
            self._question_best.clear()

    def dense_scores(self, query: str) -> np.ndarray:
        return self.index.dense_scores(self.query_vector(query))

    def _tops(self, text: str, mask: np.ndarray | None) -> tuple[np.ndarray, ...]:
        """The top-`depth` rows of the dense and of the BM25 ranking of `text` (within `mask`), and of the
        ranking by the questions written for the chunks' sentences when the index has them."""
        depth = self.params.depth
        dense, lexical = self.dense_scores(text), self.index.lexical_scores(text)
        if mask is not None:
            dense, lexical = np.where(mask, dense, -np.inf), np.where(mask, lexical, -np.inf)
        top_dense = np.argsort(-dense, kind="stable")[:depth]
        top_bm25 = np.argsort(-lexical, kind="stable")[:depth]
        top_bm25 = top_bm25[lexical[top_bm25] > 0]
        tops = [top_dense, top_bm25]
        if mask is not None:
            tops = [t[mask[t]] for t in tops]
        asked = self._question_top(text, mask)
        return (*tops, asked) if asked is not None else tuple(tops)

    def _add_questions(self, order: np.ndarray, found: dict[str, np.ndarray], texts: tuple[str, ...],
                       mask: np.ndarray | None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """A fusing store's (Qdrant's) ranking with the question ranking of each text fused in, by the
        same weighted RRF as `_fuse` (the written questions live in the index folder, not the store)."""
        tops = [self._question_top(text, mask) for text in texts]
        if any(t is None for t in tops):
            return order, found
        fused = found["fused"] + rrf([(t, self.params.question_weight) for t in tops], len(self.index.chunks),
                                     self.params.rrf_k)
        order = np.argsort(-fused, kind="stable")
        return order[fused[order] > 0], {**found, "fused": fused}

    def _question_top(self, text: str, mask: np.ndarray | None) -> np.ndarray | None:
        """The top-`depth` chunks (within `mask`) by the best cosine of `text` to a question written for
        one of their sentences, chunks without any left out; None when the index has no questions or
        their ranking is off (`question_weight` 0)."""
        vectors = self.index.sentences
        if not self.params.question_weight or vectors is None or vectors.questions is None:
            return None
        if self._chunk_rows is None:
            pairs = [(c, r) for c, chunk in enumerate(self.index.chunks)
                     for r in vectors.rows([chunk.text[s:e] for s, e in split_sentences(chunk.text)]) if r is not None]
            self._chunk_rows = (np.array([c for c, _ in pairs], np.int64), np.array([r for _, r in pairs], np.int64))
        chunks, rows = self._chunk_rows
        best = np.nan_to_num(self.question_best(text)[rows], nan=-np.inf)
        asked = np.full(len(self.index.chunks), -np.inf, np.float32)
        np.maximum.at(asked, chunks, best)
        if mask is not None:
            asked = np.where(mask, asked, -np.inf)
        top = np.argsort(-asked, kind="stable")[:self.params.depth]
        return top[np.isfinite(asked[top])]

    def _fuse(self, tops: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Rows ordered by fused score over the queries' `tops`, and the rows each retriever found."""
        p = self.params
        weights = (p.dense_weight, p.lexical_weight, p.question_weight)
        lists = [(rows, w) for top in tops for rows, w in zip(top, weights)]
        found = {"dense": tops[0][0], "bm25": tops[0][1]}
        if len(tops) > 1:  # rows either query found (unordered): what `search` reports as found_by
            found = {"dense": np.union1d(tops[0][0], tops[1][0]), "bm25": np.union1d(tops[0][1], tops[1][1])}
        fused = rrf(lists, len(self.index.chunks), p.rrf_k)
        order = np.argsort(-fused, kind="stable")
        return order[fused[order] > 0], {**found, "fused": fused}

    def rank(self, query: str, filters: Filters | None = None, also: str | None = None,
             ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Rows ordered by fused score (filtered), and each retriever's top-`depth` rows. With `also`,
        that query's dense and BM25 rankings are fused in at the same weights."""
        return self._ranked((query, also) if also else (query,), filters or Filters())

    def _ranked(self, texts: tuple[str, ...], filters: Filters) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """`rank` of one or two queries: fused here over a scoring store, or by a fusing store (Qdrant)."""
        if isinstance(self.index, FusingStore):
            p = self.params
            order, found = self.index.fused_rank([(t, self.query_vector(t)) for t in texts], filters.doc_ids,
                                                 filters.years, p.depth, p.rrf_k, (p.dense_weight, p.lexical_weight))
            return self._add_questions(order, found, texts, self._mask(filters))
        mask = self._mask(filters)
        return self._fuse([self._tops(text, mask) for text in texts])

    def search(self, query: str, k: int = 10, filters: Filters | dict | None = None,
               also: str | None = None) -> list[Hit]:
        """The k best passages for `query`; `also` is a second query fused in (a follow-up's own words
        next to the question with its context)."""
        query, filters = self._checked(query, k, filters)
        return self._hits(*self.rank(query, filters, also), k)

    def search_followup(self, query: str, own: str, k: int = 10) -> tuple[list[Hit], list[Hit]]:
        """For a follow-up, from one ranking of each query: the k best passages of the question with its
        context (`query`) fused with the follow-up's own words (`own`), and those of `query` alone."""
        query, filters = self._checked(query, k, None)
        if isinstance(self.index, FusingStore):
            return self._hits(*self._ranked((query, own), filters), k), self._hits(*self._ranked((query,), filters), k)
        mask = self._mask(filters)
        tops = [self._tops(query, mask), self._tops(own, mask)]
        return self._hits(*self._fuse(tops), k), self._hits(*self._fuse(tops[:1]), k)

    def _checked(self, query: str, k: int, filters: Filters | dict | None) -> tuple[str, Filters]:
        query = validate_query(query)
        if not 1 <= k <= 100:
            raise VraagbaakError(f"k moet tussen 1 en 100 liggen, niet {k}")
        return query, filters if isinstance(filters, Filters) else Filters.from_dict(filters)

    def _hits(self, order: np.ndarray, tops: dict[str, np.ndarray], k: int) -> list[Hit]:
        """The first k passages of `order`; neighbouring chunks merge into one passage."""
        members = {name: set(rows.tolist()) for name, rows in tops.items() if name != "fused"}
        hits: list[Hit] = []
        limit = self.params.merge_chars
        for row in order[: k * 3]:
            chunk = self.index.chunks[row]
            found_by = tuple(name for name in ("dense", "bm25") if row in members[name])
            near = [i for i, h in enumerate(hits) if _touches(chunk, h)]
            spans = [chunk, *(hits[i] for i in near)]
            if near and max(x.end for x in spans) - min(x.start for x in spans) <= limit:
                hits = _merge_all(hits, near, chunk, found_by)  # may bridge two hits: they become one
            elif len(hits) < k and not any(_overlaps(chunk, h) for h in hits):
                hits.append(_hit(chunk, float(tops["fused"][row]), found_by, int(row)))
        return hits


def _touches(chunk: Chunk, hit: Hit) -> bool:
    """Same document and overlapping or adjacent (at most a few characters apart)."""
    return chunk.doc_id == hit.doc_id and chunk.start <= hit.end + 3 and hit.start <= chunk.end + 3


def _overlaps(chunk: Chunk, hit: Hit) -> bool:
    return chunk.doc_id == hit.doc_id and chunk.start < hit.end and hit.start < chunk.end


def _merge_all(hits: list[Hit], near: list[int], chunk: Chunk, found_by: tuple[str, ...]) -> list[Hit]:
    """The chunk and every hit it touches as one hit, in the place of the best-ranked of them."""
    merged = _merge(hits[near[0]], chunk, found_by)
    for i in near[1:]:
        merged = _merge(merged, hits[i], hits[i].retrievers)  # a Hit has the Chunk fields _merge uses
    return [merged if i == near[0] else h for i, h in enumerate(hits) if i not in near[1:]]


def _join(first: str, first_end: int, second: str, second_start: int) -> str:
    """Join two texts of one document given where the first ends and the second starts."""
    if second_start >= first_end:
        return first + " " + second if second_start > first_end else first + second
    return first + second[first_end - second_start:]


def _merge(hit: Hit, chunk: Chunk, found_by: tuple[str, ...]) -> Hit:
    """`hit` widened to cover `chunk` too; keeps the hit's rank and score."""
    if chunk.start >= hit.start:
        text = hit.text if chunk.end <= hit.end else _join(hit.text, hit.end, chunk.text, chunk.start)
    else:
        text = chunk.text if hit.end <= chunk.end else _join(chunk.text, chunk.end, hit.text, hit.start)
    retrievers = tuple(n for n in ("dense", "bm25") if n in hit.retrievers or n in found_by)
    return replace(hit, text=text, start=min(hit.start, chunk.start), end=max(hit.end, chunk.end),
                   retrievers=retrievers)


def _hit(c: Chunk, score: float, found_by: tuple[str, ...], row: int) -> Hit:
    return Hit(c.chunk_id, c.doc_id, c.title, c.section, c.page, c.text, c.start, c.end, score, found_by, row)
