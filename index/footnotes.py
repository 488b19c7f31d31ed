"""Footnotes in PDF-extracted text: marks glued to words (`komen.’3`, `kader10`, `Vredesakkoorden.iii`)
are removed, and a sentence that a page's footnote block interrupts is rejoined, the notes following
its paragraph. Used by index/clean.py; does not move notes anywhere else or drop their text.
"""

from __future__ import annotations

import re

from index.wordsplits import MARK, WORD, WORD_END

PARA = "\n\n"  # paragraph separator of the assembled text
FOOTNOTE_BODY = re.compile(r"^[ \t\x00]*(\d{1,3}|[ivxl]{1,7})[ \t]+[A-Z‘“]", re.MULTILINE)
MARK_AFTER_PUNCT = re.compile(
    r"([.,;:!?’”\")\]]{1,2})([ivxl]{1,6}\d{0,3}|\d{1,3})(?:, (?:[ivxl]{1,6}|\d{1,3}))*(?=[\s\x00]|$)"
)
PUNCT_SHAPE = re.compile(r"[.,;:!?][’”\")\]]?|[’”\")\]][.,;:!?]?")
YEAR_END = re.compile(r"\b(?:19|20)\d\d\Z")
MARK_GLUED = re.compile(r"(?<=[^\W\d_])(\d{1,3}|x{1,3}(?:i{1,3}|iv|vi{0,3}|ix))(?=[\s\x00.,;:)’”]|$)")
ABBREVIATIONS = frozenset("nr art blz p pp no vgl par hfst lid fig tab bijl jo sub cf ca resp".split())
NOTE_PARA = re.compile(r"^\x00*(?:\d{1,3}|[ivxl]{1,7})[ \t]+[A-Z‘“(]")  # a footnote body opens the paragraph
OPEN_END = re.compile(r"[^\W\d_][,-]?\Z")  # a paragraph that stops mid-sentence
DANGLING = re.compile(r"\b(?:de|het|een|van|in|aan|voor|met|op|te|en|of|dat|die|zich|door|naar|bij|om|tot|uit)\Z")
MAX_NOTE_PARAS = 8


def rejoin_across_notes(text: str) -> str:
    """Join a paragraph that stops mid-sentence with its lower-case continuation after the footnote
    block of the page; the notes (and their own wrapped continuations) follow the joined paragraph."""
    paras = text.split(PARA)
    out: list[str] = []
    i = 0
    while i < len(paras):
        para = paras[i]
        j = i + 1
        while j < len(paras) and j - i <= MAX_NOTE_PARAS and in_note_block(paras[j], paras[j - 1], j - i):
            j += 1
        cont = paras[j].lstrip(MARK) if j < len(paras) else ""
        opens = cont[:1].islower() or (cont[:1].isupper() and DANGLING.search(para))
        if j > i + 1 and opens and OPEN_END.search(para) and not NOTE_PARA.match(para):
            marks = paras[j][: len(paras[j]) - len(cont)]
            joined = para[:-1] + marks + cont if para.endswith("-") else f"{para} {marks}{cont}"
            out.extend([joined, *paras[i + 1 : j]])
            i = j + 1
        else:
            out.append(para)
            i += 1
    return PARA.join(out)


def in_note_block(para: str, prev: str, pos: int) -> bool:
    """A footnote body, or the wrap of a note that stopped mid-sentence (not a numbered heading)."""
    if NOTE_PARA.match(para):
        return True
    return pos > 1 and not para.lstrip(MARK)[:1].isdigit() and bool(OPEN_END.search(prev))


def strip_footnote_marks(text: str, bodies: frozenset[str]) -> str:
    """Remove note numbers after punctuation (`komen.’3`, `2013.i`) or glued to words (`kader10`)."""

    def after_punct(m: re.Match[str]) -> str:
        before, punct = m.string[max(0, m.start() - 12) : m.start()], m.group(1)
        if before[-1:].isalpha() and PUNCT_SHAPE.fullmatch(punct):
            words = WORD.findall(before)
            return m.group(0) if punct == "." and words and words[-1].lower() in ABBREVIATIONS else punct
        if (punct == "." and YEAR_END.search(before)) or (punct == ")." and before[-1:].isalnum()):
            return punct  # in 2013.i, (zie Figuur 2).13
        return m.group(0)

    def glued(m: re.Match[str]) -> str:
        word = WORD_END.search(m.string, max(0, m.start() - 30), m.start())
        mark, word = m.group(), word.group() if word else ""
        if len(word) >= 3 and (mark in bodies or (mark.isdigit() and word[-3:].islower())):
            return ""  # kaders2, VPD15 (with a note 15), sensorenxiii (with a note xiii)
        return mark

    return MARK_GLUED.sub(glued, MARK_AFTER_PUNCT.sub(after_punct, text))
