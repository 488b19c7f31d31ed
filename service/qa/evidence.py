"""Evidence first: pick the few sentences of the retrieved passages that answer the question.

Sentences are scored lexically (idf-weighted share of the question's stemmed terms they contain,
with the terms of the neighbouring sentence counting half) plus a prior from the passage's rank,
and, when the index holds sentence vectors, by their similarity to the question (looked up, not
computed: selection costs a few milliseconds). Does not write answers.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from index.lexical import analyze
from index.sentences import split_sentences
from service.types import Hit, Sentence

_MIN_CHARS = 25
Similarity = Callable[[list[str]], np.ndarray]


class IdfTable:
    """Inverse document frequencies of stemmed terms over the indexed chunks."""

    def __init__(self, texts: list[str], heads: frozenset[str] = frozenset()):
        self.heads = heads  # compound heads of the lexical index: 'expedities' matches 'langereafstandexpedities'
        df = Counter(t for text in texts for t in set(analyze(text, heads)))
        self.n = max(1, len(texts))
        self._idf = {t: math.log(1 + (self.n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self._unknown = math.log(1 + (self.n + 0.5) / 0.5)

    def __call__(self, term: str) -> float:
        return self._idf.get(term, self._unknown)

    def known(self, term: str) -> bool:
        """Whether the stemmed `term` occurs in the indexed chunks."""
        return term in self._idf

    def terms(self, text: str) -> list[str]:
        """The analyzed terms of `text`, as the lexical index sees them."""
        return analyze(text, self.heads)


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
    total = sum(w * idf(t) for t, w in q.items())
    if not total:
        return 0.0
    found = 0.0
    for t, w in q.items():
        if t in terms:
            found += w * idf(t)
        elif len(t) >= 5 and any(len(u) > len(t) + 2 and u.endswith(t) for u in terms):
            found += COMPOUND_HEAD * w * idf(t)
    return found / total


_MONEY_WORD = r"(?:geld|euro|kost|kosten|kostte|kostten|gekost|bedrag|bedragen|uitgegeven|gestoken|geïnvesteerd|budget)"
_MONEY_Q = re.compile(rf"\bhoeveel\b(?!.*\bprocent\b).*\b{_MONEY_WORD}\b"  # not "hoeveel procent … budget"
                      r"|\bwat (?:kost|kostte|kostten)\b|\bwat heeft\b.*\bgekost\b|\bhoe ?duur\b|\bwelk bedrag\b"
                      r"|\bwat\b[^?]*\bbetal(?:en|t|de|den)\b"
                      r"|\bhoe hoog (?:is|was|zijn|waren) (?:de|het) (?:kosten|budget|bedrag)", re.I)
_NUM_Q = re.compile(r"\b(hoeveel|hoe ?lang|hoe groot|hoe vaak|aantal|percentage)\b", re.I)  # after money
_DATE_Q = re.compile(r"\b(wanneer|welk jaar|welke datum|sinds wanneer|tot wanneer|op welke dag)\b", re.I)
_PLACE_Q = re.compile(r"\b(waar|welke (?:plaatsen|steden|plaats|stad|locaties?|regio'?s?|gebieden|landen)|welk land)\b",
                      re.I)
# "waar" asks a place when it opens the question or a coordinated clause ("…, en waar zaten ze?"), not in
# a relative clause ("missies waar het mensen naartoe stuurt") nor with a preposition ("waar … op letten")
_WAAR_Q = re.compile(r"(?:^|[,;:]\s*|\b(?:en|of)\s+)[Ww]aar\b"
                     r"(?!.*\s(?:op|aan|over|mee|naar|naartoe|voor|door|toe|om|tegen|bij|uit|van|in|onder)\s+(?:[a-z]\w*\s+)?[a-z]\w*(?:en|d|t|de|te)\s*\?*\s*$)")
_NAME_Q = re.compile(r"\b(wie|via wie)\b", re.I)
# a question about plans or intentions ("welke uitbreiding staat er nog gepland?") is answered by a sentence
# that states one ("Nederland zal … leveren", "het kabinet is voornemens …"), not by one about the past
_PLAN_Q = re.compile(r"\b(gepland|plannen|van plan|voornemens?|bedoeling|toekomst\w*|komende|straks)\b"
                     r"|\b(gaat|gaan)\b.*\b(doen|leveren|sturen|bijdragen|inzetten)\b", re.I)
_MONEY = re.compile(r"€|\$|\b(?:euro|eur|dollar|usd|miljoen|miljard)\b", re.I)
_NUMBER = re.compile(r"\d|\b(een|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|twintig|dertig|veertig|"
                     r"vijftig|honderd\w*|duizend\w*)\b", re.I)
_DATE = re.compile(r"\b(19|20)\d\d\b|\b(januari|februari|maart|april|mei|juni|juli|augustus|september|"
                   r"oktober|november|december)\b", re.I)
_PROPER = re.compile(r"(?<=[a-z,;:] )[A-Z][a-zà-ÿ]{2,}")
_NAME = r"[A-Z][a-zà-ÿ]+(?:[ -][A-Z][a-zà-ÿ]+)?"
_PLACE = re.compile(rf"\b(?:in|te|naar|vanuit|bij|uit|rond|nabij) {_NAME}")
# a stated plan; "zou" for a plan told in the past ("Nederland zou vanaf begin 2021 … deelnemen")
_PLAN = re.compile(r"\b(zal|zullen|zou|zouden|voornemens|voornemen|gepland|beoogd|beoogt|bedoeld|van plan|komende)\b",
                   re.I)
_NAME_LIST = re.compile(rf"{_NAME}(?:, {_NAME})+,? (?:en|of) {_NAME}")  # Menaka, Tessalit en Kidal


def expected_type(question: str) -> str | None:
    """'money', 'date', 'place', 'number', 'name' or 'plan' when the question asks for one (checked in this
    order: "hoeveel militairen gaat Nederland sturen" asks a number)."""
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


def has_type(text: str, kind: str | None) -> bool:
    """Whether `text` holds something of the expected kind (a number, a date, a place, a proper name)."""
    pattern = {"money": _MONEY, "number": _NUMBER, "date": _DATE, "place": _PLACE, "name": _PROPER,
               "plan": _PLAN}.get(kind or "")
    return bool(pattern and pattern.search(text))


def type_score(text: str, kind: str | None) -> float:
    """1 when `text` holds the expected kind; 2 for a place question answered by a list of names, and for
    a plan question answered by a stated plan (its marker words are few and its question words, such as
    "gepland", also match the past "planning": measured on dev d019, a bonus of 1 or 1.33 left it at 0)."""
    if (kind == "place" and _NAME_LIST.search(text)) or (kind == "plan" and _PLAN.search(text)):
        return 2.0
    return 1.0 if has_type(text, kind) else 0.0


REPEAT_SHARE = 0.6  # a sentence with this share of its idf mass already said in the conversation repeats it
REPEAT_PENALTY = 0.3


def said_share(terms: set[str], said: frozenset[str], idf: IdfTable) -> float:
    """Idf-weighted share of a sentence's terms that the conversation's answers already hold (0..1)."""
    total = sum(idf(t) for t in terms)
    return sum(idf(t) for t in terms if t in said) / total if total else 0.0


def repeats(terms: set[str], said: frozenset[str], idf: IdfTable) -> bool:
    """Whether a sentence with these terms mostly repeats what the conversation's answers said."""
    return bool(said) and said_share(terms, said, idf) >= REPEAT_SHARE


