"""index.sentences.SentenceQuestions / SentenceVectors.question_match: questions written for the
index's sentences (doc2query, questions/), embedded at build time and matched with the user's question;
the build reads questions/written-*.jsonl, stores them and rebuilds when they change; the search fuses
in the passages they point to (the ranker features: tests/test_learned.py)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from index import store
from index.build import build_index, read_questions
from index.sentences import SentenceQuestions, SentenceVectors, sentence_key

E = np.eye(4, dtype=np.float32)


def test_best_is_each_sentences_best_question_and_nan_without() -> None:
    # sentence 0 has questions e0 and e1, sentence 2 has e3, sentence 1 none
    asked = SentenceQuestions(E[[0, 1, 3]], np.array([0, 0, 2]), 3)
    q = np.array([0.6, 0.8, 0.0, 0.0], np.float32)
    best = asked.best(q)
    assert best[0] == pytest.approx(0.8) and np.isnan(best[1]) and best[2] == pytest.approx(0.0)
    with pytest.raises(ValueError):
        SentenceQuestions(E[[0, 1]], np.array([0, 3]), 3)  # a row beyond the sentences
    with pytest.raises(ValueError):
        SentenceQuestions(E[[0, 1]], np.array([0, 2]), 3, ["Wat?"])  # a text for each question, or none


def test_question_match_by_text_gives_sentences_without_questions_the_lowest_value() -> None:
    keys = [sentence_key(s) for s in ("Een.", "Twee.", "Drie.")]
    asked = SentenceQuestions(E[[0, 1]], np.array([0, 2]), 3)
    vectors = SentenceVectors(keys, np.zeros((3, 4), np.float32), questions=asked)
    q = np.array([0.6, 0.8, 0.0, 0.0], np.float32)
    m = vectors.question_match(["Een.", "Twee.", "Drie.", "Nieuw."], q)
    assert m == pytest.approx([0.6, 0.6, 0.8, 0.6])  # "Twee." has none, "Nieuw." is not in the index
    given = vectors.question_match(["Een.", "Twee.", "Drie.", "Nieuw."], best=asked.best(q))
    assert given == pytest.approx(m)  # the match computed once for the search serves the ranker too
    with pytest.raises(ValueError):
        SentenceVectors(keys[:2], np.zeros((2, 4), np.float32), questions=asked)


def test_read_questions_groups_by_key_without_repeats(tmp_path) -> None:
    rows = [{"key": "a", "kind": "nl", "question": "Wat?"}, {"key": "a", "kind": "para", "question": "Hoe?"},
            {"key": "a", "kind": "nl", "question": "Wat?"}, {"key": "b", "kind": "en", "question": "Who?"}]
    (tmp_path / "written-1.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", "utf-8")
    (tmp_path / "notes.jsonl").write_text(json.dumps({"key": "c", "question": "Niet gelezen?"}), "utf-8")
    assert read_questions(tmp_path) == {"a": ["Wat?", "Hoe?"], "b": ["Who?"]}


def _first_sentences(cfg, embedder) -> list[str]:
    build_index(cfg, embedder, progress=False)
    loaded = store.load_index(cfg.out, embedder.fingerprint)
    return [c.text.split(". ")[0] + "." for c in loaded.chunks[:2]]


def test_the_build_embeds_the_questions_and_rebuilds_when_they_change(build_cfg, fake_embedder, tmp_path) -> None:
    first = _first_sentences(build_cfg, fake_embedder)
    folder = tmp_path / "questions"
    folder.mkdir()
    path = folder / "written-1.jsonl"
    path.write_text(json.dumps({"key": sentence_key(first[0]), "kind": "nl", "question": "Eerste vraag?"}) + "\n"
                    + json.dumps({"key": "0" * 20, "kind": "nl", "question": "Van geen zin?"}) + "\n", "utf-8")
    cfg = replace(build_cfg, questions=folder)
    assert not build_index(cfg, fake_embedder, progress=False).skipped  # the questions are new: rebuilt
    loaded = store.load_index(cfg.out, fake_embedder.fingerprint)
    asked = loaded.sentences.questions
    assert asked is not None and len(asked) == 1  # the question of an unknown sentence is left out
    for name in ("sentence_questions.npy", "sentence_question_rows.npy", "sentence_questions.json"):
        assert name in loaded.manifest["files"]
    assert asked.texts == ["Eerste vraag?"] and asked.of_row() == {loaded.sentences.rows([first[0]])[0]: asked.texts}
    q = fake_embedder.embed_queries(["Eerste vraag?"])[0]
    assert loaded.sentences.question_match([first[0]], q)[0] == pytest.approx(1.0, abs=1e-3)
    assert build_index(cfg, fake_embedder, progress=False).skipped  # unchanged: nothing to do
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"key": sentence_key(first[0]), "kind": "para", "question": "Tweede vraag?"}) + "\n")
    assert not build_index(cfg, fake_embedder, progress=False).skipped
    assert len(store.load_index(cfg.out, fake_embedder.fingerprint).sentences.questions) == 2


def test_an_index_without_questions_loads_with_none(built_index, fake_embedder) -> None:
    loaded = store.load_index(built_index.out, fake_embedder.fingerprint)
    assert loaded.sentences.questions is None


@pytest.mark.parametrize("kind", ["faiss", "qdrant"])
def test_the_search_fuses_in_the_passages_whose_sentences_questions_match(build_cfg, fake_embedder, tmp_path,
                                                                         kind) -> None:
    from index.qdrant_store import QdrantLocation
    from service.qa.retrieval import FusionParams, Retriever

    if kind == "qdrant":  # Qdrant fuses dense and BM25 itself; the question ranking is fused in after
        build_cfg = replace(build_cfg, qdrant=QdrantLocation("asked", path=str(tmp_path / "q")))
    build_index(build_cfg, fake_embedder, progress=False)
    plain = store.load_index(build_cfg.out, fake_embedder.fingerprint)
    before, _ = Retriever(plain, fake_embedder, FusionParams(depth=3, merge_chars=0)).rank("Zzz qqq xxyy?")
    chunks = plain.chunks
    target = next(i for i in range(len(chunks)) if i not in before.tolist())  # not found without questions
    sentence = chunks[target].text.split(". ")[0] + "."
    folder = tmp_path / "questions"
    folder.mkdir()
    (folder / "written-1.jsonl").write_text(json.dumps(
        {"key": sentence_key(sentence), "kind": "para", "question": "Zzz qqq xxyy?"}) + "\n", "utf-8")
    cfg = replace(build_cfg, questions=folder)
    build_index(cfg, fake_embedder, progress=False)
    index = store.load_index(cfg.out, fake_embedder.fingerprint)
    on = Retriever(index, fake_embedder, FusionParams(depth=3, merge_chars=0))
    off = Retriever(index, fake_embedder, FusionParams(depth=3, merge_chars=0, question_weight=0.0))
    rows_on, found = on.rank("Zzz qqq xxyy?")
    rows_off, _ = off.rank("Zzz qqq xxyy?")
    assert target in rows_on[:3].tolist() and found["fused"][target] > 0
    assert target not in rows_off.tolist() and rows_off.tolist() == before.tolist()  # weight 0: as before
    assert any(h.start <= chunks[target].start < h.end or h.chunk_id == chunks[target].chunk_id
               for h in on.search("Zzz qqq xxyy?", k=3))
    if kind == "faiss":  # the search's question ranking and the ranker's q2q read one computation per query
        calls = []
        real = SentenceQuestions.best
        index.sentences.questions.best = lambda q: calls.append(1) or real(index.sentences.questions, q)
        on.clear_query_cache()
        on.search("Zzz qqq xxyy?", k=3)
        match = on.question_match("Zzz qqq xxyy?")([sentence])
        assert len(calls) == 1 and match[0] == pytest.approx(1.0, abs=1e-3)


def test_the_pipeline_reads_the_written_questions_words_for_the_ranker(build_cfg, fake_embedder, tmp_path,
                                                                        stand_in_models) -> None:
    from service.qa.pipeline import Pipeline
    from service.qa.retrieval import Retriever

    first = _first_sentences(build_cfg, fake_embedder)
    folder = tmp_path / "questions"
    folder.mkdir()
    (folder / "written-1.jsonl").write_text(
        json.dumps({"key": sentence_key(first[0]), "kind": "nl", "question": "Welke soldaten vlogen mee?"}) + "\n",
        "utf-8")
    cfg = replace(build_cfg, questions=folder)
    build_index(cfg, fake_embedder, progress=False)
    pipeline = Pipeline(Retriever(store.load_index(cfg.out, fake_embedder.fingerprint), fake_embedder), None,
                        models=stand_in_models)
    assert pipeline._asked == {sentence_key(first[0]): frozenset(pipeline.idf.terms("Welke soldaten vlogen mee?"))}
