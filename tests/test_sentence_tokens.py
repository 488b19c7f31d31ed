"""index.sentences.SentenceTokens / SentenceVectors.token_match: the late-interaction match of a
question's tokens with each sentence's (idf-weighted ColBERT-style MaxSim), and its store round trip
(the ranker features built from it: tests/test_learned.py)."""

from __future__ import annotations

import numpy as np
import pytest

from index import store
from index.build import build_index
from index.sentences import SentenceTokens, SentenceVectors, sentence_key

E = np.eye(4, dtype=np.float32)  # four orthogonal "token states"


def _tokens() -> SentenceTokens:
    # sentence 0: tokens 10, 11 (states e0, e1); sentence 1: tokens 10, 12 (e0, e2); sentence 2: token 13 (e3)
    return SentenceTokens.from_lists([(E[[0, 1]], np.array([10, 11])), (E[[0, 2]], np.array([10, 12])),
                                      (E[[3]], np.array([13]))], 4)


def test_match_is_the_idf_weighted_mean_of_each_question_tokens_best_cosine() -> None:
    t = _tokens()
    # idf over the 3 sentences: token 10 in 2 -> log(4/3); 11, 12, 13 in 1 -> log(4/2); plus the 0.1 floor
    w10, w11 = np.log(4 / 3) + 0.1, np.log(2) + 0.1
    assert t.weights(np.array([10, 11, 99])) == pytest.approx([w10, w11, np.log(4) + 0.1])
    m = t.match([0, 1, 2], E[[0, 1]], np.array([10, 11]))  # the question asks tokens 10 and 11
    assert m[0] == pytest.approx([1.0, 1.0])  # both found; both of its tokens match the question
    assert m[1] == pytest.approx([w10 / (w10 + w11), 0.5])  # only token 10: its share of the weight
    assert m[2] == pytest.approx([0.0, 0.0])
    assert t.match([2, 0], E[[0, 1]], np.array([10, 11]))[1] == pytest.approx([1.0, 1.0])  # rows in any order
    assert t.match([], E[[0]], np.array([10])).shape == (0, 2)


def test_token_match_by_text_gives_an_unknown_sentence_the_lowest_match() -> None:
    keys = [sentence_key(s) for s in ("Een.", "Twee.", "Drie.")]
    vectors = SentenceVectors(keys, np.zeros((3, 4), np.float32), tokens=_tokens())
    q, ids = E[[0, 1]], np.array([10, 11])
    m = vectors.token_match(["Een.", "Twee.", "Nieuw."], q, ids)
    assert m[0] == pytest.approx([1.0, 1.0]) and m[2] == pytest.approx(m[1])  # the lowest of the others
    assert vectors.token_match(["Nieuw."], q, ids) == pytest.approx(np.zeros((1, 2)))
    with pytest.raises(ValueError):
        SentenceVectors(keys[:2], np.zeros((2, 4), np.float32), tokens=_tokens())


def test_the_build_stores_token_states_and_the_loader_reads_them(build_cfg, fake_embedder) -> None:
    build_index(build_cfg, fake_embedder, progress=False)
    loaded = store.load_index(build_cfg.out, fake_embedder.fingerprint)
    tokens = loaded.sentences.tokens
    assert tokens is not None and len(tokens) == len(loaded.sentences)
    assert tokens.vectors.dtype == np.float16 and len(tokens.vectors) == len(tokens.ids) == tokens.offsets[-1]
    for name in ("sentence_tokens.npy", "sentence_token_ids.npy", "sentence_token_offsets.npy"):
        assert name in loaded.manifest["files"]  # checksummed like the other files
    text = next(c.text for c in loaded.chunks)
    first = text.split(". ")[0] + "."
    q, ids = fake_embedder.token_vectors([first], "query")[0]
    assert loaded.sentences.token_match([first], q, ids)[0, 0] == pytest.approx(1.0, abs=1e-3)
