"""Metric functions: evidence matching, key facts with number words, citations, support, language."""

import pytest

from eval import metrics as m


def test_holds_survives_pdf_artefact_repairs():
    raw = "de Veiligheids- raad.12 heeft het mandaat van MINUSMA op 29 juni 2023 beëindigd"
    cleaned = "De Veiligheidsraad heeft het mandaat van MINUSMA op 29 juni 2023 beeindigd."
    assert m.holds(cleaned, raw) and not m.holds("Iets heel anders over Afghanistan.", raw)


def test_retrieval_row_by_hand():
    ev = ["De eenheden bleven soms twee tot drie jaar in het gebied."]
    texts = ["Over helikopters in Gao.", "Zij bleven soms twee tot drie jaar in het gebied, zo bleek."]
    row = m.retrieval_row(texts, ev)
    assert (row["hit@1"], row["hit@3"], row["rr"], row["all_evidence10"]) == (False, True, 0.5, True)
    assert row["ndcg10"] == pytest.approx(0.6309, abs=1e-4)


@pytest.mark.parametrize("word, value", [
    ("Drie", 3), ("twaalf", 12), ("eenentwintig", 21), ("tweeënveertig", 42), ("vijftig", 50),
    ("honderd", 100), ("honderdvijftig", 150), ("tweehonderdeenendertig", 231), ("kolonel", None),
    ("honderdx", None), ("duizend", None),
])
def test_dutch_number(word, value):
    assert m.dutch_number(word) == value


@pytest.mark.parametrize("n", [0, 1, 13, 21, 42, 99, 100, 150, 231, 999])
def test_number_word_round_trip(n):
    assert m.dutch_number(m.number_word(n)) == n


@pytest.mark.parametrize("answer, fact, expect", [
    ("Soms 2 tot 3 jaar in plaats van zes maanden.", "twee tot drie jaar", True),  # fact words, answer digits
    ("Het waren eenentwintig stafposities.", "21 stafposities", True),  # fact digits, answer words
    ("Er waren drie helikopters.", "Drie", True),
    ("Er waren 1.500 militairen.", "1500 militairen", True),  # thousands separator
    ("Britse troepen", "Brit", True),  # a 4-letter word may start an inflection
    ("mensenrechtenbepalingen", "mensenrechten", True),  # a longer one may sit inside a compound
    ("Er waren vier helikopters.", "Drie", False),
    ("Op 26 november 2014.", "26 november 2014", True),
    ("Medio 2023.", "medio 2024", False),
    # whole tokens: a marker is no number, a year no number word, a longer word no short one
    ("Zie passage [3].", "drie", False),
    ("In 2021 begon het.", "eenentwintig", False),
    ("Na de viering.", "vier", False),
    ("Ongeveer 150 mariniers.", "honderdvijftig", False),  # the scorer maps number words up to honderd only
])
def test_has_fact(answer, fact, expect):
    assert m.has_fact(answer, fact) is expect


def test_has_fact_agrees_with_the_independent_scorer():
    """The harness predicts shared/tools/score.py: same verdict on every case above."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "shared" / "tools" / "score.py"
    if not path.exists():
        pytest.skip("shared/tools/score.py not beside the repository")
    spec = importlib.util.spec_from_file_location("score", path)
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    for answer, fact, _ in test_has_fact.pytestmark[0].args[1]:
        assert m.has_fact(answer, fact) == score.has_fact(answer, fact), (answer, fact)


def test_key_fact_recall():
    assert m.key_fact_recall("Gao en Bamako", ["Gao", "Bamako", "Mopti"]) == pytest.approx(2 / 3)
    assert m.key_fact_recall("wat dan ook", []) is None


def test_markers_and_validity():
    cits = [{"n": 1, "text": "a"}, {"n": 2, "text": "b"}]
    assert m.markers("Eerst [1], dan [2, 3] en [x].") == {1, 2, 3}
    assert m.citations_valid("Zo [1][2].", cits) and not m.citations_valid("Zo [3].", cits)
    assert m.citations_valid("Geen bronnen genoemd.", cits)


def test_cited_evidence_any_and_referenced():
    ev = ["De ambassade in Bamako onderhield het contact met de missie."]
    cits = [{"n": 1, "text": "Niets relevants hier over de begroting."},
            {"n": 2, "text": "De ambassade in Bamako onderhield het contact met de missie in Mali."}]
    assert m.cited_evidence(cits, ev)
    assert not m.cited_evidence(cits, ev, only={1}) and m.cited_evidence(cits, ev, only={2})


def test_sentences_keep_markers_after_full_stop():
    text = "Eerste zin over Gao. [1] Tweede zin over Bamako [2].\n- derde punt [3]"
    assert m.sentences(text) == ["Eerste zin over Gao [1].", "Tweede zin over Bamako [2].",
                                 "- derde punt [3]"]


def test_content_words_rule():
    assert m.content_words("Soms 2 tot 3 jaar in plaats van zes maanden [1].") == [
        "soms", "jaar", "plaats", "maanden"]


def test_supported_share_by_hand():
    cits = [{"n": 1, "text": "Zij bleven soms twee tot drie jaar in plaats van zes maanden."}]
    answer = ("Soms 2 tot 3 jaar in plaats van zes maanden [1]. "  # 4/4 content words present
              "Daardoor kenden zij de taal beter [2]. "  # [2] cites nothing: unsupported
              "Dat kwam door strenge selectie.")  # no marker: unsupported
    assert m.supported_share(answer, cits) == pytest.approx(1 / 3)
    assert m.supported_share("[1].", cits) is None


def test_sentence_support_threshold_is_half():
    cits = [{"n": 1, "text": "De commandant van het detachement wordt niet genoemd."}]
    assert not m.sentence_supported("De commandant was kolonel Jansen [1].", cits)  # 1 of 3
    assert m.sentence_supported("De commandant van het detachement was Jansen [1].", cits)  # 2 of 3


@pytest.mark.parametrize("text, expect", [
    ("De eenheid bleef twee jaar in het gebied, omdat zij de taal kende.", True),
    ("The unit stayed in the area for two years because it knew the language.", False),
    ("Duitsland [1].", None),
])
def test_is_dutch(text, expect):
    assert m.is_dutch(text) is expect


def test_percentile_nearest_rank():
    assert m.percentile(range(1, 11), 50) == 5.0 and m.percentile(range(1, 11), 95) == 10.0
    assert m.percentile([None, 3.0], 50) == 3.0 and m.percentile([], 95) is None
