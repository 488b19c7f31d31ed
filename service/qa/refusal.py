"""Answerability signals over the retrieved passages: the question's names and codes that the reports do not
hold, and the passages' coverage of the question's terms. They are features of the learned answerability
model (service/qa/learned.py), which decides in code whether to refuse; the model's own "weet ik niet" is
never trusted. Does not look at the generated text.
"""

from __future__ import annotations

import re

from index.lexical import analyze
from index.text import NOT_NAMES, SPOKEN_FILLER, fold, squash
from service.qa.evidence import IdfTable, coverage, question_weights
from service.types import Hit

_ENTITY = re.compile(r"\b(?:[A-Z][A-Za-z]*[A-Z][A-Za-z]*|[A-Z]-?\d+|[A-Z][a-zà-ÿ]{2,})(?:-\d+)?\b")
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
