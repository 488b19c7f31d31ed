"""Sentences of the indexed chunks and their vectors, for scoring evidence sentences at question time.

`split_sentences` is the one sentence splitter of the project (evidence selection, citation checks and
the index use it, so a sentence of a retrieved passage finds its vector by its text). The build takes
each sentence's vector from its chunk's forward pass (late chunking, `embed_passages_with_spans`; a
sentence in two overlapping chunks gets the mean) and, beside it, the sentence's own vector (the
sentence embedded alone: what it says without its passage's context); `SentenceVectors` looks them up
by text and returns their similarity to a query vector.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from index.cache import text_key

# Split after . ! ? (or a closing quote/bracket after them) before a capital, digit or opening quote;
# not after common Dutch abbreviations.
_SENT_END = re.compile(r"(?<=[.!?])[’'”)]?\s+(?=[A-Z0-9À-Ý‘“(])")
_ABBREV = re.compile(r"(?:\b(?:nr|bijv|o\.a|d\.d|m\.b\.t|t\.a\.v|i\.v\.m|ca|mr|dr|prof|drs|ir|blz|art|jl|e\.d|"
                     r"resp|incl|excl|vs|zgn|m\.n|bv|n\.a\.v)|\b[A-Z])\.$")
KEY_CHARS = 20  # hex digits of the sentence key kept on disk


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences (and lines / list items) of `text`."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        pos = line.start()
        for m in _SENT_END.finditer(line.group()):
            end = line.start() + m.start()
            if _ABBREV.search(text[max(pos, end - 8):end]):
                continue
            spans.append((pos, end))
            pos = line.start() + m.end()
        spans.append((pos, line.end()))
    return _join_fragments(text, [(s, e) for s, e in spans if text[s:e].strip()])


def _join_fragments(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A line that starts in lower case continues the previous sentence (a wrap the cleaning kept)."""
    out: list[tuple[int, int]] = []
    for s, e in spans:
        first = text[s:e].lstrip()[:1]
        if out and first.islower() and not text[out[-1][0]:out[-1][1]].rstrip().endswith((".", "!", "?")):
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def sentence_key(text: str) -> str:
    return text_key(text.strip())[:KEY_CHARS]


class SentenceVectors:
    """Vectors of the index's sentences, looked up by sentence text: `vectors` late-chunked (in their
    passage's context), `own` embedded alone (None for an index built before they existed)."""

    def __init__(self, keys: list[str], vectors: np.ndarray, own: np.ndarray | None = None):
        if len(keys) != len(vectors) or (own is not None and len(own) != len(keys)):
            raise ValueError(f"{len(keys)} sentence keys for {len(vectors)} vectors")
        self._row = {k: i for i, k in enumerate(keys)}
        self.vectors = vectors
        self.own = own

    def __len__(self) -> int:
        return len(self._row)

    def similarities(self, texts: list[str], query_vector: np.ndarray,
                     embed: Callable[[list[str]], np.ndarray] | None = None, max_embed: int = 4,
                     own: bool = False) -> np.ndarray:
        """Cosine similarity of each sentence to the query (`own`: of the sentence's own vector; the
        late-chunked one when the index has none). A sentence the index does not hold (a fragment cut
        at a passage edge) is embedded with `embed` when there are at most `max_embed` of them;
        otherwise it gets the lowest similarity of the others."""
        matrix = self.own if own and self.own is not None else self.vectors
        rows = [self._row.get(sentence_key(t)) for t in texts]
        sims = np.full(len(texts), np.nan, dtype=np.float32)
        known = [i for i, r in enumerate(rows) if r is not None]
        if known:
            sims[known] = matrix[[rows[i] for i in known]] @ query_vector
        missing = [i for i, r in enumerate(rows) if r is None]
        if missing and embed is not None and len(missing) <= max_embed:
            sims[missing] = embed([texts[i] for i in missing]) @ query_vector
        if np.isnan(sims).any():
            sims[np.isnan(sims)] = np.nanmin(sims) if known else 0.0
        return sims
