"""What the question asks and what a sentence holds: idf weights of the question's stemmed terms
(`IdfTable`, `question_weights`), their coverage by a sentence or passage, the expected answer type
(`expected_type`: a number, date, place, name, amount or plan) and whether a text holds one
(`has_type`), and whether a sentence repeats the conversation's earlier answers. These are features
of the learned sentence ranker and answerability model (service/qa/learned.py). Does not choose
sentences and does not write answers.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable

import numpy as np

from index.lexical import analyze

Similarity = Callable[[list[str]], np.ndarray]


class IdfTable:
    """Inverse document frequencies of stemmed terms over the indexed chunks."""

    def __init__(self, texts: list[str], heads: frozenset[str] = frozenset()):
        self.heads = heads  # compound heads of the lexical index: 'expedities' matches 'langereafstandexpedities'
        df = Counter(t for text in texts for t in set(analyze(text, heads)))
        self.n = max(1, len(texts))
        self._idf = {t: math.log(1 + (self.n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self._unknown = math.log(1 + (self.n + 0.5) / 0.5)
        self._terms: dict[str, list[str]] = {}  # analyzed texts: passages and their sentences recur
        self._compounds: dict[str, frozenset[str]] = {}

    def __call__(self, term: str) -> float:
        return self._idf.get(term, self._unknown)

    def known(self, term: str) -> bool:
        """Whether the stemmed `term` occurs in the indexed chunks."""
        return term in self._idf

    def terms(self, text: str) -> list[str]:
        """The analyzed terms of `text`, as the lexical index sees them (cached: do not modify)."""
        terms = self._terms.get(text)
        if terms is None:
            terms = analyze(text, self.heads)
            if len(self._terms) >= 50_000:
                self._terms.clear()
            self._terms[text] = terms
        return terms

    def compounds_of(self, term: str) -> frozenset[str]:
        """Indexed terms that end in `term` and are at least three letters longer: its compounds."""
        found = self._compounds.get(term)
        if found is None:
            found = frozenset(u for u in self._idf if len(u) > len(term) + 2 and u.endswith(term))
            self._compounds[term] = found
        return found


def question_weights(question: str, idf: IdfTable, history_text: str = "", history_share: float = 0.25,
                     ) -> dict[str, float]:
    """Stemmed question terms with weight 1; terms found only in the conversation so far share, all
    together, `history_share` of the question's idf mass (so a long earlier answer cannot dominate)."""
    weights = {t: 1.0 for t in idf.terms(question)}
    extra = {t for t in idf.terms(history_text) if t not in weights}
    if extra:
        mass = sum(idf(t) for t in weights) or 1.0
        w = history_share * mass / sum(idf(t) for t in extra)
        weights.update({t: min(w, 1.0) for t in extra})
    return weights


COMPOUND_HEAD = 0.7  # credit for a question term that is the head of a compound: expedities ~ afstandsexpedities


def coverage(q: dict[str, float], terms: set[str], idf: IdfTable) -> float:
    """Weighted, idf-weighted share of the question terms found in `terms` (0..1); a term that only
    ends a longer word of `terms` (Dutch compounds put the head last) counts COMPOUND_HEAD."""
    return Coverage(q, idf)(terms)


class Coverage:
    """`coverage` with the question's side computed once, for scoring many sentences against it."""

    def __init__(self, q: dict[str, float], idf: IdfTable):
        self.mass = [(t, w * idf(t), idf.compounds_of(t) if len(t) >= 5 else frozenset()) for t, w in q.items()]
        self.total = sum(m for _, m, _ in self.mass)

    def __call__(self, terms: set[str]) -> float:
        if not self.total:
            return 0.0
        found = 0.0
        for t, m, compounds in self.mass:
            if t in terms:
                found += m
            elif compounds and not compounds.isdisjoint(terms):
                found += COMPOUND_HEAD * m
        return found / self.total


