"""Words split by a space in PDF-extracted text (`inter nationale`, `voor namelijk`): the document's
own word statistics and the rules that decide whether a split is joined.

A split is joined when it sits at a bound prefix or suffix (`Veiligheids raad`, `gemeen schappelijk`)
or when the document attests the joined word and gives no sign that the parts are real words on
their own. It never joins what it cannot attest (`besluit vorming` when `besluitvorming` never occurs)
and never merges two real words (`op dat`, `in gang`). Used by index/clean.py; does not unwrap lines.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from index.text import FUNCTION_WORDS

MARK = "\x00"  # page-start sentinel that clean.py keeps in the text until the end
L = r"[^\W\d_]"  # a letter
WORD = re.compile(rf"{L}+")
WORD_END = re.compile(rf"{L}+\Z")
HYPHENATED = re.compile(rf"\b{L}+-{L}+(?:-{L}+)*")
SPACE_PAIR = re.compile(rf"({L}+)\s+(?=({L}+))")
BOUND_SPACE = re.compile(
    r"(?:nter|ulti|redes|heids|teits|schaps|elings) (?=\x00*[^\W\d_])"
    r"| (?=\x00*(?:schappelijke?|landse|lijke|heid|koming)(?![^\W\d_]))"
)
HEAD_FRAGMENT = re.compile(r"(?:inter|multi|vredes|\w+(?:heids|teits|schaps|elings))")  # never standalone
TAIL_FRAGMENTS = frozenset("schappelijk schappelijke landse lijke heid koming".split())
INFLECTIONS = ("", "en", "s", "e", "n")


@dataclass(frozen=True)
class Vocab:
    """Word statistics of one document; keys are lower case."""

    counts: Counter[str]
    paired: Counter[str]  # occurrences next to a partner they form an attested word with
    bigrams: Counter[tuple[str, str]]
    hyphen_pairs: frozenset[str]  # "x-y" for adjacent parts of hyphenated words
    lowercase: frozenset[str]  # words seen starting with a lower-case letter

    @classmethod
    def build(cls, text: str, for_joins: bool) -> Vocab:
        """Statistics for line-end decisions (raw text) or for space-split joins (unwrapped text)."""
        words = Counter(WORD.findall(text))
        counts: Counter[str] = Counter()
        for word, n in words.items():
            counts[word.lower()] += n
        if not for_joins:
            parts = (w.lower().split("-") for w in HYPHENATED.findall(text))
            hyphen_pairs = frozenset(f"{x}-{y}" for p in parts for x, y in zip(p, p[1:]))
            lowercase = frozenset(w for w in words if w[0].islower())
            return cls(counts, Counter(), Counter(), hyphen_pairs, lowercase)
        bigrams = Counter(SPACE_PAIR.findall(text.lower()))
        paired: Counter[str] = Counter()
        for (a, b), n in bigrams.items():
            if a + b in counts:
                paired[a] += n
                paired[b] += n
        return cls(counts, paired, bigrams, frozenset(), frozenset())

    def attested(self, word: str) -> int:
        """How often `word`, possibly inflected (+en, +s, ...), occurs unsplit in the document."""
        n = self.counts.get
        return max(n(word, 0), n(word + "en", 0), n(word + "s", 0), n(word + "e", 0), n(word + "n", 0))

    def is_fragment(self, part: str) -> bool:
        """True if `part` never stands alone except next to a partner it forms a word with."""
        return self.paired[part] >= self.counts[part]


def split_candidate(head: str, tail: str) -> bool:
    """Case and shape allow `head tail` to be one word: no acronym head, no capitalised tail."""
    return tail[0].islower() and len(head) >= 2 and not head.isupper() and len(tail) >= 3


def bound_join(head: str, tail: str) -> bool:
    """A split after a bound prefix or before a bound suffix: inter nationale, gemeen schappelijk."""
    h, t = head.lower(), tail.lower()
    bound = HEAD_FRAGMENT.fullmatch(h) or t in TAIL_FRAGMENTS
    return bool(bound) and split_candidate(head, tail) and h not in FUNCTION_WORDS and t not in FUNCTION_WORDS


def attested_join(head: str, tail: str, vocab: Vocab) -> bool:
    """The document attests the joined word and gives no sign that the two parts are real words."""
    if len(tail) < 3:
        return False
    joined = vocab.attested(head + tail)
    if head in FUNCTION_WORDS:  # voor namelijk, onder zoekers; never op dat, in gang, onder delen
        rare_tail = len(tail) >= 7 and vocab.is_fragment(tail)
        return bool(joined) and (dominates(head, tail, vocab) or rare_tail)
    fragment = any(len(p) >= 4 and vocab.is_fragment(p) for p in (head, tail))
    if joined and (fragment or dominates(head, tail, vocab)):
        return True
    stems = (tail[: -len(s)] for s in INFLECTIONS[1:] if tail.endswith(s) and len(tail) > len(s) + 3)
    return any(vocab.bigrams[(head, t)] and dominates(head, t, vocab) for t in stems)  # capaciteit(en)


def dominates(head: str, tail: str, vocab: Vocab) -> bool:
    """The joined word is frequent and clearly more frequent than the split pair."""
    joined, together = vocab.attested(head + tail), vocab.bigrams[(head, tail)]
    if len(tail) < 4 or joined < max(3, 2 * together):
        return False
    return head not in FUNCTION_WORDS or (joined >= max(5, 5 * together) and vocab.counts[tail] > together)


def delete_spaces(text: str, spaces: list[int]) -> str:
    if not spaces:
        return text
    bounds = [-1, *sorted(spaces), len(text)]
    return "".join(text[a + 1 : b] for a, b in zip(bounds, bounds[1:]))


def words_at(text: str, space: int) -> tuple[str, str, int]:
    """The words before and after `space` (page marks after it skipped) and where the second ends."""
    start = space + 1
    while text.startswith(MARK, start):
        start += 1
    head, tail = WORD_END.search(text, max(0, space - 40), space), WORD.match(text, start)
    return (head.group() if head else ""), (tail.group() if tail else ""), (tail.end() if tail else start)


def join_bound_splits(text: str, vocab: Vocab) -> str:
    """Join splits at bound prefixes/suffixes, including `Ontwikkelings samen werking`."""
    spaces: list[int] = []
    for m in BOUND_SPACE.finditer(text):
        space = text.index(" ", m.start())
        head, tail, end = words_at(text, space)
        if not (head and tail and bound_join(head, tail)):
            continue
        spaces.append(space)
        third = words_at(text, end)[1] if text[end : end + 1] == " " else ""
        if HEAD_FRAGMENT.fullmatch(head.lower()) and third.islower() and third not in FUNCTION_WORDS:
            spaces.extend([end] if vocab.attested((tail + third).lower()) else [])
    return delete_spaces(text, spaces)


def join_attested_splits(text: str, vocab: Vocab) -> str:
    """Join `head tail` pairs whose joined form the document attests (see attested_join)."""
    pairs = {(a, b) for a, b in vocab.bigrams if b not in FUNCTION_WORDS and attested_join(a, b, vocab)}
    if not pairs:
        return text
    tails = "|".join(sorted({re.escape(b) for _, b in pairs}, key=len, reverse=True))
    spaces, last_end = [], -1
    for m in re.finditer(rf"(?<=[^\W\d_]) (?=\x00*(?:{tails})(?![^\W\d_]))", text, re.IGNORECASE):
        head, tail, end = words_at(text, m.start())
        if m.start() != last_end and (head.lower(), tail.lower()) in pairs and split_candidate(head, tail):
            spaces.append(m.start())
            last_end = end  # never chain: the joined tail is not the head of another join
    return delete_spaces(text, spaces)
