"""service.qa.evidence: sentence scoring for follow-ups (repeats of the last answer lose), continuation
sentences, the expected answer type of a question and the type bonus."""

from __future__ import annotations

import pytest

from service.qa.evidence import (
    IdfTable,
    continuation,
    expected_type,
    question_weights,
    said_share,
    score_sentences,
    select_evidence,
    type_score,
)
from service.types import Hit


def _hit(i: int, text: str) -> Hit:
    return Hit(f"chunk{i}", f"doc{i}", f"Rapport {i}", "1 Inleiding", 3 + i, text, 0, len(text), 0.5, ("dense",))


STAFF = "Nederland levert vier staffunctionarissen aan het hoofdkwartier in Sarajevo."
MARINES = "Daarnaast volgt een compagnie mariniers van honderdvijftig militairen voor de missie in Sarajevo."


def test_follow_up_evidence_prefers_a_new_sentence_over_repeating_the_last_answer() -> None:
    hit = _hit(0, f"{STAFF} {MARINES}")
    idf = IdfTable([hit.text, "De helikopters in Gao vlogen voor MINUSMA.", "Een missie in Libanon."])
    q = question_weights("Welke militairen levert Nederland nog meer in Sarajevo?", idf)
    said = frozenset(idf.terms("Nederland levert vier staffunctionarissen die op het hoofdkwartier in Sarajevo "
                               "werken [1]."))
    assert said_share(set(idf.terms(STAFF)), said, idf) == pytest.approx(1.0)
    assert said_share(set(idf.terms(MARINES)), said, idf) < 0.3
    assert [s.text for s in score_sentences(q, None, [hit], idf)] == [STAFF, MARINES]
    assert [s.text for s in score_sentences(q, None, [hit], idf, said=said)] == [MARINES, STAFF]


ANNOUNCE = "Daarnaast zal Nederland een aanvullende militaire bijdrage leveren aan EUFOR Althea."
DETAIL = "Deze bijdrage betreft de inzet van een compagnie mariniers van honderdvijftig militairen."
OTHER = ("Nederland zal ook een aanvullende bijdrage leveren aan EMASoH met een onderofficier. "
         "Deze persoon werkt op het hoofdkwartier van de missie in Abu Dhabi.")


def test_a_chosen_sentence_brings_the_sentence_that_continues_it() -> None:
    hits = [_hit(0, OTHER), _hit(1, f"{ANNOUNCE} {DETAIL}")]
    idf = IdfTable([h.text for h in hits] + ["De helikopters in Gao vlogen voor MINUSMA."])
    q = question_weights("Welke aanvullende bijdrage zal Nederland leveren aan EUFOR Althea?", idf)
    ranked = [s.text for s in score_sentences(q, "plan", hits, idf)]
    assert ranked.index(DETAIL) >= 2  # on its own the detail scores below the EMASoH sentence
    chosen = select_evidence(q, "plan", hits, idf, max_sentences=2, max_chars=2000)
    assert [s.text for s in chosen] == [ANNOUNCE, DETAIL]
    assert chosen[1].score == chosen[0].score and chosen[1].hit == 1
    # "Deze persoon" names nothing of the sentence before ("onderofficier"): not taken as its continuation
    assert continuation(score_sentences(q, None, [hits[0]], idf)[0], OTHER, idf) is None


def test_a_continuation_that_repeats_the_last_answer_is_not_brought_along() -> None:
    third = "Ook de bijdrage aan de missie in Libanon zal Nederland voortzetten met twee officieren."
    hits = [_hit(0, f"{ANNOUNCE} {DETAIL}"), _hit(1, third)]
    idf = IdfTable([h.text for h in hits] + ["De helikopters in Gao vlogen voor MINUSMA."])
    q = question_weights("Welke aanvullende bijdrage zal Nederland leveren?", idf)
    said = frozenset(idf.terms("Het gaat om de inzet van een compagnie mariniers met honderdvijftig militairen [1]."))
    assert said_share(set(idf.terms(DETAIL)), said, idf) >= 0.6
    chosen = select_evidence(q, "plan", hits, idf, max_sentences=2, max_chars=2000, said=said)
    assert [s.text for s in chosen] == [ANNOUNCE, third]
    chosen = select_evidence(q, "plan", hits, idf, max_sentences=2, max_chars=2000)
    assert [s.text for s in chosen] == [ANNOUNCE, DETAIL]


@pytest.mark.parametrize("question, kind", [
    ("Wanneer vond de inzet van het C-130 detachement plaats?", "date"),
    ("In welk jaar begon MINUSMA?", "date"),
    ("Hoeveel diepte-interviews voerde IOB uit?", "number"),
    ("Hoe lang duurde de inzet?", "number"),
    ("Hoeveel jaar duurde het en wanneer eindigde het?", "date"),  # date is checked first
    ("Wie voerde de eindevaluatie uit?", "name"),
    ("Welk land coördineerde het Multinational Rotational Concept?", "place"),
    ("Naar welke plaatsen maakte de SOLTG expedities?", "place"),
    ("Waar waren de stafofficieren gestationeerd?", "place"),
    ("Waar was het hoofdkwartier in Bamako gevestigd?", "place"),
    ("En waar wil het kabinet bij die bijdragen voortaan scherper op letten?", None),  # waar ... op: what
    ("Waar werden de helikopters vooral voor ingezet?", None),
    ("Waarom doet Nederland mee aan missies waar het maar een handvol mensen naartoe stuurt?", None),  # relative
    ("In welke steden werkten ze, en waar zaten ze in 2022?", "place"),
    ("Waarom levert Nederland kleinere bijdragen?", None),
    ("En welke uitbreiding van die bijdrage staat er nog gepland?", "plan"),
    ("Wat is het kabinet van plan met kleine missiebijdragen?", "plan"),
    ("Wat gaat Nederland daar nog extra leveren?", "plan"),
    ("Hoeveel militairen gaat Nederland sturen?", "number"),  # a number is the more precise ask
    ("Welke taken had de planningscel in Tunis?", None),
])
def test_expected_type(question: str, kind: str | None) -> None:
    assert expected_type(question) == kind


@pytest.mark.parametrize("text, kind, score", [
    ("Expedities naar bijvoorbeeld Menaka, Tessalit en Kidal.", "place", 2.0),  # a list of names
    ("Twee stafofficieren op het hoofdkwartier in Rota.", "place", 1.0),
    ("De SOLTG had een verscheidenheid aan taken.", "place", 0.0),
    ("In 2012 erkende de VN de behoefte.", "date", 1.0),
    ("Dertig politiemensen.", "number", 1.0),
    ("Geen getal hier.", "number", 0.0),
    ("Wat dan ook.", None, 0.0),
    ("Nederland zal vanaf juni een compagnie mariniers leveren.", "plan", 2.0),
    ("Het kabinet is voornemens kleinere bijdragen te blijven leveren.", "plan", 2.0),
    ("Nederland zou vanaf begin 2021 met twee militairen deelnemen.", "plan", 2.0),  # a plan, told later
    ("De functionaris hield zich bezig met de planning van oefeningen.", "plan", 0.0),  # the past
])
def test_type_score(text: str, kind: str | None, score: float) -> None:
    assert type_score(text, kind) == score
