"""index.footnotes: glued note marks and sentences interrupted by a page's footnote block."""

from __future__ import annotations

import pytest

from index.footnotes import rejoin_across_notes, strip_footnote_marks


@pytest.mark.parametrize("text, bodies, want", [
    ("op ons af komen.’3 Alhoewel de Defensievisie", {"3"}, "op ons af komen.’ Alhoewel de Defensievisie"),
    ("het Vredesakkoord van Algiers.iii Het akkoord", {"iii"}, "het Vredesakkoord van Algiers. Het akkoord"),
    ("in dit kader10 werd", {"10"}, "in dit kader werd"),
    ("sinds 2013.i De missie", {"i"}, "sinds 2013. De missie"),
    ("zie art. 3 van de wet", set(), "zie art. 3 van de wet"),  # an article number is no note mark
    ("de C-130 vloog", set(), "de C-130 vloog"),  # digits in a code stay
])
def test_strip_footnote_marks(text: str, bodies: set[str], want: str) -> None:
    assert strip_footnote_marks(text, frozenset(bodies)) == want


def test_sentence_interrupted_by_notes_is_rejoined_and_notes_follow() -> None:
    text = ("Er was behoefte aan een\n\n"
            "xi Verderop in het rapport meer hierover.\n\n"
            "xii Zie ook de evaluatie.\n\n"
            "\x00inlichtingencapaciteit binnen MINUSMA.\n\n"
            "Volgende alinea.")
    out = rejoin_across_notes(text).split("\n\n")
    assert out[0] == "Er was behoefte aan een \x00inlichtingencapaciteit binnen MINUSMA."  # page mark kept
    assert out[1:3] == ["xi Verderop in het rapport meer hierover.", "xii Zie ook de evaluatie."]
    assert out[3] == "Volgende alinea."


def test_finished_paragraph_is_not_joined_to_text_after_notes() -> None:
    text = "De missie eindigde in 2023.\n\n3 Kamerstuk 29521.\n\nnieuwe zin in kleine letters."
    assert rejoin_across_notes(text) == text
