"""Faults: an index build killed with SIGKILL halfway leaves the previous index whole and serving, and the
next build succeeds (and clears the dead build's leftovers); a restarted service answers identically.
(The generator server killed mid-stream is in tests/test_remote_generation.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from eval.clients import start_local_server
from index.build import BuildConfig, build_index
from index.store import load_index
from service.models.embedder import FakeEmbedder
from service.qa.retrieval import Retriever

ROOT = Path(__file__).resolve().parents[1]

# A build in another process that stops halfway through writing the new index folder (dense.faiss
# written, bm25/ not yet) and says so, to be killed there.
CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from index import store
from index.build import BuildConfig, build_index
from service.models.embedder import FakeEmbedder

real = store._write_faiss_bm25
def halfway(folder, chunks, vectors, kind):
    import faiss
    faiss.write_index(store.build_faiss(vectors, kind), str(folder / "dense.faiss"))
    print("HALFWAY", flush=True)
    time.sleep(120)
store._write_faiss_bm25 = halfway
cfg = BuildConfig(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), 60, 15)
build_index(cfg, FakeEmbedder(), progress=False)
"""


def test_a_build_killed_halfway_leaves_the_previous_index_serving(build_cfg: BuildConfig,
                                                                   fake_embedder: FakeEmbedder) -> None:
    first = build_index(build_cfg, fake_embedder, progress=False)
    doc = build_cfg.corpus / "iob-minusma.txt"
    doc.write_text(doc.read_text("utf-8") + "\n\nEen nieuwe alinea over de zandstorm bij Gao.\n", "utf-8")
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(ROOT), str(build_cfg.corpus), str(build_cfg.out),
                              str(build_cfg.cache_dir)], stdout=subprocess.PIPE, text=True)
    t0 = time.perf_counter()
    assert child.stdout.readline().strip() == "HALFWAY"
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(10) == -signal.SIGKILL
    leftover = build_cfg.out.parent / f".{build_cfg.out.name}.tmp-{child.pid}"
    assert (leftover / "dense.faiss").exists() and not (leftover / "manifest.json").exists()

    served = load_index(build_cfg.out, fake_embedder.fingerprint)  # what a (re)starting service loads
    assert served.manifest == first.manifest
    assert not any("zandstorm" in c.text for c in served.chunks)
    assert Retriever(served, fake_embedder).search("IOB evaluatie MINUSMA", k=3)

    second = build_index(build_cfg, fake_embedder, progress=False)
    assert not second.skipped and second.manifest["corpus_checksum"] != first.manifest["corpus_checksum"]
    fresh = load_index(build_cfg.out, fake_embedder.fingerprint)
    assert Retriever(fresh, fake_embedder).search("zandstorm Gao", k=1)[0].text.count("zandstorm") == 1
    assert not leftover.exists()
    print(f"\nbuild killed halfway after {time.perf_counter() - t0:.1f} s: previous index "
          f"({first.chunks} chunks) loaded and searched; next build {second.chunks} chunks in "
          f"{second.seconds:.2f} s; the dead build's folder removed")


def _serve(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    return start_local_server(env=env, ready_timeout=120, poll=0.3)


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in ("timings_ms", "request_id")}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


QUESTIONS = ["Hoeveel diepte-interviews voerde IOB uit?", "Wanneer werd het C-130 detachement ingezet?",
             "Welke nichecapaciteiten leverde Nederland?", "Wat is de hoofdstad van Australië?"]


def _twice(env: dict[str, str]) -> tuple[dict, dict]:
    """The same questions asked of two processes started one after the other."""
    runs = []
    for _ in range(2):
        proc, url = _serve(env)
        try:
            answers = [httpx.post(url + "/v1/ask", json={"question": q, "mode": "extractive"}, timeout=120).json()
                       for q in QUESTIONS]
            hits = [httpx.post(url + "/v1/search", json={"query": q, "k": 5}, timeout=60).json() for q in QUESTIONS]
        finally:
            proc.terminate()
            proc.wait(30)
        runs.append(_without_timings({"answers": answers, "hits": hits}))
    return runs[0], runs[1]


@pytest.mark.slow
@pytest.mark.parametrize("models", ["fake", "real"])
def test_a_restarted_service_answers_identically(models: str, built_index: BuildConfig, tmp_path: Path) -> None:
    env = {**os.environ, "VRAAGBAAK_GENERATOR": "none", "VRAAGBAAK_DEFAULT_MODE": "extractive",
           "VRAAGBAAK_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3")}
    if models == "fake":
        env |= {"VRAAGBAAK_EMBEDDER": "fake", "VRAAGBAAK_INDEX_DIR": str(built_index.out),
                "VRAAGBAAK_CACHE_DIR": str(tmp_path)}
    elif not (ROOT / "var" / "index" / "manifest.json").exists():
        pytest.skip("needs var/index (make index) for the real embedder")
    first, second = _twice(env)
    assert all(h["hits"] for h in first["hits"]) and all(a["answer"] for a in first["answers"])
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    print(f"\nrestart ({models} embedder): {len(QUESTIONS)} extractive answers "
          f"({sum(a['refused'] for a in first['answers'])} refusals) and {len(QUESTIONS)} searches identical "
          "across two processes")
