"""service.qa.learned: features, the logistic models, passage reranking, and the committed weights."""

from __future__ import annotations

import json

import numpy as np
import pytest

from service.qa import learned
from service.qa.evidence import IdfTable, question_weights
from service.types import Hit

TEXTS = ["De C-130 vloog vanuit Bamako naar Gao. Het detachement telde zeventig militairen.",
         "Noorwegen coördineerde het Multinational Rotational Concept. Dat begon in 2019.",
         "Een korte zin."]


def _hit(i: int, text: str, retrievers=("dense", "bm25")) -> Hit:
    return Hit(f"c{i}", f"d{i}", f"Rapport {i}", "", None, text, 0, len(text), 1.0 / (i + 1), retrievers, i)


@pytest.fixture
def idf() -> IdfTable:
    return IdfTable(TEXTS)


def test_sentence_features_cover_every_sentence_of_at_least_25_characters(idf: IdfTable) -> None:
    hits = [_hit(0, TEXTS[0]), _hit(1, TEXTS[1], ("bm25",)), _hit(2, TEXTS[2])]
    q = question_weights("Hoeveel militairen telde het detachement?", idf)
    sims = {s: v for s, v in [("De C-130 vloog vanuit Bamako naar Gao.", 0.5)]}
    cands = learned.sentence_features(q, "number", hits, idf, lambda ts: np.array([sims.get(t, 0.2) for t in ts]))
    assert [c.sentence.text for c in cands] == [
        "De C-130 vloog vanuit Bamako naar Gao.", "Het detachement telde zeventig militairen.",
        "Noorwegen coördineerde het Multinational Rotational Concept.", "Dat begon in 2019."][:len(cands)]
    f = {name: cands[1].features[i] for i, name in enumerate(learned.SENTENCE_FEATURES)}
    assert f["dense"] == pytest.approx(0.2) and f["dense_gap"] == pytest.approx(-0.3)
    assert f["lex"] == pytest.approx(1.0)  # 'militairen', 'telde', 'detachement' all there
    assert f["type_match"] == 1.0 and f["kind_asked"] == 1.0  # 'zeventig' is a number
    assert f["passage_prior"] == pytest.approx(1.0) and f["first"] == 0.0
    g = {name: cands[2].features[i] for i, name in enumerate(learned.SENTENCE_FEATURES)}
    assert g["passage_dense"] == 0.0 and g["passage_bm25"] == 1.0 and g["passage_prior"] == pytest.approx(0.5)


def test_own_similarity_features_and_their_stand_in(idf: IdfTable) -> None:
    """The sentence embedded alone gives own_dense/own_gap/own_rank; without it the late-chunked
    similarity stands in (an index of an older format)."""
    hits = [_hit(0, TEXTS[0]), _hit(1, TEXTS[1])]
    q = question_weights("Hoeveel militairen telde het detachement?", idf)
    late = lambda ts: np.linspace(0.5, 0.2, len(ts))  # noqa: E731
    own = lambda ts: np.linspace(0.1, 0.7, len(ts))  # noqa: E731
    col = {name: i for i, name in enumerate(learned.SENTENCE_FEATURES)}
    cands = learned.sentence_features(q, "number", hits, idf, late, own_similarity=own)
    x = np.stack([c.features for c in cands])
    assert x[:, col["own_dense"]] == pytest.approx(np.linspace(0.1, 0.7, len(cands)))
    assert x[-1, col["own_gap"]] == pytest.approx(0.0) and x[0, col["own_gap"]] == pytest.approx(-0.6)
    assert x[-1, col["own_rank"]] == pytest.approx(1.0) and x[0, col["own_rank"]] == pytest.approx(1 / len(cands))
    assert x[:, col["own_x_dense"]] == pytest.approx(x[:, col["own_dense"]] * x[:, col["dense"]])
    without = np.stack([c.features for c in learned.sentence_features(q, "number", hits, idf, late)])
    assert without[:, col["own_dense"]] == pytest.approx(without[:, col["dense"]])


