"""Qdrant as the retrieval store: dense vectors and BM25 sparse vectors in one collection, fused by Qdrant.

The sparse side is computed here with the same Dutch analyzer as the FAISS store's bm25s index
(index.lexical.analyze, compound heads included): a term's id is a stable 32-bit hash of the stem, its
weight the BM25 term-frequency part tf / (tf + k1 (1 - b + b dl/avgdl)) (k1 1.2, b 0.75, bm25s' "lucene"
variant), and the collection's `Modifier.IDF` supplies ln(1 + (N - df + 0.5) / (df + 0.5)) at query time,
so a sparse query scores exactly as bm25s does. A query is one `query_points` call: a dense and a sparse
prefetch (filtered by doc_id / year payload), fused by `RrfQuery(rrf=Rrf(k=61, weights=...))`; Qdrant's
weighted RRF is 1 / (rank / w + k - 1), which is our 1 / (60 + rank) for weight 1 (docs/scaling.md).
Point ids are uuid5(chunk_id); each point carries chunk_id, doc_id, year and a hash of its document's
chunks, so `sync` deletes and re-upserts only the documents whose chunks changed.

The chunk texts, documents and sentence vectors stay in the index folder (index/store.py writes them);
this module does not clean, chunk or embed, and does not start a Qdrant server.
"""

from __future__ import annotations

import atexit
import hashlib
import threading
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from index.errors import IndexStoreError
from index.lexical import analyze
from index.schema import Chunk
from index.sentences import SentenceVectors

DENSE, SPARSE = "dense", "bm25"
K1, B = 1.2, 0.75
SPARSE_VERSION = 1  # bump when the analyzer or the weights change: every document is re-upserted
NAMESPACE = uuid.UUID("6f1d7a52-93c4-5a0e-9a63-1f4d0c2b8e71")  # of the point ids; never change it
BATCH = 256


@dataclass(frozen=True)
class QdrantLocation:
    """Where the collection lives: a server or cluster (`url`) or embedded local mode (`path`, a folder or
    ':memory:'). One collection per embedder."""

    collection: str
    url: str | None = None
    path: str | None = None
    api_key: str | None = None

    def __post_init__(self) -> None:
        if bool(self.url) == bool(self.path):
            raise IndexStoreError("Qdrant: geef VRAAGBAAK_QDRANT_URL (server) of VRAAGBAAK_QDRANT_PATH "
                                  "(lokale modus), precies één van beide")

    @property
    def local(self) -> bool:
        return self.path is not None

    def describe(self) -> dict:
        return {"collection": self.collection, "url": self.url, "path": self.path}


_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()


def client_for(loc: QdrantLocation):
    """One QdrantClient per location and process: local mode locks its folder, and ':memory:' lives in
    the client, so the writer and the reader of one process must share it."""
    from qdrant_client import QdrantClient

    key = (loc.url, loc.path)
    with _clients_lock:
        if key not in _clients:
            if loc.url:
                _clients[key] = QdrantClient(url=loc.url, api_key=loc.api_key, timeout=30)
            else:
                _clients[key] = QdrantClient(location=":memory:") if loc.path == ":memory:" \
                    else QdrantClient(path=loc.path)
        return _clients[key]


def close_clients() -> None:
    """Close every client (local mode releases its folder lock); at exit, before the interpreter tears down."""
    with _clients_lock:
        for c in _clients.values():
            c.close()
        _clients.clear()


atexit.register(close_clients)


def term_id(term: str) -> int:
    """Stable sparse index of an analyzed term (32-bit; collisions are rare and only merge two terms)."""
    return int.from_bytes(hashlib.blake2b(term.encode("utf-8"), digest_size=4).digest(), "big")


def _sparse(weights: dict[int, float]):
    from qdrant_client import models

    ids = sorted(weights)
    return models.SparseVector(indices=ids, values=[float(weights[i]) for i in ids])


