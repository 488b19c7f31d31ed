"""service.qa.compose on hand-made evidence: answer sentences, [n] parsing, repair and renumbering,
the support checks that keep a generated answer honest, and the short answer (extractive, or a generated
lead with its extractive support)."""

from __future__ import annotations

import re

import pytest

from index.sentences import split_sentences
from index.text import is_dutch
from service.qa.compose import (
    ANSWER_WORDS,
    build_messages,
    check_answer,
    is_not_prose,
    lead_and_support,
    lead_from,
    normalize_marks,
    renumber,
    safe_words,
    short_answer,
)
from service.types import Evidence, Hit, Sentence

ENGLISH_REPLY = "The C-130 detachement was part of the Multinational Rotational Concept coordinated by Noorwegen [1]."

H0 = ("De inzet vond plaats van november 2021 t/m mei 2022. Het C-130 detachement werd ingezet als onderdeel "
      "van het door Noorwegen gecoördineerde Multinational Rotational Concept.")
H1 = "In totaal werden 128 diepte-interviews uitgevoerd met beleidsmedewerkers van de drie betrokken ministeries."


def _hit(i: int, text: str) -> Hit:
    return Hit(f"chunk{i}", f"doc{i}", f"Rapport {i}", "1 Inleiding", 3 + i, text, 0, len(text), 0.5, ("dense",))


@pytest.mark.parametrize("text, shown", [
    ("ii Zo leverde Duitsland steevast de strategisch belangrijke Chief of Staff.",
     "Zo leverde Duitsland steevast de strategisch belangrijke Chief of Staff [1]."),  # IOB footnote body
    ("• vier AH-64D Apaches", "vier AH-64D Apaches [1]."),
    ("20 Nederlandse militairen werden ingezet", "20 Nederlandse militairen werden ingezet [1]."),  # a fact, kept
    ("in het kader van MINUSMA", "in het kader van MINUSMA [1]."),
])
def test_answer_sentences_lose_bullets_and_note_marks_not_numbers(text: str, shown: str) -> None:
    hit = _hit(0, text)
    ev = Evidence((Sentence(text, 0, 0, len(text), 1.0),), (hit,))
    assert short_answer(ev) == shown
    lead = "Duitsland leverde een staffunctie [1]."
    assert lead_and_support(lead, ev) == f"{lead} {shown}"


@pytest.fixture
def evidence() -> Evidence:
    hits = (_hit(0, H0), _hit(1, H1))
    sentences = [Sentence(h.text[s:e], i, s, e, 1.0 - 0.1 * n)
                 for i, h in enumerate(hits) for n, (s, e) in enumerate(split_sentences(h.text))]
    return Evidence(tuple(sentences), hits)


@pytest.mark.parametrize("raw, expected", [
    ("Zin een. [1] Zin twee.[2][3]", "Zin een [1]. Zin twee [2] [3]."),
    ("Zin een [1]. Zin twee [2].", "Zin een [1]. Zin twee [2]."),
    ("Geen markers.", "Geen markers."),
])
def test_normalize_marks(raw: str, expected: str) -> None:
    assert normalize_marks(raw) == expected


def test_evidence_fixture_has_three_numbered_sentences(evidence: Evidence) -> None:
    assert [s.text[:12] for s in evidence.sentences] == ["De inzet von", "Het C-130 de", "In totaal we"]


FIVE = ("Het detachement vloog vanuit Bamako. Noorwegen coördineerde de rotatie. Portugal volgde in 2022. "
        "De kostprijs per vlieguur was hoog. Rusttijden beperkten de inzet.")


def _five(scores: list[float]) -> Evidence:
    hit = _hit(0, FIVE)
    return Evidence(tuple(Sentence(FIVE[s:e], 0, s, e, scores[n]) for n, (s, e) in enumerate(split_sentences(FIVE))),
                    (hit,))


def test_prompt_leaves_out_the_last_sentences_beyond_the_token_budget(evidence: Evidence) -> None:
    words = lambda text: len(text.split())  # noqa: E731  a stand-in for the model's token count
    full, n, _ = build_messages("Wanneer vond de inzet plaats?", evidence)
    assert n == 3 and "[3] " in full[1]["content"]
    budget = words("\n".join(m["content"] for m in full)) - 1
    cut, n, tokens = build_messages("Wanneer vond de inzet plaats?", evidence, count=words, budget=budget)
    assert n == 2 and "[2] " in cut[1]["content"] and "[3] " not in cut[1]["content"]
    assert tokens == words("\n".join(m["content"] for m in cut)) <= budget
    one, n, _ = build_messages("Wanneer vond de inzet plaats?", evidence, count=words, budget=1)
    assert n == 1 and evidence.sentences[0].text in one[1]["content"]  # the best sentence always stays


