"""The server's CPU split (issue 16, load): generation on its own core, searches in a bounded lane.

- llama.cpp gets the configured thread count (prompt and tokens) from VRAAGBAAK_GENERATOR_THREADS when
  the server loads the pipeline, and the generating thread the configured niceness (a fake `llama_cpp`
  module records what the Llama constructor is given; no model is loaded);
- at most VRAAGBAAK_SEARCH_WORKERS searches and extractive answers compute at a time, while a
  generation never waits for that lane;
- admission still answers 429 with Retry-After at once while the lane is full.

Over a real uvicorn on 127.0.0.1 with the fake service, slowed down and counting concurrent calls.
"""

from __future__ import annotations

import sys
import threading
import time
import types
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from test_api_fakes import FakeQA, fake_settings, running_server

from service.api.app import create_app
from service.config import Settings
from service.errors import VraagbaakError
from service.models.generators import llama, make_generator
from service.serving import load_serving_pipeline

QUESTION = "Wanneer werd het C-130 detachement ingezet?"


# ---------------------------------------------------------------- llama.cpp threads


@pytest.fixture
def fake_llama(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[list[dict], Path]:
    """A stand-in `llama_cpp` module whose Llama records its keyword arguments, and a .gguf file."""
    made: list[dict] = []

    class Llama:
        def __init__(self, **kwargs):
            made.append(kwargs)

    monkeypatch.setitem(sys.modules, "llama_cpp", types.SimpleNamespace(Llama=Llama))
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    return made, gguf


def test_the_thread_count_reaches_the_llama_constructor_for_prompt_and_tokens(fake_llama) -> None:
    made, gguf = fake_llama
    llama.LlamaCppGenerator(gguf, n_threads=1)
    assert made[-1]["n_threads"] == 1 and made[-1]["n_threads_batch"] == 1  # not every core for the prompt
    make_generator("llama-cpp", str(gguf), gguf.parent, n_threads=3)
    assert made[-1]["n_threads"] == 3 and made[-1]["n_threads_batch"] == 3
    make_generator("llama-cpp", str(gguf), gguf.parent)
    assert made[-1]["n_threads"] == 2 and made[-1]["n_threads_batch"] == 2  # CLI and eval: unchanged


def test_default_threads_holds_inside_its_block_only(fake_llama) -> None:
    made, gguf = fake_llama
    with llama.default_threads(1):
        gen = make_generator("llama-cpp", str(gguf), gguf.parent)
        explicit = llama.LlamaCppGenerator(gguf, n_threads=2)
    after = llama.LlamaCppGenerator(gguf)
    assert (gen.n_threads, explicit.n_threads, after.n_threads) == (1, 2, 2)
    assert [m["n_threads"] for m in made] == [1, 2, 2]
    with pytest.raises(VraagbaakError, match="minstens 1 thread"), llama.default_threads(0):
        pass


def test_settings_of_the_cpu_split(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GENERATOR_THREADS", "GENERATION_NICE", "SEARCH_WORKERS"):
        monkeypatch.delenv(f"VRAAGBAAK_{name}", raising=False)
    s = Settings()
    assert (s.generator_threads, s.generation_nice, s.search_workers) == (1, 0, 1)
    monkeypatch.setenv("VRAAGBAAK_GENERATOR_THREADS", "2")
    monkeypatch.setenv("VRAAGBAAK_GENERATION_NICE", "5")
    monkeypatch.setenv("VRAAGBAAK_SEARCH_WORKERS", "3")
    s = Settings()
    assert (s.generator_threads, s.generation_nice, s.search_workers) == (2, 5, 3)
    monkeypatch.setenv("VRAAGBAAK_SEARCH_WORKERS", "0")
    with pytest.raises(ValueError):
        Settings()


def test_serve_loads_the_model_with_the_configured_threads_and_niceness(fake_llama, monkeypatch) -> None:
    """`vraagbaak serve`: the app's loader makes the generator inside the configured thread count (what
    the pipeline's loader does, standing in here) and sets the generating thread's niceness."""
    import uvicorn

    import service.qa.pipeline
    from service.api.app import serve

    made, gguf = fake_llama

    def load_pipeline(settings, warm=False):  # like the real one: the model is made when warm
        gen = make_generator("llama-cpp", settings.generator_model, gguf.parent) if warm else None
        return types.SimpleNamespace(generator=gen, generation_nice=10)

    apps = []
    monkeypatch.setattr(service.qa.pipeline, "load_pipeline", load_pipeline)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: apps.append(app))
    serve(Settings(generator_model=str(gguf), generator_threads=1, generation_nice=0, search_workers=2))
    runtime = apps[0].state.runtime
    runtime.holder.start()
    assert runtime.holder.wait(5)
    pipeline = runtime.holder.get()
    assert made == [made[0]] and made[0]["n_threads"] == 1 and made[0]["n_threads_batch"] == 1
    assert pipeline.generator.n_threads == 1 and pipeline.generation_nice == 0
    assert runtime.cpu.total_tokens == 2
    assert llama.LlamaCppGenerator(gguf).n_threads == 2  # the rest of the process keeps the default

    settings = Settings(generator_model=str(gguf), generator_threads=2, generation_nice=7)
    again = load_serving_pipeline(settings)
    assert made[-1]["n_threads"] == 2 and again.generation_nice == 7


# ---------------------------------------------------------------- the search lane


class LaneQA(FakeQA):
    """FakeQA whose searches take `search_s` and whose asks take `extractive_s` or `generate_s` by mode,
    counting how many of each run at once (`peak`)."""

    def __init__(self, search_s: float = 0.15, extractive_s: float = 0.15, generate_s: float = 0.6):
        super().__init__()
        self.seconds = {"search": search_s, "extractive": extractive_s, "generate": generate_s}
        self.now, self.peak = Counter(), Counter()
        self._count = threading.Lock()
        self._asking = threading.local()

    def _run(self, kind: str) -> None:
        lane = kind != "generate"
        with self._count:
            self.now[kind] += 1
            self.now["lane"] += lane
            for k, n in self.now.items():
                self.peak[k] = max(self.peak[k], n)
        try:
            time.sleep(self.seconds[kind])
        finally:
            with self._count:
                self.now[kind] -= 1
                self.now["lane"] -= lane

    def search(self, query, k=10, filters=None):
        if not getattr(self._asking, "yes", False):  # FakeQA's ask searches too: counted as the ask
            self._run("search")
        return super().search(query, k, filters)

    def ask(self, question, history=None, mode=None, k=None):
        self._run("extractive" if mode == "extractive" else "generate")
        self._asking.yes = True
        try:
            return super().ask(question, history, mode, k)
        finally:
            self._asking.yes = False


def _lane_app(qa: LaneQA, **settings):
    return create_app(lambda: qa, fake_settings(**{"max_ask_wait_s": 30.0, **settings}))


def _post_all(base: str, requests: list[tuple[str, dict]]) -> list[httpx.Response]:
    with httpx.Client(base_url=base, timeout=30) as client, ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(lambda r: client.post(r[0], json=r[1]), requests))


