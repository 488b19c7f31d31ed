"""Shared fixtures: a tiny real-artefact corpus, a fake embedder, and a built fake index."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.build import BuildConfig, build_index
from service.models.embedder import FakeEmbedder

DATA = Path(__file__).parent / "data"
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A writable copy of tests/data/corpus (three report fragments and a manifest)."""
    dst = tmp_path / "corpus"
    shutil.copytree(DATA / "corpus", dst)
    return dst


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def build_cfg(corpus_dir: Path, tmp_path: Path) -> BuildConfig:
    return BuildConfig(corpus=corpus_dir, out=tmp_path / "index", cache_dir=tmp_path / "cache",
                       chunk_tokens=60, chunk_overlap=15)


@pytest.fixture
def built_index(build_cfg: BuildConfig, fake_embedder: FakeEmbedder) -> BuildConfig:
    build_index(build_cfg, fake_embedder, progress=False)
    return build_cfg


def _logistic(names: tuple[str, ...], coef: dict[str, float], intercept: float, threshold: float = 0.5):
    from service.qa import learned

    return learned.Logistic({"features": names, "coef": [coef.get(n, 0.0) for n in names], "intercept": intercept,
                             "mean": [0.0] * len(names), "scale": [1.0] * len(names), "threshold": threshold})


@pytest.fixture
def stand_in_models():
    """Transparent stand-ins for the learned models in the fake-embedder world: the committed weights
    were fitted to e5 similarities (0.8-0.9), which the bag-of-words fake does not produce. The ranker
    scores a sentence by its coverage of the question (with a neighbour) and whether it holds what the
    question asks for; passages keep their fused order; the question is answered when every name of it
    is in the corpus and the passages hold at least a third of its terms
    (p = sigmoid(10 * cover - 10 * has_missing - 3.3) >= 0.5)."""
    from service.qa import learned

    return learned.Models(
        _logistic(learned.SENTENCE_FEATURES, {"lex_near": 5.0, "lex": 2.0, "type_match": 2.0}, -3.0),
        _logistic(learned.QUESTION_FEATURES, {"passage_cover": 10.0, "has_missing": -10.0}, -3.3),
        learned.Logistic.untrained(learned.PASSAGE_FEATURES))