def test_short_answer_leads_with_the_best_sentence_and_adds_the_next_best_when_it_fits() -> None:
    ev = _five([0.9, 0.8, 0.6, 0.3, 0.2])
    assert short_answer(ev) == "Het detachement vloog vanuit Bamako [1]. Noorwegen coördineerde de rotatie [2]."
    assert short_answer(_five([0.9, 0.05, 0.4, 0.4, 0.4]), min_ratio=0.1) == (
        "Het detachement vloog vanuit Bamako [1]. Portugal volgde in 2022 [3].")  # 0.05 < 0.1 of the best
    assert short_answer(_five([0.9, 0.05, 0.4, 0.4, 0.4])) == short_answer(ev)  # by default: the two best
    assert short_answer(ev, max_words=8) == "Het detachement vloog vanuit Bamako [1]."


def test_short_answer_with_more_supporting_sentences() -> None:
    ev = _five([0.9, 0.8, 0.6, 0.3, 0.2])
    assert short_answer(ev, max_words=50, min_ratio=0.5, supporting=2) == (
        "Het detachement vloog vanuit Bamako [1]. Noorwegen coördineerde de rotatie [2]. "
        "Portugal volgde in 2022 [3].")  # 0.3 < half of 0.9: left out; never more than three
    assert short_answer(ev, max_words=50, supporting=2).count(" [") == 3  # by default the three best
    assert short_answer(ev, max_words=50).count(" [") == 2  # one supporting sentence unless asked for more
    assert short_answer(ev, max_words=9, supporting=2) == short_answer(ev, max_words=9)  # the word budget still holds


def test_a_long_best_sentence_stands_alone() -> None:
    long = "Lange zin " + "met veel woorden " * 25 + "erin."
    ev = Evidence((Sentence(long, 0, 0, len(long), 0.9), Sentence("Korte zin met Rota.", 0, 0, 19, 0.8)),
                  (_hit(0, long),))
    assert short_answer(ev) == long[:-1] + " [1]."
    assert len(short_answer(ev).split()) > ANSWER_WORDS


def test_lead_and_support_adds_what_the_lead_does_not_say() -> None:
    ev = _five([0.9, 0.8, 0.6, 0.3, 0.2])
    done = lead_and_support("Het detachement vloog vanuit Bamako [1].", ev)
    assert [int(n) for n in re.findall(r"\[(\d+)\]", done)] == [1, 2]  # [1] said already; one more at most
    assert lead_and_support("Noorwegen coördineerde de rotatie vanuit Bamako [2].", ev).count("[2]") == 1


def test_out_of_range_marker_is_replaced_by_the_supporting_one(evidence: Evidence) -> None:
    text, used = check_answer("De inzet vond plaats van november 2021 tot mei 2022 [9].", evidence)
    assert text == "De inzet vond plaats van november 2021 tot mei 2022 [1]."
    assert used == [1]


def test_missing_marker_is_repaired_by_best_support(evidence: Evidence) -> None:
    text, used = check_answer("Er werden 128 diepte-interviews uitgevoerd met beleidsmedewerkers.", evidence)
    assert text == "Er werden 128 diepte-interviews uitgevoerd met beleidsmedewerkers [3]."
    assert used == [3]


def test_wrong_marker_is_moved_to_the_supporting_sentence(evidence: Evidence) -> None:
    text, _ = check_answer("Er werden 128 diepte-interviews uitgevoerd [1].", evidence)
    assert text == "Er werden 128 diepte-interviews uitgevoerd [3]."


def test_unsupported_sentences_are_dropped(evidence: Evidence) -> None:
    raw = ("Er werden 500 militairen ingezet [1]. De inzet vond plaats van november 2021 tot mei 2022 [1]. "
           "Frankrijk leverde helikopters en drones aan de missie [2].")
    text, used = check_answer(raw, evidence)
    assert text == "De inzet vond plaats van november 2021 tot mei 2022 [1]."  # 500 is in no passage
    assert used == [1]
    assert check_answer("Er werden 500 militairen ingezet [3].", evidence) == ("", [])


@pytest.mark.parametrize("question, reply, kept", [
    # the model restates the question as its first claim: supported by the words, says nothing
    ("Hoe lang vond de inzet van het C-130 detachement plaats?",
     "De inzet van het C-130 detachement vond plaats [1]. De inzet vond plaats van november 2021 t/m mei 2022 [1].",
     "De inzet vond plaats van november 2021 t/m mei 2022 [1]."),
    # a negation the question does not hold is an answer, not an echo
    ("Werden er diepte-interviews uitgevoerd met beleidsmedewerkers?",
     "Er werden geen diepte-interviews uitgevoerd met beleidsmedewerkers [3].",
     "Er werden geen diepte-interviews uitgevoerd met beleidsmedewerkers [3]."),
    ("Werden er diepte-interviews uitgevoerd met beleidsmedewerkers?",
     "Er werden 128 diepte-interviews uitgevoerd met beleidsmedewerkers [3].",
     "Er werden 128 diepte-interviews uitgevoerd met beleidsmedewerkers [3]."),  # a number is new content
])
def test_check_answer_drops_sentences_that_only_restate_the_question(evidence: Evidence, question: str,
                                                                      reply: str, kept: str) -> None:
    assert check_answer(reply, evidence, question=question)[0] == kept
    assert check_answer(reply, evidence)[0].startswith(reply.split(" [")[0])  # without the question: kept


