"""service.qa.evidence: the expected answer type of a question, what a text holds, repeats of the last answer."""

from __future__ import annotations

import pytest

from service.qa.evidence import (
    IdfTable,
    asks_person,
    asks_reason,
    continues,
    expected_type,
    has_type,
    names_person,
    question_parts,
    question_weights,
    repeats,
    said_share,
)

STAFF = "Nederland levert vier staffunctionarissen aan het hoofdkwartier in Sarajevo."
MARINES = "Daarnaast volgt een compagnie mariniers van honderdvijftig militairen voor de missie in Sarajevo."


def test_a_sentence_that_mostly_repeats_the_last_answer_is_marked() -> None:
    idf = IdfTable([STAFF, MARINES, "Een derde tekst over iets anders."])
    said = frozenset(idf.terms(STAFF))
    assert repeats(set(idf.terms(STAFF)), said, idf) is True
    marines = set(idf.terms(MARINES))
    assert repeats(marines, said, idf) is False and 0 < said_share(marines, said, idf) < 0.6
    assert repeats(set(idf.terms(STAFF)), frozenset(), idf) is False
    assert set(question_weights("Hoeveel mariniers?", idf)) == set(idf.terms("Hoeveel mariniers?"))


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
    # English questions ask the same kinds (they are answered in Dutch, from the same sentences)
    ("When was the Dutch C-130 detachment deployed?", "date"),
    ("In which year did MINUSMA start?", "date"),
    ("How many Dutch soldiers served in EUTM Mali?", "number"),
    ("How long did the deployment last?", "number"),
    ("How much money does the Netherlands give to GPOI each year?", "money"),
    ("What did the C-130 deployment cost?", "money"),
    ("What was the total cost of the Dutch contribution to MINUSMA?", "money"),
    ("Who led the intelligence unit?", "name"),
    ("Where were the Dutch staff officers stationed?", "place"),
    ("In which countries are the liaison teams placed?", "place"),
    ("Why did the Netherlands stop its contribution?", None),
])
def test_expected_type(question: str, kind: str | None) -> None:
    assert expected_type(question) == kind


@pytest.mark.parametrize("text, kind, holds", [
    ("Twee stafofficieren op het hoofdkwartier in Rota.", "place", True),
    ("De SOLTG had een verscheidenheid aan taken.", "place", False),
    ("In 2012 erkende de VN de behoefte.", "date", True),
    ("Dertig politiemensen.", "number", True),
    ("Het detachement telde zeventig militairen.", "number", True),
    ("Tweeënveertig waarnemers.", "number", True),
    ("Een krachtig signaal.", "number", True),  # 'een' is a number word too
    ("Geen getal hier.", "number", False),
    ("Wat dan ook.", None, False),
    ("Nederland zal vanaf juni een compagnie mariniers leveren.", "plan", True),
    ("De functionaris hield zich bezig met de planning van oefeningen.", "plan", False),  # the past
    ("Een bijdrage van 3,5 miljoen euro.", "money", True),
])
def test_has_type(text: str, kind: str | None, holds: bool) -> None:
    assert has_type(text, kind) is holds


@pytest.mark.parametrize("question, parts", [
    ("Welk land nam de ISR-coy in Gao over, en wanneer?", ("Welk land nam de ISR-coy in Gao over?", "Wanneer?")),
    ("Met hoeveel militairen wilde het kabinet meedoen, en waarom ging dat niet door?",
     ("Met hoeveel militairen wilde het kabinet meedoen?", "Waarom ging dat niet door?")),
    ("Waar en in welk jaar opende de VN een verbindingsbureau?",
     ("Waar opende de VN een verbindingsbureau?", "In welk jaar opende de VN een verbindingsbureau?")),
    ("Why did the Dutch leave Mali, and when did the last troops go home?",
     ("Why did the Dutch leave Mali?", "When did the last troops go home?")),
    ("Hoeveel militairen en welke middelen stuurde Nederland?", None),  # one question about two things
    ("Wat deden Nederland en Frankrijk in Mali?", None),
    ("Wie en wat?", None),
    ("Hoe lang bleef de C-130 in Mali?", None),
])
def test_question_parts_splits_questions_that_ask_two_things(question: str, parts) -> None:
    assert question_parts(question) == parts