@pytest.mark.parametrize("text, reference", [
    ("40 Niels van Willigen, ‘A Dutch return to UN peacekeeping?’, in: International Peacekeeping 23 (2016) (5) "
     "702-720", True),
    ("41 Ministerie van Defensie, Defensievisie 2035, 21, Kamerstuk 34 919, nr. 1.", True),
    ("20 Nederlandse militairen werden ingezet in Gao.", False),  # a number starts a fact, not a footnote
    ("Zie Algemene Rekenkamer (2018), Inzet Nederlandse krijgsmacht voor VN-missie in Mali.", False),
])
def test_footnote_references_are_not_candidates(text: str, reference: bool) -> None:
    assert learned.is_footnote_reference(text) is reference


def test_logistic_standardises_then_applies_the_weights() -> None:
    m = learned.Logistic({"features": ["a", "b"], "coef": [2.0, -1.0], "intercept": 0.5, "mean": [1.0, 0.0],
                          "scale": [2.0, 1.0], "threshold": 0.3})
    z = 2.0 * (3.0 - 1.0) / 2.0 - 1.0 * 1.0 + 0.5
    assert m(np.array([3.0, 1.0]))[0] == pytest.approx(1 / (1 + np.exp(-z)))
    assert m.threshold == 0.3
    assert learned.Logistic.untrained(("a", "b"))(np.ones((4, 2))).tolist() == [0.5] * 4


def test_rank_orders_by_probability_and_sets_the_score(idf: IdfTable) -> None:
    hits = [_hit(0, TEXTS[0])]
    q = question_weights("Hoeveel militairen telde het detachement?", idf)
    cands = learned.sentence_features(q, "number", hits, idf, None)
    names = learned.SENTENCE_FEATURES
    lex_only = learned.Logistic({"features": names, "coef": [1.0 if n == "lex" else 0.0 for n in names],
                                 "intercept": 0.0, "mean": [0.0] * len(names), "scale": [1.0] * len(names)})
    ranked = learned.rank(cands, lex_only)
    assert ranked[0].sentence.text == "Het detachement telde zeventig militairen."
    assert ranked[0].sentence.score > ranked[1].sentence.score > 0


def test_rerank_passages_keeps_each_sentence_on_its_own_passage(idf: IdfTable) -> None:
    hits = [_hit(0, TEXTS[0]), _hit(1, TEXTS[1])]
    q = question_weights("Wie coördineerde het Multinational Rotational Concept?", idf)
    ranked = learned.rank(learned.sentence_features(q, "name", hits, idf, None),
                          learned.Logistic.untrained(learned.SENTENCE_FEATURES))
    pf = learned.passage_features(2, hits, ranked)
    names = learned.PASSAGE_FEATURES
    by_lex = learned.Logistic({"features": names, "coef": [1.0 if n == "best_lex" else 0.0 for n in names],
                               "intercept": 0.0, "mean": [0.0] * len(names), "scale": [1.0] * len(names)})
    new_hits, moved, new_pf = learned.rerank_passages(hits, ranked, pf, by_lex)
    assert [h.chunk_id for h in new_hits] == ["c1", "c0"]
    for c in moved:
        assert c.sentence.text in new_hits[c.sentence.hit].text
    assert new_pf[0].tolist() == pf[1].tolist()


def test_committed_weights_match_the_code_and_are_small() -> None:
    models = learned.load_models()
    assert models.ranker.names == learned.SENTENCE_FEATURES
    assert 0.0 < models.answerable.threshold < 1.0
    assert learned.WEIGHTS.stat().st_size < 100_000
    spec = json.loads(learned.WEIGHTS.read_text("utf-8"))
    assert spec["trained_on"]["questions"] >= 300 and "calibrated_on" in spec


def test_weights_for_other_features_are_refused(tmp_path) -> None:
    spec = json.loads(learned.WEIGHTS.read_text("utf-8"))
    spec["ranker"]["features"] = spec["ranker"]["features"][:-1]
    path = tmp_path / "w.json"
    path.write_text(json.dumps(spec), "utf-8")
    with pytest.raises(ValueError, match="make train"):
        learned.load_models(str(path))


