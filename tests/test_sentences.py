"""Sentence vectors: built with the index (one model pass per chunk), looked up by text at question
time, and used to rank evidence sentences; plus the extractive answer's word budget."""

from __future__ import annotations

import numpy as np
import pytest

from index import store
from index.build import build_index
from index.sentences import SentenceVectors, sentence_key, split_sentences
from service.models.embedder import FakeEmbedder


def sentence_texts(texts: list[str]) -> list[str]:
    """The distinct stripped sentences of `texts`, in first-seen order (what the build stores)."""
    return list(dict.fromkeys(t[s:e].strip() for t in texts for s, e in split_sentences(t)))


def _unit(v: list[float]) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a)


def test_similarities_look_up_by_text_and_fill_the_missing() -> None:
    vectors = SentenceVectors([sentence_key("Een."), sentence_key("Twee.")], np.stack([_unit([1, 0]), _unit([0, 1])]))
    q = _unit([1, 1])
    sims = vectors.similarities(["Twee.", " Een. ", "Onbekend."], q)  # surrounding spaces do not matter
    assert np.allclose(sims, [0.7071, 0.7071, 0.7071], atol=1e-3)  # the unknown one gets the lowest known
    embedded: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        embedded.append(texts)
        return np.stack([_unit([1, 0.1])] * len(texts))

    sims = vectors.similarities(["Een.", "Onbekend."], _unit([1, 0]), embed=embed)
    assert embedded == [["Onbekend."]] and sims[0] == 1.0 and 0.99 < sims[1] < 1.0
    sims = vectors.similarities(["Een.", "A.", "B."], _unit([1, 0]), embed=embed, max_embed=1)
    assert len(embedded) == 1 and np.allclose(sims, [1.0, 1.0, 1.0])  # too many unknown: not embedded


def test_build_stores_one_normalised_vector_per_distinct_sentence(build_cfg, fake_embedder: FakeEmbedder) -> None:
    build_index(build_cfg, fake_embedder, progress=False)
    loaded = store.load_index(build_cfg.out, fake_embedder.fingerprint)
    texts = sentence_texts([c.text for c in loaded.chunks])
    assert loaded.sentences is not None and len(loaded.sentences) == len(texts) > 20
    assert loaded.manifest["sentence_count"] == len(texts)
    assert np.allclose(np.linalg.norm(loaded.sentences.vectors, axis=1), 1.0, atol=1e-5)
    # the fake embeds each sentence on its own, so a sentence is its own nearest neighbour
    sample = texts[len(texts) // 2]
    sims = loaded.sentences.similarities(texts, fake_embedder.embed_queries([sample])[0])
    assert texts[int(np.argmax(sims))] == sample and sims.max() > 0.999


def test_cached_rebuild_restores_the_same_sentence_vectors(build_cfg, fake_embedder: FakeEmbedder) -> None:
    build_index(build_cfg, fake_embedder, progress=False)
    first = store.load_index(build_cfg.out, fake_embedder.fingerprint).sentences
    fake_embedder.calls = 0
    build_index(build_cfg, fake_embedder, progress=False, force=True)  # settings unchanged: rebuilt from cache
    second = store.load_index(build_cfg.out, fake_embedder.fingerprint).sentences
    assert fake_embedder.calls == 0 and np.array_equal(first.vectors, second.vectors)


@pytest.mark.parametrize("text, expected", [
    ("Kamerstuk 29 521, nr. 451. Ook de huidige ontwikkelingen blijven buiten beschouwing.",
     ["Kamerstuk 29 521, nr. 451.", "Ook de huidige ontwikkelingen blijven buiten beschouwing."]),
    ("Het gaat o.a. om trainers en stafofficieren. Die zijn schaars.",
     ["Het gaat o.a. om trainers en stafofficieren.", "Die zijn schaars."]),
    ("Zie art. 100 van de Grondwet.", ["Zie art. 100 van de Grondwet."]),
    ("De minister A. Koenders sprak. Daarna volgde het debat.",
     ["De minister A. Koenders sprak.", "Daarna volgde het debat."]),
    ("De inzet eindigde in 2022. 128 interviews werden gehouden.",
     ["De inzet eindigde in 2022.", "128 interviews werden gehouden."]),
    ("Hoofdvraag: wat is bereikt?\nOnderzoeksvraag 1: wat waren de doelen?",
     ["Hoofdvraag: wat is bereikt?", "Onderzoeksvraag 1: wat waren de doelen?"]),
    ("de inzet van MINUSMA. daarna niets", ["de inzet van MINUSMA. daarna niets"]),  # no capital: no split
])
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert [text[s:e].strip() for s, e in split_sentences(text)] == expected