_MONEY_WORD = r"(?:geld|euro|kost|kosten|kostte|kostten|gekost|bedrag|bedragen|uitgegeven|gestoken|geïnvesteerd|budget)"
_MONEY_Q = re.compile(rf"\bhoeveel\b(?!.*\bprocent\b).*\b{_MONEY_WORD}\b"  # not "hoeveel procent … budget"
                      r"|\bwat (?:kost|kostte|kostten)\b|\bwat heeft\b.*\bgekost\b|\bhoe ?duur\b|\bwelk bedrag\b"
                      r"|\bwat\b[^?]*\bbetal(?:en|t|de|den)\b"
                      r"|\bhoe hoog (?:is|was|zijn|waren) (?:de|het) (?:kosten|budget|bedrag)"
                      r"|\bhow much\b.*\b(?:money|cost|costs|budget|euros?|pay|paid|spend|spent)\b"
                      r"|\bwhat (?:did|does|do|will|would)\b.*\bcost\b|\bhow expensive\b"
                      r"|\b(?:the|total) costs? of\b", re.I)
_NUM_Q = re.compile(r"\b(hoeveel|hoe ?lang|hoe groot|hoe vaak|aantal|percentage"
                    r"|how (?:many|much|long|big|large|often)|number of)\b", re.I)  # after money
_DATE_Q = re.compile(r"\b(wanneer|welk jaar|welke datum|sinds wanneer|tot wanneer|op welke dag"
                     r"|when|(?:what|which) (?:year|date|month))\b", re.I)
_PLACE_Q = re.compile(r"\b(waar|welke (?:plaatsen|steden|plaats|stad|locaties?|regio'?s?|gebieden|landen)|welk land"
                      r"|where|(?:what|which) (?:places|cities|city|place|locations?|regions?|areas|countries"
                      r"|country))\b", re.I)
# "waar" asks a place when it opens the question or a coordinated clause ("…, en waar zaten ze?"), not in
# a relative clause ("missies waar het mensen naartoe stuurt") nor with a preposition ("waar … op letten")
_WAAR_Q = re.compile(r"(?:^|[,;:]\s*|\b(?:en|of)\s+)[Ww]aar\b"
                     r"(?!.*\s(?:op|aan|over|mee|naar|naartoe|voor|door|toe|om|tegen|bij|uit|van|in|onder)\s+(?:[a-z]\w*\s+)?[a-z]\w*(?:en|d|t|de|te)\s*\?*\s*$)")
_NAME_Q = re.compile(r"\b(wie|via wie|who|whom)\b", re.I)
# a question about plans or intentions ("welke uitbreiding staat er nog gepland?") is answered by a sentence
# that states one ("Nederland zal … leveren", "het kabinet is voornemens …"), not by one about the past
_PLAN_Q = re.compile(r"\b(gepland|plannen|van plan|voornemens?|bedoeling|toekomst\w*|komende|straks)\b"
                     r"|\b(gaat|gaan)\b.*\b(doen|leveren|sturen|bijdragen|inzetten)\b", re.I)
_MONEY = re.compile(r"€|\$|\b(?:euro|eur|dollar|usd|miljoen|miljard)\b", re.I)
_NUMBER = re.compile(r"\d|\b(een|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|\w*tien|"
                     r"(?:\w+[eë]n)?(?:twin|der|veer|vijf|zes|zeven|tach|negen)tig|honderd\w*|duizend\w*)\b", re.I)
_DATE = re.compile(r"\b(19|20)\d\d\b|\b(januari|februari|maart|april|mei|juni|juli|augustus|september|"
                   r"oktober|november|december)\b", re.I)
_PROPER = re.compile(r"(?<=[a-z,;:] )[A-Z][a-zà-ÿ]{2,}")
_NAME = r"[A-Z][a-zà-ÿ]+(?:[ -][A-Z][a-zà-ÿ]+)?"
_PLACE = re.compile(rf"\b(?:in|te|naar|vanuit|bij|uit|rond|nabij) {_NAME}")
# a stated plan; "zou" for a plan told in the past ("Nederland zou vanaf begin 2021 … deelnemen")
_PLAN = re.compile(r"\b(zal|zullen|zou|zouden|voornemens|voornemen|gepland|beoogd|beoogt|bedoeld|van plan|komende)\b",
                   re.I)


# a why-question ("Waarom …?", "Om welke reden …?", "Why …?") asks for an explanation (compose.EXPLAIN_WORDS)
_WHY_Q = re.compile(r"\b(waarom|om welke reden|wat (?:is|was|waren|zijn) de (?:reden|oorzaak)\w*|waardoor|hoe komt het"
                    r"|why)\b", re.I)


def asks_reason(question: str) -> bool:
    """Whether the question asks why."""
    return bool(_WHY_Q.search(question))


