"""Train the follow-ups' own answerability model and add it to the weights.

    PYTHONHASHSEED=0 .venv/bin/python train/train_followup.py [--out W.json]   # then train/calibrate.py

The main answerability model learnt a `followup` prior from written follow-ups that were all answerable, so a
follow-up is answered whatever it asks (on the frozen sets 1 of 20 unanswerable follow-ups was refused). This
model is for follow-ups alone: a logistic regression on FOLLOWUP_FEATURES (the question features without the
constant `followup`, and `own_cover`: how much of what the follow-up newly asks the best sentences hold), trained
on the written follow-ups (`fu`, train/data/questions-written-*.jsonl, answerable) against round 4's unanswerable
follow-ups (train/data/negatives/, the ones with a history). Each is searched with its conversation, as the
service does, and its sentences ranked by the ranker of `--out` (the written follow-ups were in that ranker's
training, so their best sentences score a little higher than a new question's). The threshold is chosen
afterwards on the tuning files' follow-ups by train/calibrate.py (the main model's rule). No eval set is read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.qa import learned  # noqa: E402
from train.train_models import auc, fit_logistic  # noqa: E402


def followups(folder: Path) -> list[tuple[dict, bool]]:
    """(row, answerable) for the written follow-ups and round 4's unanswerable follow-ups."""
    out = [(r, True) for path in sorted(folder.glob("questions-written-*.jsonl"))
           for r in map(json.loads, path.read_text("utf-8").splitlines()) if r.get("kind") == "fu" and r.get("history")]
    out += [(r, False) for path in sorted((folder / "negatives").glob("*.jsonl"))
            for r in map(json.loads, path.read_text("utf-8").splitlines()) if r.get("history")]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT / "train" / "data"))
    ap.add_argument("--out", default=str(learned.WEIGHTS))
    a = ap.parse_args()
    t0 = time.time()
    from tqdm import tqdm

    from service.config import Settings
    from service.qa.pipeline import load_pipeline

    out = Path(a.out)
    pipeline = load_pipeline(Settings(generator="none"), models=learned.load_models(str(out)))
    rows = followups(Path(a.data))
    x, y = [], []
    for r, answerable in tqdm(rows, desc="follow-ups", mininterval=5):
        analysis = pipeline.analyse(r["question"], r["history"])[1]
        x.append(learned.followup_features(analysis.ranked, analysis.inputs, pipeline.idf, analysis.features))
        y.append(answerable)
    x, y = np.array(x), np.array(y)
    held = np.arange(len(y)) % 5 == 0  # a held-out fifth, for the printed figure only
    probe = learned.Logistic(fit_logistic(x[~held], y[~held], learned.FOLLOWUP_FEATURES, c=0.5, balanced=True))
    print(f"{int(y.sum())} answerable, {int((~y).sum())} unanswerable follow-ups; held-out AUC "
          f"{auc(y[held], probe(x[held])):.3f}")
    spec = json.loads(out.read_text("utf-8"))
    model = fit_logistic(x, y, learned.FOLLOWUP_FEATURES, c=0.5, balanced=True)
    model["threshold"] = spec.get("answerable_followup", {}).get("threshold", 0.0)
    spec["answerable_followup"] = model
    spec["trained_on"]["followups"] = {"answerable": int(y.sum()), "unanswerable": int((~y).sum())}
    out.write_text(json.dumps(spec, indent=1) + "\n", "utf-8")
    print(f"wrote {out} in {time.time() - t0:.0f} s (threshold {model['threshold']}: run train/calibrate.py)")


if __name__ == "__main__":
    main()
