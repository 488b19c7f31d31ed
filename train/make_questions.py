"""Synthetic training questions from the corpus (doc2query), for the learned sentence ranker and the
answerability model. No eval set is read: the questions come from sampled report sentences only.

For each sampled sentence the bundled language model (Qwen2.5-Coder-1.5B, temperature 0.7, fixed
seed) writes one question that the sentence answers: Dutch in the report's words, Dutch in everyday
words, or English. Every fourth sentence also yields an *unanswerable* question: the model asks for
something on the same topic that the sentence does not give (a name, a cost, a count). Questions are
filtered (a question mark, 4–30 words, not a copy of the sentence). Programmatic unanswerable variants
(another mission, a year the reports do not cover, off-topic and instruction-like text) are added by
`train/make_unanswerable.py` from this file.

Writes one JSON line per question to train/data/questions.jsonl (appends; sentences already done are
skipped, so the run can be resumed):
  {"sid": ..., "kind": "nl"|"para"|"en"|"unans", "question": ..., "sentence": ..., "chunk_id": ..., "doc_id": ...}

Usage: .venv/bin/python train/make_questions.py [--n 700] [--index var/index] [--threads 2]
About 2–4 s per question on two idle cores; two workers with one thread each (`--offset`) do better on a
busy machine. (Asking for all three kinds in one call was tried: the model then rambles instead.)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index.sentences import split_sentences  # noqa: E402

PROMPTS = {
    "nl": ("Hieronder staat een zin uit een Nederlands rapport over vredesmissies ({title}).\n"
           "Zin: {sentence}\n\nSchrijf één korte, op zichzelf staande vraag in het Nederlands waarop deze zin "
           "het antwoord geeft. Noem de missie of het land als dat nodig is. Geef alleen de vraag."),
    "para": ("Hieronder staat een zin uit een Nederlands rapport over vredesmissies ({title}).\n"
             "Zin: {sentence}\n\nSchrijf één korte vraag zoals een journalist of student die zou stellen, in "
             "gewone woorden en niet in de woorden van de zin, waarop deze zin het antwoord geeft. "
             "Geef alleen de vraag, in het Nederlands."),
    "en": ("Below is a sentence from a Dutch report on peace missions ({title}).\n"
           "Sentence: {sentence}\n\nWrite one short, self-contained question in English that this sentence "
           "answers. Give only the question."),
    "unans": ("Hieronder staat een zin uit een Nederlands rapport over vredesmissies ({title}).\n"
              "Zin: {sentence}\n\nSchrijf één korte vraag in het Nederlands over hetzelfde onderwerp waarop deze "
              "zin GEEN antwoord geeft: vraag naar iets dat er niet in staat (een naam, een bedrag, een aantal, "
              "een datum of een reden). Geef alleen de vraag."),
    # the question asks what the last sentence says, its subject may come from the sentence before: as real
    # questions do ("Wanneer kan het nieuwe systeem getest worden?" -> "De verwachting is dat dit systeem ...")
    "ctx": ("Uit een Nederlands rapport over vredesmissies ({title}):\n{prev}\n{sentence}\n\n"
            "Schrijf één korte, op zichzelf staande vraag in het Nederlands waarop alleen de laatste zin het "
            "antwoord geeft; het onderwerp mag uit de eerste zin komen. Geef alleen de vraag."),
    "ctx_en": ("From a Dutch report on peace missions ({title}):\n{prev}\n{sentence}\n\n"
               "Write one short, self-contained question in English that only the last sentence answers; its "
               "subject may come from the first sentence. Give only the question."),
}
KINDS = ["nl", "para", "en", "nl", "para", "nl", "en", "para"]  # rotation: about 3/8 nl, 3/8 para, 2/8 en
CONTEXT_KINDS = ["ctx", "ctx", "ctx_en", "ctx", "ctx", "ctx_en"]  # with --context


def chunk_sentences(index_dir: Path) -> Iterator[tuple[dict, str, str, str]]:
    """Every sentence of the indexed chunks, in index order: (chunk, sentence text, the sentence before
    it in the chunk or "", the chunk's report title). Repeats across overlapping chunks included."""
    docs = {d["doc_id"]: d for d in json.loads((index_dir / "documents.json").read_text("utf-8"))}
    for line in (index_dir / "chunks.jsonl").open(encoding="utf-8"):
        c = json.loads(line)
        title, prev = docs.get(c["doc_id"], {}).get("title", ""), ""
        for s, e in split_sentences(c["text"]):
            text = c["text"][s:e].strip()
            yield c, text, prev, title
            prev = text


def sentence_pool(index_dir: Path, seed: int = 13) -> list[dict]:
    """Informative sentences of the indexed chunks (60–350 characters, with a content cue), deduplicated,
    shuffled with a fixed seed."""
    seen, pool = set(), []
    for c, text, before, title in chunk_sentences(index_dir):
        key = re.sub(r"\W+", "", text.lower())
        if not 60 <= len(text) <= 350 or key in seen or not re.search(r"[a-z]{4}", text):
            continue
        if text.count(" ") < 8 or text.isupper():
            continue
        seen.add(key)
        sid = hashlib.sha1(key.encode()).hexdigest()[:12]
        pool.append({"sid": sid, "sentence": text, "chunk_id": c["chunk_id"], "doc_id": c["doc_id"],
                     "title": title, "prev": before if len(before) >= 30 else ""})
    random.Random(seed).shuffle(pool)
    return pool


_META = re.compile(r"\b(?:de|deze|die|the|this|that) (?:zin|sentence|tekst|text|passage)\b", re.I)


def clean_question(raw: str) -> str | None:
    """The first line that looks like a question, or None when the model wrote something else (also a
    question about "the sentence" itself)."""
    for line in raw.strip().splitlines():
        q = line.strip().strip('"“”*').removeprefix("Vraag:").removeprefix("Question:").strip()
        if q.endswith("?") and 4 <= len(q.split()) <= 30 and not _META.search(q):
            return q
    return None


def copies(question: str, sentence: str, n: int = 6) -> bool:
    """The question repeats a run of `n` words of the sentence: too easy to be a training question."""
    w = re.findall(r"\w+", question.lower())
    s = " ".join(re.findall(r"\w+", sentence.lower()))
    return any(" ".join(w[i:i + n]) in s for i in range(len(w) - n + 1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=700, help="sentences to use")
    ap.add_argument("--offset", type=int, default=0, help="first sentence of the shuffled pool (a second worker)")
    ap.add_argument("--index", default=str(ROOT / "var" / "index"))
    ap.add_argument("--model", default=str(Path.home() / ".cache/vraagbaak/models/qwen2.5-coder-1.5b.gguf"))
    ap.add_argument("--out", default=str(ROOT / "train" / "data" / "model" / "questions.jsonl"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--context", action="store_true",
                    help="questions on a sentence with the one before it (kinds ctx, ctx_en)")
    a = ap.parse_args()

    from llama_cpp import Llama

    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        done = {(r["sid"], r["kind"]) for r in map(json.loads, out.open(encoding="utf-8"))}
    llm = Llama(model_path=a.model, n_ctx=1024, n_threads=a.threads, seed=7, verbose=False)
    pool = sentence_pool(Path(a.index))[a.offset: a.offset + a.n]
    t0, written = time.time(), 0
    with out.open("a", encoding="utf-8") as f:
        for i, item in enumerate(pool):
            row = {k: item[k] for k in ("sid", "sentence", "chunk_id", "doc_id")}
            if a.context and not item["prev"]:
                continue
            rotation = CONTEXT_KINDS if a.context else KINDS
            kinds = [rotation[i % len(rotation)]] + (["unans"] if i % 4 == 0 else [])
            for kind in kinds:
                if (item["sid"], kind) in done:
                    continue
                prompt = PROMPTS[kind].format(title=item["title"], sentence=item["sentence"], prev=item["prev"])
                res = llm.create_chat_completion(messages=[{"role": "user", "content": prompt}], max_tokens=40,
                                                 stop=["\n"], temperature=0.7, seed=i)
                q = clean_question(res["choices"][0]["message"]["content"])
                if q is None or (kind != "unans" and copies(q, item["sentence"])):
                    continue
                f.write(json.dumps({**row, "kind": kind, "question": q}, ensure_ascii=False) + "\n")
                f.flush()
                written += 1
            if i % 20 == 0:
                rate = (time.time() - t0) / max(1, i + 1)
                print(f"{i + 1}/{len(pool)} sentences, {written} questions, {rate:.1f} s/sentence", flush=True)


if __name__ == "__main__":
    main()
