"""Dutch lexical analysis and the BM25 index built on it (bm25s + Snowball "dutch" stemmer).

One analyzer serves both sides, so chunks and questions are tokenized the same way: lower-case,
accents folded, stop words dropped, Snowball-stemmed; hyphenated codes yield their parts and their
joined form ("C-130" -> c, 130, c130; "KMar-militairen" -> kmar, militair, kmarmilitair).
Does not do dense retrieval or fusion.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.text import raw_terms


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("dutch")


def compound_heads(texts: list[str]) -> frozenset[str]:
    """Stems of words (6+ letters) that occur on their own in `texts`: candidate compound heads."""
    words = {t for text in texts for t in raw_terms(text) if len(t) >= 6 and t.isalpha()}
    return frozenset(_stemmer().stemWords(sorted(words)))


@lru_cache(maxsize=65536)
def _head(term: str, heads: frozenset[str]) -> str | None:
    """Stem of the longest known word that ends `term` ('vredesmissie' -> 'missie'), if any."""
    if len(term) < 10 or not term.isalpha():
        return None
    stem = _stemmer().stemWord
    for cut in range(3, len(term) - 5):
        head = stem(term[cut:])
        if head in heads:
            return head
    return None


def analyze(text: str, heads: frozenset[str] = frozenset()) -> list[str]:
    """Stemmed BM25 terms of `text`; with `heads`, Dutch compounds also yield their head word."""
    raw = raw_terms(text)
    terms = _stemmer().stemWords(raw)
    if heads:
        terms += [h for t in raw if (h := _head(t, heads))]
    return terms


class LexicalIndex:
    """BM25 over analyzed chunk texts; scores are aligned with chunk row numbers."""

    def __init__(self, retriever, heads: frozenset[str]):
        self._bm25 = retriever
        self._vocab = retriever.vocab_dict
        self.heads = heads

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        import bm25s

        heads = compound_heads(texts)
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        retriever.index([analyze(t, heads) or [""] for t in texts], show_progress=False)
        return cls(retriever, heads)

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder), show_progress=False)
        (folder / "heads.json").write_text(json.dumps(sorted(self.heads)), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        import bm25s

        heads = frozenset(json.loads((folder / "heads.json").read_text(encoding="utf-8")))
        return cls(bm25s.BM25.load(str(folder), show_progress=False, verbosity=0), heads)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for `query` (zeros when no query term is in the vocabulary)."""
        terms = [t for t in analyze(query, self.heads) if t in self._vocab]
        n = self._bm25.scores["num_docs"]
        if not terms:
            return np.zeros(n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)
