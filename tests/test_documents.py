from pathlib import Path

import pytest

from index.documents import decode_text, list_sources, load_corpus
from index.errors import CorpusError


def test_load_corpus_reads_manifest_metadata_and_cleans(corpus_dir: Path):
    docs, checksum = load_corpus(corpus_dir)
    by_id = {d.doc_id: d for d in docs}
    assert sorted(by_id) == ["c130-beleidsreactie", "iob-minusma", "kleinere-bijdragen"]
    c130 = by_id["c130-beleidsreactie"]
    assert c130.title == "Beleidsreactie C-130 (fragment)"
    assert c130.year == 2023 and c130.publisher == "Ministerie van Defensie"
    assert "Pagina 45 van 46" not in by_id["kleinere-bijdragen"].text
    assert len(checksum) == 64


def test_page_known_from_footer_marker(corpus_dir: Path):
    doc = {d.doc_id: d for d in load_corpus(corpus_dir)[0]}["kleinere-bijdragen"]
    assert doc.page_at(0) == 45
    assert doc.page_at(len(doc.text) - 1) == 45


def test_checksum_changes_with_content(corpus_dir: Path):
    _, before = load_corpus(corpus_dir)
    (corpus_dir / "iob-minusma.txt").write_text("Nieuwe tekst over UNIFIL in Libanon.", encoding="utf-8")
    _, after = load_corpus(corpus_dir)
    assert before != after


def test_file_without_manifest_entry_gets_title_and_year_from_name(corpus_dir: Path):
    (corpus_dir / "notitie-unifil-2024.md").write_text("# UNIFIL in Libanon\n\nNederland levert stafofficieren.",
                                                       encoding="utf-8")
    doc = {d.doc_id: d for d in load_corpus(corpus_dir)[0]}["notitie-unifil-2024"]
    assert doc.year == 2024
    assert doc.title == "UNIFIL in Libanon"
    assert "#" not in doc.text


def test_latin1_text_is_decoded(tmp_path: Path):
    raw = "De Koninklijke Marechaussee werkte in Bamako en Gao, ook in Tombouctou: één team.".encode("latin-1")
    assert "één" in decode_text(raw, tmp_path / "x.txt")


@pytest.mark.parametrize("setup, message", [
    (lambda d: None, "bestaat niet"),
    (lambda d: d.mkdir(), "geen .txt"),
    (lambda d: (d.mkdir(), (d / "a.txt").write_bytes(b"\x00\x01\x02PK\x03\x04" * 100)), "binair"),
    (lambda d: (d.mkdir(), (d / "a.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")), "PDF"),
    (lambda d: (d.mkdir(), (d / "a.txt").write_text("   \n\n ")), "geen tekst"),
])
def test_bad_corpus_input_gives_clear_error(tmp_path: Path, setup, message):
    folder = tmp_path / "corpus"
    setup(folder)
    with pytest.raises(CorpusError, match=message):
        load_corpus(folder)


def test_pdf_pages_are_kept(tmp_path: Path):
    pypdf = pytest.importorskip("pypdf")
    from pypdf.generic import NameObject  # noqa: F401  (pypdf present)

    folder = tmp_path / "corpus"
    folder.mkdir()
    writer = pypdf.PdfWriter()
    for _ in range(2):
        writer.add_blank_page(width=200, height=200)
    with (folder / "leeg.pdf").open("wb") as f:
        writer.write(f)
    with pytest.raises(CorpusError, match="geen tekst"):
        load_corpus(folder)
    assert [s.path.name for s in list_sources(folder)] == ["leeg.pdf"]