def score_sentences(q: dict[str, float], kind: str | None, hits: list[Hit], idf: IdfTable,
                    rank_weight: float = 0.15, type_bonus: float = 0.15,
                    similarity: Similarity | None = None, dense_weight: float = 3.0,
                    said: frozenset[str] = frozenset()) -> list[Sentence]:
    """All sentences of `hits`, best first. With `similarity` (sentence texts -> cosine to the question)
    a sentence loses `dense_weight` x its distance to the most similar sentence. With `said` (the terms
    of the earlier answers in a conversation) a sentence that mostly repeats them loses REPEAT_PENALTY:
    a follow-up asks for something new."""
    out: list[Sentence] = []
    for h_i, hit in enumerate(hits):
        spans = split_sentences(hit.text)
        term_sets = [set(idf.terms(hit.text[s:e])) for s, e in spans]
        for i, (s, e) in enumerate(spans):
            own = coverage(q, term_sets[i], idf)
            near = max((coverage(q, term_sets[j] | term_sets[i], idf)
                        for j in (i - 1, i + 1) if 0 <= j < len(spans)), default=own)
            text = hit.text[s:e].strip()
            score = own + 0.5 * (near - own) + rank_weight / (1 + h_i)
            score += type_bonus * type_score(text, kind)
            score *= 0.5 if e - s < _MIN_CHARS else 1.0
            if repeats(term_sets[i], said, idf):
                score -= REPEAT_PENALTY
            out.append(Sentence(text, h_i, s, e, score))
    if similarity is not None and out:
        sims = similarity([x.text for x in out])
        top = float(sims.max())
        out = [replace(x, score=x.score + dense_weight * (float(v) - top)) for x, v in zip(out, sims)]
    out.sort(key=lambda x: -x.score)
    return out