def test_check_answer_keeps_supported_english(evidence: Evidence) -> None:
    """Support is lexical, so a copied-names English sentence passes: the pipeline's Dutch guard must catch it."""
    text, _ = check_answer(ENGLISH_REPLY, evidence)
    assert text.startswith("The C-130 detachement")
    assert is_dutch(text) is False


def test_renumber_follows_order_of_appearance(evidence: Evidence) -> None:
    text, cites = renumber("Interviews [3]. Inzet [1]. Nogmaals interviews [3].", evidence)
    assert text == "Interviews [1]. Inzet [2]. Nogmaals interviews [1]."
    assert [c.n for c in cites] == [1, 2]
    assert (cites[0].chunk_id, cites[0].doc_id, cites[0].title, cites[0].page) == ("chunk1", "doc1", "Rapport 1", 4)
    assert cites[0].quote == H1 and cites[0].text == H1
    assert cites[1].chunk_id == "chunk0" and cites[1].quote == "De inzet vond plaats van november 2021 t/m mei 2022."


REPLIES = [
    "Het C-130 detachement werd ingezet als onderdeel van het Multinational Rotational Concept [1].",
    "De inzet vond plaats van november 2021 t/m mei 2022 [1]. En nog een zin [2].",
    "Het C-130 detachement werd ingezet, zegt de verzonnen bron Atlantis met 1999 schepen en kanonnen [1].",
    "Het C-130 detachement werd ingezet als onderdeel van het Multinational Rotational Concept op de vloot van "
    "Atlantis met 1999 schepen [1].",
    "In totaal werden 128 diepte-interviews uitgevoerd met vissers uit Urk en Volendam [2].",
    "Noorwegen coördineerde het Multinational Rotational Concept [1].",
    "Ja.",
]


@pytest.mark.parametrize("reply", REPLIES)
def test_safe_words_of_every_partial_reply_begin_the_final_lead(evidence: Evidence, reply: str) -> None:
    """What streams is what stays: at every point of the model's text (character by character) the
    words `safe_words` allows never shrink, and the first sentence that `lead_from` keeps at the end,
    told what was shown, begins with them."""
    question = "Wanneer werd het C-130 detachement ingezet?"
    shown: list[str] = []
    for end in range(1, len(reply) + 1):
        words = safe_words(reply[:end], evidence, question)
        assert words[:len(shown)] == shown  # never taken back
        shown = words
        lead = lead_from(reply, evidence, question, shown)
        assert _words(lead)[:len(shown)] == shown, (reply[:end], shown, lead)
        if lead:
            assert check_answer(lead, evidence, question=question)[0] == lead  # the lead passes the checks


def _words(sentence: str) -> list[str]:
    words = re.sub(r"\s*\[\d+\]", " ", sentence).split()
    return words[:-1] + [words[-1].rstrip(".")] if words else []


def test_safe_words_wait_for_support_and_for_something_said(evidence: Evidence) -> None:
    q = "Wanneer werd het C-130 detachement ingezet?"
    assert safe_words("Het C-130 detachement werd ingezet ", evidence, q) == []  # only the question so far
    assert safe_words("Het C-130 detachement werd ingezet als onderdeel ", evidence, q) == []  # one new word: a stub
    assert safe_words("Het C-130 detachement werd ingezet als onderdeel van het Multinational ", evidence, q) == \
        ["Het", "C-130", "detachement", "werd", "ingezet", "als", "onderdeel", "van", "het", "Multinational"]
    assert safe_words("Het C-130 detachement werd ingezet door Atlantis ", evidence, q) == []  # not in a source
    assert safe_words("In 1999 werd ", evidence, q) == []  # a number no source holds
    assert safe_words("In 2021 werd ", evidence, q) == ["In", "2021"]  # a number the question lacks: says something
    assert safe_words("Het detachement werd ingezet als onderdeel [1].", evidence, q) == \
        ["Het", "detachement", "werd", "ingezet", "als", "onderdeel"]  # a finished sentence: not an echo suffices