def document_weights(terms: list[str], avgdl: float) -> dict[int, float]:
    """BM25 term-frequency weights of one chunk's analyzed terms (the IDF is Qdrant's)."""
    norm = K1 * (1 - B + B * len(terms) / max(avgdl, 1e-9))
    weights: dict[int, float] = {}
    for term, tf in Counter(terms).items():
        i = term_id(term)
        weights[i] = weights.get(i, 0.0) + tf / (tf + norm)
    return weights


def query_weights(terms: list[str]) -> dict[int, float]:
    """A query's terms counted: bm25s sums a repeated query term once per occurrence too."""
    weights: dict[int, float] = {}
    for term, n in Counter(terms).items():
        weights[term_id(term)] = weights.get(term_id(term), 0.0) + n
    return weights


def point_id(chunk_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, chunk_id))


def _doc_hashes(chunks: list[Chunk]) -> dict[str, str]:
    """A hash per document of what its points hold; a changed hash means delete and re-upsert."""
    hashes: dict[str, hashlib._Hash] = {}
    for c in chunks:
        h = hashes.setdefault(c.doc_id, hashlib.sha256(f"v{SPARSE_VERSION}".encode()))
        h.update(f"\x00{c.chunk_id}\x00{c.year}\x00{c.text}".encode())
    return {d: h.hexdigest() for d, h in hashes.items()}


def _filter(doc_ids: Iterable[str] = (), years: Iterable[int] = ()):
    from qdrant_client import models

    must = []
    if doc_ids := list(doc_ids):
        must.append(models.FieldCondition(key="doc_id", match=models.MatchAny(any=doc_ids)))
    if years := [int(y) for y in years]:
        must.append(models.FieldCondition(key="year", match=models.MatchAny(any=years)))
    return models.Filter(must=must) if must else None


def _ensure_collection(client, loc: QdrantLocation, dim: int, recreate: bool) -> None:
    from qdrant_client import models

    exists = client.collection_exists(loc.collection)
    if exists and not recreate:
        size = client.get_collection(loc.collection).config.params.vectors[DENSE].size
        if size == dim:
            return
    if exists:
        client.delete_collection(loc.collection)
    client.create_collection(
        loc.collection,
        vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.DOT)},
        sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)})
    if not loc.local:  # payload indexes make filtered search fast on a server; local mode has none
        client.create_payload_index(loc.collection, "doc_id", models.PayloadSchemaType.KEYWORD)
        client.create_payload_index(loc.collection, "year", models.PayloadSchemaType.INTEGER)


def stored_documents(client, collection: str) -> dict[str, str]:
    """doc_id -> document hash of the points in the collection."""
    found: dict[str, str] = {}
    offset = None
    while True:
        points, offset = client.scroll(collection, limit=1024, offset=offset,
                                       with_payload=["doc_id", "doc_hash"], with_vectors=False)
        for p in points:
            found[p.payload["doc_id"]] = p.payload["doc_hash"]
        if offset is None:
            return found


@dataclass(frozen=True)
class SyncResult:
    deleted_documents: int
    upserted_points: int


def sync(loc: QdrantLocation, chunks: list[Chunk], vectors: np.ndarray, heads: frozenset[str],
         recreate: bool = False) -> SyncResult:
    """Make the collection hold exactly `chunks`: documents that are gone or changed are deleted and their
    points upserted again; unchanged documents are left alone (their sparse weights keep the avgdl of the
    build that wrote them; `recreate` rewrites everything)."""
    from qdrant_client import models

    client = client_for(loc)
    _ensure_collection(client, loc, int(vectors.shape[1]), recreate)
    wanted = _doc_hashes(chunks)
    stored = stored_documents(client, loc.collection)
    stale = sorted(d for d, h in stored.items() if wanted.get(d) != h)
    if stale:
        client.delete(loc.collection, points_selector=models.FilterSelector(filter=_filter(stale)), wait=True)
    todo = [i for i, c in enumerate(chunks) if stored.get(c.doc_id) != wanted[c.doc_id]]
    terms = [analyze(c.text, heads) for c in chunks]
    avgdl = float(np.mean([len(t) for t in terms])) if terms else 1.0
    for b in range(0, len(todo), BATCH):
        points = [models.PointStruct(
            id=point_id(chunks[i].chunk_id),
            vector={DENSE: vectors[i].tolist(), SPARSE: _sparse(document_weights(terms[i], avgdl))},
            payload={"chunk_id": chunks[i].chunk_id, "doc_id": chunks[i].doc_id, "year": chunks[i].year,
                     "doc_hash": wanted[chunks[i].doc_id]})
            for i in todo[b:b + BATCH]]
        client.upsert(loc.collection, points=points, wait=True)
    return SyncResult(len(stale), len(todo))


