#!/usr/bin/env python3
"""Structural checker for frozen5.jsonl (stdlib only).

Prints only counts, names of failing checks with item ids, and finally PASS or FAIL.
It never prints questions, answers, evidence or key facts.

Usage: python3 check.py [--corpus /work/shared/corpus] [--file frozen5.jsonl]
"""
import argparse
import json
import os
import re
import sys
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))

EXPECTED_TYPES = {
    "paraphrase": 18, "factoid": 14, "numeric": 10, "list": 10,
    "explanatory": 12, "multi_doc": 8, "english": 8, "followup": 16,
    "unanswerable": 44,
}
N_ROWS = 140
N_UNANS_FOLLOWUP = 10
N_UNANS_ENGLISH = 6
UNANSWERABLE_ANSWER = "Dat staat niet in de rapporten."
FIELDS_REQUIRED = ["id", "question", "answer", "doc", "evidence", "type", "key_facts"]
FIELDS_ALLOWED = set(FIELDS_REQUIRED) | {"history"}

EN_WORDS = set("""the a an what which how why did does do of to and were for by who whom many much when
with are on that from after its it has have this there their they be been would could should
about according into than or not any""".split())
NL_WORDS = set("""de het een wat welke hoe waarom hoeveel wie wanneer waar van en voor met op die dat zijn er
niet naar om bij ook nog te aan door als uit heeft hebben werd werden zich je ze hun deze dit
welk tot waren wordt kan kon moest daar eigenlijk toch dan""".split())


