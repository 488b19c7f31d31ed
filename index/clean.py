"""Repair PDF-extraction artefacts in Dutch report text before indexing and citation display.

`clean_text` takes one whole extracted document and returns the cleaned text plus a page map.
Using evidence from the document itself and a few built-in Dutch rules it repairs:

* page footers (``Pagina 16 van 26``) and form feeds, which become the page map;
* hard line wraps inside paragraphs, also in double-spaced layouts; paragraph breaks, headings,
  list items, footnote bodies and table rows stay on their own lines;
* line-end hyphenation (``mede-\\nwerkers``) and lost soft hyphens (``ver\\nschuift``), keeping real
  hyphens (``VN-\\nmissie``, ``de-\\nescalatie``, ``politie- en``);
* words split by a space (``inter nationale``, ``voor namelijk``) when the joined word is attested
  in the document or the split is at a bound prefix/suffix (``Veiligheids raad``);
* footnote marks glued to words (``komen.’3``, ``Vredesakkoorden.iii``, ``kader10``);
* table labels printed vertically, one or two letters per line (``E\\nu\\nr\\no\\np\\na``).

How: layout is measured per document (do wrapped lines end with a space? is the text double-spaced?
how long is a normal line?), lines are then joined pairwise into paragraphs, and word splits are only
joined when one part never occurs on its own in the document or the joined word clearly dominates.

One reordering: a sentence that a page's footnote block interrupts (``de behoefte aan een`` /
``xi Verderop ...`` / ``inlichtingencapaciteit binnen MINUSMA ...``) is rejoined, the notes following
its paragraph. Otherwise it does not reorder text (footnote blocks and captions stay where the PDF put
them), remove other running headers (none repeat in the corpus), fix spelling, or join a split it cannot
attest (``besluit vorming`` when ``besluitvorming`` never occurs): leaving a split is better than
merging two real words (``op dat``, ``in gang``).  Lines the layout gives no reason to unwrap stay
apart when the text has no trailing-space signal, which makes the function idempotent.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

__all__ = ["Cleaned", "clean_text"]


@dataclass(frozen=True)
class Cleaned:
    text: str  # cleaned document text
    pages: tuple[tuple[int, int], ...]  # (start offset in text, page number), ascending; empty if unknown


_Line = tuple[str, int]  # raw line text, page number (0: unknown)

_PARA, _MARK = "\n\n", "\x00"  # paragraph separator; page-start sentinel removed in _finish
_L = r"[^\W\d_]"  # a letter
_WORD = re.compile(rf"{_L}+")
_WORD_END = re.compile(rf"{_L}+\Z")
_HYPHENATED = re.compile(rf"\b{_L}+-{_L}+(?:-{_L}+)*")
_SPACE_PAIR = re.compile(rf"({_L}+)\s+(?=({_L}+))")
_PAGE_FOOTER = re.compile(r"^\s*Pagina\s+(\d{1,4})\s+van\s+\d{1,4}\s*$", re.IGNORECASE)
_BLOCK_START = re.compile(
    r"^(?:[•▪■●◦‣*]"  # bullets, table notes
    r"|(?:\d{1,2}(?:\.\d{1,2})*\.?|[ivxl]{1,7})\s+[A-Z‘“\"]"  # 3.2 Heading, 2 Footnote, iv Footnote
    r"|\d{1,3}\t|(?:Figuur|Tabel|Box|Kader|Bijlage|Grafiek)\s*\d)"
)
_ABBREV_ROW = re.compile(  # "ATMIS   African Union ...", "UNSMIL United Nations Support Mission in Libya"
    r"^[A-Z][A-Za-z]*[A-Z]\S*\s{2,}\S|^[A-Z][A-Za-z]*[A-Z][A-Za-z]*"
    r"(?: (?:[A-Z][\w’'()/-]*|of|in|and|for|the|to|en|van|voor|der|de|ter)){2,}$"
)
_COLUMN_GAP = re.compile(r"\S(?: {2,}|\t)\S")
_INTEGER = re.compile(r"(?<!\S)[+-]?\d+(?!\S)")
_SOFT_HEAD = re.compile(rf"[(‘“\"\[]*{_L}+(?:-{_L}+)*")  # a line-final word part: "mede", "(bescher"
_URL_END = re.compile(r"(?:https?://|www\.)\S*$")
_FOOTNOTE_BODY = re.compile(r"^[ \t\x00]*(\d{1,3}|[ivxl]{1,7})[ \t]+[A-Z‘“]", re.MULTILINE)
_MARK_AFTER_PUNCT = re.compile(
    r"([.,;:!?’”\")\]]{1,2})([ivxl]{1,6}\d{0,3}|\d{1,3})(?:, (?:[ivxl]{1,6}|\d{1,3}))*(?=[\s\x00]|$)"
)
_PUNCT_SHAPE = re.compile(r"[.,;:!?][’”\")\]]?|[’”\")\]][.,;:!?]?")
_YEAR_END = re.compile(r"\b(?:19|20)\d\d\Z")
_MARK_GLUED = re.compile(r"(?<=[^\W\d_])(\d{1,3}|x{1,3}(?:i{1,3}|iv|vi{0,3}|ix))(?=[\s\x00.,;:)’”]|$)")
_BOUND_SPACE = re.compile(
    r"(?:nter|ulti|redes|heids|teits|schaps|elings) (?=\x00*[^\W\d_])"
    r"| (?=\x00*(?:schappelijke?|landse|lijke|heid|koming)(?![^\W\d_]))"
)
_HEAD_FRAGMENT = re.compile(r"(?:inter|multi|vredes|\w+(?:heids|teits|schaps|elings))")  # never standalone
_TAIL_FRAGMENTS = frozenset("schappelijk schappelijke landse lijke heid koming".split())
_VOWELS = frozenset("aeiouyáéíóúëïöü")
_ABBREVIATIONS = frozenset("nr art blz p pp no vgl par hfst lid fig tab bijl jo sub cf ca resp".split())
_SUSPENDED = frozenset("en of tot noch als dan and or".split())
_INFLECTIONS = ("", "en", "s", "e", "n")
_STOP = frozenset(
    """de het een en of te in op van voor met aan af er dat die dit deze om tot uit bij naar over door
    als is zijn was waren wordt worden werd werden heeft hebben had kan kon zal zou moet mag wil gaan
    gaat komen komt wat waar hier daar zo wel niet geen ook nog maar dan toe mee zich zij ze we wij hij
    men al na tegen onder veel meer weer dien nu reeds zeer hun haar ons u""".split()
)


@dataclass(frozen=True)
class _Vocab:
    """Word statistics of one document; keys are lower case."""

    counts: Counter[str]
    paired: Counter[str]  # occurrences next to a partner they form an attested word with
    bigrams: Counter[tuple[str, str]]
    hyphen_pairs: frozenset[str]  # "x-y" for adjacent parts of hyphenated words
    lowercase: frozenset[str]  # words seen starting with a lower-case letter

    @classmethod
    def build(cls, text: str, for_joins: bool) -> _Vocab:
        """Statistics for line-end decisions (raw text) or for space-split joins (unwrapped text)."""
        words = Counter(_WORD.findall(text))
        counts: Counter[str] = Counter()
        for word, n in words.items():
            counts[word.lower()] += n
        if not for_joins:
            parts = (w.lower().split("-") for w in _HYPHENATED.findall(text))
            hyphen_pairs = frozenset(f"{x}-{y}" for p in parts for x, y in zip(p, p[1:]))
            lowercase = frozenset(w for w in words if w[0].islower())
            return cls(counts, Counter(), Counter(), hyphen_pairs, lowercase)
        bigrams = Counter(_SPACE_PAIR.findall(text.lower()))
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


@dataclass(frozen=True)
class _Layout:
    """Document-level layout signals measured on the raw lines."""

    trailing: bool  # wrapped lines end with a space, so a missing space is meaningful
    double_spaced: bool  # empty line after every line; whitespace-only lines separate paragraphs
    short: int  # lines shorter than this are headings or last lines
    soft_hyphens_lost: bool  # words broken without hyphen: remaining line-end hyphens are real

    @classmethod
    def measure(cls, lines: list[str]) -> _Layout:
        content = [i for i, line in enumerate(lines) if line.strip()]
        if len(content) < 2:
            return cls(False, False, 0, False)
        trailing = sum(lines[i][-1].isspace() for i in content) >= 0.5 * len(content)
        spaced = sum(i + 1 < len(lines) and lines[i + 1] == "" for i in content)
        lengths = sorted(len(lines[i].strip()) for i in content)
        breaks = sum(_is_soft_break(lines[i], lines[i + 1]) for i in content if i + 1 < len(lines))
        return cls(
            trailing=trailing,
            double_spaced=trailing and spaced >= 0.6 * len(content),
            short=int(0.6 * lengths[3 * len(lengths) // 4]),
            soft_hyphens_lost=trailing and breaks >= 3,
        )


def _is_soft_break(prev: str, nxt: str) -> bool:
    """A word broken at a line end without hyphen or space: `mede` + `werkers`, `(bescher` + `ming`."""
    last = prev.split()[-1] if prev.strip() else ""
    soft_head = len(prev.strip()) > 2 and prev[-1:].isalpha() and bool(_SOFT_HEAD.fullmatch(last))
    return soft_head and nxt[:1].islower() and not _BLOCK_START.match(nxt)


@lru_cache(maxsize=8192)
def _is_table_row(s: str) -> bool:
    """Abbreviation-list entries, rows with column gaps, rows that are mostly numbers."""
    if _ABBREV_ROW.match(s) or (("  " in s or "\t" in s) and len(_COLUMN_GAP.findall(s)) >= 2):
        return True
    numbers = len(_INTEGER.findall(s)) if len(s) < 200 else 0
    return numbers >= 3 and 3 * numbers >= s.count(" ") + 1


def _split_pages(raw: str) -> tuple[list[_Line], bool]:
    """Lines tagged with page numbers, footers removed; second value: one entry per \\f page."""
    if "\f" in raw:
        lines = [(ln, n) for n, page in enumerate(raw.split("\f"), 1) for ln in page.split("\n")]
        return [(ln, n) for ln, n in lines if not _PAGE_FOOTER.match(ln)], True
    tagged: list[_Line] = []
    first, page = 0, 0
    for line in raw.split("\n"):
        footer = _PAGE_FOOTER.match(line)
        if footer:  # text before a footer is page N, text after it page N + 1
            first, page = first or int(footer.group(1)), int(footer.group(1)) + 1
        else:
            tagged.append((line, page))
    return [(ln, n or first) for ln, n in tagged], False


def _prepare_lines(lines: list[_Line], layout: _Layout) -> list[_Line]:
    """Drop line-spacing blanks; join runs of >= 3 one- or two-letter lines (vertical table labels)."""
    if layout.double_spaced:
        lines = [line for line in lines if line[0] != ""]
    out: list[_Line] = []
    run: list[_Line] = []
    for line in [*lines, (" ", 0)]:
        s = line[0].strip()
        if (0 < len(s) <= 2 and s.replace("-", "").isalpha()) or (run and line[0] == ""):
            run.append(line)  # single empty lines may separate the letters
            continue
        letters = [ln.strip() for ln, _ in run if ln]
        if len(letters) >= 3:  # keep the empty lines that followed the last letter
            trailing = len(run) - 1 - max(i for i, (ln, _) in enumerate(run) if ln)
            run = [("".join(letters) + " ", run[0][1]), *[("", 0)] * trailing]
        out.extend([*run, line])
        run = []
    return out[:-1]


def _hyphen_join(prev: str, nxt: str, layout: _Layout, vocab: _Vocab) -> str:
    """Join for `prev` ending in a line-end hyphen: '' drops it, '-' keeps it, '- ' is suspended."""
    first = nxt.split()[0]
    x, y = _WORD_END.search(prev[:-1]), _WORD.match(first)
    if not x or not y or not first[0].islower():
        return "-"  # VN-\nMissie, 2013-\n2017
    x, y = x.group(), y.group()
    if y.lower() in _SUSPENDED:
        return "- "
    if layout.soft_hyphens_lost or f"{x}-{y}".lower() in vocab.hyphen_pairs:
        return "-"
    if vocab.attested((x + y).lower()):
        return ""
    acronym = len(x) < 2 or any(c.isupper() for c in x[1:])  # KMar-, VN-
    vowel_clash = x[-1].lower() in _VOWELS and y[0] in _VOWELS  # de-escalatie, diepte-interviews
    return "-" if acronym or vowel_clash or "-" in first.strip("-") or y.lower() in _STOP else ""


def _continues_after_blank(prev: str, nxt: str, layout: _Layout, vocab: _Vocab) -> bool:
    """A blank line inside a sentence (page or column break) rather than a paragraph break."""
    if _BLOCK_START.match(nxt) or _is_table_row(prev) or prev[-1] in ".!?:;":
        return False
    if nxt[0].islower() or prev.split()[-1] in _STOP:
        return True
    first = _WORD.match(nxt)  # a proper noun continues the sentence: "van\n\nAlgiers"
    proper_noun = bool(first) and first.group().lower() not in vocab.lowercase
    open_sentence = len(prev) >= layout.short and (prev[-1].isalpha() or prev[-1] in ",-")
    return layout.trailing and proper_noun and open_sentence


def _separator(prev_raw: str, nxt_raw: str, layout: _Layout, vocab: _Vocab) -> str:
    """What goes between two consecutive non-blank lines: ' ', '', '\\n', a kept hyphen or a paragraph."""
    prev, nxt = prev_raw.strip(), nxt_raw.strip()
    if _BLOCK_START.match(nxt) or _is_table_row(nxt) or _is_table_row(prev):
        return "\n"
    open_end = not (layout.trailing and prev_raw[-1].isspace())
    if prev.endswith("-") and open_end and prev[-2:-1].isalnum():
        return _hyphen_join(prev, nxt, layout, vocab)
    if layout.trailing and open_end and not nxt_raw[0].isspace():
        if _is_soft_break(prev_raw, nxt_raw) or prev[-1] == "/" or _URL_END.search(prev):
            return ""
    if layout.trailing and nxt_raw[0].isspace() and prev[-1] in ".!?":
        return _PARA  # a block ends at the page end; the next page starts elsewhere
    if layout.trailing and prev.endswith("-"):
        return " "  # suspended hyphen: "NAVO- en", "Mali- Frankrijk"
    if nxt[0].islower() or prev.split()[-1] in _STOP:
        return " "  # a line cannot end a heading with "aan", "de", "en"
    if not layout.trailing:
        return "\n"
    if open_end or len(prev) < layout.short:
        return _PARA if prev[-1] in ".!?" else "\n"
    return " "


def _assemble(lines: list[_Line], layout: _Layout, vocab: _Vocab, fill: bool) -> tuple[str, list[int]]:
    """Unwrap lines into paragraphs; page starts get a _MARK, their numbers are returned in order."""
    out: list[str] = []
    pages: list[int] = []
    prev: str | None = None
    blank = False
    for line, page in lines:
        if not line.strip():
            blank = prev is not None
            continue
        if prev is not None:
            paragraph = blank and not _continues_after_blank(prev.strip(), line.strip(), layout, vocab)
            sep = _PARA if paragraph else _separator(prev, line, layout, vocab)
            if sep.startswith("-") or (sep == "" and out[-1].endswith("-")):
                out[-1] = out[-1][:-1]
            out.append(sep)
        if page > (pages[-1] if pages else 0):
            new = list(range(pages[-1] + 1 if pages else 1, page + 1)) if fill else [page]
            pages.extend(new)
            out.append(_MARK * len(new))
        out.append(line.strip())
        prev, blank = line, False
    return "".join(out), pages


_NOTE_PARA = re.compile(r"^\x00*(?:\d{1,3}|[ivxl]{1,7})[ \t]+[A-Z‘“(]")  # a footnote body opens the paragraph
_OPEN_END = re.compile(r"[^\W\d_][,-]?\Z")  # a paragraph that stops mid-sentence
_DANGLING = re.compile(r"\b(?:de|het|een|van|in|aan|voor|met|op|te|en|of|dat|die|zich|door|naar|bij|om|tot|uit)\Z")
_MAX_NOTE_PARAS = 8


def _rejoin_across_notes(text: str) -> str:
    """Join a paragraph that stops mid-sentence with its lower-case continuation after the footnote
    block of the page; the notes (and their own wrapped continuations) follow the joined paragraph."""
    paras = text.split(_PARA)
    out: list[str] = []
    i = 0
    while i < len(paras):
        para = paras[i]
        j = i + 1
        while j < len(paras) and j - i <= _MAX_NOTE_PARAS and _in_note_block(paras[j], paras[j - 1], j - i):
            j += 1
        cont = paras[j].lstrip(_MARK) if j < len(paras) else ""
        opens = cont[:1].islower() or (cont[:1].isupper() and _DANGLING.search(para))
        if j > i + 1 and opens and _OPEN_END.search(para) and not _NOTE_PARA.match(para):
            marks = paras[j][: len(paras[j]) - len(cont)]
            joined = para[:-1] + marks + cont if para.endswith("-") else f"{para} {marks}{cont}"
            out.extend([joined, *paras[i + 1 : j]])
            i = j + 1
        else:
            out.append(para)
            i += 1
    return _PARA.join(out)


def _in_note_block(para: str, prev: str, pos: int) -> bool:
    """A footnote body, or the wrap of a note that stopped mid-sentence (not a numbered heading)."""
    if _NOTE_PARA.match(para):
        return True
    return pos > 1 and not para.lstrip(_MARK)[:1].isdigit() and bool(_OPEN_END.search(prev))


def _strip_footnote_marks(text: str, bodies: frozenset[str]) -> str:
    """Remove note numbers after punctuation (`komen.’3`, `2013.i`) or glued to words (`kader10`)."""

    def after_punct(m: re.Match[str]) -> str:
        before, punct = m.string[max(0, m.start() - 12) : m.start()], m.group(1)
        if before[-1:].isalpha() and _PUNCT_SHAPE.fullmatch(punct):
            words = _WORD.findall(before)
            return m.group(0) if punct == "." and words and words[-1].lower() in _ABBREVIATIONS else punct
        if (punct == "." and _YEAR_END.search(before)) or (punct == ")." and before[-1:].isalnum()):
            return punct  # in 2013.i, (zie Figuur 2).13
        return m.group(0)

    def glued(m: re.Match[str]) -> str:
        word = _WORD_END.search(m.string, max(0, m.start() - 30), m.start())
        mark, word = m.group(), word.group() if word else ""
        if len(word) >= 3 and (mark in bodies or (mark.isdigit() and word[-3:].islower())):
            return ""  # kaders2, VPD15 (with a note 15), sensorenxiii (with a note xiii)
        return mark

    return _MARK_GLUED.sub(glued, _MARK_AFTER_PUNCT.sub(after_punct, text))


def _split_candidate(head: str, tail: str) -> bool:
    """Case and shape allow `head tail` to be one word: no acronym head, no capitalised tail."""
    return tail[0].islower() and len(head) >= 2 and not head.isupper() and len(tail) >= 3


def _bound_join(head: str, tail: str) -> bool:
    """A split after a bound prefix or before a bound suffix: inter nationale, gemeen schappelijk."""
    h, t = head.lower(), tail.lower()
    bound = _HEAD_FRAGMENT.fullmatch(h) or t in _TAIL_FRAGMENTS
    return bool(bound) and _split_candidate(head, tail) and h not in _STOP and t not in _STOP


def _attested_join(head: str, tail: str, vocab: _Vocab) -> bool:
    """The document attests the joined word and gives no sign that the two parts are real words."""
    if len(tail) < 3:
        return False
    joined = vocab.attested(head + tail)
    if head in _STOP:  # voor namelijk, onder zoekers; never op dat, in gang, onder delen
        rare_tail = len(tail) >= 7 and vocab.is_fragment(tail)
        return bool(joined) and (_dominates(head, tail, vocab) or rare_tail)
    fragment = any(len(p) >= 4 and vocab.is_fragment(p) for p in (head, tail))
    if joined and (fragment or _dominates(head, tail, vocab)):
        return True
    stems = (tail[: -len(s)] for s in _INFLECTIONS[1:] if tail.endswith(s) and len(tail) > len(s) + 3)
    return any(vocab.bigrams[(head, t)] and _dominates(head, t, vocab) for t in stems)  # capaciteit(en)


def _dominates(head: str, tail: str, vocab: _Vocab) -> bool:
    """The joined word is frequent and clearly more frequent than the split pair."""
    joined, together = vocab.attested(head + tail), vocab.bigrams[(head, tail)]
    if len(tail) < 4 or joined < max(3, 2 * together):
        return False
    return head not in _STOP or (joined >= max(5, 5 * together) and vocab.counts[tail] > together)


def _delete_spaces(text: str, spaces: list[int]) -> str:
    if not spaces:
        return text
    bounds = [-1, *sorted(spaces), len(text)]
    return "".join(text[a + 1 : b] for a, b in zip(bounds, bounds[1:]))


def _words_at(text: str, space: int) -> tuple[str, str, int]:
    """The words before and after `space` (page marks after it skipped) and where the second ends."""
    start = space + 1
    while text.startswith(_MARK, start):
        start += 1
    head, tail = _WORD_END.search(text, max(0, space - 40), space), _WORD.match(text, start)
    return (head.group() if head else ""), (tail.group() if tail else ""), (tail.end() if tail else start)


def _join_bound_splits(text: str, vocab: _Vocab) -> str:
    """Join splits at bound prefixes/suffixes, including `Ontwikkelings samen werking`."""
    spaces: list[int] = []
    for m in _BOUND_SPACE.finditer(text):
        space = text.index(" ", m.start())
        head, tail, end = _words_at(text, space)
        if not (head and tail and _bound_join(head, tail)):
            continue
        spaces.append(space)
        third = _words_at(text, end)[1] if text[end : end + 1] == " " else ""
        if _HEAD_FRAGMENT.fullmatch(head.lower()) and third.islower() and third not in _STOP:
            spaces.extend([end] if vocab.attested((tail + third).lower()) else [])
    return _delete_spaces(text, spaces)


def _join_attested_splits(text: str, vocab: _Vocab) -> str:
    """Join `head tail` pairs whose joined form the document attests (see _attested_join)."""
    pairs = {(a, b) for a, b in vocab.bigrams if b not in _STOP and _attested_join(a, b, vocab)}
    if not pairs:
        return text
    tails = "|".join(sorted({re.escape(b) for _, b in pairs}, key=len, reverse=True))
    spaces, last_end = [], -1
    for m in re.finditer(rf"(?<=[^\W\d_]) (?=\x00*(?:{tails})(?![^\W\d_]))", text, re.IGNORECASE):
        head, tail, end = _words_at(text, m.start())
        if m.start() != last_end and (head.lower(), tail.lower()) in pairs and _split_candidate(head, tail):
            spaces.append(m.start())
            last_end = end  # never chain: the joined tail is not the head of another join
    return _delete_spaces(text, spaces)


def _tidy_lines(text: str) -> str:
    """Collapse runs of spaces (two spaces between table columns) and strip each line."""
    lines = []
    for line in text.split("\n"):
        gap = "  " if _is_table_row(line.replace(_MARK, "").strip()) else " "
        lines.append(re.sub(r"[ \t]{2,}|\t", gap, line).strip(" "))
    return "\n".join(lines)


def _finish(text: str, pages: list[int]) -> Cleaned:
    pieces = re.sub(r"\n{3,}", _PARA, text).strip().split(_MARK)
    offsets = accumulate(len(piece) for piece in pieces[:-1])
    return Cleaned("".join(pieces), tuple(zip(offsets, pages)))


def _clean_steps(raw: str) -> tuple[str, list[int]]:
    lines, fill = _split_pages(raw)
    layout = _Layout.measure([line for line, _ in lines])
    raw_vocab = _Vocab.build(raw, for_joins=False)
    text, pages = _assemble(_prepare_lines(lines, layout), layout, raw_vocab, fill)
    text = _rejoin_across_notes(text)
    text = _tidy_lines(_strip_footnote_marks(text, frozenset(_FOOTNOTE_BODY.findall(text))))
    text = _join_bound_splits(text, raw_vocab)
    for _ in range(4):  # joins change the statistics; repeat until stable so cleaning is idempotent
        text, before = _join_attested_splits(text, _Vocab.build(text.replace(_MARK, ""), True)), text
        if text == before:
            break
    if fill:  # trailing pages without text start at the end
        last = raw.count("\f") + 1
        text += _MARK * (last - len(pages))
        pages.extend(range(len(pages) + 1, last + 1))
    return text, pages


def clean_text(raw: str) -> Cleaned:
    """Clean one whole document extracted from PDF; see the module docstring."""
    raw = re.sub(r"[\xa0\u2000-\u200a\u202f]", " ", raw.replace("\r\n", "\n").replace("\r", "\n"))
    raw = raw.replace("\xad", "").replace(_MARK, "")
    if not raw.strip():
        return Cleaned("", ())
    return _finish(*_clean_steps(raw))
