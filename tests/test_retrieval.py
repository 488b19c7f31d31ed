"""Hybrid retrieval over the tiny test corpus with the fake embedder: hits, ranking, filters, merging,
which retriever found what, query validation and the fusion formula."""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest

from index.build import BuildConfig
from index.store import LoadedIndex, load_index
from service.errors import VraagbaakError
from service.models.embedder import FakeEmbedder
from service.qa.retrieval import MAX_QUERY_CHARS, Filters, FusionParams, Retriever, rrf
from service.types import Hit

IOB_TITLE = "IOB-evaluatie MINUSMA (fragment)"


@pytest.fixture
def index(built_index: BuildConfig, fake_embedder: FakeEmbedder) -> LoadedIndex:
    return load_index(built_index.out, fake_embedder.fingerprint)


@pytest.fixture
def retriever(index: LoadedIndex, fake_embedder: FakeEmbedder) -> Retriever:
    return Retriever(index, fake_embedder)


class BlindEmbedder(FakeEmbedder):
    """Queries embed to the zero vector: dense scores are all equal, so dense 'finds' rows 0, 1, 2..."""

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return np.zeros((len(texts), self.dim), dtype=np.float32)


def _overlap(a: Hit, b: Hit) -> bool:
    return a.doc_id == b.doc_id and a.start < b.end and b.start < a.end


# -- hits and ranking ------------------------------------------------------------------------------------

def test_hit_fields_hold_real_values(retriever: Retriever, index: LoadedIndex) -> None:
    top = retriever.search("semigestructureerde diepte-interviews", k=3)[0]
    assert top.chunk_id in {c.chunk_id for c in index.chunks}
    assert (top.doc_id, top.title) == ("iob-minusma", IOB_TITLE)
    assert top.section.startswith("1.3")
    assert top.page is None  # the IOB fragment has no page footer
    assert "128 diepte-interviews" in top.text
    assert 0 <= top.start < top.end and top.end - top.start >= len(top.text) - 5
    assert top.score > 0
    assert top.retrievers == ("dense", "bm25")


def test_page_number_comes_from_the_page_footer(retriever: Retriever) -> None:
    top = retriever.search("nichecapaciteiten bedrijfsvoeringslast", k=1)[0]
    assert (top.doc_id, top.page) == ("kleinere-bijdragen", 45)


@pytest.mark.parametrize("query, doc_id, needle", [
    ("semigestructureerde diepte-interviews", "iob-minusma", "semigestructureerde"),
    ("Noorwegen Multinational Rotational Concept", "c130-beleidsreactie", "Noorwegen"),
    ("OVSE-missie Oekraïne waarnemer", "kleinere-bijdragen", "waarnemer"),
])
def test_distinctive_words_rank_their_document_first(retriever: Retriever, query: str, doc_id: str,
                                                     needle: str) -> None:
    hits = retriever.search(query, k=5)
    assert hits[0].doc_id == doc_id
    assert needle in hits[0].text
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_a_second_query_is_fused_in(retriever: Retriever) -> None:
    """A follow-up searches with the question plus its context and with its own words: both tops come."""
    interviews, rotation = "semigestructureerde diepte-interviews", "Noorwegen Multinational Rotational Concept"
    alone = retriever.search(interviews, k=2)
    assert alone[0].doc_id == "iob-minusma"
    assert all(h.doc_id != "c130-beleidsreactie" for h in alone)
    fused = retriever.search(interviews, k=2, also=rotation)
    assert {h.doc_id for h in fused} == {"iob-minusma", "c130-beleidsreactie"}
    assert "Noorwegen" in next(h.text for h in fused if h.doc_id == "c130-beleidsreactie")
    assert retriever.search(interviews, k=2, also=None) == alone


def test_k_limits_the_number_of_hits(retriever: Retriever) -> None:
    assert len(retriever.search("missies", k=1)) == 1
    assert 1 < len(retriever.search("missies", k=4)) <= 4


