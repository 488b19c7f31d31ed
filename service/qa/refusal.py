"""Decide in code whether the reports hold the answer; the model's own "weet ik niet" is not trusted.

Signals, checked on the dev set (docs/answers.md): a name or code from the question that no retrieved
passage mentions; an expected date or number absent from every retrieved sentence about a rarely
mentioned acronym of the question (a mission such as UNMISS); the role asked for in "wie was de <rol>"
absent from the evidence; an amount of money asked for and none in the passages; and a question whose
terms the passages mostly lack (off-topic). Does not look at the generated text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.lexical import analyze
from index.sentences import split_sentences
from index.text import NOT_NAMES, SPOKEN_FILLER, fold, squash
from service.qa.evidence import IdfTable, coverage, has_type, question_weights
from service.types import Hit, Sentence

_ENTITY = re.compile(r"\b(?:[A-Z][A-Za-z]*[A-Z][A-Za-z]*|[A-Z]-?\d+|[A-Z][a-zà-ÿ]{2,})(?:-\d+)?\b")


@dataclass(frozen=True)
class Decision:
    refuse: bool
    reason: str = ""


_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+)([A-Z][a-zà-ÿ]+)\b")


def question_entities(question: str) -> list[str]:
    """Names and codes in the question ('UNAMID', 'Darfur', 'C-130'), common words left out; so is a
    plainly capitalised first word of a sentence ('Beschrijf', 'Leg uit'): that capital is grammar."""
    firsts = {m.start(1) for m in _SENTENCE_START.finditer(question)}
    return [m.group() for m in _ENTITY.finditer(question)
            if fold(m.group()) not in NOT_NAMES and m.start() not in firsts]


def is_compound(word: str, idf: IdfTable) -> bool:
    """'Kamermotie', 'Malimissie': two words the reports use (a linking s allowed), so not a name."""
    w = fold(word)
    for i in range(3, len(w) - 3):
        pre, suf = w[:i], w[i:]
        for p in {pre, pre[:-1] if pre.endswith("s") else pre}:
            a, b = analyze(p), analyze(suf)
            if len(a) == 1 and len(b) == 1 and idf.known(a[0]) and idf.known(b[0]):
                return True
    return False


_DEMONYM = re.compile(r"[A-Z][a-zà-ÿ]{2,}(?:se|sche)")  # Noorse, Amerikaanse, Belgische: not the unknown name


def missing_entities(question: str, hits: list[Hit], heads: frozenset[str] = frozenset(),
                     idf: IdfTable | None = None, corpus: str = "") -> list[str]:
    """Question entities that neither the retrieved passages nor (when given, squashed) the whole corpus
    contain: 'Mali' is known even when the passages about ASIFU do not say it. Compounds of known words
    ('Kameroverleg') and adjectives of nationality ('Noorse') are not names and are skipped."""
    haystack = None  # the passages, squashed; built only for a name the corpus check did not settle
    out = []
    for e in question_entities(question):
        key = squash(e)
        if _DEMONYM.fullmatch(e) or (corpus and key in corpus):
            continue
        if haystack is None:
            haystack = squash(" ".join(h.text for h in hits))
        if key in haystack:
            continue
        if e[1:].islower() and (len(analyze(e, heads)) > len(analyze(e)) or (idf and is_compound(e, idf))):
            continue  # a Dutch compound of corpus words, not an unknown name
        out.append(e)
    return out


_ACRONYM = re.compile(r"[A-Z][A-Z0-9-]{2,}")
_WHO_ROLE = re.compile(r"\bwie (?:was|is|waren|zijn|werd|wordt) (?:de|het|een)\s+(\w+)", re.I)


def role_missing(question: str, evidence: list[Sentence]) -> str | None:
    """For 'wie was de <rol> ...': the role word when no evidence sentence mentions it."""
    m = _WHO_ROLE.search(question)
    if not m:
        return None
    role = set(analyze(m.group(1)))
    found = set().union(*(set(analyze(s.text)) for s in evidence)) if evidence else set()
    return None if role & found else m.group(1)


def type_missing(question: str, kind: str | None, hits: list[Hit], idf: IdfTable, min_idf: float = 3.8) -> bool:
    """The question asks a date or number about a rarely mentioned acronym (a mission like UNMISS, in
    at most ~2% of the passages) and no retrieved sentence that mentions it holds one."""
    if kind not in ("date", "number"):
        return False
    rare = [fold(e) for e in question_entities(question)
            if _ACRONYM.fullmatch(e) and (t := analyze(e)) and idf(t[0]) >= min_idf]
    if not rare:
        return False
    about = [h.text[a:b] for h in hits for a, b in split_sentences(h.text)]
    about = [t for t in about if any(name in fold(t) for name in rare)]
    return bool(about) and not any(has_type(t, kind) for t in about)


# Words of spoken questions that carry no topic and that formal reports rarely use ("Waarom doet Nederland
# eigenlijk mee aan missies waar het maar een handvol mensen naartoe stuurt?"): left out of coverage.
_CHATTER = frozenset(t for w in SPOKEN_FILLER for t in analyze(w))


def passage_coverage(question: str, hits: list[Hit], idf: IdfTable, conversation: str = "") -> float:
    """Idf-weighted share of the question's terms that the retrieved passages hold anywhere: an off-topic
    question ("Wat is het recept voor appeltaart?") finds few. In a follow-up the conversation's terms
    weigh as much as the question's together: an elliptic question names its subject only there."""
    found = {t for h in hits for t in idf.terms(h.text)}
    weights = question_weights(question.replace("-", " "), idf, conversation, history_share=1.0)
    return coverage({t: w for t, w in weights.items() if t not in _CHATTER}, found, idf)


def money_missing(kind: str | None, hits: list[Hit]) -> bool:
    """A question about an amount of money ('hoeveel heeft … gekost') and no amount in any passage."""
    return kind == "money" and not any(has_type(h.text, "money") for h in hits)


def decide(question: str, kind: str | None, hits: list[Hit], evidence: list[Sentence], idf: IdfTable,
           heads: frozenset[str] = frozenset(), conversation: str = "", min_coverage: float = 0.33,
           corpus: str = "") -> Decision:
    """`corpus`: all indexed text, squashed (`squash`), to look names up beyond the passages."""
    if not hits or not evidence:
        return Decision(True, "geen passages gevonden")
    if missing := missing_entities(question, hits, heads, idf, corpus):
        return Decision(True, f"niet gevonden in de rapporten: {', '.join(missing)}")
    if type_missing(question, kind, hits, idf):
        return Decision(True, f"geen {'datum' if kind == 'date' else 'aantal'} gevonden in de passages")
    if (role := role_missing(question, evidence[:4])) is not None:
        return Decision(True, f"'{role}' niet genoemd in de gevonden passages")
    if money_missing(kind, hits):
        return Decision(True, "geen bedrag gevonden in de passages")
    if passage_coverage(question, hits, idf, conversation) < min_coverage:
        return Decision(True, "te weinig overeenkomst met de gevonden passages")
    return Decision(False)