@pytest.mark.parametrize("workers", [1, 2])
def test_searches_and_extractive_answers_keep_to_the_configured_workers(workers: int) -> None:
    qa = LaneQA()
    app = _lane_app(qa, search_workers=workers)
    requests = [("/v1/search", {"query": f"C-130 inzet {i}"}) for i in range(4)]
    requests += [("/v1/ask", {"question": f"{QUESTION} {i}", "mode": "extractive"}) for i in range(2)]
    with running_server(app) as base:
        assert app.state.runtime.holder.wait(5)
        start = time.perf_counter()
        responses = _post_all(base, requests)
        elapsed = time.perf_counter() - start
        info = httpx.get(base + "/info").json()["api"]
    assert [r.status_code for r in responses] == [200] * 6
    assert qa.peak["lane"] == workers  # six at once, never more than the lane's workers computing
    assert elapsed >= 6 * 0.15 / workers - 0.05  # they queued for the lane
    assert info["search_workers"] == workers and info["search_waiting"] == 0


def test_a_generation_never_waits_for_the_search_lane() -> None:
    qa = LaneQA(search_s=0.3, generate_s=0.5)
    app = _lane_app(qa, search_workers=1)
    with running_server(app) as base:
        assert app.state.runtime.holder.wait(5)
        with httpx.Client(base_url=base, timeout=30) as client, ThreadPoolExecutor(6) as pool:
            searches = [pool.submit(client.post, "/v1/search", json={"query": f"UNIFIL {i}"}) for i in range(5)]
            while qa.now["search"] == 0:
                time.sleep(0.01)
            start = time.perf_counter()
            answer = client.post("/v1/ask", json={"question": QUESTION, "mode": "generate"})
            generated_in = time.perf_counter() - start
            assert all(s.result().status_code == 200 for s in searches)
    assert answer.status_code == 200
    assert generated_in < 1.2  # its own 0.5 s; behind the lane's 5 x 0.3 s it would be 1.5 s or more
    assert qa.peak["generate"] == 1 and qa.peak["lane"] == 1


def test_admission_still_turns_asks_away_at_once_while_the_lane_is_full() -> None:
    qa = LaneQA(search_s=0.3, generate_s=0.4)
    app = _lane_app(qa, search_workers=1, max_ask_wait_s=0.6)
    gate = app.state.runtime.gate
    with running_server(app) as base:
        assert app.state.runtime.holder.wait(5)
        with httpx.Client(base_url=base, timeout=30) as client, ThreadPoolExecutor(6) as pool:
            assert client.post("/v1/ask", json={"question": QUESTION, "mode": "generate"}).status_code == 200
            assert 0.35 < gate.service_s < 1.0  # measured: one generation ~0.4 s
            searches = [pool.submit(client.post, "/v1/search", json={"query": f"PAWA {i}"}) for i in range(4)]
            running = pool.submit(client.post, "/v1/ask", json={"question": QUESTION, "mode": "generate"})
            while gate.running_count == 0 or qa.now["search"] == 0:
                time.sleep(0.01)
            start = time.perf_counter()
            refused = client.post("/v1/ask", json={"question": QUESTION, "mode": "generate"})
            took = time.perf_counter() - start
            assert running.result().status_code == 200
            assert all(s.result().status_code == 200 for s in searches)
    assert refused.status_code == 429 and refused.json()["error_type"] == "overloaded"
    assert took < 0.3  # at once: admission waits neither for the generation nor for the search lane
    assert refused.headers["Retry-After"] == "1"  # ceil of the measured wait (< 0.4 s left of one generation)
    assert gate.turned_away == 1
