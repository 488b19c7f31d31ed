"""Batches of report sentences for question writers (helper agents), for the training data of the
learned ranker and answerability model. No eval set is read: only the index's sentences.

The sentences come from the same pool as `make_questions.py` (60–350 characters, shuffled with a fixed
seed), minus those already used by the files matched by `--used` (default: every questions file under
train/data/). The writers' instructions are in train/writers/INSTRUCTIONS.md. Three rounds:
- round 1: 480 sentences, 3 batches -> train/data/questions-written-{1,2,3}.jsonl (639 questions);
- round 2: the remaining 1027 sentences, 6 batches, with follow-ups -> questions-written-{4..9}.jsonl;
- round 3: the 600 sentences only the bundled model had written questions for
  (`--used "questions-written-*.jsonl"`, run before files 10-13 existed), 4 batches ->
  questions-written-{10..13}.jsonl.
- round 4 (`--negatives`): no new sentences. The written unanswerable questions (to be asked again in
  English) and the written follow-ups (to be followed by an unanswerable follow-up in the same
  conversation) of files 1-13 (before one row of file 3 was dropped, 850aeb4), 6 batches ->
  negatives/questions-written-{14..19}.jsonl. Before it, every
  unanswerable training question was a Dutch first question, so the answerability model learnt
  "English" and "follow-up" as signs of an answer. Kept out of training: they did not move the refusals of
  those forms on eval/probe5.jsonl (docs/answers.md).
- round 6 (`--untyped`): no new sentences. One Dutch (`nl`/`para`) question of each of the first `--n`
  sentences of files 1-13, 6 batches -> questions-written-{26..31}.jsonl: for each, an unanswerable
  question on the same subject that asks for no number, amount, date, name or place. The written
  unanswerable questions were 85 % typed, the answerable ones 16-23 %, so the answerability model learnt
  "a typed question has no answer" (`kind_asked`, -1.0) and refuses users' typed answerable questions.
  Kept out of training (train/data/untyped/): with them `kind_asked` fell to -0.28, but the tuning files'
  unanswerable questions, mostly typed, were refused less (0.633 -> 0.583; docs/answers.md).
- round 7 (`--passages`): no new sentences. The sentences of files 1-13 with a Dutch question (the first
  `--n`), each with its passage (the indexed chunk) and the sentence marked in it, 6 batches ->
  passages/questions-written-{41..46}.jsonl: a question worded from the passage around the sentence, as
  users ask (docs/answers.md: the answering sentence shares few words with users' questions, 0.08 of its
  idf mass on the tuning files, while the sentence the ranker wrongly puts first shares 0.20). Kept out of
  training: with them the tuning files' key facts fell, 0.742 -> 0.729 (docs/answers.md, "Latest (d)").
- round 5 (`--english`): no new sentences. For each sentence of files 1-13 with a Dutch (`nl`/`para`)
  question and no English one, that question's line, to be asked in English (the first 960, 6 batches)
  -> english/questions-written-{20..25}.jsonl. English questions were 370 of 2107 sentences' questions.
  Kept out of training: with them the tuning files' key facts fell 0.659 -> 0.588 (docs/answers.md).

Usage: .venv/bin/python train/sample_for_writers.py --n 1200 --batches 6 --out /tmp/writers
       .venv/bin/python train/sample_for_writers.py --negatives --batches 6 --out /tmp/writers4
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from train.make_questions import sentence_pool  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=480, help="sentences in all")
    ap.add_argument("--batches", type=int, default=3)
    ap.add_argument("--index", default=str(ROOT / "var" / "index"))
    ap.add_argument("--out", required=True, help="folder for batch-K.jsonl")
    ap.add_argument("--used", default="**/questions*.jsonl",
                    help="files under train/data/ whose sentences are left out "
                         "(round 3 left out only the helper-written ones)")
    ap.add_argument("--negatives", action="store_true",
                    help="round 4: the written unans and fu questions of files 1-13 as the lines")
    ap.add_argument("--english", action="store_true",
                    help="round 5: a Dutch question of each sentence of files 1-13 without an English one")
    ap.add_argument("--untyped", action="store_true",
                    help="round 6: a Dutch question of each of the first --n sentences of files 1-13")
    ap.add_argument("--passages", action="store_true",
                    help="round 7: the first --n sentences of files 1-13 with a Dutch question, in their passage")
    a = ap.parse_args()
    if a.untyped:
        write_batches(Path(a.out), untyped_pool(a.batches, a.n))
        return
    if a.passages:
        write_batches(Path(a.out), passages_pool(a.batches, a.n, Path(a.index)))
        return
    if a.negatives:
        write_batches(Path(a.out), negatives_pool(a.batches))
        return
    if a.english:
        write_batches(Path(a.out), english_pool(a.batches, a.n))
        return
    used = {json.loads(line)["sid"] for path in (ROOT / "train" / "data").glob(a.used)
            for line in path.open(encoding="utf-8") if line.strip()}
    pool = [p for p in sentence_pool(Path(a.index)) if p["sid"] not in used][: a.n]
    write_batches(Path(a.out), deal(pool, a.batches))


def _written(kinds: tuple[str, ...]) -> list[dict]:
    """The rows of written files 1-13 of these kinds, in file order (the fields a writer needs)."""
    rows = []
    for k in range(1, 14):
        for line in (ROOT / "train" / "data" / f"questions-written-{k}.jsonl").open(encoding="utf-8"):
            r = json.loads(line) if line.strip() else {}
            if r.get("kind") in kinds:
                rows.append({key: r[key] for key in ("sid", "sentence", "chunk_id", "doc_id", "kind", "question",
                                                     "history") if key in r})
    return rows


def negatives_pool(batches: int) -> list[list[dict]]:
    """Round 4's lines: each written `unans` question (to ask in English) and each `fu` question with its
    history (to follow with an unanswerable follow-up), in file order, dealt over `batches`."""
    return deal(_written(("unans", "fu")), batches)


def _first_dutch(skip: frozenset[str] = frozenset()) -> list[dict]:
    """The first Dutch (`nl`/`para`) question of each sentence of files 1-13 whose sid is not in `skip`."""
    rows, seen = [], set(skip)
    for r in _written(("nl", "para")):
        if r["sid"] not in seen:
            seen.add(r["sid"])
            rows.append(r)
    return rows


def english_pool(batches: int, n: int) -> list[list[dict]]:
    """Round 5's lines: the first Dutch question of each sentence that has no English one (at most `n`)."""
    return deal(_first_dutch(frozenset(r["sid"] for r in _written(("en",))))[:n], batches)


