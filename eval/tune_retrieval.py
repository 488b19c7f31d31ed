"""Retrieval tuning on a QA file: chunk sizes x fusion settings, printed as a markdown table.

    python -m eval.tune_retrieval ../shared/eval/dev.jsonl --sizes 120/30,200/40 [--out var/tune]

Builds one index per chunk setting (embeddings are cached), then scores fusion variants on it.
A developer tool: the chosen values live in service.qa.retrieval.FusionParams and Settings.
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import replace
from pathlib import Path

from eval.metrics import mean, retrieval_row
from eval.qa import load_qa, retrieval_items
from index.build import BuildConfig, build_index
from index.store import load_index
from service.config import Settings
from service.models.embedder import load_embedder
from service.qa.retrieval import FusionParams, Retriever


def score(retriever: Retriever, items: list[dict], k: int = 10) -> dict:
    rows = [retrieval_row([h.text for h in retriever.search(it["question"], k)], it["evidence"])
            for it in items]
    return {"hit@1": mean(r["hit@1"] for r in rows), "hit@5": mean(r["hit@5"] for r in rows),
            "hit@10": mean(r["hit@10"] for r in rows), "mrr": mean(r["rr"] for r in rows),
            "misses@5": [it["id"] for it, r in zip(items, rows) if not r["hit@5"]]}


VARIANTS = {
    "dense": dict(lexical_weight=0.0),
    "bm25": dict(dense_weight=0.0),
    "rrf 1:1": {},
    "rrf 1:1.5": dict(lexical_weight=1.5),
    "rrf 1.5:1": dict(dense_weight=1.5),
    "rrf 1:1 k=20": dict(rrf_k=20.0),
    "rrf 1:1.5 k=20": dict(rrf_k=20.0, lexical_weight=1.5),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("qa", type=Path)
    ap.add_argument("--sizes", default="120/30,160/40,200/40,300/60")
    ap.add_argument("--out", type=Path, default=Path("var/tune"))
    a = ap.parse_args()
    settings = Settings()
    items = retrieval_items(load_qa(a.qa))
    embedder = load_embedder(settings.embedder, settings.cache_dir)
    print("| chunks (tokens/overlap) | fusion | hit@1 | hit@5 | hit@10 | MRR | misses@5 |")
    print("|---|---|---|---|---|---|---|")
    for size, (name, kw) in itertools.product(a.sizes.split(","), VARIANTS.items()):
        tokens, overlap = (int(x) for x in size.split("/"))
        cfg = BuildConfig(settings.corpus_dir, a.out / size.replace("/", "-"), settings.cache_dir, tokens, overlap)
        build_index(cfg, embedder, progress=False, force=True)
        retriever = Retriever(load_index(cfg.out, embedder.fingerprint), embedder, replace(FusionParams(), **kw))
        s = score(retriever, items)
        print(f"| {size} | {name} | {s['hit@1']} | {s['hit@5']} | {s['hit@10']} | {s['mrr']} | "
              f"{' '.join(s['misses@5'])} |", flush=True)


if __name__ == "__main__":
    main()
