"""Dutch lexical analysis and the BM25 index built on it (bm25s + Snowball "dutch" stemmer).

One analyzer serves both sides, so chunks and questions are tokenized the same way: lower-case,
accents folded, stop words dropped, Snowball-stemmed; hyphenated codes yield their parts and their
joined form ("C-130" -> c, 130, c130; "KMar-militairen" -> kmar, militair, kmarmilitair).
Does not do dense retrieval or fusion.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np

_TOKEN = re.compile(r"[a-z0-9]+(?:[-/'][a-z0-9]+)*")
STOPWORDS = frozenset(
    """aan al alle als alles bij dan dat de deze die dit doch door dus een en er ge geen had heb hebben
    heeft het hier hij hoe hun ik in is je kan kon maar me meer men met mij mijn na naar niet niets nog
    nu of om omdat ons onze ook op over reeds te tegen toch toen tot u uit uw van veel voor want waren
    was wat we wel werd wie wij wordt worden zal ze zelf zich zij zijn zo zou zouden the of and to welke
    welk waar wanneer waarom hoeveel""".split()
)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("dutch")


def fold(text: str) -> str:
    """Lower-case and strip accents: 'Geïntegreerde' -> 'geintegreerde'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def raw_terms(text: str) -> list[str]:
    """Unstemmed terms, with hyphenated codes split and joined; stop words dropped."""
    out: list[str] = []
    for tok in _TOKEN.findall(fold(text)):
        parts = re.split(r"[-/']", tok)
        if len(parts) > 1:
            out.extend(p for p in parts if p not in STOPWORDS)
            out.append("".join(parts))
        elif tok not in STOPWORDS:
            out.append(tok)
    return out


def analyze(text: str) -> list[str]:
    """Stemmed BM25 terms of `text`."""
    return _stemmer().stemWords(raw_terms(text))


class LexicalIndex:
    """BM25 over analyzed chunk texts; scores are aligned with chunk row numbers."""

    def __init__(self, retriever):
        self._bm25 = retriever
        self._vocab = retriever.vocab_dict

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        import bm25s

        retriever = bm25s.BM25(k1=1.2, b=0.75)
        retriever.index([analyze(t) or [""] for t in texts], show_progress=False)
        return cls(retriever)

    def save(self, folder: Path) -> None:
        self._bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        import bm25s

        return cls(bm25s.BM25.load(str(folder), show_progress=False, verbosity=0))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for `query` (zeros when no query term is in the vocabulary)."""
        terms = [t for t in analyze(query) if t in self._vocab]
        n = self._bm25.scores["num_docs"]
        if not terms:
            return np.zeros(n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)
