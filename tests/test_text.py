"""index.text: Dutch detection (the folding and word lists are exercised through lexical, refusal and clean)."""

from __future__ import annotations

import pytest

from index.text import fold, is_dutch, squash


@pytest.mark.parametrize("text, expected", [
    ("Het detachement werd in 2021 naar Mali gestuurd en bleef daar tot mei 2022.", True),
    ("The detachment was sent to Mali in 2021 and it stayed there until May 2022.", False),
    ("MINUSMA 2022", None),
    ("Noorwegen [1].", None),
])
def test_is_dutch(text: str, expected: bool | None) -> None:
    assert is_dutch(text) is expected


def test_fold_and_squash() -> None:
    assert fold("Geïntegreerde Überprüfung") == "geintegreerde uberprufung"
    assert squash("C-130 detachement, Curaçao") == "c130detachementcuracao"
