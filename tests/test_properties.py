"""Property tests (hypothesis) of the cleaner and the chunker: on generated Dutch-like text, cleaning loses
no letter and keeps its page map in range, and every chunk's offsets point at its own text while the
chunks together cover every non-blank character of the document."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.chunking import chunk_document
from index.clean import clean_text
from index.schema import Document

WORDS = ["de", "het", "missie", "vredesmissie", "kabinet", "Kamer", "MINUSMA", "Mali", "evaluatie", "inzet",
         "Nederland", "militairen", "beleid", "rapport", "van", "in", "een", "veiligheid", "bijdrage", "IOB",
         "VN-missie", "C-130", "artikel", "ministerie", "Defensie", "Buitenlandse", "Zaken", "coördinatie"]
PUNCT = ["", "", "", ",", ".", ";", ":", "?"]

word = st.sampled_from(WORDS)
sentence = st.builds(lambda ws, p: " ".join(ws) + p, st.lists(word, min_size=1, max_size=14),
                     st.sampled_from([".", "?", "!"]))
line = st.builds(lambda ss: " ".join(ss), st.lists(sentence, min_size=1, max_size=3))
# paragraphs of wrapped lines (with or without trailing spaces), blank lines between, form feeds as pages
paragraph = st.lists(line, min_size=1, max_size=4)
document = st.builds(
    lambda paras, trailing, pages: _layout(paras, trailing, pages),
    st.lists(paragraph, min_size=1, max_size=6), st.booleans(), st.integers(min_value=0, max_value=3))


def _layout(paras: list[list[str]], trailing: bool, pages: int) -> str:
    end = " \n" if trailing else "\n"
    blocks = [end.join(p) for p in paras]
    text = "\n\n".join(blocks)
    for i in range(pages):  # form feeds between paragraphs, as pypdf leaves them
        cut = text.find("\n\n", (i + 1) * len(text) // (pages + 2))
        if cut > 0:
            text = text[:cut] + "\n\f" + text[cut + 2:]
    return text


def _letters(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document)
def test_cleaning_loses_no_letter_and_keeps_pages_in_range(raw: str) -> None:
    cleaned = clean_text(raw)
    assert _letters(cleaned.text) == _letters(raw)
    offsets = [o for o, _ in cleaned.pages]
    assert offsets == sorted(offsets) and all(0 <= o <= len(cleaned.text) for o in offsets)
    assert [p for _, p in cleaned.pages] == list(range(1, len(cleaned.pages) + 1))
    assert "\f" not in cleaned.text and not re.search(r"\n{3,}", cleaned.text)


@settings(max_examples=40, deadline=None)
@given(document)
def test_cleaning_is_idempotent(raw: str) -> None:
    once = clean_text(raw).text
    assert clean_text(once).text == once


def _words(text: str) -> int:
    return len(text.split())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document, st.integers(min_value=8, max_value=60), st.data())
def test_chunks_point_at_their_text_and_cover_the_document(raw: str, size: int, data: st.DataObject) -> None:
    overlap = data.draw(st.integers(min_value=0, max_value=size // 2), label="overlap")
    cleaned = clean_text(raw)
    doc = Document("d1", "Titel", "IOB", 2022, "rapport", "d1.txt", cleaned.text, cleaned.pages)
    chunks = chunk_document(doc, _words, size, overlap)
    covered = bytearray(len(doc.text))
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text and c.text.strip() == c.text and c.text
        assert _words(c.text) <= size
        assert c.page == doc.page_at(c.start)
        covered[c.start:c.end] = b"\x01" * (c.end - c.start)
    lost = [i for i, ch in enumerate(doc.text) if not ch.isspace() and not covered[i]]
    assert not lost, doc.text[lost[0]:lost[0] + 40]
    starts = [c.start for c in chunks]
    assert starts == sorted(starts) and len({c.chunk_id for c in chunks}) == len(chunks)


def test_repeated_words_are_placed_where_the_splitter_cut_them() -> None:
    """Found by the property above: the splitter's start_index pointed at the first 'de de. de de.', and
    the text after it was covered by no chunk."""
    for text, size, overlap, starts in (("de de de de de. de de. de de.", 8, 2, [0, 16]),
                                        ("de de de de de de de de. de. de.", 8, 3, [0, 25])):
        doc = Document("d1", "Titel", "IOB", 2022, "rapport", "d1.txt", text)
        chunks = chunk_document(doc, _words, size, overlap)
        assert [c.start for c in chunks] == starts
        assert chunks[-1].end == len(text) and all(text[c.start:c.end] == c.text for c in chunks)
