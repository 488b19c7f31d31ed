"""Large-index figures: FAISS flat, HNSW, IVF and IVF-PQ at 1,000,000 synthetic 384-d vectors, and Qdrant
local mode at 20,000 points.

For each FAISS kind (the `VRAAGBAAK_FAISS_KIND` values, built by index.store.build_faiss exactly as
`vraagbaak index` builds them): build time, the memory the index holds (resident set growth while
building, and the serialized size), p50/p95 of single-query top-10 searches on one thread (as the
service searches), and recall@10 against the exact (flat) answer. Goal for the chosen kind: p50 <= 10 ms,
<= 2 GB, recall@10 >= 0.95.

The vectors are not uniform noise (on which no approximate index works, and which no embedder makes):
they are drawn around 2,000 random topic centres with a spread that leaves each vector's nearest
neighbours in its own and nearby topics, L2-normalised; the queries are fresh draws from the same mixture.
Qdrant local mode gets 20,000 points with the same kind of dense vectors plus Zipf-distributed sparse
term vectors, and is timed on the fused dense + sparse query the service sends.

    .venv/bin/python scripts/bench_store.py                      # everything (about 15 minutes here)
    .venv/bin/python scripts/bench_store.py --n 100000 --kinds flat,hnsw --qdrant-points 0
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index.store import FAISS_KINDS, build_faiss  # noqa: E402


def rss_mb() -> float:
    """Resident set size of this process (MB), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def clustered(n: int, dim: int, seed: int, centres: np.ndarray, spread: float = 0.9,
              block: int = 100_000) -> np.ndarray:
    """`n` normalised vectors around `centres` (float32, built in blocks to keep the peak low)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, block):
        m = min(block, n - start)
        v = centres[rng.integers(0, len(centres), m)] + spread * rng.standard_normal((m, dim), dtype=np.float32) \
            / np.sqrt(dim)
        out[start:start + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def percentile_ms(times: list[float], q: float) -> float:
    return float(np.percentile(np.array(times) * 1000, q))


def bench_faiss(kinds: list[str], n: int, dim: int, n_queries: int, build_threads: int) -> None:
    import faiss

    rng = np.random.default_rng(1)
    centres = rng.standard_normal((2000, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    t = time.perf_counter()
    data = clustered(n, dim, 2, centres)
    queries = clustered(n_queries, dim, 3, centres)
    print(f"data: {n:,} x {dim} float32 ({data.nbytes / 2**20:,.0f} MB) in {time.perf_counter() - t:.1f} s; "
          f"{n_queries} queries; RSS {rss_mb():,.0f} MB", flush=True)
    faiss.omp_set_num_threads(build_threads)
    t = time.perf_counter()
    exact = faiss.IndexFlatIP(dim)
    exact.add(data)
    _, truth = exact.search(queries, 10)
    del exact
    gc.collect()
    print(f"exact top-10 of the queries (flat, {build_threads} threads): {time.perf_counter() - t:.1f} s\n",
          flush=True)
    print(f"{'kind':6} {'build s':>8} {'RSS +MB':>8} {'file MB':>8} {'p50 ms':>7} {'p95 ms':>7} {'recall@10':>9}  goal")
    for kind in kinds:
        faiss.omp_set_num_threads(build_threads)
        before = rss_mb()
        t = time.perf_counter()
        index = build_faiss(data, kind)
        build_s = time.perf_counter() - t
        grown = rss_mb() - before
        size_mb = _serialized_mb(index)
        faiss.omp_set_num_threads(1)  # the service searches one query at a time on one thread
        times, found = [], []
        for q in queries:
            s = time.perf_counter()
            _, ids = index.search(q[None, :], 10)
            times.append(time.perf_counter() - s)
            found.append(ids[0])
        recall = float(np.mean([len(set(f.tolist()) & set(g.tolist())) / 10 for f, g in zip(found, truth)]))
        p50, p95 = percentile_ms(times, 50), percentile_ms(times, 95)
        ok = p50 <= 10 and max(grown, size_mb) <= 2048 and recall >= 0.95
        print(f"{kind:6} {build_s:8.1f} {grown:8,.0f} {size_mb:8,.0f} {p50:7.2f} {p95:7.2f} {recall:9.3f}  "
              f"{'meets' if ok else 'misses'}", flush=True)
        del index
        gc.collect()


def _serialized_mb(index) -> float:
    """Size of the index as written to dense.faiss (streamed to a temporary file: no second copy in RAM)."""
    import faiss

    with tempfile.NamedTemporaryFile(suffix=".faiss") as f:
        faiss.write_index(index, f.name)
        return Path(f.name).stat().st_size / 2**20


def bench_qdrant(points: int, dim: int, n_queries: int, vocab: int = 50_000) -> None:
    from qdrant_client import QdrantClient, models

    rng = np.random.default_rng(4)
    centres = rng.standard_normal((200, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    dense = clustered(points, dim, 5, centres)
    queries = clustered(n_queries, dim, 6, centres)
    zipf = 1 / np.arange(1, vocab + 1)
    zipf /= zipf.sum()

    def sparse(n_terms: int) -> models.SparseVector:
        ids = np.unique(rng.choice(vocab, n_terms, p=zipf))
        return models.SparseVector(indices=ids.tolist(), values=rng.uniform(0.2, 1.0, len(ids)).tolist())

    with tempfile.TemporaryDirectory() as folder:
        before = rss_mb()
        client = QdrantClient(path=folder)
        client.create_collection(
            "bench", vectors_config={"dense": models.VectorParams(size=dim, distance=models.Distance.DOT)},
            sparse_vectors_config={"bm25": models.SparseVectorParams(modifier=models.Modifier.IDF)})
        t = time.perf_counter()
        for start in range(0, points, 256):
            client.upsert("bench", points=[
                models.PointStruct(id=i, vector={"dense": dense[i].tolist(), "bm25": sparse(60)},
                                   payload={"doc_id": f"d{i // 50}", "year": 2000 + i % 25})
                for i in range(start, min(points, start + 256))])
        upsert_s = time.perf_counter() - t
        grown = rss_mb() - before
        times = {"fused": [], "dense": [], "sparse": []}
        for q in queries:
            sq = sparse(6)
            prefetch = [models.Prefetch(query=q.tolist(), using="dense", limit=60),
                        models.Prefetch(query=sq, using="bm25", limit=60)]
            for name, kw in (("dense", {"query": q.tolist(), "using": "dense"}),
                             ("sparse", {"query": sq, "using": "bm25"}),
                             ("fused", {"prefetch": prefetch,
                                        "query": models.RrfQuery(rrf=models.Rrf(k=61, weights=[1.0, 1.25]))})):
                s = time.perf_counter()
                client.query_points("bench", limit=60, **kw)
                times[name].append(time.perf_counter() - s)
        client.close()
    print(f"\nQdrant local mode, {points:,} points (dense {dim}-d + sparse ~60 terms): upsert {upsert_s:.1f} s "
          f"({points / upsert_s:,.0f} points/s), RSS +{grown:,.0f} MB")
    for name, ts in times.items():
        print(f"  {name:6} query: p50 {percentile_ms(ts, 50):7.1f} ms  p95 {percentile_ms(ts, 95):7.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="FAISS vectors")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--kinds", default=",".join(FAISS_KINDS), help="comma-separated VRAAGBAAK_FAISS_KIND values")
    ap.add_argument("--build-threads", type=int, default=2)
    ap.add_argument("--qdrant-points", type=int, default=20_000, help="0 skips Qdrant")
    ap.add_argument("--qdrant-queries", type=int, default=50)
    args = ap.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]
    if kinds and args.n:
        bench_faiss(kinds, args.n, args.dim, args.queries, args.build_threads)
    if args.qdrant_points:
        bench_qdrant(args.qdrant_points, args.dim, args.qdrant_queries)


if __name__ == "__main__":
    main()
