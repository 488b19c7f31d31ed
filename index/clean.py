"""Repair PDF-extraction artefacts in Dutch report text before indexing and citation display.

`clean_text` takes one whole extracted document and returns the cleaned text plus a page map.
Using evidence from the document itself and a few built-in Dutch rules it repairs:

* page footers (``Pagina 16 van 26``) and form feeds, which become the page map;
* photo credits (``� FOTO BEELDBANK NIMH``), which otherwise end up inside quoted sentences;
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

This module unwraps lines and orders the steps; the rules for space-split words live in
index/wordsplits.py and those for footnotes in index/footnotes.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

from index.footnotes import FOOTNOTE_BODY, PARA, rejoin_across_notes, strip_footnote_marks
from index.wordsplits import (
    FUNCTION_WORDS,
    MARK,
    WORD,
    WORD_END,
    L,
    Vocab,
    join_attested_splits,
    join_bound_splits,
)

__all__ = ["Cleaned", "clean_text"]


@dataclass(frozen=True)
class Cleaned:
    text: str  # cleaned document text
    pages: tuple[tuple[int, int], ...]  # (start offset in text, page number), ascending; empty if unknown


_Line = tuple[str, int]  # raw line text, page number (0: unknown)

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
_SOFT_HEAD = re.compile(rf"[(‘“\"\[]*{L}+(?:-{L}+)*")  # a line-final word part: "mede", "(bescher"
_URL_END = re.compile(r"(?:https?://|www\.)\S*$")
_VOWELS = frozenset("aeiouyáéíóúëïöü")
_SUSPENDED = frozenset("en of tot noch als dan and or".split())


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


def _hyphen_join(prev: str, nxt: str, layout: _Layout, vocab: Vocab) -> str:
    """Join for `prev` ending in a line-end hyphen: '' drops it, '-' keeps it, '- ' is suspended."""
    first = nxt.split()[0]
    x, y = WORD_END.search(prev[:-1]), WORD.match(first)
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
    return "-" if acronym or vowel_clash or "-" in first.strip("-") or y.lower() in FUNCTION_WORDS else ""


def _continues_after_blank(prev: str, nxt: str, layout: _Layout, vocab: Vocab) -> bool:
    """A blank line inside a sentence (page or column break) rather than a paragraph break."""
    if _BLOCK_START.match(nxt) or _is_table_row(prev) or prev[-1] in ".!?:;":
        return False
    if nxt[0].islower() or prev.split()[-1] in FUNCTION_WORDS:
        return True
    first = WORD.match(nxt)  # a proper noun continues the sentence: "van\n\nAlgiers"
    proper_noun = bool(first) and first.group().lower() not in vocab.lowercase
    open_sentence = len(prev) >= layout.short and (prev[-1].isalpha() or prev[-1] in ",-")
    return layout.trailing and proper_noun and open_sentence


def _separator(prev_raw: str, nxt_raw: str, layout: _Layout, vocab: Vocab) -> str:
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
        return PARA  # a block ends at the page end; the next page starts elsewhere
    if layout.trailing and prev.endswith("-"):
        return " "  # suspended hyphen: "NAVO- en", "Mali- Frankrijk"
    if nxt[0].islower() or prev.split()[-1] in FUNCTION_WORDS:
        return " "  # a line cannot end a heading with "aan", "de", "en"
    if not layout.trailing:
        return "\n"
    if open_end or len(prev) < layout.short:
        return PARA if prev[-1] in ".!?" else "\n"
    return " "


def _assemble(lines: list[_Line], layout: _Layout, vocab: Vocab, fill: bool) -> tuple[str, list[int]]:
    """Unwrap lines into paragraphs; page starts get a MARK, their numbers are returned in order."""
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
            sep = PARA if paragraph else _separator(prev, line, layout, vocab)
            if sep.startswith("-") or (sep == "" and out[-1].endswith("-")):
                out[-1] = out[-1][:-1]
            out.append(sep)
        if page > (pages[-1] if pages else 0):
            new = list(range(pages[-1] + 1 if pages else 1, page + 1)) if fill else [page]
            pages.extend(new)
            out.append(MARK * len(new))
        out.append(line.strip())
        prev, blank = line, False
    return "".join(out), pages


def _tidy_lines(text: str) -> str:
    """Collapse runs of spaces (two spaces between table columns) and strip each line."""
    lines = []
    for line in text.split("\n"):
        gap = "  " if _is_table_row(line.replace(MARK, "").strip()) else " "
        lines.append(re.sub(r"[ \t]{2,}|\t", gap, line).strip(" "))
    return "\n".join(lines)


def _finish(text: str, pages: list[int]) -> Cleaned:
    pieces = re.sub(r"\n{3,}", PARA, text).strip().split(MARK)
    offsets = accumulate(len(piece) for piece in pieces[:-1])
    return Cleaned("".join(pieces), tuple(zip(offsets, pages)))


def _clean_steps(raw: str) -> tuple[str, list[int]]:
    lines, fill = _split_pages(raw)
    layout = _Layout.measure([line for line, _ in lines])
    raw_vocab = Vocab.build(raw, for_joins=False)
    text, pages = _assemble(_prepare_lines(lines, layout), layout, raw_vocab, fill)
    text = rejoin_across_notes(text)
    text = _tidy_lines(strip_footnote_marks(text, frozenset(FOOTNOTE_BODY.findall(text))))
    text = join_bound_splits(text, raw_vocab)
    for _ in range(4):  # joins change the statistics; repeat until stable so cleaning is idempotent
        text, before = join_attested_splits(text, Vocab.build(text.replace(MARK, ""), True)), text
        if text == before:
            break
    if fill:  # trailing pages without text start at the end
        last = raw.count("\f") + 1
        text += MARK * (last - len(pages))
        pages.extend(range(len(pages) + 1, last + 1))
    return text, pages


# a photo credit at the end of a line, after a caption or inside a sentence the caption interrupts:
# "… door de nadruk op het beschermen � FOTO MCD, KEESNAN DOGGER", "FOTO BEELDBANK NIMH"
_CREDIT = r"[ \t]*�?[ \t]*\bFOTO(?:[ ,]+[A-ZÀ-Þ][A-ZÀ-Þ.'’-]*)+[ \t]*"
PHOTO_CREDIT = re.compile(rf"{_CREDIT}$", re.MULTILINE)
_CREDIT_LINE = re.compile(rf"^{_CREDIT}\n", re.MULTILINE)


def drop_photo_credits(raw: str) -> str:
    """Photo credits removed; a line that held only one goes with it."""
    return PHOTO_CREDIT.sub("", _CREDIT_LINE.sub("", raw))


def clean_text(raw: str) -> Cleaned:
    """Clean one whole document extracted from PDF; see the module docstring."""
    raw = re.sub(r"[\xa0\u2000-\u200a\u202f]", " ", raw.replace("\r\n", "\n").replace("\r", "\n"))
    raw = drop_photo_credits(raw.replace("\xad", "").replace(MARK, ""))
    if not raw.strip():
        return Cleaned("", ())
    return _finish(*_clean_steps(raw))
