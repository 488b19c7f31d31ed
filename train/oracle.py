"""How far the sentence ranker is from the best it could do, on the TUNING files only (item by item is
allowed there; the frozen set is refused): for each answerable question, the share of its key facts
that the ranker's first sentence holds, its first three together, and the best single candidate
sentence (the oracle), and where that best sentence was ranked.

    .venv/bin/python train/oracle.py [QA.jsonl ...]     # default: the calibration files (train/calibrate.py)
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
from train.calibrate import TUNING  # noqa: E402


def share(text: str, facts: list[str]) -> float:
    return sum(has_fact(text, f) for f in facts) / len(facts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("qa", nargs="*", default=[str(p) for p in TUNING])
    a = ap.parse_args()
    if any(part.startswith("frozen") for f in a.qa for part in Path(f).parts):
        sys.exit("oracle.py: the frozen set is only read as aggregates of the service's answers, not studied")
    from service.config import Settings
    from service.qa.pipeline import load_pipeline

    p = load_pipeline(Settings(generator="none"))
    best, first, three, ranks = [], [], [], []
    for path in a.qa:
        for line in Path(path).open(encoding="utf-8"):
            it = json.loads(line)
            if it["type"] == "unanswerable" or not it.get("key_facts"):
                continue
            _, analysis = p.analyse(it["question"], it.get("history") or [])
            scores = [share(c.sentence.text, it["key_facts"]) for c in analysis.ranked]
            if not scores:
                best.append(0.0), first.append(0.0), three.append(0.0)
                continue
            best.append(max(scores))
            first.append(scores[0])
            three.append(share(" ".join(c.sentence.text for c in analysis.ranked[:3]), it["key_facts"]))
            ranks.append(scores.index(max(scores)) + 1)
    print(f"{len(best)} answerable tuning questions: key facts in the best candidate sentence "
          f"{statistics.mean(best):.3f}, in the ranker's first {statistics.mean(first):.3f}, "
          f"in its first three {statistics.mean(three):.3f}")
    at = {k: sum(r <= k for r in ranks) / len(ranks) for k in (1, 3, 10)}
    print(f"rank of the best sentence: median {statistics.median(ranks):.0f}, first {at[1]:.3f}, "
          f"in the first three {at[3]:.3f}, in the first ten {at[10]:.3f}")


if __name__ == "__main__":
    main()
