"""Pure metric functions shared by the eval harness, the tuning scripts and the golden tests.

Evidence is matched on character 8-grams of a letters-and-digits-only form, so a quote from the raw
PDF text still matches the cleaned text (rejoined words, removed hyphens and footnote marks).
Answer checks: key facts (whole tokens, Dutch number words = digits, as the independent scorer),
[n] markers against the returned citations, sentence support by the cited passages, and a
function-word test for Dutch. The rules are spelled out in eval/README.md. No I/O and no service
calls: values in, numbers out.
"""

from __future__ import annotations

import math
import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]")


def squash(text: str) -> str:
    """Lower-case letters and digits only, accents folded: 'Veiligheids raad.ii' -> 'veiligheidsraadii'."""
    text = unicodedata.normalize("NFKD", text).lower().replace("%", "procent")
    return _NON_ALNUM.sub("", text)


def grams(text: str, n: int = 8) -> set[str]:
    s = squash(text)
    return {s[i:i + n] for i in range(max(1, len(s) - n + 1))}


def holds(passage: str, quote: str, need: float = 0.7) -> bool:
    """True when at least `need` of the quote's 8-grams occur in the passage."""
    q = grams(quote)
    return bool(q) and len(q & grams(passage)) / len(q) >= need


def evidence_ranks(texts: list[str], evidence: list[str]) -> list[int | None]:
    """1-based rank of the first text holding each evidence quote (None when absent)."""
    return [next((i + 1 for i, t in enumerate(texts) if holds(t, q)), None) for q in evidence]


def retrieval_row(texts: list[str], evidence: list[str]) -> dict:
    """hit@k, reciprocal rank, nDCG@10 and all-evidence@10 for one question's ranked texts."""
    ranks = evidence_ranks(texts, evidence)
    first = min((r for r in ranks if r), default=None)
    relevant = [any(holds(t, q) for q in evidence) for t in texts[:10]]
    dcg = sum(1 / math.log2(i + 2) for i, rel in enumerate(relevant) if rel)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(evidence), 10)))
    row = {f"hit@{k}": bool(first and first <= k) for k in (1, 3, 5, 10)}
    row.update(rank=first, rr=1 / first if first else 0.0, ndcg10=dcg / ideal if ideal else 0.0,
               all_evidence10=all(r and r <= 10 for r in ranks))
    return row


def mean(values) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return round(sum(vals) / len(vals), 4) if vals else None