def count(loc: QdrantLocation) -> int | None:
    """Points in the collection, or None when it does not exist."""
    client = client_for(loc)
    if not client.collection_exists(loc.collection):
        return None
    return client.count(loc.collection, exact=True).count


@dataclass
class QdrantStore:
    """The RetrievalStore over a Qdrant collection: fusion happens in Qdrant (`fused_rank`)."""

    manifest: dict
    chunks: list[Chunk]
    documents: list[dict]
    location: QdrantLocation
    heads: frozenset[str]
    sentences: SentenceVectors | None = None
    _rows: dict[str, int] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._rows = {c.chunk_id: i for i, c in enumerate(self.chunks)}
        self._client = client_for(self.location)

    def fused_rank(self, queries: list[tuple[str, np.ndarray]], doc_ids: tuple[str, ...], years: tuple[int, ...],
                   depth: int, rrf_k: float, weights: tuple[float, float],
                   ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Rows ordered by Qdrant's fused score, and the rows each side found (`dense`, `bm25`, and
        `fused`: the score of every row). One round trip: each side's top `depth` and their fusion."""
        from qdrant_client import models

        flt = _filter(doc_ids, years)
        prefetch, sides = [], []
        for text, vector in queries:
            sides.append(("dense", models.Prefetch(query=vector.tolist(), using=DENSE, limit=depth, filter=flt),
                          weights[0]))
            q = query_weights(analyze(text, self.heads))
            if q:
                sides.append(("bm25", models.Prefetch(query=_sparse(q), using=SPARSE, limit=depth, filter=flt),
                              weights[1]))
        requests = [models.QueryRequest(query=p.query, using=p.using, limit=depth, filter=flt,
                                        with_payload=["chunk_id"]) for _, p, _ in sides]
        prefetch = [p for _, p, _ in sides]
        rrf = models.Rrf(k=int(round(rrf_k)) + 1, weights=[w for _, _, w in sides])
        requests.append(models.QueryRequest(prefetch=prefetch, query=models.RrfQuery(rrf=rrf),
                                            limit=depth * len(sides), with_payload=["chunk_id"]))
        with self._lock:  # local mode is not thread-safe; a server client is cheap to serialise at this size
            responses = self._client.query_batch_points(self.location.collection, requests=requests)
        found: dict[str, set[int]] = {"dense": set(), "bm25": set()}
        for (name, _, _), resp in zip(sides, responses):
            found[name].update(self._row_ids(resp.points))
        scores = np.zeros(len(self.chunks), dtype=np.float64)
        order = []
        for p in responses[-1].points:
            row = self._rows.get(p.payload["chunk_id"])
            if row is not None:  # a point written by a newer build than this folder: skipped
                order.append(row)
                scores[row] = p.score
        return np.array(order, dtype=np.int64), {
            "dense": np.array(sorted(found["dense"]), dtype=np.int64),
            "bm25": np.array(sorted(found["bm25"]), dtype=np.int64), "fused": scores}

    def _row_ids(self, points) -> list[int]:
        return [r for p in points if (r := self._rows.get(p.payload["chunk_id"])) is not None]
