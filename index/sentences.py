"""Sentences of the indexed chunks and their vectors, for scoring evidence sentences at question time.

`split_sentences` is the one sentence splitter of the project (evidence selection, citation checks and
the index use it, so a sentence of a retrieved passage finds its vector by its text). The build takes
each sentence's vector from its chunk's forward pass (late chunking, `embed_passages_with_spans`; a
sentence in two overlapping chunks gets the mean) and, beside it, the sentence's own vector (the
sentence embedded alone: what it says without its passage's context); `SentenceVectors` looks them up
by text and returns their similarity to a query vector. `SentenceTokens` keeps the token states of each
sentence embedded alone, for a late-interaction match of the question's tokens (`token_match`).
`SentenceQuestions` holds questions written for each sentence (doc2query, questions/README.md),
embedded as queries: a user's question is compared with them, question to question (`question_match`).
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


class SentenceTokens:
    """The content tokens of each sentence embedded alone: their normalised states (`vectors`, float16,
    all sentences concatenated), their token ids and each sentence's `offsets` into both. The ids give
    an idf per token (over the sentences), to weight the question's tokens."""

    def __init__(self, vectors: np.ndarray, ids: np.ndarray, offsets: np.ndarray):
        if len(vectors) != len(ids) or offsets[-1] != len(ids):
            raise ValueError(f"{len(ids)} token ids for {len(vectors)} token vectors")
        self.vectors, self.ids, self.offsets = vectors, ids.astype(np.int64), offsets.astype(np.int64)
        n = len(offsets) - 1
        seen = np.unique(np.stack([np.repeat(np.arange(n), np.diff(self.offsets)), self.ids]), axis=1)[1]
        tokens, df = np.unique(seen, return_counts=True)
        self._idf = dict(zip(tokens.tolist(), np.log((n + 1) / (df + 1)).tolist()))
        self._unknown = float(np.log(n + 1))

    @classmethod
    def from_lists(cls, per_sentence: list[tuple[np.ndarray, np.ndarray]], dim: int) -> SentenceTokens:
        offsets = np.cumsum([0] + [len(ids) for _, ids in per_sentence])
        vectors = (np.concatenate([v for v, _ in per_sentence]) if per_sentence and offsets[-1]
                   else np.zeros((0, dim), np.float32))
        ids = np.concatenate([i for _, i in per_sentence]) if offsets[-1] else np.zeros(0, np.int64)
        return cls(vectors.astype(np.float16), ids, offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def weights(self, ids: np.ndarray) -> np.ndarray:
        """idf of each token (a small floor, so that no token weighs nothing)."""
        return np.array([self._idf.get(int(i), self._unknown) for i in ids]) + 0.1

    def match(self, rows: list[int], query: np.ndarray, query_ids: np.ndarray) -> np.ndarray:
        """For each sentence row: (the idf-weighted mean over the question's tokens of their best cosine
        to a token of the sentence, the mean over the sentence's tokens of their best cosine to the
        question) — a late-interaction match, as ColBERT scores, on the e5 token states."""
        out = np.zeros((len(rows), 2), np.float32)
        if not len(query) or not rows:
            return out
        w = self.weights(query_ids)
        w = w / w.sum()
        spans = [(self.offsets[r], self.offsets[r + 1]) for r in rows]
        sims = self.vectors[np.concatenate([np.arange(a, b) for a, b in spans])].astype(np.float32) @ query.T
        pos = 0
        for i, (a, b) in enumerate(spans):
            block = sims[pos:pos + b - a]
            pos += b - a
            if len(block):
                out[i] = (float(block.max(axis=0) @ w), float(block.max(axis=1).mean()))
        return out


class SentenceQuestions:
    """Questions that the index's sentences answer, embedded as queries: their normalised `vectors`
    (float16) and the sentence row each belongs to (`rows`); `n` sentences in all."""

    def __init__(self, vectors: np.ndarray, rows: np.ndarray, n: int, texts: list[str] | None = None):
        if len(vectors) != len(rows) or (len(rows) and (rows.min() < 0 or rows.max() >= n)):
            raise ValueError(f"{len(rows)} question rows for {len(vectors)} question vectors and {n} sentences")
        if texts is not None and len(texts) != len(rows):
            raise ValueError(f"{len(texts)} question texts for {len(rows)} questions")
        self.vectors, self.rows, self.n = vectors.astype(np.float32), rows.astype(np.int64), n
        self.texts = texts  # the questions themselves (their words: the ranker's `qlex`)

    def of_row(self) -> dict[int, list[str]]:
        """Sentence row -> the texts of its questions (empty without texts)."""
        out: dict[int, list[str]] = {}
        for row, text in zip(self.rows.tolist(), self.texts or ()):
            out.setdefault(row, []).append(text)
        return out

    def __len__(self) -> int:
        return len(self.rows)

    def best(self, query: np.ndarray) -> np.ndarray:
        """Each sentence's best cosine between `query` and its questions; NaN for a sentence without."""
        out = np.full(self.n, -np.inf, np.float32)
        if len(self.rows):
            np.maximum.at(out, self.rows, self.vectors @ query.astype(np.float32))
        out[np.isneginf(out)] = np.nan
        return out


class SentenceVectors:
    """Vectors of the index's sentences, looked up by sentence text: `vectors` late-chunked (in their
    passage's context), `own` embedded alone (None for an index built before they existed), `tokens`
    the token states of each sentence embedded alone, `questions` the questions written for them (None
    likewise)."""

    def __init__(self, keys: list[str], vectors: np.ndarray, own: np.ndarray | None = None,
                 tokens: SentenceTokens | None = None, questions: SentenceQuestions | None = None):
        if len(keys) != len(vectors) or (own is not None and len(own) != len(keys)) or (
                tokens is not None and len(tokens) != len(keys)) or (
                questions is not None and questions.n != len(keys)):
            raise ValueError(f"{len(keys)} sentence keys for {len(vectors)} vectors")
        self._row = {k: i for i, k in enumerate(keys)}
        self.keys = keys
        self.vectors = vectors
        self.own = own
        self.tokens = tokens
        self.questions = questions

    def rows(self, texts: list[str]) -> list[int | None]:
        """The row of each sentence text (None for a text the index lacks)."""
        return [self._row.get(sentence_key(t)) for t in texts]

    def question_match(self, texts: list[str], query_vector: np.ndarray | None = None,
                       best: np.ndarray | None = None) -> np.ndarray:
        """Each sentence's best cosine of `query_vector` to the questions written for it (or `best`, that
        match for every sentence row, already computed: `SentenceQuestions.best`); a sentence without
        questions (or one the index lacks) gets the lowest value of the others."""
        assert self.questions is not None and (query_vector is not None or best is not None)
        best = self.questions.best(query_vector) if best is None else best
        rows = [self._row.get(sentence_key(t)) for t in texts]
        out = np.array([best[r] if r is not None else np.nan for r in rows], np.float32)
        if np.isnan(out).any():
            out[np.isnan(out)] = np.nanmin(out) if not np.isnan(out).all() else 0.0
        return out

    def token_match(self, texts: list[str], query: np.ndarray, query_ids: np.ndarray) -> np.ndarray:
        """`SentenceTokens.match` for sentence texts, (n, 2); a sentence the index lacks (a fragment cut at
        a passage edge) gets the lowest match of the others."""
        assert self.tokens is not None
        rows = [self._row.get(sentence_key(t)) for t in texts]
        known = [i for i, r in enumerate(rows) if r is not None]
        out = np.zeros((len(texts), 2), dtype=np.float32)
        if known:
            out[known] = self.tokens.match([rows[i] for i in known], query, query_ids)
            out[[i for i, r in enumerate(rows) if r is None]] = out[known].min(axis=0)
        return out

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
