from index.chunking import chunk_document, chunk_id, find_headings
from index.schema import Document

TEXT = (
    "1 Inleiding\n"
    "In deze brief ontvangt u de beleidsreactie van het kabinet op de eindevaluatie van de Nederlandse "
    "bijdrage aan MINUSMA met een C-130 detachement. De inzet vond plaats van november 2021 t/m mei 2022.\n\n"
    "2 Conclusies\n"
    "Het kabinet onderschrijft aanbevelingen 2.2, 3.1, 3.2, 4.2, 5.1 en 5.2 volledig. De aanbevelingen "
    "2.1, 2.3 en 4.1 worden ten dele onderschreven. Het detachement werd ingezet als onderdeel van het "
    "door Noorwegen gecoördineerde Multinational Rotational Concept."
)
DOC = Document("d", "Titel", "Defensie", 2023, "brief", "d.txt", TEXT, ((0, 3), (200, 4)))


def words(text: str) -> int:
    return len(text.split())


def test_chunks_respect_size_and_offsets():
    chunks = chunk_document(DOC, words, size=25, overlap=6)
    assert len(chunks) >= 3
    for c in chunks:
        assert words(c.text) <= 25
        assert TEXT[c.start:c.end] == c.text
        assert c.doc_id == "d" and c.title == "Titel" and c.year == 2023


def test_chunks_overlap_and_cover_the_text():
    chunks = chunk_document(DOC, words, size=30, overlap=12)
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    letters = {i for i, ch in enumerate(TEXT) if ch.isalnum()}
    assert letters <= covered
    assert any(a.end > b.start for a, b in zip(chunks, chunks[1:]))


def test_chunks_end_on_sentence_boundaries_when_possible():
    chunks = chunk_document(DOC, words, size=40, overlap=0)
    body = [c for c in chunks if not c.text.endswith("Conclusies")]
    assert sum(c.text.rstrip().endswith(".") for c in body) >= len(body) - 1


def test_section_and_page_metadata():
    chunks = chunk_document(DOC, words, size=25, overlap=0)
    assert chunks[0].section == "1 Inleiding"
    assert chunks[-1].section == "2 Conclusies"
    assert chunks[0].page == 3 and chunks[-1].page == 4


def test_ids_are_stable_and_content_derived():
    a = chunk_document(DOC, words, size=25, overlap=6)
    b = chunk_document(DOC, words, size=25, overlap=6)
    assert [c.chunk_id for c in a] == [c.chunk_id for c in b]
    assert len({c.chunk_id for c in a}) == len(a)
    assert chunk_id("d", "x") != chunk_id("d", "y") != chunk_id("e", "y")


def test_find_headings_skips_sentences():
    found = [h for _, h in find_headings("3.2 Nederlandse bijdrage\nDit is een zin met een punt.\nAfkortingen\n")]
    assert found == ["3.2 Nederlandse bijdrage", "Afkortingen"]
