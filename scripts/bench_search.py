"""In-process search latency: one warm client calling Retriever.search back to back.

Loads the retriever from Settings (real index, real embedder), warms it up, then runs --n queries
(the dev questions, cycled, every other round with a small variation so repeats are not identical)
and prints the p50/p95/mean latency in milliseconds. The query-vector cache is cleared before each
timed query, so every query is embedded. No HTTP, no concurrency: this is the floor the API adds its
overhead to (see scripts/bench_load.py for the server under load).

    .venv/bin/python scripts/bench_search.py --n 200
    .venv/bin/python scripts/bench_search.py --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from eval.metrics import percentile
from eval.qa import load_qa
from service.config import Settings
from service.qa.pipeline import load_retriever

DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"
FALLBACK = ["Wanneer werd het C-130 detachement in Mali ingezet?", "Wie voerde de eindevaluatie van MINUSMA uit?",
            "Waarom levert Nederland geen vaste bijdrage meer aan PAWA?", "Welke lessen trok IOB?"]
VARIANTS = ("{q}", "{q} in Mali", "Vraag: {q}", "{q} volgens de rapporten")


def queries(n: int, dev: Path) -> list[str]:
    """n queries: the dev questions cycled, with a variant wording each round."""
    base = [it["question"] for it in load_qa(dev)] if dev.is_file() else FALLBACK
    return [VARIANTS[(i // len(base)) % len(VARIANTS)].format(q=base[i % len(base)]) for i in range(n)]


def run(n: int, k: int, dev: Path, torch_threads: int | None = None) -> dict:
    retriever = load_retriever(Settings())
    if torch_threads:
        import torch

        torch.set_num_threads(torch_threads)
    for q in queries(5, dev):  # warm-up: first calls pay for lazy init and caches
        retriever.search(q, k)
    times = []
    for q in queries(n, dev):
        retriever.clear_query_cache()
        t = time.perf_counter()
        retriever.search(q, k)
        times.append((time.perf_counter() - t) * 1000)
    encoder = getattr(retriever.embedder, "query_backend", "torch")
    return {"queries": len(times), "k": k, "torch_threads": _torch_threads(), "query_encoder": encoder,
            "p50_ms": percentile(times, 50), "p95_ms": percentile(times, 95),
            "mean_ms": round(statistics.fmean(times), 1), "max_ms": round(max(times), 1)}


def _torch_threads() -> int | None:
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="number of timed queries (default 200)")
    ap.add_argument("--k", type=int, default=10, help="hits per query (default 10)")
    ap.add_argument("--dev", type=Path, default=DEV, help="QA file whose questions are used")
    ap.add_argument("--torch-threads", type=int, help="set torch's thread count before timing (default: as loaded)")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("--n must be at least 1")
    result = run(args.n, args.k, args.dev, args.torch_threads)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"search (in-process, warm, 1 client, queries on {result['query_encoder']}, "
              f"torch threads {result['torch_threads']}): "
              f"{result['queries']} queries, k={result['k']}: "
              f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, mean {result['mean_ms']} ms, "
              f"max {result['max_ms']} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