def test_lead_from_keeps_the_words_shown_when_the_rest_fails_the_check(evidence: Evidence) -> None:
    reply = ("Het C-130 detachement werd ingezet als onderdeel van het Multinational Rotational Concept op de vloot "
             "van Atlantis met 1999 schepen [1].")
    q = "Wanneer werd het C-130 detachement ingezet?"
    assert check_answer(reply, evidence)[0] == ""  # the whole sentence fails
    shown = safe_words(reply, evidence, q)
    assert lead_from(reply, evidence, q, shown) == \
        "Het C-130 detachement werd ingezet als onderdeel van het Multinational Rotational Concept [1]."
    assert lead_from(reply, evidence, q) == ""  # nothing shown (ask, not streamed): no stub, the quote stands in


def test_short_answer_keeps_the_sentence_for_a_questions_second_part() -> None:
    ev = _five([0.9, 0.05, 0.4, 0.4, 0.4])
    two = Evidence(ev.sentences, ev.hits, parts=2)
    assert short_answer(two, min_ratio=0.1) == (
        "Het detachement vloog vanuit Bamako [1]. Noorwegen coördineerde de rotatie [2].")  # 0.05, but a part
    assert lead_and_support("Het detachement vloog vanuit Bamako [1].", two).endswith("rotatie [2].")


def test_short_answer_keeps_a_parts_sentence_beyond_the_word_budget() -> None:
    ev = _five([0.9, 0.8, 0.4, 0.4, 0.4])
    two = Evidence(ev.sentences, ev.hits, parts=2)
    lead = "Het detachement vloog vanuit Bamako [1]."
    assert short_answer(ev, max_words=6) == lead  # the second sentence does not fit: left out
    assert short_answer(two, max_words=6) == lead + " Noorwegen coördineerde de rotatie [2]."  # a part: stays
    assert short_answer(two, max_words=6, supporting=2) == lead + " Noorwegen coördineerde de rotatie [2]."


@pytest.mark.parametrize("text, junk", [
    ("2.2.1 EUFOR Althea (Bosnië Herzegovina)", True),  # a section heading
    ("2.1 De aanleiding tot MINUSMA", True),
    ("Zie: https://peacekeeping.un.org/en/action-for-peacekeeping-a4p", True),  # a web address
    ("29 United Nations, ‘Action for Peacekeeping’.", True),  # a footnote title: quoted
    ("37 Karlsrud en Novosseloff, Doing Less with More?, 5.", True),  # a footnote title: a page at the end
    ("1.3 Bevinding: De inlichtingenproducten van ASIFU sloten slechts in beperkte mate aan op de behoeften "
     "van de militaire leiding.", False),  # a numbered finding is a sentence
    ("UNIFIL  United Nations Interim Force in Lebanon", True),  # an entry of the list of abbreviations
    ("EU-LMS  EU Liaison and Mentoring Staff", True),
    ("UNIFIL richt zich op het grensgebied tussen Israël en Libanon.", False),
    ("12.5 miljoen mensen sloegen op de vlucht.", False),  # a number, not a section
    ("150 militairen voor LRRPTG", False),  # a table row holds a fact
    ("20 Nederlandse militairen werden ingezet", False),
    ("Het detachement vloog vanuit Bamako.", False),
])
def test_headings_links_and_footnote_titles_are_no_prose(text: str, junk: bool) -> None:
    assert is_not_prose(text) is junk


def _with(texts: list[str]) -> Evidence:
    body = " ".join(texts)
    sentences, at = [], 0
    for n, text in enumerate(texts):
        start = body.index(text, at)
        sentences.append(Sentence(text, 0, start, start + len(text), 0.9 - 0.1 * n))
        at = start + len(text)
    return Evidence(tuple(sentences), (_hit(0, body),))


def test_a_heading_or_link_in_the_answer_is_left_out_and_its_place_not_refilled() -> None:
    heading, link = "2.4.2.2 EUNAVFOR MED Irini", "Zie: https://www.defensie.nl/irini voor meer."
    a, b = "Sinds november 2022 levert Nederland geen militairen meer.", "De bijdrage bestond uit stafofficieren."
    assert short_answer(_with([heading, a, b])) == f"{a[:-1]} [2]."  # the lead left out; [3] does not move up
    assert short_answer(_with([a, link, b])) == f"{a[:-1]} [1]."
    assert short_answer(_with([heading, link, a])) == f"{a[:-1]} [3]."  # nothing but junk: the first prose
    assert short_answer(_with([a, b])) == f"{a[:-1]} [1]. {b[:-1]} [2]."  # prose as before
    lead = "Nederland stopte in november 2022 [1]."
    # the lead's support: sentence [1], the link left out, and [3] not moved up into its place
    assert lead_and_support(lead, _with([a, link, b])) == f"{lead} {a[:-1]} [1]."
