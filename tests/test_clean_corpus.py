"""Whole-corpus checks of index.clean over the repo's corpus/ (the five reports): nothing but footnote
marks, page footers and photo credits is removed, word splits and hyphen breaks are repaired, cleaning
is idempotent and fast. Reports are named by their source id's prefix ("003"), as corpus/manifest.json
maps them to the files, so the names stay those of the shared corpus the cases were copied from."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from index.clean import PHOTO_CREDIT, Cleaned, clean_text

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8")) if CORPUS.is_dir() else {}
FILES = {d["source_id"][:3]: CORPUS / d["file"] for d in MANIFEST.get("documents", [])}
needs_corpus = pytest.mark.skipif(len(FILES) != 5, reason=f"the five reports not found in {CORPUS}")


_ALLOWED_REMOVED = set("0123456789ivxl")  # footnote marks: arabic and lower-case roman numerals


def _alnum(text: str) -> Counter[str]:
    return Counter(ch for ch in text if ch.isalnum())


def _footer_alnum(raw: str) -> Counter[str]:
    """Letters and digits of the `Pagina N van M` footer lines and of the photo credits ("FOTO BEELDBANK
    NIMH"), which cleaning removes."""
    credits = PHOTO_CREDIT.findall(raw)
    return _alnum(" ".join(re.findall(r"(?m)^\s*Pagina\s+\d+\s+van\s+\d+\s*$", raw) + credits))


@pytest.fixture(scope="module")
def cleaned_corpus() -> dict[str, tuple[str, Cleaned]]:
    out = {}
    for name, path in sorted(FILES.items()):
        raw = path.read_text(encoding="utf-8")
        out[name] = (raw, clean_text(raw))
    return out


@needs_corpus
def test_corpus_keeps_letters_and_digits(cleaned_corpus: dict[str, tuple[str, Cleaned]]) -> None:
    for name, (raw, cleaned) in cleaned_corpus.items():
        before, after = _alnum(raw), _alnum(cleaned.text)
        assert not after - before, f"{name}: characters added"
        removed = before - after - _footer_alnum(raw)
        assert set(removed) <= _ALLOWED_REMOVED, f"{name}: removed {removed}"
        assert sum(removed.values()) < 0.01 * sum(before.values()), name


@needs_corpus
def test_corpus_has_no_page_footers(cleaned_corpus: dict[str, tuple[str, Cleaned]]) -> None:
    for name, (_, cleaned) in cleaned_corpus.items():
        assert not re.search(r"Pagina \d+ van \d+", cleaned.text), name


@needs_corpus
def test_corpus_page_offsets_003(cleaned_corpus: dict[str, tuple[str, Cleaned]]) -> None:
    cleaned = cleaned_corpus["003"][1]
    assert [page for _, page in cleaned.pages] == [16, 17, 25]
    offsets = [offset for offset, _ in cleaned.pages]
    assert offsets == sorted(offsets) and offsets[0] == 0 and offsets[-1] < len(cleaned.text)
    assert cleaned.text[offsets[1] :].startswith("ondersteunen. De SGVN concludeert")
    assert cleaned.text[offsets[2] :].startswith("3 Slotbeschouwing\n")
    assert cleaned.text[offsets[1] - 18 : offsets[1]] == "verkiezingsproces "  # page 17 starts mid-sentence


@needs_corpus
def test_corpus_002_word_splits_repaired(cleaned_corpus: dict[str, tuple[str, Cleaned]]) -> None:
    raw, cleaned = cleaned_corpus["002"]
    assert not re.search(r"\binter nationale", cleaned.text, re.IGNORECASE)
    for line in cleaned.text.split("\n"):
        assert not re.search(r"\binter\s+nationale", line, re.IGNORECASE)
    splits = (
        "Veiligheids raad",
        "Buiten landse",
        "gemeen schappelijk",
        "voor namelijk",
        "Neder landse",
        "inlichtingen capaciteiten",
        "Ontwikkelings samen werking",
        "onafhanke lijke",
    )
    for split in splits:
        assert split in raw and split not in cleaned.text


@needs_corpus
@pytest.mark.parametrize(
    ("name", "present", "absent"),
    [
        (
            "000",
            ["VN-secretaris-generaal", "minister-president", "troepen-leverende", "multilaterale orde"],
            ["mede werkers", "ver schuift"],
        ),
        (
            "002",
            ["wenselijkheid", "onderzoeksmethode", "KMar-functionarissen", "diepte-interviews"],
            ["wenselijk-heid", "onderzoeks-methode"],
        ),
        (
            "003",
            ["tweestatenoplossing", "de-escalatie", "Midden-Oosten", "defensie-uitgaven"],
            ["twee-statenoplossing", "Midden- Oosten"],
        ),
    ],
)
def test_corpus_line_end_hyphens(
    cleaned_corpus: dict[str, tuple[str, Cleaned]], name: str, present: list[str], absent: list[str]
) -> None:
    """Hyphens at line ends: typesetting hyphens go (002, 003), real ones stay (000 lost its soft hyphens)."""
    text = cleaned_corpus[name][1].text
    assert all(word in text for word in present), [w for w in present if w not in text]
    assert not any(word in text for word in absent), [w for w in absent if w in text]


@needs_corpus
def test_corpus_repair_counts(cleaned_corpus: dict[str, tuple[str, Cleaned]]) -> None:
    """Rough repair statistics per file; printed with `pytest -s`, bounded below so regressions show."""
    splits = re.compile(
        r"\b(?:inter nationale|Veiligheids raad|Buiten landse|gemeen schappelijk|Neder landse)"
    )
    totals: Counter[str] = Counter()
    for name, (raw, cleaned) in cleaned_corpus.items():
        counts = {
            "lines_unwrapped": raw.count("\n") - cleaned.text.count("\n"),
            "split_words_joined": len(splits.findall(raw)) - len(splits.findall(cleaned.text)),
            "note_mark_chars_removed": sum(
                (_alnum(raw) - _alnum(cleaned.text) - _footer_alnum(raw)).values()
            ),
            "hyphen_breaks_joined": len(re.findall(r"[^\W\d_]-\n", raw))
            - len(re.findall(r"-\n", cleaned.text)),
        }
        totals.update(counts)
        print(name, counts)
    assert totals["lines_unwrapped"] > 5000
    assert totals["split_words_joined"] >= 60
    assert totals["note_mark_chars_removed"] > 1000
    assert totals["hyphen_breaks_joined"] >= 100


@needs_corpus
def test_corpus_is_idempotent(cleaned_corpus: dict[str, tuple[str, Cleaned]]) -> None:
    for name, (_, cleaned) in cleaned_corpus.items():
        assert clean_text(cleaned.text).text == cleaned.text, name


@needs_corpus
def test_corpus_cleans_fast() -> None:
    """The corpus (380 KB) cleans in well under a second of CPU time (not wall time: CI boxes are shared)."""
    raws = [path.read_text(encoding="utf-8") for path in FILES.values()]
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for raw in raws:
            clean_text(raw)
        best = min(best, time.process_time() - start)
    assert best < 1.0, f"{best:.2f}s CPU for the corpus"
