"""Read the frozen sets as they may be read: aggregate figures only, per set and pooled.

    .venv/bin/python -m eval.frozen_read --base http://127.0.0.1:8000 [--mode extractive] [SET.jsonl ...]

Default sets: eval/frozen*/*.jsonl. Each is scored by the independent scorer (`../shared/tools/score.py`),
whose per-item lines go to /dev/null and whose per-item rows are read only to count items; nothing of a
single item is printed. Per set: key facts (with words p50/p95), cited evidence, unanswerable refused,
answerable refused, hit@1/hit@5/MRR, and the unanswerable questions refused by form (follow-ups, English,
other first questions: counts only; the form is read from the file in code, never shown). Pooled over the
sets: the same rates over all their items, each with its standard error, and what one item is worth on the
smallest set, so that a change of one question is not read as a gain (docs/answers.md, "Latest (d)").
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCORER = ROOT.parent / "shared" / "tools" / "score.py"


FORMS = ("follow-up", "English", "first")
LABELS = {"follow-up": "follow-ups"}  # how a form is named in the output


def forms(path: Path) -> dict[str, str]:
    """Item id -> its form: 'follow-up' (it has a history), 'English', or 'first'."""
    from index.text import is_dutch

    out = {}
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            out[item["id"]] = ("follow-up" if item.get("history") else
                               "English" if is_dutch(item["question"]) is False else "first")
    return out


def counts(rows: list[dict], form: dict[str, str] | None = None) -> dict:
    """The sums behind one set's rates (no item is kept); with `form` (id -> form) the unanswerable
    questions asked and refused per form too."""
    answerable = [r for r in rows if r["type"] != "unanswerable"]
    unanswerable = [r for r in rows if r["type"] == "unanswerable"]
    per_form = {}
    for f in FORMS if form else ():
        these = [r for r in unanswerable if form.get(r["id"]) == f]
        per_form[f"{f}_n"], per_form[f"{f}_refused"] = len(these), sum(bool(r.get("refused")) for r in these)
    facts = [r["key_fact_recall"] for r in answerable if r.get("key_fact_recall") is not None]
    followups = [r["key_fact_recall"] for r in answerable
                 if r["type"] == "followup" and r.get("key_fact_recall") is not None]
    ranked = [r for r in rows if "rank" in r]
    return {"answerable": len(answerable), "unanswerable": len(unanswerable),
            "facts_n": len(facts), "facts_sum": sum(facts),
            "followup_n": len(followups), "followup_sum": sum(followups),
            "refused": sum(bool(r.get("refused")) for r in unanswerable),
            "false": sum(bool(r.get("refused")) for r in answerable),
            "ranked": len(ranked), "rr_sum": sum(1 / r["rank"] if r.get("rank") else 0.0 for r in ranked),
            **per_form}


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 3) if whole else None


def _rate(k: int, n: int) -> tuple[float, float]:
    """A share and its binomial standard error."""
    p = k / n if n else 0.0
    return round(p, 3), round(math.sqrt(p * (1 - p) / n), 3) if n else 0.0


def pool(sets: list[dict]) -> dict:
    """Pooled rates over the sets' `counts`, with standard errors (binomial for the refusal rates)."""
    t = {k: sum(s[k] for s in sets) for k in sets[0]}
    smallest = {kind: min(s[kind] for s in sets) for kind in ("unanswerable", "answerable")}
    return {"key_facts": _ratio(t["facts_sum"], t["facts_n"]),
            "followups": _ratio(t["followup_sum"], t["followup_n"]),
            "first": _ratio(t["facts_sum"] - t["followup_sum"], t["facts_n"] - t["followup_n"]),
            "refused": _rate(t["refused"], t["unanswerable"]), "false": _rate(t["false"], t["answerable"]),
            "mrr": _ratio(t["rr_sum"], t["ranked"]),
            "unanswerable": t["unanswerable"], "answerable": t["answerable"],
            "one_unanswerable": _ratio(1, smallest["unanswerable"]),
            "one_answerable": _ratio(1, smallest["answerable"]),
            **{k: v for k, v in t.items() if k.split("_")[0] in FORMS}}


def by_form(c: dict) -> str:
    """'; refused by form: follow-ups 3/10, English 2/6, first 20/28' from `counts` (or pooled sums)."""
    if f"{FORMS[0]}_n" not in c:
        return ""
    parts = ", ".join(f"{LABELS.get(f, f)} {c[f + '_refused']}/{c[f + '_n']}" for f in FORMS)
    return f"; refused by form: {parts}"


def set_line(name: str, s: dict, c: dict) -> str:
    """One set's aggregate line: the scorer's summary `s` and its `counts` `c` (follow-ups against first
    questions)."""
    p = pool([c])
    return (f"{name}: key facts {s.get('key_fact_recall')} (follow-ups {p['followups']}, first questions "
            f"{p['first']}) at {s.get('answer_words_p50')}/{s.get('answer_words_p95')} words (p50/p95), cited "
            f"{s.get('cited_evidence')}, unanswerable refused {s.get('correct_refusal')}, answerable refused "
            f"{s.get('false_refusal')}, hit@1 {s.get('hit@1')}, hit@5 {s.get('hit@5')}, MRR {s.get('mrr')}"
            f"{by_form(c)}")


def pooled_line(p: dict) -> str:
    return (f"pooled ({p['answerable']} answerable, {p['unanswerable']} unanswerable): key facts {p['key_facts']} "
            f"(follow-ups {p['followups']}, first questions {p['first']}), "
            f"unanswerable refused {p['refused'][0]} ± {p['refused'][1]}, answerable refused {p['false'][0]} ± "
            f"{p['false'][1]}, MRR {p['mrr']}; one question on the smallest set: {p['one_unanswerable']} "
            f"(unanswerable), {p['one_answerable']} (answerable){by_form(p)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="*", help="frozen QA files (default: eval/frozen*/*.jsonl)")
    ap.add_argument("--base", required=True, help="the running service, e.g. http://127.0.0.1:8000")
    ap.add_argument("--mode", help="extractive or generate (default: the service's own)")
    a = ap.parse_args(argv)
    paths = [Path(p) for p in a.sets] or sorted(ROOT.glob("eval/frozen*/*.jsonl"))
    if not paths:
        print("geen bevroren sets gevonden (eval/frozen*/*.jsonl)", file=sys.stderr)
        return 2
    if not SCORER.is_file():
        print(f"scorer ontbreekt: {SCORER}", file=sys.stderr)
        return 2
    sums = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            out = Path(tmp) / f"{path.stem}.json"
            cmd = [sys.executable, str(SCORER), str(path), "--base", a.base, "--out", str(out)]
            if a.mode:
                cmd += ["--mode", a.mode]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            result = json.loads(out.read_text("utf-8"))
            sums.append(counts(result["rows"], forms(path)))
            print(set_line(path.stem, result["summary"], sums[-1]), flush=True)
    print(pooled_line(pool(sums)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
