"""Answerability signals (service/qa/refusal.py), features of the learned answerability model: each on
small hand-made passages."""

from __future__ import annotations

import pytest

from index.text import squash
from service.qa.evidence import IdfTable, expected_type
from service.qa.refusal import is_compound, missing_entities, passage_coverage
from service.types import Hit

C130 = ("Het C-130 detachement vloog voor MINUSMA vanuit Bamako. De kosten per vlieguur van de C-130 waren hoog. "
        "Na een motie van de Kamer voerde IOB de evaluatie uit.")
TRUST = "Nederland leverde een jaarlijkse financiële bijdrage van 3,5 miljoen euro aan het trustfonds."
OTHER = ["De helikopters in Gao vlogen voor MINUSMA.", "Een missie in Libanon met waarnemers.", TRUST]
IDF = IdfTable([C130, *OTHER])


def _hits(*texts: str) -> list[Hit]:
    return [Hit(f"c{i}", f"d{i}", f"Rapport {i}", "1", 1, t, 0, len(t), 0.5, ("dense",)) for i, t in enumerate(texts)]


@pytest.mark.parametrize("question, kind", [
    ("Hoeveel heeft de inzet van het C-130-detachement in totaal gekost?", "money"),
    ("Hoeveel geld heeft Nederland in het MINUSMA Trust Fund gestoken?", "money"),
    ("Wat kostte een vlieguur van de C-130?", "money"),
    ("Hoe duur was de inzet?", "money"),
    ("Wat moet een rederij betalen voor een Vessel Protection Detachment?", "money"),
    ("Hoeveel procent daalden de budgetten voor vredesmissies?", "number"),  # a share, not an amount
    ("Waarom waren de kosten per vlieguur hoog?", None),
])
def test_money_questions_are_recognised(question: str, kind: str | None) -> None:
    assert expected_type(question) == kind


def test_compounds_of_report_words_are_not_unknown_names() -> None:
    assert is_compound("Kamermotie", IDF) is True  # kamer + motie
    assert is_compound("Darfur", IDF) is False
    question = "Door welke Kamermotie voerde IOB de evaluatie uit, en speelde Darfur een rol?"
    assert missing_entities(question, _hits(C130), idf=IDF) == ["Darfur"]
    assert missing_entities(question, _hits(C130)) == ["Kamermotie", "Darfur"]  # without the vocabulary


def test_names_are_looked_up_in_the_whole_corpus_and_nationality_adjectives_are_not_names() -> None:
    question = "Vloog het C-130 detachement ook naar Gao, zoals het Noorse toestel?"
    assert missing_entities(question, _hits(C130), idf=IDF) == ["Gao"]  # not in the passage; Noorse skipped
    assert missing_entities(question, _hits(C130), idf=IDF, corpus=squash(" ".join(OTHER))) == []
    assert missing_entities("Vloog het detachement naar Darfur?", _hits(C130), idf=IDF,
                            corpus=squash(" ".join(OTHER))) == ["Darfur"]


def test_english_month_and_day_names_are_dates_not_unknown_names() -> None:
    question = "Who led the C-130 detachment from January 2022, and was UNAMID there on a Monday in May?"
    assert missing_entities(question, _hits(C130), idf=IDF) == ["UNAMID"]


def test_the_english_name_of_the_netherlands_is_not_a_name_the_reports_lack() -> None:
    question = "How much does the Netherlands give to the C-130 detachment and to UNAMID?"
    assert missing_entities(question, _hits(C130), idf=IDF) == ["UNAMID"]


def test_spoken_filler_words_do_not_count_against_coverage() -> None:
    hits = _hits(C130)
    plain = passage_coverage("Waarom vloog het C-130 detachement voor MINUSMA?", hits, IDF)
    spoken = passage_coverage("Waarom doet het C-130 detachement eigenlijk mee aan MINUSMA, wat gaat het daar doen?",
                              hits, IDF)
    assert plain == pytest.approx(1.0) and spoken == pytest.approx(1.0)
    assert passage_coverage("Waarom vloog het C-130 detachement voor MINUSMA naar Darfur?", hits, IDF) < 0.8


def test_an_off_topic_question_finds_few_of_its_terms_in_the_passages() -> None:
    hits = _hits(C130)
    assert passage_coverage("Wat is het recept voor appeltaart?", hits, IDF) == 0.0
    assert passage_coverage("Wat waren de kosten per vlieguur van de C-130?", hits, IDF) == pytest.approx(1.0)


def test_a_follow_up_counts_the_conversation_for_coverage() -> None:
    hits = _hits(C130)
    question = "En wie voerde dat onderzoek later precies uit?"
    alone = passage_coverage(question, hits, IDF)
    with_history = passage_coverage(question, hits, IDF, "Wat deed het C-130 detachement voor MINUSMA?")
    assert alone < 0.33 <= with_history