def expected_type(question: str) -> str | None:
    """'money', 'date', 'place', 'number', 'name' or 'plan' when the question asks for one (checked in this
    order: "hoeveel militairen gaat Nederland sturen" asks a number). English questions ask the same kinds
    ("When …", "How many …", "Who …"; no English 'plan')."""
    if _MONEY_Q.search(question):
        return "money"
    if _DATE_Q.search(question):
        return "date"
    if (m := _PLACE_Q.search(question)) and (m.group().lower() != "waar" or _WAAR_Q.search(question)):
        return "place"
    if _NUM_Q.search(question):
        return "number"
    if _NAME_Q.search(question):
        return "name"
    if _PLAN_Q.search(question):
        return "plan"
    return None


# Question words that open the second part of a two-part question ("…, en waarom …?", "…, and when …?").
_ASK = (r"(?:wat|wie|waar|wanneer|waarom|hoe|hoeveel|welke?|in welke?|met welke?|op welke?|voor welke?|"
        r"sinds wanneer|tot wanneer|what|who|where|when|why|how|which)")
_SECOND_PART = re.compile(rf",? (?:en|and) (?={_ASK}\b)", re.I)
_TWO_ASKS = re.compile(rf"^({_ASK}) (?:en|and) ({_ASK})\b ?", re.I)  # "Waar en in welk jaar opende …?"


def question_parts(question: str) -> tuple[str, str] | None:
    """The two questions of a question that asks two things, or None. The second is elliptic ("waarom
    ging dat niet door?"); the caller reads it with the first as its context, as a follow-up."""
    question = question.strip()
    if m := _TWO_ASKS.match(question):
        second = question[m.start(2):]
        words = question[m.end():].split()
        if re.search(r"(?:welke?|which)$", m.group(2), re.I):  # "in welk jaar …": the asked noun goes too
            words = words[1:]
        if len(words) < 2:
            return None
        return f"{m.group(1)} {' '.join(words)}", second[0].upper() + second[1:]
    m = _SECOND_PART.search(question)
    if not m or len(question[:m.start()].split()) < 3 or len(question[m.end():].split()) < 1:
        return None
    first, second = question[:m.start()].strip(" ,"), question[m.end():].strip()
    return first.rstrip("?") + "?", second[0].upper() + second[1:]


def has_type(text: str, kind: str | None) -> bool:
    """Whether `text` holds something of the expected kind (a number, a date, a place, a proper name)."""
    pattern = {"money": _MONEY, "number": _NUMBER, "date": _DATE, "place": _PLACE, "name": _PROPER,
               "plan": _PLAN}.get(kind or "")
    return bool(pattern and pattern.search(text))


REPEAT_SHARE = 0.6  # a sentence with this share of its idf mass already said in the conversation repeats it


def said_share(terms: set[str], said: frozenset[str], idf: IdfTable) -> float:
    """Idf-weighted share of a sentence's terms that the conversation's answers already hold (0..1)."""
    total = sum(idf(t) for t in terms)
    return sum(idf(t) for t in terms if t in said) / total if total else 0.0


def repeats(terms: set[str], said: frozenset[str], idf: IdfTable) -> bool:
    """Whether a sentence with these terms mostly repeats what the conversation's answers said."""
    return bool(said) and said_share(terms, said, idf) >= REPEAT_SHARE


# A question that asks a person's name by their role ("Wie was de commandant van …?", "Hoe heet de
# Nederlandse genderadviseur …?", "What was the name of the Dutch colonel …?") or as one person in a mission
# ("… the name of the peacekeeper who was killed …?"; the reports name no soldier, victim or pilot): answerable
# only from a passage that names someone in a role ("president Keita", "SRSG Koenders", "kolonel Jansen").
_ROLE_NL = (r"commandant|commandante|bevelhebber|kolonel|generaal|majoor|luitenant|kapitein|officier|adviseur|"
            r"adviseuse|deskundige|expert|plaatsvervanger|functionaris|woordvoerder|ambassadeur|attaché|gezant|"
            r"vertegenwoordiger|minister|staatssecretaris|directeur|leider|chef|coördinator|hoofd|"
            r"militair|soldaat|peacekeeper|slachtoffer|piloot|agent")
_ROLE_EN = (r"commander|commanding officer|colonel|lieutenant|captain|officer|advis[eo]r|expert|deputy|"
            r"spokes(?:wo)?man|spokesperson|ambassador|envoy|representative|minister|director|leader|coordinator|"
            r"soldier|peacekeeper|victim|pilot")