def test_ranker_features_from_the_late_signals_and_their_stand_ins(idf: IdfTable) -> None:
    """The token match (`tok*`) and the match with the questions written per sentence (`q2q*`): their
    values, gaps and ranks; without them (an older index) the sentence's own similarity stands in."""
    q = question_weights("Hoeveel militairen telde het detachement?", idf)
    late = lambda ts: np.array([0.3, 0.4])  # noqa: E731
    own = lambda ts: np.array([0.2, 0.6])  # noqa: E731
    tok = lambda ts: np.array([[0.5, 0.1], [0.9, 0.7]])  # noqa: E731
    asked = lambda ts: np.array([0.9, 0.7])  # noqa: E731
    col = {name: i for i, name in enumerate(learned.SENTENCE_FEATURES)}
    hits = [_hit(0, TEXTS[0], ("dense",))]
    x = np.stack([c.features for c in learned.sentence_features(q, "number", hits, idf, late, own_similarity=own,
                                                                token_match=tok, question_match=asked)])
    assert x[:, col["tok"]] == pytest.approx([0.5, 0.9]) and x[:, col["tok_gap"]] == pytest.approx([-0.4, 0.0])
    assert x[:, col["tok_rank"]] == pytest.approx([0.5, 1.0]) and x[:, col["tok_rev"]] == pytest.approx([0.1, 0.7])
    assert x[:, col["q2q"]] == pytest.approx([0.9, 0.7]) and x[:, col["q2q_gap"]] == pytest.approx([0.0, -0.2])
    assert x[:, col["q2q_rank"]] == pytest.approx([1.0, 0.5])
    x = np.stack([c.features for c in learned.sentence_features(q, "number", hits, idf, late, own_similarity=own)])
    assert x[:, col["tok"]] == pytest.approx([0.2, 0.6]) and x[:, col["tok_rev"]] == pytest.approx([0.2, 0.6])
    assert x[:, col["q2q"]] == pytest.approx([0.2, 0.6])


def test_qlex_is_the_questions_share_of_terms_in_the_sentences_written_questions(idf: IdfTable) -> None:
    """`qlex`: the idf-weighted share of the question's terms that the questions written for a sentence
    hold (their words, not the report's); without them the sentence's own share (`lex`) stands in."""
    q = question_weights("Hoeveel soldaten zaten er in het vliegtuigteam?", idf)
    hits = [_hit(0, TEXTS[0], ("dense",))]
    written = {"Het detachement telde zeventig militairen.": frozenset(idf.terms(
        "Hoeveel soldaten zaten er in het vliegtuigteam van Nederland?"))}
    col = {name: i for i, name in enumerate(learned.SENTENCE_FEATURES)}
    late = lambda ts: np.array([0.3, 0.4])  # noqa: E731
    x = np.stack([c.features for c in learned.sentence_features(q, "number", hits, idf, late,
                                                                asked_terms=written.get)])
    assert x[:, col["lex"]] == pytest.approx([0.0, 0.0])  # the report says "militairen", "detachement"
    assert x[1, col["qlex"]] == pytest.approx(1.0) and x[0, col["qlex"]] == pytest.approx(0.0)  # no questions: lex
    assert x[:, col["qlex_gap"]] == pytest.approx([-1.0, 0.0]) and x[:, col["qlex_rank"]] == pytest.approx([0.5, 1.0])
    assert x[:, col["qlex_near"]] == pytest.approx([0.0, 1.0])  # the first has no questions: its own qlex
    x = np.stack([c.features for c in learned.sentence_features(q, "number", hits, idf, late)])
    assert x[:, col["qlex"]] == pytest.approx(x[:, col["lex"]])
    assert x[:, col["qlex_near"]] == pytest.approx(x[:, col["lex_near"]])


def test_qlex_near_joins_a_neighbours_written_questions(idf: IdfTable) -> None:
    """A question whose words are spread over the questions of two neighbouring sentences."""
    q = question_weights("Hoeveel soldaten zaten er in het vliegtuigteam?", idf)
    written = {"De C-130 vloog vanuit Bamako naar Gao.": frozenset(idf.terms("Waar vloog het vliegtuigteam?")),
               "Het detachement telde zeventig militairen.": frozenset(idf.terms("Hoeveel soldaten zaten erin?"))}
    col = {name: i for i, name in enumerate(learned.SENTENCE_FEATURES)}
    x = np.stack([c.features for c in learned.sentence_features(q, "number", [_hit(0, TEXTS[0])], idf,
                                                                lambda ts: np.array([0.3, 0.4]),
                                                                asked_terms=written.get)])
    assert x[0, col["qlex"]] < 1.0 and x[1, col["qlex"]] < 1.0
    assert x[:, col["qlex_near"]] == pytest.approx([1.0, 1.0])