# -- filters --------------------------------------------------------------------------------------------

def test_doc_id_filter_restricts_hits(retriever: Retriever) -> None:
    hits = retriever.search("Nederlandse bijdrage aan MINUSMA", k=10, filters={"doc_id": "iob-minusma"})
    assert hits and {h.doc_id for h in hits} == {"iob-minusma"}


@pytest.mark.parametrize("years, docs", [
    (2015, {"kleinere-bijdragen"}),
    ([2022, 2023], {"iob-minusma", "c130-beleidsreactie"}),
])
def test_year_filter_restricts_hits(retriever: Retriever, years: int | list[int], docs: set[str]) -> None:
    hits = retriever.search("Nederlandse bijdrage aan missies in Mali", k=20, filters={"year": years})
    assert hits and {h.doc_id for h in hits} == docs


def test_filters_that_exclude_everything_give_no_hits(retriever: Retriever) -> None:
    assert retriever.search("MINUSMA", k=5, filters=Filters(doc_ids=("iob-minusma",), years=(2015,))) == []


def test_unknown_filter_key_is_rejected() -> None:
    with pytest.raises(VraagbaakError, match="onbekend filter: jaar"):
        Filters.from_dict({"jaar": 2015})


def test_filters_from_dict_accepts_single_values_and_lists() -> None:
    assert Filters.from_dict({"doc_id": "a", "year": 2015}) == Filters(("a",), (2015,))
    assert Filters.from_dict({"doc_ids": ["a", "b"], "years": ["2022"]}) == Filters(("a", "b"), (2022,))
    assert Filters.from_dict(None) == Filters()


# -- merging of neighbouring chunks ----------------------------------------------------------------------

def test_neighbouring_chunks_merge_into_one_hit(index: LoadedIndex, fake_embedder: FakeEmbedder) -> None:
    query = "Noorwegen Multinational Rotational Concept november 2021"
    apart = Retriever(index, fake_embedder, FusionParams(merge_chars=0)).search(query, k=10)
    top = Retriever(index, fake_embedder).search(query, k=10)[0]
    assert apart[0].chunk_id == top.chunk_id and apart[0].end - apart[0].start < top.end - top.start
    inside = [c for c in index.chunks if c.doc_id == top.doc_id and top.start <= c.start and c.end <= top.end]
    assert len(inside) >= 2  # separate chunks became this one hit
    assert (top.start, top.end) == (min(c.start for c in inside), max(c.end for c in inside))
    for c in inside:
        assert c.text[:40] in top.text and c.text[-40:] in top.text
    assert "Noorwegen" in top.text and "november 2021" in top.text


def test_hits_never_overlap(retriever: Retriever) -> None:
    for query in ("MINUSMA Mali", "kleinere bijdragen missies", "IOB eindevaluatie C-130", "kabinet"):
        hits = retriever.search(query, k=10)
        assert not any(_overlap(a, b) for i, a in enumerate(hits) for b in hits[i + 1:]), query


# -- which retriever found a hit --------------------------------------------------------------------------

def test_retrievers_names_bm25_only_and_dense_only(index: LoadedIndex, fake_embedder: FakeEmbedder) -> None:
    blind = BlindEmbedder()
    retriever = Retriever(index, blind, FusionParams(depth=2, merge_chars=0))
    hits = retriever.search("nichecapaciteiten", k=3)
    by_text = {h.chunk_id: h.retrievers for h in hits}
    niche = next(h for h in hits if "nichecapaciteiten" in h.text)
    assert niche.retrievers == ("bm25",)  # the dense side is blind: only BM25 matched the word
    assert by_text[index.chunks[0].chunk_id] == ("dense",)  # row 0: dense top-2, no query word in it
    assert "nichecapaciteiten" not in index.chunks[0].text