_ROLE = rf"(?:\w*(?:{_ROLE_NL})|(?:{_ROLE_EN}))\b"  # one person: "Wie waren de civiele adviseurs?" asks what they were
# who the role-holder is: "Wie was/is (op dit moment) de …commandant", "Hoe heet(te) de/die … adviseur",
# "(Wat is) de naam van de … kolonel", "Who was the … commander", "the name of the … colonel"; not "Onder
# wie viel de commandant", "Voor wie werkte …", "who was the commander supposed to report to?" (those ask a
# relation, answered by a role)
_ROLE_WORD = re.compile(rf"\b{_ROLE}", re.I)
_PERSON_ASK = re.compile(
    rf"(?:^|[,;:]\s*|\b(?:en|and)\s+)(?:wie (?:is|was|zijn|waren|werd|wordt)\b[^?]*?\b{_ROLE}"
    rf"|who (?:is|was|were|are)\b(?![^?]*\b(?:to|for|with|under|by|from)\s*\??\s*$)[^?]*?\b{_ROLE})"
    rf"|\bhoe he(?:et|ette|etten|ten)\b[^?]*?\b{_ROLE}|\b(?:naam|name)\b[^?]*?\b{_ROLE}", re.I)
_TITLE = (r"president|premier|minister|staatssecretaris|generaal|kolonel|majoor|luitenant|kapitein|commandant|"
          r"ambassadeur|gezant|SRSG|SVVSG|heer|mevrouw|drs?\.|prof\.|mr\.|ir\.|General|Colonel|Major|"
          r"Ambassador|Commander|President|Minister")
_PERSON = r"[A-Z][a-zà-ÿ]+(?:\s+(?:van|de|der|den|van der|van den|ter|ten))?\s+[A-Z][a-zà-ÿ]+(?:-[A-Z][a-zà-ÿ]+)?"
# a title or role word followed by a name ("luitenant-generaal Matthijssen"), a name with initials ("drs. K.H.
# Ollongren"), a name with a party ("Jeanine Hennis-Plasschaert (VVD)"), a minister's title and name ("De minister
# voor Buitenlandse Handel en Ontwikkelingssamenwerking, Geoffrey van Leeuwen")
_NAMED = re.compile(rf"\b(?:{_TITLE})(?:-[a-z]+)?\s+(?:[A-Z][a-zà-ÿ]+\s+)*[A-Z][a-zà-ÿ]{{2,}}"
                    r"|\b(?:[A-Z]\.){1,4}\s?[A-Z][a-zà-ÿ]{2,}"
                    rf"|\b{_PERSON}\s+\((?:VVD|PvdA|CDA|D66|GL|GroenLinks|SP|PVV|CU|ChristenUnie|SGP|PvdD|BBB|NSC|JA21"
                    r"|FvD|Volt|DENK)\)"
                    rf"|\b(?:minister|staatssecretaris)\b[^,.;]{{0,60}},\s+{_PERSON}")


def asks_person(question: str) -> bool:
    """Whether the question asks who someone in a role is, or what they are called."""
    return bool(_ROLE_WORD.search(question) and _PERSON_ASK.search(question))  # the role first: it is cheap


def names_person(text: str) -> bool:
    """Whether `text` names a person by title or role ("president Ibrahim Boubacar Keita", "SRSG Koenders")."""
    return bool(_NAMED.search(text))


# A sentence that continues its predecessor: it opens by referring back or linking on ("Daarbij raakten
# vier peacekeepers gewond.", "Deze methodiek is reeds toegepast …", "Ten tweede …").
_CONTINUES = re.compile(
    r"^(?:daarbij|daarnaast|daarom|daardoor|daarmee|daarna|daarvoor|hierbij|hierdoor|hiermee|hierna|hiervoor|"
    r"hierin|daarin|bovendien|ook|echter|wel|zo|dit|deze|die|dat|zij|ze|hij|ten eerste|ten tweede|"
    r"ten derde|tot slot|ten slotte|verder|vervolgens|tevens|eveneens|de reden hiervoor|de reden daarvoor|"
    r"dergelijke|zulke)\b", re.I)


def continues(text: str) -> bool:
    """Whether a sentence continues the one before it (opens by referring back or linking on)."""
    return bool(_CONTINUES.match(text.strip()))
