import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index import store
from index.build import build_index
from index.errors import IndexStoreError
from index.sentences import split_sentences
from service.models.embedder import FakeEmbedder


def test_build_writes_a_loadable_verified_index(build_cfg, fake_embedder):
    result = build_index(build_cfg, fake_embedder, progress=False)
    assert result.documents == 3 and result.chunks > 10 and not result.skipped
    assert result.embedded == result.chunks - _duplicates(build_cfg.out)
    loaded = store.load_index(build_cfg.out, fake_embedder.fingerprint)
    m = loaded.manifest
    assert m["chunk_count"] == len(loaded.chunks) == loaded.dense.ntotal == result.chunks
    assert m["embedder"]["fingerprint"] == fake_embedder.fingerprint and m["dim"] == fake_embedder.dim
    assert m["format_version"] == store.FORMAT_VERSION and len(m["corpus_checksum"]) == 64
    assert {d["doc_id"] for d in loaded.documents} == {"c130-beleidsreactie", "iob-minusma", "kleinere-bijdragen"}


def _duplicates(out: Path) -> int:
    texts = [json.loads(line)["text"] for line in (out / "chunks.jsonl").open()]
    return len(texts) - len(set(texts))


def test_nearest_chunk_by_dense_and_bm25(built_index, fake_embedder):
    loaded = store.load_index(built_index.out, fake_embedder.fingerprint)
    query = "Noorwegen gecoördineerde Multinational Rotational Concept"
    _, ids = loaded.dense.search(fake_embedder.embed_queries([query]), 1)
    assert "Rotational Concept" in loaded.chunks[ids[0][0]].text
    scores = loaded.lexical.scores("Multinational Rotational Concept Noorwegen")
    assert "Noorwegen" in loaded.chunks[int(np.argmax(scores))].text


def test_second_build_is_skipped(built_index, fake_embedder):
    fake_embedder.calls = 0
    again = build_index(built_index, fake_embedder, progress=False)
    assert again.skipped and again.embedded == 0 and fake_embedder.calls == 0


def test_rebuild_embeds_only_changed_chunks(built_index, fake_embedder):
    path = built_index.corpus / "iob-minusma.txt"
    path.write_text(path.read_text() + "\n\nNieuwe alinea over UNIFIL in Libanon en UNTSO.\n", encoding="utf-8")
    fake_embedder.calls = 0
    result = build_index(built_index, fake_embedder, progress=False)
    assert not result.skipped
    # each changed chunk embedded, and each sentence that is new (alone): here the one added
    assert 1 <= result.embedded <= 3 and fake_embedder.calls == result.embedded + 1
    loaded = store.load_index(built_index.out, fake_embedder.fingerprint)
    chunk = next(c.text for c in loaded.chunks if "Nieuwe alinea" in c.text)
    new = next(chunk[s:e] for s, e in split_sentences(chunk) if "Nieuwe alinea" in chunk[s:e])
    own = loaded.sentences.similarities([new], fake_embedder.embed_passages([new.strip()])[0], own=True)
    assert own[0] > 0.999  # the new sentence's own vector is stored


def test_other_embedder_is_refused(built_index):
    with pytest.raises(IndexStoreError, match="andere|embedder"):
        store.load_index(built_index.out, FakeEmbedder(dim=128).fingerprint)


def test_damaged_file_is_refused(built_index, fake_embedder):
    with (built_index.out / "chunks.jsonl").open("a") as f:
        f.write("{}\n")
    with pytest.raises(IndexStoreError, match="beschadigd"):
        store.load_index(built_index.out, fake_embedder.fingerprint)


def test_damaged_index_is_rebuilt(built_index, fake_embedder):
    (built_index.out / "dense.faiss").write_bytes(b"garbage")
    result = build_index(built_index, fake_embedder, progress=False)
    assert not result.skipped
    store.load_index(built_index.out, fake_embedder.fingerprint)


def test_crash_mid_build_keeps_previous_index(built_index, fake_embedder, monkeypatch):
    before = (built_index.out / "manifest.json").read_text()
    (built_index.corpus / "extra.txt").write_text("Tekst over de C-130 in Gao.", encoding="utf-8")

    def boom(*a, **k):
        raise RuntimeError("crash tijdens schrijven")

    monkeypatch.setattr(store.LexicalIndex, "build", boom)
    with pytest.raises(RuntimeError):
        build_index(built_index, fake_embedder, progress=False)
    assert (built_index.out / "manifest.json").read_text() == before
    assert not list(built_index.out.parent.glob(".index.tmp-*"))
    store.load_index(built_index.out, fake_embedder.fingerprint)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_other_faiss_kinds(built_index, fake_embedder, kind):
    cfg = replace(built_index, out=built_index.out.parent / f"index-{kind}", faiss_kind=kind)
    build_index(cfg, fake_embedder, progress=False)
    loaded = store.load_index(cfg.out, fake_embedder.fingerprint)
    assert loaded.manifest["faiss"] == kind
    query = fake_embedder.embed_queries([loaded.chunks[5].text])
    _, ids = loaded.dense.search(query, 3)
    assert 5 in ids[0]


def test_index_of_other_embedder_is_not_overwritten(built_index):
    other = FakeEmbedder(dim=128)
    with pytest.raises(IndexStoreError, match="andere|embedder"):
        build_index(built_index, other, progress=False)
    result = build_index(built_index, other, progress=False, force=True)
    assert store.load_index(built_index.out, other.fingerprint).manifest["dim"] == 128 and result.chunks


def test_foreign_folder_is_not_overwritten(build_cfg, fake_embedder):
    build_cfg.out.mkdir(parents=True)
    (build_cfg.out / "notes.txt").write_text("mijn aantekeningen")
    with pytest.raises(IndexStoreError, match="niet leeg"):
        build_index(build_cfg, fake_embedder, progress=False)
    assert (build_cfg.out / "notes.txt").read_text() == "mijn aantekeningen"