def lang_of(text):
    toks = re.findall(r"[a-zA-Z\u00C0-\u017F']+", text.lower())
    en = sum(1 for t in toks if t in EN_WORDS)
    nl = sum(1 for t in toks if t in NL_WORDS)
    if en > nl:
        return "en"
    if nl > en:
        return "nl"
    return "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="/work/shared/corpus")
    ap.add_argument("--file", default=os.path.join(HERE, "frozen5.jsonl"))
    args = ap.parse_args()

    fails = defaultdict(list)  # check name -> list of ids (or notes)

    # corpus
    corpus = {}
    for name in sorted(os.listdir(args.corpus)):
        p = os.path.join(args.corpus, name)
        if os.path.isfile(p):
            with open(p, encoding="utf-8") as f:
                corpus[name] = f.read().split("\n")
    print(f"corpus files: {len(corpus)}")

    def lines_with(sub, files):
        hits = []
        for fn in files:
            for i, line in enumerate(corpus.get(fn, [])):
                if sub in line:
                    hits.append((fn, i + 1))
        return hits

    # load rows
    rows = []
    with open(args.file, encoding="utf-8") as f:
        raw = f.read()
    lines = [line for line in raw.split("\n") if line.strip() != ""]
    for n, line in enumerate(lines, 1):
        try:
            rows.append(json.loads(line))
        except Exception:
            fails["valid_json"].append(f"line{n}")
            rows.append(None)
    print(f"rows: {len(rows)}")
    if len(rows) != N_ROWS:
        fails["row_count"].append(str(len(rows)))
    rows = [r for r in rows if isinstance(r, dict)]

    # ids
    ids = [r.get("id") for r in rows]
    expected_ids = [f"y{i:03d}" for i in range(1, N_ROWS + 1)]
    if ids != expected_ids:
        dup = [k for k, v in Counter(ids).items() if v > 1]
        fails["ids_unique_in_order"].extend(dup if dup else ["order"])

    # fields
    for r in rows:
        rid = r.get("id", "?")
        if any(k not in r for k in FIELDS_REQUIRED) or any(k not in FIELDS_ALLOWED for k in r):
            fails["fields"].append(rid)
        if not isinstance(r.get("evidence"), list) or not isinstance(r.get("key_facts"), list):
            fails["field_types"].append(rid)

    # types
    tc = Counter(r.get("type") for r in rows)
    print("type counts: " + ", ".join(f"{t}={tc.get(t, 0)}" for t in EXPECTED_TYPES))
    for t, n in EXPECTED_TYPES.items():
        if tc.get(t, 0) != n:
            fails["type_counts"].append(f"{t}:{tc.get(t, 0)}!={n}")
    for t in tc:
        if t not in EXPECTED_TYPES:
            fails["unknown_type"].append(str(t))

    line_owner = {}  # (file,line) -> id, for "no two items on the same corpus line"
    doc_counts = Counter()
    n_unans_fu = 0
    n_unans_en = 0

    for r in rows:
        rid = r.get("id", "?")
        typ = r.get("type")
        q = r.get("question", "") or ""
        ans = r.get("answer", "") or ""
        ev = r.get("evidence", []) if isinstance(r.get("evidence"), list) else []
        kf = r.get("key_facts", []) if isinstance(r.get("key_facts"), list) else []
        hist = r.get("history")
        has_hist = hist is not None
        if not q.strip():
            fails["empty_question"].append(rid)

        # history shape
        if has_hist:
            ok = (isinstance(hist, list) and len(hist) == 2
                  and all(isinstance(h, dict) for h in hist)
                  and hist[0].get("role") == "user" and hist[1].get("role") == "assistant"
                  and all(isinstance(h.get("content"), str) and h.get("content").strip() for h in hist))
            if not ok:
                fails["history_shape"].append(rid)
            elif lang_of(hist[0]["content"]) != "nl":
                fails["history_language"].append(rid)

        if typ == "unanswerable":
            if ans != UNANSWERABLE_ANSWER:
                fails["unanswerable_answer"].append(rid)
            if ev != []:
                fails["unanswerable_evidence_empty"].append(rid)
            if kf != []:
                fails["unanswerable_key_facts_empty"].append(rid)
            if r.get("doc") != "":
                fails["unanswerable_doc_empty"].append(rid)
            lang = lang_of(q)
            if has_hist:
                n_unans_fu += 1
                if lang != "nl":
                    fails["question_language"].append(rid)
            else:
                if lang == "en":
                    n_unans_en += 1
                elif lang != "nl":
                    fails["question_language"].append(rid)
            continue

        # ---- answerable items ----
        doc = r.get("doc")
        if doc not in corpus:
            fails["doc_is_corpus_file"].append(rid)
            continue
        doc_counts[doc] += 1

        # history only on followup
        if typ == "followup" and not has_hist:
            fails["followup_needs_history"].append(rid)
        if typ != "followup" and has_hist:
            fails["history_only_on_followups"].append(rid)

        # language
        want = "en" if typ == "english" else "nl"
        if lang_of(q) != want:
            fails["question_language"].append(rid)
        if lang_of(ans) != "nl":
            fails["answer_language_dutch"].append(rid)

        # answer length
        nw = len(ans.split())
        if not (10 <= nw <= 45):
            fails["answer_10_45_words"].append(rid)

        # evidence
        if not (1 <= len(ev) <= 3):
            fails["evidence_count_1_3"].append(rid)
        item_lines = set()
        per_ev_lines = []
        for e in ev:
            if not isinstance(e, str):
                fails["evidence_is_string"].append(rid)
                continue
            if not (40 <= len(e) <= 150):
                fails["evidence_length_40_150"].append(rid)
            if "\n" in e:
                fails["evidence_single_line"].append(rid)
            files = list(corpus) if typ == "multi_doc" else [doc]
            hits = lines_with(e, files)
            if not hits:
                fails["evidence_verbatim_in_corpus"].append(rid)
            per_ev_lines.append(set(hits))
            item_lines |= set(hits)
        if typ == "multi_doc":
            if not any(fn == doc for (fn, _) in item_lines):
                fails["multi_doc_named_file_in_evidence"].append(rid)
            distinct = len(ev) >= 2 and any(per_ev_lines[i] != per_ev_lines[j]
                                            for i in range(len(per_ev_lines))
                                            for j in range(i + 1, len(per_ev_lines)))
            if not distinct:
                fails["multi_doc_two_passages"].append(rid)
        for key in item_lines:
            other = line_owner.get(key)
            if other is not None and other != rid:
                fails["corpus_line_used_by_two_items"].append(f"{other}/{rid}")
            line_owner[key] = rid

        # key facts
        joined = " ".join(e for e in ev if isinstance(e, str)).lower()
        if not (1 <= len(kf) <= 3):
            fails["key_facts_count_1_3"].append(rid)
        for k in kf:
            if not isinstance(k, str) or not (1 <= len(k.split()) <= 4):
                fails["key_fact_1_4_words"].append(rid)
                continue
            if k.lower() not in joined:
                fails["key_fact_in_evidence"].append(rid)
            if k.lower() not in ans.lower():
                fails["key_fact_in_answer"].append(rid)

    print(f"unanswerable follow-ups: {n_unans_fu} (expected {N_UNANS_FOLLOWUP})")
    print(f"unanswerable English: {n_unans_en} (expected {N_UNANS_ENGLISH})")
    if n_unans_fu != N_UNANS_FOLLOWUP:
        fails["unanswerable_followup_count"].append(str(n_unans_fu))
    if n_unans_en != N_UNANS_ENGLISH:
        fails["unanswerable_english_count"].append(str(n_unans_en))
    n_hist = sum(1 for r in rows if r.get("history") is not None)
    print(f"items with history: {n_hist} (expected {EXPECTED_TYPES['followup'] + N_UNANS_FOLLOWUP})")
    if n_hist != EXPECTED_TYPES["followup"] + N_UNANS_FOLLOWUP:
        fails["history_count"].append(str(n_hist))
    print("answerable items per corpus file: " + ", ".join(f"{k}={doc_counts.get(k, 0)}" for k in corpus))

    if fails:
        for name in sorted(fails):
            vals = sorted(set(fails[name]))
            print(f"FAILED {name}: {', '.join(vals)}")
        print("FAIL")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