@pytest.mark.parametrize(("question", "why"), [
    ("Waarom trok Nederland zich terug uit UNDOF?", True),
    ("Om welke reden stopte de bijdrage?", True),
    ("Wat was de reden voor het vertrek van Takuba?", True),
    ("Hoe komt het dat de C-130 minder werd ingezet?", True),
    ("Why did the Netherlands leave Mali?", True),
    ("Wanneer vertrok Nederland uit Mali?", False),
    ("Hoeveel militairen gingen naar UNIFIL?", False),
    ("Waardoor werd de inzet beperkt?", True),
])
def test_why_questions_ask_for_an_explanation(question: str, why: bool) -> None:
    assert asks_reason(question) is why


@pytest.mark.parametrize(("text", "continued"), [
    ("Daarbij raakten vier peacekeepers gewond, waarvan er één dodelijk.", True),
    ("Deze methodiek is reeds toegepast in de recente artikel 100-brief.", True),
    ("Ten tweede is er achterdocht bij de VN.", True),
    ("  De reden hiervoor was dat de VN te lang wachtte.", True),
    ("Op 15 december 2022 werd een UNIFIL konvooi beschoten.", False),
    ("Diverse redenen speelden een rol.", False),
    ("Dithmarschen is geen woord dat hier opent.", False),  # whole words only
])
def test_continues_tells_a_sentence_that_continues_its_predecessor(text: str, continued: bool) -> None:
    assert continues(text) is continued


@pytest.mark.parametrize(("question", "person"), [
    ("Wie was de commandant van het Nederlandse C-130-detachement in Mali?", True),
    ("En wie is op dit moment de commandant van die operatie?", True),
    ("Hoe heet de Nederlandse militaire genderadviseur bij UNIFIL?", True),
    ("Hoe heette die Nederlandse plaatsvervanger eigenlijk?", True),
    ("Wat is de naam van de Senior National Representative op het hoofdkwartier?", True),
    ("What was the name of the Dutch colonel who first headed ASIFU?", True),
    ("Who was the commanding officer of the Dutch C-130 detachment?", True),
    ("What was the name of the peacekeeper who was killed in the UNIFIL convoy attack?", True),  # one person
    ("Hoe heette de Nederlandse militair die in Gao omkwam?", True),
    ("Wie was de piloot van de neergestorte Apache?", True),
    ("Wie waren de slachtoffers van de aanval?", False),  # plural: what happened to them, not their names
    ("Welke militaire bijdrage leverde Nederland?", False),
    ("Onder wie viel de commandant van ASIFU?", False),  # a relation, answered by a role
    ("Voor wie werkte de inlichtingeneenheid naast de VN-gezant?", False),
    ("Under the Dutch view, who was the ASIFU commander supposed to report to?", False),
    ("Wie schreven het artikel over vredesmissies?", False),  # no role
    ("Who was the major troop contributor to MINUSMA?", False),  # an adjective, not a rank
    ("Wie waren de civiele adviseurs in Gao?", False),  # what they were, not their names
    ("Wie had in 2022 het commando over de militaire component?", False),
    ("Hoeveel militairen leverde Nederland aan het hoofdkwartier?", False),
])
def test_asks_person_tells_a_question_for_the_name_of_a_role_holder(question: str, person: bool) -> None:
    assert asks_person(question) is person


@pytest.mark.parametrize(("text", "named"), [
    ("Dat gebeurde onder president Ibrahim Boubacar Keita.", True),
    ("Met steun van toenmalig SRSG Koenders vroeg de commissaris om verlenging.", True),
    ("Van januari 2022 gaf de Nederlandse luitenant-generaal\nMatthijssen als Force Commander leiding.", True),
    ("De minister van Defensie, drs. K.H. Ollongren", True),
    ("De betrokken ministers waren Frans Timmermans (PvdA) op Buitenlandse Zaken.", True),
    ("De minister voor Buitenlandse Handel en Ontwikkelingssamenwerking, Geoffrey van Leeuwen", True),
    ("De SOLTG en Helidet vielen onder de Force Commander, terwijl de ISR-coy onder de commandant van ASIFU viel.",
     False),
    ("Het C-130 detachement werd geleid door een Nederlandse commandant.", False),
    ("De Force Commander (FC) gaf leiding aan de militaire component.", False),  # an acronym, not a party
])
def test_names_person_tells_a_passage_that_names_someone(text: str, named: bool) -> None:
    assert names_person(text) is named
