"""index.wordsplits: joining words that PDF extraction split with a space, on real report phrasing."""

from __future__ import annotations

import pytest

from index.wordsplits import Vocab, attested_join, join_attested_splits, join_bound_splits

# The joined word occurs elsewhere in the same document, which is what attests a join.
DOC = ("De internationale gemeenschap en de internationale partners. Het onderzoek naar de "
       "onderzoekers loopt. De besluitvorming was traag. Hij kwam op dat moment. Op dat punt ging het in gang.")


def _vocab(text: str) -> Vocab:
    return Vocab.build(text, for_joins=True)


@pytest.mark.parametrize("split, joined", [
    ("de inter nationale gemeenschap", "de internationale gemeenschap"),  # bound prefix
    ("de Veiligheids raad besloot", "de Veiligheidsraad besloot"),  # bound first part (-heids)
    ("het gemeen schappelijk beleid", "het gemeenschappelijk beleid"),  # bound suffix part
])
def test_bound_splits_join_without_evidence(split: str, joined: str) -> None:
    assert join_bound_splits(split, _vocab(split)) == joined


def test_attested_split_joins_and_real_word_pairs_stay() -> None:
    text = DOC + " Zij spraken met de inter nationale partners en met onder zoekers."
    out = join_attested_splits(text, _vocab(text))
    assert "met onderzoekers" in out  # 'onderzoekers' is attested and dominates 'onder zoekers'
    assert "op dat moment" in out and "Op dat punt" in out and "in gang" in out  # real words stay apart


def test_unattested_split_is_left_alone() -> None:
    text = "De besluit vorming duurde lang."
    assert join_attested_splits(text, _vocab(text)) == text  # 'besluitvorming' never occurs here


def test_attested_join_needs_the_joined_word() -> None:
    vocab = _vocab(DOC)
    assert vocab.attested("internationale") == 2
    assert attested_join("onder", "zoekers", vocab) is True  # 'zoekers' never stands alone here
    assert attested_join("op", "dat", vocab) is False  # 'opdat' does not occur
    assert attested_join("besluit", "vorming", _vocab("De besluit vorming.")) is False