def select_evidence(q: dict[str, float], kind: str | None, hits: list[Hit], idf: IdfTable,
                    max_sentences: int = 4, max_chars: int = 900, similarity: Similarity | None = None,
                    said: frozenset[str] = frozenset()) -> list[Sentence]:
    """The best sentences (no near-duplicates), within a character budget, best first; a chosen sentence
    brings along the next one when that continues it (`continuation`), right behind it."""
    chosen: list[Sentence] = []
    seen: set[str] = set()
    used = 0
    spans: dict[int, list[tuple[int, int]]] = {}  # per hit, split once

    def take(sent: Sentence) -> bool:
        nonlocal used
        key = re.sub(r"\W+", "", sent.text.lower())[:80]
        if key in seen or used + len(sent.text) > max_chars:
            return False
        seen.add(key)
        chosen.append(sent)
        used += len(sent.text)
        return True

    for sent in score_sentences(q, kind, hits, idf, similarity=similarity, said=said):
        if len(chosen) >= max_sentences:
            break
        if take(sent) and len(chosen) < max_sentences:
            text = hits[sent.hit].text
            nxt = continuation(sent, text, idf, spans.setdefault(sent.hit, split_sentences(text)))
            if nxt and not repeats(set(idf.terms(nxt.text)), said, idf):
                take(nxt)
    return chosen


_DEMONSTRATIVE = re.compile(r"(?:Deze|Dit|Die|Dat|Zulke|Dergelijke)\s+([a-zà-ÿ][\w-]*)")


def continuation(sent: Sentence, text: str, idf: IdfTable, spans: list[tuple[int, int]] | None = None,
                 ) -> Sentence | None:
    """The sentence after `sent` in its passage when it refers back to it with a demonstrative and a noun
    `sent` holds ("… een aanvullende militaire bijdrage zal leveren." "Deze bijdrage betreft …"; also a
    compound's head: "staffunctionarissen" … "Deze functionaris"). Its details answer what `sent` only
    announces, yet it scores low on its own; it inherits `sent`'s score. None otherwise. `spans`: the
    sentences of `text`, when already split."""
    spans = split_sentences(text) if spans is None else spans
    i = next((j for j, (s, _) in enumerate(spans) if s == sent.start), None)
    if i is None or i + 1 >= len(spans):
        return None
    s, e = spans[i + 1]
    body = text[s:e].strip()
    m = _DEMONSTRATIVE.match(body)
    noun = idf.terms(m.group(1)) if m else []
    if not noun or len(body) < _MIN_CHARS:
        return None
    before = set(idf.terms(sent.text))
    if noun[0] not in before and not any(len(noun[0]) >= 4 and t.endswith(noun[0]) for t in before):
        return None
    return Sentence(body, sent.hit, s, e, sent.score)
