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
