"""Follow-ups' own answerability (service.qa.learned.followup_features, the pipeline's refusal by it,
train/calibrate.py's rule, train/train_followup.py's data), on the fake-embedder test index."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import _logistic

from index.build import BuildConfig
from index.store import load_index
from service.models.embedder import FakeEmbedder
from service.qa import learned
from service.qa.pipeline import Pipeline
from service.qa.retrieval import Retriever
from train import calibrate, train_followup

HISTORY = [{"role": "user", "content": "Welke functionarissen nemen deel aan de OVSE-missie in Oekraïne?"},
           {"role": "assistant", "content": "Enkele Nederlandse functionarissen [1]."}]
NEW_WORDS = "In welke hoedanigheid doen ze daar mee?"  # asks something the conversation does not name


@pytest.fixture
def pipeline(built_index: BuildConfig, fake_embedder: FakeEmbedder, stand_in_models) -> Pipeline:
    retriever = Retriever(load_index(built_index.out, fake_embedder.fingerprint), fake_embedder)
    # P(answerable) of a follow-up by its own model: sigmoid(10 * own_cover - 5), refused below 0.5
    followup = _logistic(learned.FOLLOWUP_FEATURES, {"own_cover": 10.0}, -5.0)
    return Pipeline(retriever, None, models=dataclasses.replace(stand_in_models, followup=followup))


def test_own_terms_are_the_follow_ups_words_that_the_conversation_lacks(pipeline: Pipeline) -> None:
    a = pipeline.analyse(NEW_WORDS, HISTORY)[1]
    said = set(pipeline.idf.terms(" ".join(t["content"] for t in HISTORY)))
    assert a.inputs.own_terms and not said & set(a.inputs.own_terms)
    assert set(a.inputs.own_terms) == set(pipeline.idf.terms(NEW_WORDS)) - said
    assert pipeline.analyse(HISTORY[0]["content"])[1].p_followup is None  # a first question: no follow-up model


def test_follow_up_features_drop_the_constant_and_add_own_cover(pipeline: Pipeline) -> None:
    a = pipeline.analyse(NEW_WORDS, HISTORY)[1]
    x = learned.followup_features(a.ranked, a.inputs, pipeline.idf, a.features)
    assert len(x) == len(learned.FOLLOWUP_FEATURES) and "followup" not in learned.FOLLOWUP_FEATURES
    top = {t for c in a.ranked[:3] for t in pipeline.idf.terms(c.sentence.text)}
    own = learned.Coverage(dict.fromkeys(a.inputs.own_terms, 1.0), pipeline.idf)(top)
    assert x[-1] == pytest.approx(own) and 0.0 <= own < 0.5
    assert a.p_followup == pytest.approx(1 / (1 + np.exp(-(10 * own - 5))))
    nothing_new = dataclasses.replace(a.inputs, own_terms=())
    assert learned.followup_features(a.ranked, nothing_new, pipeline.idf, a.features)[-1] == 1.0


def test_a_follow_up_below_its_own_threshold_is_refused_and_says_why(pipeline: Pipeline) -> None:
    answer = pipeline.ask(NEW_WORDS, HISTORY)
    assert answer.refused is True
    assert answer.refusal_reason.startswith("de gevonden passages beantwoorden de vervolgvraag niet (kans op een "
                                            "antwoord 0.")
    assert answer.refusal_reason.endswith("< drempel 0.50)")
    without = dataclasses.replace(pipeline.models, followup=None)
    plain = Pipeline(pipeline.retriever, None, models=without)
    assert plain.ask(NEW_WORDS, HISTORY).refused is False  # the main model alone answers it (test_pipeline)


def test_committed_weights_load_with_or_without_the_follow_up_model(tmp_path: Path) -> None:
    spec = json.loads(learned.WEIGHTS.read_text("utf-8"))
    assert learned.load_models().followup is not None
    assert learned.load_models().followup.names == learned.FOLLOWUP_FEATURES
    without = {k: v for k, v in spec.items() if k != "answerable_followup"}
    (tmp_path / "a.json").write_text(json.dumps(without), "utf-8")
    assert learned.load_models(str(tmp_path / "a.json")).followup is None
    wrong = {**spec, "answerable_followup": {**spec["answerable_followup"],
                                             "features": list(learned.QUESTION_FEATURES)}}
    (tmp_path / "b.json").write_text(json.dumps(wrong), "utf-8")
    with pytest.raises(ValueError, match="features differ"):
        learned.load_models(str(tmp_path / "b.json"))


def test_calibration_takes_the_highest_threshold_within_the_allowed_false_refusals(capsys) -> None:
    p = np.array([0.01, 0.02, 0.03, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])
    y = np.array([False, False, True, False, True, True, True, True, True, True])
    assert calibrate._calibrate(p, y, 0.0, "follow-ups") == (0.03, 2 / 3, 0.0)  # 0.2 would refuse the 0.03 one
    assert calibrate._calibrate(p, y, 0.15, "follow-ups")[0] == 0.3  # one of eight answerable may be refused
    assert "10 follow-ups (3 unanswerable): threshold 0.0300" in capsys.readouterr().out


def test_training_reads_written_follow_ups_and_round_4_unanswerable_ones(tmp_path: Path) -> None:
    turn = [{"role": "user", "content": "Wat?"}, {"role": "assistant", "content": "Dit."}]
    (tmp_path / "negatives").mkdir()
    (tmp_path / "questions-written-1.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"kind": "fu", "question": "En toen?", "history": turn}, {"kind": "nl", "question": "Wat is X?"}]), "utf-8")
    (tmp_path / "negatives" / "questions-written-14.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"kind": "unans", "question": "En hoeveel kostte dat?", "history": turn},
        {"kind": "unans", "question": "Hoeveel kostte X?"}]), "utf-8")
    rows = train_followup.followups(tmp_path)
    assert [(r["question"], ok) for r, ok in rows] == [("En toen?", True), ("En hoeveel kostte dat?", False)]
