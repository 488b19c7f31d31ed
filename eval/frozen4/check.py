#!/usr/bin/env python3
"""Structural check of the frozen4 judging set.

Usage: python3 check.py [--file frozen4.jsonl] [--corpus DIR]

Verifies the format only (it prints no questions or answers):
  * 140 rows, every line valid JSON, unique ids z001..z140
  * exact type counts
  * evidence: 1-3 strings of 40-150 characters, each an exact substring of a
    single line of the named corpus file (multi_doc: of some corpus file, and
    the evidence of a multi_doc item must come from at least two passages)
  * key facts: 1-3 strings of 1-4 words, each (case-insensitive) inside the
    joined evidence and inside the reference answer
  * answers of answerable items have 10-45 words
  * unanswerable items: fixed answer, empty evidence/key_facts/doc
  * follow-ups (and only follow-ups and unanswerable follow-ups) carry a
    2-turn history (user, assistant)
  * 44 unanswerable items, of which 10 follow-ups and 6 in English
  * English-type questions look English, all other questions look Dutch
Exit code 0 when everything passes, 1 otherwise.
"""
import argparse
import json
import os
import re
import sys
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CORPUS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "corpus"))
if not os.path.isdir(DEFAULT_CORPUS):
    DEFAULT_CORPUS = "/work/shared/corpus"

EXPECTED = {
    "paraphrase": 18, "factoid": 14, "numeric": 10, "list": 10,
    "explanatory": 12, "multi_doc": 8, "english": 8, "followup": 16,
    "unanswerable": 44,
}
UNANSWERABLE_FOLLOWUPS = 10
UNANSWERABLE_ENGLISH = 6
NA_ANSWER = "Dat staat niet in de rapporten."
FIELDS = {"id", "question", "answer", "doc", "evidence", "type", "key_facts"}

# words that occur in both languages ("in", "is", "was") are left out
EN_WORDS = {"the", "what", "which", "who", "how", "why", "where", "when", "did",
            "does", "were", "are", "of", "to", "and", "according", "many", "much",
            "its", "their", "has", "have", "that", "since", "there", "do"}
NL_WORDS = {"de", "het", "een", "wat", "welke", "welk", "wie", "wiens", "hoe",
            "waarom", "waar", "wanneer", "hoeveel", "en", "van", "zijn", "die",
            "dat", "er", "op", "aan", "voor", "met", "niet", "nog", "ook",
            "eigenlijk", "heeft", "hebben", "werd", "onder", "naar", "bij", "om"}


