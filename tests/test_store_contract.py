"""One contract for both retrieval stores: FAISS + bm25s in the index folder, and Qdrant (local mode, no
server). Each test runs once per store through `vraagbaak index`'s build and the Retriever.

The slow test at the end measures the top-10 overlap of the two stores on the dev questions with the real
embedder (the FAISS index in var/index copied into a local Qdrant collection).
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index import qdrant_store
from index.build import BuildConfig, build_index
from index.qdrant_store import QdrantLocation, QdrantStore
from index.store import LoadedIndex, load_index
from service.config import Settings, qdrant_location
from service.errors import VraagbaakError
from service.models.embedder import FakeEmbedder
from service.qa.retrieval import FusionParams, Retriever

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


class BlindEmbedder(FakeEmbedder):
    """Queries embed to the zero vector: every dense score is equal, so only the sparse side can find a word."""

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return np.zeros((len(texts), self.dim), dtype=np.float32)


@pytest.fixture(params=["faiss", "qdrant"])
def cfg(request, build_cfg: BuildConfig, tmp_path: Path) -> BuildConfig:
    if request.param == "faiss":
        return build_cfg
    return replace(build_cfg, qdrant=QdrantLocation("contract", path=str(tmp_path / "qdrant")))


@pytest.fixture
def store(cfg: BuildConfig, fake_embedder: FakeEmbedder):
    build_index(cfg, fake_embedder, progress=False)
    return load_index(cfg.out, fake_embedder.fingerprint)


def test_store_kind_follows_the_build(cfg: BuildConfig, store) -> None:
    assert isinstance(store, QdrantStore if cfg.qdrant else LoadedIndex)
    if cfg.qdrant:
        assert store.manifest["store"] == "qdrant" and store.manifest["qdrant"]["collection"] == "contract"
        assert qdrant_store.count(cfg.qdrant) == len(store.chunks) == 31
        assert not (cfg.out / "dense.faiss").exists() and (cfg.out / "heads.json").exists()


@pytest.mark.parametrize("k", [1, 3, 5])
def test_k_is_honoured(store, fake_embedder: FakeEmbedder, k: int) -> None:
    hits = Retriever(store, fake_embedder, FusionParams(merge_chars=0)).search("MINUSMA Mali kabinet", k=k)
    assert len(hits) == k


def test_doc_and_year_filters_are_respected(store, fake_embedder: FakeEmbedder) -> None:
    retriever = Retriever(store, fake_embedder)
    by_year = {c.year for c in store.chunks}
    assert by_year == {2015, 2022, 2023}
    for year in by_year:
        hits = retriever.search("MINUSMA Mali missie C-130", k=10, filters={"year": year})
        assert hits and {store.chunks[h.row].year for h in hits} == {year}
    doc = store.chunks[0].doc_id
    hits = retriever.search("MINUSMA Mali missie C-130", k=10, filters={"doc_id": doc})
    assert hits and {h.doc_id for h in hits} == {doc}
    assert retriever.search("MINUSMA", k=5, filters={"doc_id": doc, "year": 1990}) == []


def test_exact_dutch_term_is_found_by_the_sparse_side_alone(store, fake_embedder: FakeEmbedder) -> None:
    retriever = Retriever(store, BlindEmbedder(), FusionParams(depth=2, merge_chars=0))
    hits = retriever.search("nichecapaciteiten", k=3)
    niche = [h for h in hits if "nichecapaciteiten" in h.text]
    assert niche and niche[0].retrievers == ("bm25",)
    assert hits.index(niche[0]) == 0  # the only chunk holding the word is ranked first


def test_follow_up_fuses_both_queries(store, fake_embedder: FakeEmbedder) -> None:
    retriever = Retriever(store, fake_embedder)
    both, alone = retriever.search_followup("IOB evaluatie MINUSMA", "nichecapaciteiten kleinere bijdragen", k=8)
    assert [h.chunk_id for h in alone] == [h.chunk_id for h in retriever.search("IOB evaluatie MINUSMA", k=8)]
    assert any("nichecapaciteiten" in h.text for h in both)
    assert not any("nichecapaciteiten" in h.text for h in alone)


def test_deleting_a_document_removes_it_and_keeps_the_rest(cfg: BuildConfig, store, fake_embedder) -> None:
    gone = "kleinere-bijdragen.txt"
    doc_id = next(c.doc_id for c in store.chunks if "nichecapaciteiten" in c.text)
    manifest = json.loads((cfg.corpus / "manifest.json").read_text("utf-8"))
    manifest["documents"] = [d for d in manifest["documents"] if d["file"] != gone]
    (cfg.corpus / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    (cfg.corpus / gone).unlink()
    build_index(cfg, fake_embedder, progress=False)
    after = load_index(cfg.out, fake_embedder.fingerprint)
    assert doc_id not in {c.doc_id for c in after.chunks} and len(after.chunks) < len(store.chunks)
    hits = Retriever(after, fake_embedder).search("nichecapaciteiten kleinere bijdragen", k=10)
    assert hits and doc_id not in {h.doc_id for h in hits}
    if cfg.qdrant:  # incremental: one document deleted, nothing re-upserted
        assert after.manifest["qdrant"]["last_sync"] == {"deleted_documents": 1, "upserted_points": 0}
        assert qdrant_store.count(cfg.qdrant) == len(after.chunks)


def test_changed_document_is_re_upserted_alone(build_cfg: BuildConfig, fake_embedder, tmp_path: Path) -> None:
    cfg = replace(build_cfg, qdrant=QdrantLocation("incremental", path=str(tmp_path / "q")))
    first = build_index(cfg, fake_embedder, progress=False)
    assert first.manifest["qdrant"]["last_sync"]["upserted_points"] == first.chunks
    path = cfg.corpus / "iob-minusma.txt"
    path.write_text(path.read_text("utf-8") + "\n\nEen nieuwe alinea over de zandstorm bij Gao.\n", "utf-8")
    second = build_index(cfg, fake_embedder, progress=False)
    store = load_index(cfg.out, fake_embedder.fingerprint)
    iob = sum(c.doc_id == store.chunks[-1].doc_id for c in store.chunks)
    changed = {c.doc_id for c in store.chunks if "zandstorm" in c.text}
    assert len(changed) == 1
    assert second.manifest["qdrant"]["last_sync"] == {
        "deleted_documents": 1, "upserted_points": sum(c.doc_id in changed for c in store.chunks)}
    assert iob > 0 and qdrant_store.count(cfg.qdrant) == second.chunks
    hit = Retriever(store, fake_embedder).search("zandstorm Gao", k=1)[0]
    assert "zandstorm" in hit.text
    assert build_index(cfg, fake_embedder, progress=False).skipped


def test_sparse_side_scores_as_bm25s(build_cfg: BuildConfig, fake_embedder, tmp_path: Path) -> None:
    """Qdrant's IDF modifier times our term-frequency weights is bm25s' BM25 score, term for term."""

    build_index(build_cfg, fake_embedder, progress=False)
    faiss_store = load_index(build_cfg.out, fake_embedder.fingerprint)
    loc = QdrantLocation("bm25", path=str(tmp_path / "q"))
    qcfg = replace(build_cfg, out=tmp_path / "qindex", qdrant=loc)
    build_index(qcfg, fake_embedder, progress=False)
    q = load_index(qcfg.out, fake_embedder.fingerprint)
    assert q.heads == faiss_store.heads
    client = qdrant_store.client_for(loc)
    for query in ("MINUSMA Mali", "IOB-evaluatie van de C-130-inzet", "vredesmissies kabinet"):
        expected = faiss_store.lexical_scores(query)
        weights = qdrant_store.query_weights(qdrant_store.analyze(query, q.heads))
        points = client.query_points(loc.collection, query=qdrant_store._sparse(weights), using="bm25",
                                     limit=100, with_payload=["chunk_id"]).points
        got = np.zeros(len(q.chunks))
        rows = {c.chunk_id: i for i, c in enumerate(faiss_store.chunks)}
        for p in points:
            got[rows[p.payload["chunk_id"]]] = p.score
        assert np.allclose(got, expected, rtol=1e-4, atol=1e-5), query
        assert (expected > 0).sum() >= 3


def test_point_ids_are_uuid5_of_the_chunk_id(store, cfg: BuildConfig) -> None:
    if not cfg.qdrant:
        pytest.skip("Qdrant only")
    client = qdrant_store.client_for(cfg.qdrant)
    points, _ = client.scroll(cfg.qdrant.collection, limit=100, with_payload=True)
    assert sorted(str(p.id) for p in points) == sorted(qdrant_store.point_id(c.chunk_id) for c in store.chunks)
    p = points[0]
    assert set(p.payload) == {"chunk_id", "doc_id", "year", "doc_hash"}


def test_settings_choose_the_store(tmp_path: Path) -> None:
    assert qdrant_location(Settings(store="faiss"), "e5") is None
    loc = qdrant_location(Settings(store="qdrant", qdrant_path=tmp_path), "multilingual e5/small")
    assert loc.path == str(tmp_path) and loc.collection == "vraagbaak-multilingual-e5-small"
    assert qdrant_location(Settings(store="qdrant", qdrant_url="http://q:6333"), "x").url == "http://q:6333"
    with pytest.raises(VraagbaakError, match="precies één"):
        qdrant_location(Settings(store="qdrant"), "x")
    with pytest.raises(VraagbaakError, match="onbekende VRAAGBAAK_STORE"):
        qdrant_location(Settings(store="milvus"), "x")


def test_unreachable_server_is_one_dutch_error(build_cfg: BuildConfig, fake_embedder) -> None:
    cfg = replace(build_cfg, qdrant=QdrantLocation("x", url="http://127.0.0.1:9"))
    with pytest.raises(VraagbaakError, match="Qdrant-collectie 'x' niet bij te werken"):
        build_index(cfg, fake_embedder, progress=False)
    assert not cfg.out.exists()


# -- slow: the real embedder on the dev questions ----------------------------------------------------------

@pytest.mark.slow
def test_top10_overlap_with_faiss_on_dev_queries(tmp_path: Path) -> None:
    """The FAISS index in var/index copied into a local Qdrant collection: same chunks, same vectors, same
    analyzer; the fused top 10 of each dev question should agree on at least 9 of 10 rows on average."""
    from service.qa.pipeline import load_retriever

    settings = Settings()
    if not (settings.index_dir / "manifest.json").exists() or not DEV.exists():
        pytest.skip("needs var/index (make index) and ../shared/eval/dev.jsonl")
    faiss_retriever = load_retriever(settings)
    faiss_store = faiss_retriever.index
    vectors = faiss_store.dense.reconstruct_n(0, faiss_store.dense.ntotal)
    loc = QdrantLocation("overlap", path=str(tmp_path / "q"))
    qdrant_store.sync(loc, faiss_store.chunks, vectors, faiss_store.heads)
    q = QdrantStore(faiss_store.manifest, faiss_store.chunks, faiss_store.documents, loc, faiss_store.heads,
                    faiss_store.sentences)  # as load_index gives it: the written questions are fused in too
    qdrant_retriever = Retriever(q, faiss_retriever.embedder, faiss_retriever.params)
    questions = [json.loads(line)["question"] for line in DEV.read_text("utf-8").splitlines() if line.strip()]
    overlaps, hit_overlaps = [], []
    for question in questions:
        a, _ = faiss_retriever.rank(question)
        b, _ = qdrant_retriever.rank(question)
        overlaps.append(len(set(a[:10].tolist()) & set(b[:10].tolist())) / 10)
        ha = {h.chunk_id for h in faiss_retriever.search(question, k=10)}
        hb = {h.chunk_id for h in qdrant_retriever.search(question, k=10)}
        hit_overlaps.append(len(ha & hb) / max(len(ha), 1))
    mean = float(np.mean(overlaps))
    print(f"\ntop-10 overlap Qdrant vs FAISS on {len(questions)} dev questions: fused rows {mean:.3f} "
          f"(min {min(overlaps):.1f}), merged hits {float(np.mean(hit_overlaps)):.3f}; "
          f"VRAAGBAAK_FAISS_KIND={os.environ.get('VRAAGBAAK_FAISS_KIND', 'flat')}")
    assert mean >= 0.9