def test_word_absent_from_a_chunk_is_dense_only(retriever: Retriever) -> None:
    hits = retriever.search("semigestructureerde", k=4)
    assert hits[0].retrievers == ("dense", "bm25")
    assert all(h.retrievers == ("dense",) for h in hits[1:] if "semigestructureerde" not in h.text)


# -- validation ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("query, message", [
    ("", "lege vraag"),
    ("   \n\t ", "lege vraag"),
    ("oorlog " * 1500, f"vraag te lang: .* \\(maximaal {MAX_QUERY_CHARS}\\)"),
])
def test_bad_queries_fail_before_embedding(retriever: Retriever, fake_embedder: FakeEmbedder, query: str,
                                           message: str) -> None:
    before = fake_embedder.calls
    with pytest.raises(VraagbaakError, match=message):
        retriever.search(query)
    assert fake_embedder.calls == before


@pytest.mark.parametrize("k", [0, -1, 101])
def test_k_out_of_range_is_rejected(retriever: Retriever, fake_embedder: FakeEmbedder, k: int) -> None:
    before = fake_embedder.calls
    with pytest.raises(VraagbaakError, match=f"k moet tussen 1 en 100 liggen, niet {k}"):
        retriever.search("MINUSMA", k=k)
    assert fake_embedder.calls == before


def test_k_bounds_are_accepted(retriever: Retriever) -> None:
    assert len(retriever.search("MINUSMA", k=1)) == 1
    assert len(retriever.search("MINUSMA", k=100)) >= 3


# -- fusion ----------------------------------------------------------------------------------------------

def test_rrf_by_hand() -> None:
    # ranking A (weight 1): row 2, row 0; ranking B (weight 2): row 0, row 1; k = 1
    fused = rrf([(np.array([2, 0]), 1.0), (np.array([0, 1]), 2.0)], n=4, k=1.0)
    expected = [1 / 3 + 2 / 2, 2 / 3, 1 / 2, 0.0]
    assert fused == pytest.approx(expected)
    assert np.argsort(-fused, kind="stable").tolist() == [0, 1, 2, 3]


def test_rrf_of_nothing_is_zero() -> None:
    assert rrf([(np.array([], dtype=int), 1.0)], n=3, k=60.0).tolist() == [0.0, 0.0, 0.0]


# -- follow-ups and the query cache ----------------------------------------------------------------------

def test_search_followup_equals_the_two_searches_it_replaces(retriever: Retriever) -> None:
    query, own = "Welke eenheid ging mee? Wie coördineerde het Multinational Rotational Concept?", "Welke eenheid?"
    fused, alone = retriever.search_followup(query, own, k=5)
    assert fused == retriever.search(query, 5, also=own)
    assert alone == retriever.search(query, 5)
    assert fused != alone  # the follow-up's own words change the ranking: the test can tell them apart


class CountingEmbedder(FakeEmbedder):
    """Embeds queries slowly enough (a sleep releases the GIL) that threads interleave inside the cache."""

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        time.sleep(0.0005)
        return super().embed_queries(texts)


def test_query_cache_survives_concurrent_searches_while_it_evicts(index: LoadedIndex) -> None:
    embedder = CountingEmbedder()
    retriever = Retriever(index, embedder)
    words = ["MINUSMA", "Mali", "C-130", "Noorwegen", "IOB", "evaluatie", "detachement", "Portugal"]
    queries = [f"{words[i % 8]} {words[(i // 8) % 8]} vraag {i}" for i in range(600)]  # > 256: evicts
    expected = {q: retriever.search(q, k=3) for q in queries[:40]}
    retriever.clear_query_cache()
    errors: list[BaseException] = []
    results: dict[str, list[Hit]] = {}

    def worker(offset: int) -> None:
        try:
            for q in queries[offset::8]:
                hits = retriever.search(q, k=3)
                if q in expected:
                    results[q] = hits
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: races show up
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert results == expected
    assert len(retriever._query_vectors) <= 256
    np.testing.assert_allclose(retriever.query_vector(queries[-1]), embedder.embed_queries([queries[-1]])[0])