def lang(text):
    words = re.findall(r"[a-zA-Zëïéèöüá']+", text.lower())
    en = sum(w in EN_WORDS for w in words)
    nl = sum(w in NL_WORDS for w in words)
    return "en" if en > nl else "nl"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--file", default=os.path.join(HERE, "frozen4.jsonl"))
    ap.add_argument("--corpus", default=DEFAULT_CORPUS)
    args = ap.parse_args()

    corpus = {}
    for name in sorted(os.listdir(args.corpus)):
        if name.endswith(".txt"):
            with open(os.path.join(args.corpus, name), encoding="utf-8") as f:
                corpus[name] = f.read().split("\n")

    errors = []

    def err(rid, msg):
        errors.append(f"{rid}: {msg}")

    rows = []
    with open(args.file, encoding="utf-8") as f:
        raw = f.read().split("\n")
    if raw and raw[-1] == "":
        raw = raw[:-1]
    for n, line in enumerate(raw, 1):
        try:
            rows.append(json.loads(line))
        except Exception as e:  # noqa: BLE001
            err(f"line {n}", f"invalid JSON ({e})")
    print(f"rows: {len(rows)} (expected 140)")
    if len(rows) != 140:
        errors.append(f"row count {len(rows)} != 140")

    ids = [r.get("id") for r in rows]
    if len(set(ids)) != len(ids):
        errors.append("duplicate ids")
    if ids != [f"z{i:03d}" for i in range(1, len(rows) + 1)]:
        errors.append("ids are not z001..z140 in order")

    qs = Counter(r.get("question", "").strip().lower() for r in rows)
    for c in qs.values():
        if c > 1:
            errors.append(f"duplicate question text ({c}x)")

    types = Counter(r.get("type") for r in rows)
    for t, c in EXPECTED.items():
        if types.get(t, 0) != c:
            errors.append(f"type {t}: {types.get(t, 0)} != {c}")
    for t in types:
        if t not in EXPECTED:
            errors.append(f"unknown type {t}")

    line_use = defaultdict(list)  # (file, line_no) -> ids
    ua_followups = ua_english = 0
    for r in rows:
        rid = r.get("id", "?")
        missing = FIELDS - set(r)
        if missing:
            err(rid, f"missing fields {sorted(missing)}")
            continue
        extra = set(r) - FIELDS - {"history"}
        if extra:
            err(rid, f"unexpected fields {sorted(extra)}")
        t = r["type"]
        q = r["question"]
        hist = r.get("history")

        # language of the question
        ql = lang(q)
        if t == "english" and ql != "en":
            err(rid, "english item does not look English")
        if t not in ("english", "unanswerable") and ql != "nl":
            err(rid, "question does not look Dutch")

        # history
        if hist is not None:
            ok = (isinstance(hist, list) and len(hist) == 2
                  and hist[0].get("role") == "user" and hist[1].get("role") == "assistant"
                  and all(isinstance(h.get("content"), str) and h["content"].strip() for h in hist))
            if not ok:
                err(rid, "history is not a 2-turn user/assistant list")
        if t == "followup" and hist is None:
            err(rid, "followup without history")
        if t not in ("followup", "unanswerable") and hist is not None:
            err(rid, "history on a non-followup item")

        if t == "unanswerable":
            if r["answer"] != NA_ANSWER:
                err(rid, "unanswerable answer text wrong")
            if r["evidence"] != [] or r["key_facts"] != [] or r["doc"] != "":
                err(rid, "unanswerable must have empty evidence/key_facts/doc")
            if hist is not None:
                ua_followups += 1
            if ql == "en":
                ua_english += 1
            continue

        # answerable items
        nwords = len(r["answer"].split())
        if not 10 <= nwords <= 45:
            err(rid, f"answer has {nwords} words (10-45)")
        if r["doc"] not in corpus:
            err(rid, "doc is not a corpus file")
        ev = r["evidence"]
        if not isinstance(ev, list) or not 1 <= len(ev) <= 3:
            err(rid, "evidence must be 1-3 strings")
            ev = ev if isinstance(ev, list) else []
        files_used = set()
        for e in ev:
            if not 40 <= len(e) <= 150:
                err(rid, f"evidence length {len(e)} outside 40-150")
            cands = [r["doc"]] if t != "multi_doc" else list(corpus)
            hits = [(fn, i) for fn in cands if fn in corpus
                    for i, ln in enumerate(corpus[fn]) if e in ln]
            if not hits:
                err(rid, "evidence not an exact substring of one line of "
                    + ("any corpus file" if t == "multi_doc" else "the named file"))
            else:
                files_used.add(hits[0][0])
                line_use[hits[0]].append(rid)
        if t == "multi_doc":
            if len(ev) < 2:
                err(rid, "multi_doc needs evidence from two passages")
            if r["doc"] not in files_used:
                err(rid, "multi_doc: named doc supplies no evidence")
        joined = " ".join(ev).lower()
        kf = r["key_facts"]
        if not isinstance(kf, list) or not 1 <= len(kf) <= 3:
            err(rid, "key_facts must be 1-3 strings")
            kf = kf if isinstance(kf, list) else []
        for k in kf:
            if re.search(r"[^\S ]", k):
                err(rid, "key fact contains a non-plain space")
            if not 1 <= len(k.split()) <= 4:
                err(rid, f"key fact has {len(k.split())} words (1-4)")
            if k.lower() not in joined:
                err(rid, "key fact not in joined evidence")
            if k.lower() not in r["answer"].lower():
                err(rid, "key fact not in reference answer")
        if hist is not None:
            if hist[1]["content"].strip() == r["answer"].strip():
                err(rid, "history answer equals reference answer")

    print(f"types: {dict(sorted(types.items()))}")
    print(f"unanswerable follow-ups: {ua_followups} (expected {UNANSWERABLE_FOLLOWUPS})")
    print(f"unanswerable in English: {ua_english} (expected {UNANSWERABLE_ENGLISH})")
    if ua_followups != UNANSWERABLE_FOLLOWUPS:
        errors.append("wrong number of unanswerable follow-ups")
    if ua_english != UNANSWERABLE_ENGLISH:
        errors.append("wrong number of English unanswerables")

    per_doc = Counter(r["doc"] for r in rows if r.get("type") != "unanswerable")
    print("answerable items per doc: " + ", ".join(f"{k[:3]}={v}" for k, v in sorted(per_doc.items())))
    shared = {k: v for k, v in line_use.items() if len(set(v)) > 1}
    print(f"corpus lines used as evidence by more than one item: {len(shared)}")
    for (fn, i), v in sorted(shared.items()):
        print(f"  {fn[:3]} line {i + 1}: {sorted(set(v))}")

    if errors:
        print(f"FAIL: {len(errors)} problem(s)")
        for e in errors:
            print("  - " + e)
        sys.exit(1)
    print("PASS: all checks passed (140 rows, valid JSON, unique ids, type counts, "
          "evidence, key facts, answers, unanswerables, histories)")


if __name__ == "__main__":
    main()