def percentile(values, p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of the non-None values; None when there are none."""
    vals = sorted(float(v) for v in values if v is not None)
    if not vals:
        return None
    return round(vals[max(0, math.ceil(p / 100 * len(vals)) - 1)], 1)


# --- Key facts: Dutch number words <-> digits -------------------------------------------------------

_UNITS = ("nul een twee drie vier vijf zes zeven acht negen tien elf twaalf dertien veertien vijftien "
          "zestien zeventien achttien negentien").split()
_TENS = {"twintig": 20, "dertig": 30, "veertig": 40, "vijftig": 50, "zestig": 60, "zeventig": 70,
         "tachtig": 80, "negentig": 90}
_SMALL = {w: i for i, w in enumerate(_UNITS)} | _TENS
_BELOW_100 = {**_SMALL, **{f"{_UNITS[u]}en{t}": n + u for t, n in _TENS.items() for u in range(1, 10)}}
_WORD_OF = {n: w for w, n in _BELOW_100.items()}


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


def dutch_number(word: str) -> int | None:
    """Value of a Dutch number word below 1,000: 'Drie' -> 3, 'honderdvijftig' -> 150.

    Words outside that grammar (or above 999) give None.
    """
    w = _fold(word)
    if w in _BELOW_100:
        return _BELOW_100[w]
    head, sep, rest = w.partition("honderd")
    if not sep or (head and head not in _UNITS[2:10]):
        return None
    hundreds = _UNITS.index(head) if head else 1
    tail = _BELOW_100.get(rest.removeprefix("en")) if rest else 0
    return None if tail is None else hundreds * 100 + tail


def number_word(n: int) -> str | None:
    """The Dutch word for 0 <= n < 1,000 ('21' -> 'eenentwintig'); None outside that range."""
    if not 0 <= n < 1000:
        return None
    if n < 100:
        return _WORD_OF[n]
    head = "" if n // 100 == 1 else _UNITS[n // 100]
    return f"{head}honderd{_WORD_OF[n % 100] if n % 100 else ''}"


# the independent scorer's (shared/tools/score.py) number words: what it equates with digits
_SCORER_NUMBERS = {w: str(i) for i, w in enumerate(_UNITS)} | {
    "twintig": "20", "eenentwintig": "21", "dertig": "30", "veertig": "40", "vijftig": "50", "zestig": "60",
    "zeventig": "70", "tachtig": "80", "negentig": "90", "honderd": "100"}


def fact_tokens(text: str) -> list[str]:
    """Lower-case word and number tokens as the scorer sees them: [n] markers dropped, 1.500 -> 1500,
    accents folded, number words up to twenty (and the tens, eenentwintig, honderd) -> digits."""
    text = _MARKER.sub(" ", text)
    text = unicodedata.normalize("NFKD", text).lower().replace("%", " procent ")
    text = re.sub(r"(?<=\d)[.,](?=\d{3}\b)", "", text)
    return [_SCORER_NUMBERS.get(t, t) for t in re.findall(r"[a-z0-9]+", text)]


def _same_token(fact_tok: str, answer_tok: str) -> bool:
    """Numbers must be equal; a word of 4 letters may start an inflection, a longer one sit inside a
    compound (Brit -> Britse, mensenrechten -> mensenrechtenbepalingen)."""
    if fact_tok == answer_tok:
        return True
    if not fact_tok.isalpha() or len(fact_tok) < 4:
        return False
    return answer_tok.startswith(fact_tok) if len(fact_tok) == 4 else fact_tok in answer_tok


def has_fact(answer: str, fact: str) -> bool:
    """A key fact counts when its tokens appear in a row in the answer, as whole tokens: '[3]' is no
    'drie', '2021' no 'eenentwintig', 'viering' no 'vier' (the rule of shared/tools/score.py).

    >>> has_fact("Drie [1] eenheden", "drie"), has_fact("zie [3]", "drie"), has_fact("de viering", "vier")
    (True, False, False)
    """
    f, a = fact_tokens(fact), fact_tokens(answer)
    if not f:
        return False
    return any(all(_same_token(x, y) for x, y in zip(f, a[i:i + len(f)])) for i in range(len(a) - len(f) + 1))


def key_fact_recall(answer: str, facts: list[str]) -> float | None:
    """Share of key facts present in the answer (None when the item has no key facts)."""
    return sum(has_fact(answer, f) for f in facts) / len(facts) if facts else None


# --- Citations and support ---------------------------------------------------------------------------

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_MARKER_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\d+(?:\s*,\s*\d+)*\])+)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'‘“(\[0-9A-ZÀ-Ý])|\n+")
_WORD = re.compile(r"[a-z]+")
STOP_WORDS = frozenset("""
    deze dit die dat zijn werd worden wordt waren hebben heeft hadden door naar voor over onder tussen
    niet ook maar meer veel zeer zich haar hun omdat waar wanneer welke want daar hier daarom daarbij
    daarmee daardoor daarnaast zoals tegen tijdens zonder binnen sinds vanaf alle andere eigen enkele elke
    geen kunnen konden zouden moet moeten mocht willen wilde steeds alleen echter volgens andere
    waarbij waarin waarop welk hierbij hiervan ervan erin eerst later toen dan dus wel even heel
""".split())


def markers(text: str) -> set[int]:
    """Citation numbers referenced in a text: '[1] ... [2, 3]' -> {1, 2, 3}."""
    return {int(n) for group in _MARKER.findall(text) for n in group.split(",")}


def citations_valid(answer: str, citations: list[dict]) -> bool:
    """Every [n] marker in the answer refers to a returned citation n (vacuously true without markers)."""
    return markers(answer) <= {c.get("n") for c in citations}


def cited_evidence(citations: list[dict], evidence: list[str], only: set[int] | None = None) -> bool:
    """Any citation's passage (restricted to numbers in `only` when given) holds any evidence quote."""
    texts = [c.get("text", "") for c in citations if only is None or c.get("n") in only]
    return any(holds(t, q) for t in texts for q in evidence)


def sentences(text: str) -> list[str]:
    """Sentences of an answer; a marker written after the full stop stays with its sentence."""
    text = _MARKER_AFTER_STOP.sub(r"\2\1", text)
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def content_words(text: str) -> list[str]:
    """Lower-case, accent-folded words of at least 4 letters that are not stop words (markers dropped)."""
    return [w for w in _WORD.findall(_fold(_MARKER.sub(" ", text))) if len(w) >= 4 and w not in STOP_WORDS]


def sentence_supported(sentence: str, citations: list[dict], need: float = 0.5) -> bool:
    """A sentence with markers whose content words are at least `need` present in its cited passages.

    Presence is tested on the squashed passage text, so inflections that extend a word and PDF
    artefacts (hyphenated line breaks) still count.
    """
    refs = markers(sentence)
    passages = [squash(c.get("text", "")) for c in citations if c.get("n") in refs]
    words = content_words(sentence)
    if not passages or not words:
        return False
    return sum(any(w in p for p in passages) for w in words) / len(words) >= need


def supported_share(answer: str, citations: list[dict]) -> float | None:
    """Share of the answer's sentences (with content words) that are supported by their cited passages."""
    counted = [s for s in sentences(answer) if content_words(s)]
    if not counted:
        return None
    return sum(sentence_supported(s, citations) for s in counted) / len(counted)


# --- Language ----------------------------------------------------------------------------------------

_NL_FUNCTION = frozenset("""de het een van en dat op te voor met niet aan er ook als bij door om werd wordt
    naar heeft hebben waren deze die dit wat hoe waarom maar of tot over uit worden kan zou hun onder
    tussen na zijn zij wij ze""".split())
_EN_FUNCTION = frozenset("""the and of to that for with are were this which how why but or by from has have
    be on as at it an not also would their they we there been""".split())


def is_dutch(text: str) -> bool | None:
    """Dutch when Dutch function words outnumber English ones; None when the text has neither."""
    words = _WORD.findall(_fold(text))
    nl, en = sum(w in _NL_FUNCTION for w in words), sum(w in _EN_FUNCTION for w in words)
    return None if nl + en == 0 else nl > en
