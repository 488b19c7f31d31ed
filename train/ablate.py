"""Ablations of the remaining hand-set choices, in process, on a QA file: aggregate figures only.

    .venv/bin/python train/ablate.py eval/frozen/frozen.jsonl

Each variant changes one choice of the pipeline and reports key facts (the scorer's whole-token rule),
answer words p50, unanswerable refused and answerable refused, extractive mode. The frozen set is only
ever read through aggregates like these (docs/answers.md lists the results).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.metrics import has_fact  # noqa: E402
from service.qa import compose, learned  # noqa: E402
from service.qa import pipeline as pipeline_module  # noqa: E402


def figures(p, items: list[dict]) -> dict:
    kf, words, refused_ok, refused_bad, follow, first = [], [], [], [], [], []
    for it in items:
        a = p.ask(it["question"], it.get("history") or [], mode="extractive")
        if it["type"] == "unanswerable":
            refused_ok.append(a.refused)
            continue
        refused_bad.append(a.refused)
        if not a.refused:
            words.append(len(a.answer.split()))
        if it.get("key_facts"):
            v = sum(has_fact(a.answer, f) for f in it["key_facts"]) / len(it["key_facts"])
            kf.append(v)
            (follow if it["type"] == "followup" else first).append(v)
    mean = lambda xs: round(statistics.mean(xs), 3) if xs else None  # noqa: E731
    return {"key_facts": mean(kf), "first": mean(first), "followup": mean(follow),
            "words_p50": statistics.median(words) if words else None,
            "unanswerable_refused": mean(refused_ok), "answerable_refused": mean(refused_bad)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("qa", type=Path)
    ap.add_argument("--only", nargs="*", help="variants to run (default: all)")
    a = ap.parse_args()
    from service.config import Settings

    items = [json.loads(line) for line in a.qa.open(encoding="utf-8") if line.strip()]
    p = pipeline_module.load_pipeline(Settings(generator="none"))
    models = p.models
    standalone = pipeline_module.standalone
    defaults = compose.ANSWER_WORDS, compose.SUPPORT_RATIO, compose.MAX_SUPPORTING

    def restore() -> None:
        p.models, p.depth, pipeline_module.standalone = models, 16, standalone
        compose.ANSWER_WORDS, compose.SUPPORT_RATIO, compose.MAX_SUPPORTING = defaults

    variants = {
        "as shipped": lambda: None,
        "depth 8 (passages ranked)": lambda: setattr(p, "depth", 8),
        "depth 24 (passages ranked)": lambda: setattr(p, "depth", 24),
        "no passage reranking": lambda: setattr(p, "models", learned.Models(
            models.ranker, models.answerable, learned.Logistic.untrained(learned.PASSAGE_FEATURES))),
        "follow-up: no earlier question in the query": lambda: setattr(
            pipeline_module, "standalone", lambda q, h: (q, " ".join(t.content for t in h[-4:]))),
        "answer: best sentence only": lambda: setattr(compose, "MAX_SUPPORTING", 0),
        "answer: up to 3 sentences, 50 words, ratio 0.5": lambda: (
            setattr(compose, "ANSWER_WORDS", 50), setattr(compose, "SUPPORT_RATIO", 0.5),
            setattr(compose, "MAX_SUPPORTING", 2)),
        "answer: up to 3 sentences, 80 words, ratio 0.1": lambda: (
            setattr(compose, "ANSWER_WORDS", 80), setattr(compose, "MAX_SUPPORTING", 2)),
    }
    for name, apply in variants.items():
        if a.only and name not in a.only:
            continue
        restore()
        apply()
        print(f"{name:45s} {json.dumps(figures(p, items))}", flush=True)
    restore()


if __name__ == "__main__":
    main()
