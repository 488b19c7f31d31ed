"""Batches of *every* index sentence, in document order, for writers of the index's sentence questions
(doc2query: questions a sentence answers, embedded at index time and matched against the user's
question; see questions/README.md). No eval set is read: only the index's chunks.

Each line: `n`, `key` (index.sentences.sentence_key of the sentence), `sentence`, `prev` (the sentence
before it in its passage, may be empty), `doc_id`, `title`. A sentence in two overlapping passages
appears once.

Usage: .venv/bin/python train/sample_for_questions.py --batches 8 --out /tmp/sq
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.sentences import sentence_key  # noqa: E402
from train.make_questions import chunk_sentences  # noqa: E402
from train.sample_for_writers import write_batches  # noqa: E402


def index_sentences(index_dir: Path) -> list[dict]:
    """The index's distinct sentences in document order, with the sentence before each."""
    seen, out = set(), []
    for c, text, before, title in chunk_sentences(index_dir):
        key = sentence_key(text)
        if key in seen or len(text) < 25:
            continue
        seen.add(key)
        out.append({"key": key, "sentence": text, "prev": before, "doc_id": c["doc_id"], "title": title})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=8)
    ap.add_argument("--index", default=str(ROOT / "var" / "index"))
    ap.add_argument("--out", required=True, help="folder for batch-K.jsonl")
    a = ap.parse_args()
    rows = index_sentences(Path(a.index))
    size = -(-len(rows) // a.batches)
    write_batches(Path(a.out), [rows[b * size:(b + 1) * size] for b in range(a.batches)])


if __name__ == "__main__":
    main()
