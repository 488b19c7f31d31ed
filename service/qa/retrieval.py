"""Hybrid retrieval: dense (e5 over FAISS) + lexical (BM25, Dutch stemming), fused, filtered, deduplicated.

`Retriever.search(query, k, filters)` is the one entry point. Fusion is weighted reciprocal rank
fusion over each retriever's top `depth`; the weights and depth were tuned on the dev set
(docs/retrieval.md). Does not generate answers and does not load models itself: it is handed a
loaded index and an embedder.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from index.schema import Chunk
from index.store import LoadedIndex
from service.errors import VraagbaakError
from service.models.embedder import Embedder
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
    index: LoadedIndex
    embedder: Embedder
    params: FusionParams = field(default_factory=FusionParams)

    def __post_init__(self) -> None:
        chunks = self.index.chunks
        self._doc_ids = np.array([c.doc_id for c in chunks])
        self._years = np.array([c.year or 0 for c in chunks])
        self._query_vectors: dict[str, np.ndarray] = {}  # small cache: ask() scores sentences with it too

    def query_vector(self, query: str) -> np.ndarray:
        """The embedder's (normalised) vector of `query`, cached for the last few hundred queries."""
        vec = self._query_vectors.get(query)
        if vec is None:
            vec = self.embedder.embed_queries([query])[0]
            if len(self._query_vectors) >= 256:
                self._query_vectors.pop(next(iter(self._query_vectors)), None)
            self._query_vectors[query] = vec
        return vec

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
        self._query_vectors.clear()

    def dense_scores(self, query: str) -> np.ndarray:
        qv = self.query_vector(query)[None, :]
        n = self.index.dense.ntotal
        scores, ids = self.index.dense.search(qv, n)
        out = np.full(n, -1.0, dtype=np.float32)
        valid = ids[0] >= 0
        out[ids[0][valid]] = scores[0][valid]
        return out

    def rank(self, query: str, filters: Filters | None = None, also: str | None = None,
             ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Rows ordered by fused score (filtered), and each retriever's top-`depth` rows. With `also`,
        that query's dense and BM25 rankings are fused in at the same weights."""
        p = self.params
        mask = self._mask(filters or Filters())
        lists = []
        for text in (query, also) if also else (query,):
            dense, lexical = self.dense_scores(text), self.index.lexical.scores(text)
            if mask is not None:
                dense, lexical = np.where(mask, dense, -np.inf), np.where(mask, lexical, -np.inf)
            top_dense = np.argsort(-dense, kind="stable")[:p.depth]
            top_bm25 = np.argsort(-lexical, kind="stable")[:p.depth]
            top_bm25 = top_bm25[lexical[top_bm25] > 0]
            if mask is not None:
                top_dense, top_bm25 = top_dense[mask[top_dense]], top_bm25[mask[top_bm25]]
            lists += [(top_dense, p.dense_weight), (top_bm25, p.lexical_weight)]
        tops = {"dense": lists[0][0], "bm25": lists[1][0]}
        if also:  # rows either query found (unordered): what `search` reports as found_by
            tops = {"dense": np.union1d(lists[0][0], lists[2][0]), "bm25": np.union1d(lists[1][0], lists[3][0])}
        fused = rrf(lists, len(self.index.chunks), p.rrf_k)
        order = np.argsort(-fused, kind="stable")
        return order[fused[order] > 0], {**tops, "fused": fused}

    def search(self, query: str, k: int = 10, filters: Filters | dict | None = None,
               also: str | None = None) -> list[Hit]:
        """The k best passages for `query`; `also` is a second query fused in (a follow-up's own words
        next to the question with its context)."""
        query = validate_query(query)
        if not 1 <= k <= 100:
            raise VraagbaakError(f"k moet tussen 1 en 100 liggen, niet {k}")
        if not isinstance(filters, Filters):
            filters = Filters.from_dict(filters)
        order, tops = self.rank(query, filters, also)
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