def untyped_pool(batches: int, n: int) -> list[list[dict]]:
    """Round 6's lines: the first Dutch question of each of the first `n` sentences of files 1-13."""
    return deal(_first_dutch()[:n], batches)


def passages_pool(batches: int, n: int, index_dir: Path) -> list[list[dict]]:
    """Round 7's lines: the sentences of round 6 (the first Dutch question's sentence of files 1-13), each
    with `passage`: its indexed chunk, the sentence marked ⟦…⟧ (the question written before is not shown)."""
    chunks = {c["chunk_id"]: c["text"] for c in map(json.loads, (index_dir / "chunks.jsonl").open(encoding="utf-8"))}
    rows = []
    for r in _first_dutch()[:n]:
        text = chunks.get(r["chunk_id"], "")
        if r["sentence"] not in text:
            continue
        rows.append({key: r[key] for key in ("sid", "sentence", "chunk_id", "doc_id")}
                    | {"passage": text.replace(r["sentence"], f"⟦{r['sentence']}⟧", 1)})
    return deal(rows, batches)


def deal(rows: list[dict], batches: int) -> list[list[dict]]:
    """`rows` dealt round-robin over `batches` (each batch spans the whole list)."""
    return [rows[b::batches] for b in range(batches)]


def write_batches(out: Path, parts: list[list[dict]]) -> None:
    """`out`/batch-K.jsonl for each part, its lines numbered `n` from 1 (the writers' kinds follow n)."""
    out.mkdir(parents=True, exist_ok=True)
    for b, part in enumerate(parts, 1):
        with (out / f"batch-{b}.jsonl").open("w", encoding="utf-8") as f:
            for i, p in enumerate(part):
                f.write(json.dumps({"n": i + 1, **p}, ensure_ascii=False) + "\n")
        print(f"{out / f'batch-{b}.jsonl'}: {len(part)} sentences")


if __name__ == "__main__":
    main()
