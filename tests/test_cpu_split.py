"""The server's CPU split (issue 16, load): adaptive generation threads, searches in a bounded lane.

- llama.cpp gets VRAAGBAAK_GENERATOR_THREADS threads (prompt and tokens) while the server is otherwise idle
  and VRAAGBAAK_GENERATOR_BUSY_THREADS while the search lane is in use, chosen before the prompt and before
  each further token, and told to llama.cpp only when the count changes; a probe that raises counts as idle
  (a fake `llama_cpp` module records what the Llama constructor and `llama_set_n_threads` are given and
  which thread count each decode step ran with; no model is loaded);
- the generating thread gets the configured niceness;
- at most VRAAGBAAK_SEARCH_WORKERS searches and extractive answers compute at a time, while a
  generation never waits for that lane; the lane says it is busy while one computes or waits;
- admission still answers 429 with Retry-After at once while the lane is full.

Over a real uvicorn on 127.0.0.1 with the fake service, slowed down and counting concurrent calls.
"""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
import types
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import httpx
import pytest
from test_api_fakes import FakeQA, fake_settings, running_server

import service.qa.pipeline
from service.api.app import create_app
from service.config import Settings
from service.errors import VraagbaakError
from service.models.generators import llama, make_generator
from service.serving import load_serving_pipeline

QUESTION = "Wanneer werd het C-130 detachement ingezet?"
REPLY = ["Het", " detachement", " werd", " in", " 2024", " ingezet", "."]


# ---------------------------------------------------------------- llama.cpp threads


class FakeLlamaCpp(types.SimpleNamespace):
    """A stand-in `llama_cpp` module. Its Llama records its keyword arguments and streams REPLY lazily, like
    llama-cpp-python: each chunk pulled is one decode step (the first evaluates the prompt), run with the
    context's thread count of that moment (`steps`); `llama_set_n_threads` records its calls."""

    def __init__(self) -> None:
        super().__init__(made=[], set_calls=[], steps=[])
        fake = self

        class Llama:
            def __init__(self, **kwargs):
                fake.made.append(kwargs)
                self.ctx = types.SimpleNamespace(threads=kwargs["n_threads"], batch=kwargs["n_threads_batch"])

            def create_chat_completion(self, **kw):
                assert kw["stream"] is True

                def chunks():
                    for piece in REPLY:
                        fake.steps.append(self.ctx.batch if not fake.steps else self.ctx.threads)
                        yield {"choices": [{"delta": {"content": piece}}]}
                    yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}

                return chunks()

        self.Llama = Llama

    def llama_set_n_threads(self, ctx, n_threads, n_threads_batch):
        self.set_calls.append((n_threads, n_threads_batch))
        ctx.threads, ctx.batch = n_threads, n_threads_batch


@pytest.fixture
def fake_llama(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[FakeLlamaCpp, Path]:
    """The stand-in `llama_cpp` module, installed, and a .gguf file."""
    module = FakeLlamaCpp()
    monkeypatch.setitem(sys.modules, "llama_cpp", module)
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    return module, gguf


def probe(*answers: bool):
    """A busy probe answering `answers` in turn, then the last one for ever; counts its calls."""
    it = iter(answers)

    def busy() -> bool:
        busy.calls += 1
        return next(it, answers[-1])

    busy.calls = 0
    return busy


def _generate(gen: llama.LlamaCppGenerator) -> str:
    return gen.generate([{"role": "user", "content": QUESTION}], max_tokens=20)


def test_the_thread_count_reaches_the_llama_constructor_for_prompt_and_tokens(fake_llama) -> None:
    module, gguf = fake_llama
    made = module.made
    llama.LlamaCppGenerator(gguf, n_threads=1)
    assert made[-1]["n_threads"] == 1 and made[-1]["n_threads_batch"] == 1  # not every core for the prompt
    gen = make_generator("llama-cpp", str(gguf), gguf.parent, n_threads=3, busy_threads=2, busy=bool)
    assert made[-1]["n_threads"] == 3 and made[-1]["n_threads_batch"] == 3
    assert (gen.n_threads, gen.busy_threads, gen.busy, gen.threads) == (3, 2, bool, 3)
    gen = make_generator("llama-cpp", str(gguf), gguf.parent)
    assert made[-1]["n_threads"] == 2 and made[-1]["n_threads_batch"] == 2  # CLI and eval: unchanged
    assert (gen.n_threads, gen.busy_threads, gen.busy) == (2, 1, None)
    for bad in ({"n_threads": 0}, {"busy_threads": 0}):
        with pytest.raises(VraagbaakError, match="minstens 1 thread"):
            llama.LlamaCppGenerator(gguf, **bad)


def test_an_idle_machine_generates_with_n_threads_and_sets_nothing(fake_llama) -> None:
    module, gguf = fake_llama
    busy = probe(False)
    gen = llama.LlamaCppGenerator(gguf, n_threads=2, busy_threads=1, busy=busy)
    assert _generate(gen) == "".join(REPLY)
    assert module.steps == [2] * len(REPLY)  # the prompt and every token on both cores
    assert module.set_calls == [] and gen.threads == 2  # already 2 since the constructor: never told again
    assert busy.calls == len(REPLY) + 2  # before the prompt and after each chunk (the last one included)


def test_a_busy_machine_generates_with_busy_threads_told_once(fake_llama) -> None:
    module, gguf = fake_llama
    gen = llama.LlamaCppGenerator(gguf, n_threads=2, busy_threads=1, busy=probe(True))
    assert _generate(gen) == "".join(REPLY)
    assert module.steps == [1] * len(REPLY)  # the prompt too: the count is set before it is evaluated
    assert module.set_calls == [(1, 1)] and gen.threads == 1
    _generate(gen)  # still busy at the next question: nothing to tell
    assert module.set_calls == [(1, 1)]


def test_the_thread_count_follows_the_probe_between_tokens(fake_llama) -> None:
    module, gguf = fake_llama
    flips = (False, False, True, True, True, False, True)  # before the prompt, then after each token
    gen = llama.LlamaCppGenerator(gguf, n_threads=2, busy_threads=1, busy=probe(*flips))
    assert _generate(gen) == "".join(REPLY)
    assert module.steps == [2, 2, 1, 1, 1, 2, 1]  # each decode step with what the probe said just before it
    assert module.set_calls == [(1, 1), (2, 2), (1, 1)]  # only where the wanted count changed
    assert gen.threads == 1


def test_a_probe_that_raises_counts_as_idle_and_never_breaks_a_generation(fake_llama, caplog) -> None:
    module, gguf = fake_llama

    def broken() -> bool:
        raise RuntimeError("lane gone")

    gen = llama.LlamaCppGenerator(gguf, n_threads=2, busy_threads=1, busy=broken)
    with caplog.at_level(logging.WARNING, logger="vraagbaak.generator"):
        assert _generate(gen) == "".join(REPLY)
        assert _generate(gen) == "".join(REPLY)
    assert module.steps == [2] * (2 * len(REPLY)) and module.set_calls == []
    assert [r.getMessage() for r in caplog.records] == ["busy probe failed; generating with 2 threads"]

    flaky = probe(True, True)
    calls = itertools.count()

    def sometimes() -> bool:  # busy, then it breaks: back to the idle count, the answer complete
        if next(calls) >= 2:
            raise RuntimeError("lane gone")
        return flaky()

    module.steps.clear()
    gen = llama.LlamaCppGenerator(gguf, n_threads=2, busy_threads=1, busy=sometimes)
    assert _generate(gen) == "".join(REPLY)
    assert module.steps == [1, 1] + [2] * (len(REPLY) - 2) and module.set_calls == [(1, 1), (2, 2)]


def test_settings_of_the_cpu_split(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GENERATOR_THREADS", "GENERATOR_BUSY_THREADS", "GENERATION_NICE", "SEARCH_WORKERS"):
        monkeypatch.delenv(f"VRAAGBAAK_{name}", raising=False)
    s = Settings()
    assert (s.generator_threads, s.generator_busy_threads, s.generation_nice, s.search_workers) == (2, 1, 0, 1)
    monkeypatch.setenv("VRAAGBAAK_GENERATOR_THREADS", "3")
    monkeypatch.setenv("VRAAGBAAK_GENERATOR_BUSY_THREADS", "2")
    monkeypatch.setenv("VRAAGBAAK_GENERATION_NICE", "5")
    monkeypatch.setenv("VRAAGBAAK_SEARCH_WORKERS", "3")
    s = Settings()
    assert (s.generator_threads, s.generator_busy_threads, s.generation_nice, s.search_workers) == (3, 2, 5, 3)
    for name in ("SEARCH_WORKERS", "GENERATOR_BUSY_THREADS"):
        monkeypatch.setenv(f"VRAAGBAAK_{name}", "0")
        with pytest.raises(ValueError):
            Settings()
        monkeypatch.setenv(f"VRAAGBAAK_{name}", "1")


class _StubPipeline:
    """Stands in for Pipeline in load_pipeline: keeps what it was given and makes the generator like it."""

    def __init__(self, retriever, factory, default_mode, k, models=None, **kw):
        self.factory, self.kw, self._generator = factory, kw, None
        self.generation_nice = kw.get("generation_nice", 10)

    def generator(self):
        self._generator = self._generator or self.factory()
        return self._generator


def test_the_pipeline_loader_passes_the_split_to_the_generator(fake_llama, monkeypatch) -> None:
    """load_pipeline: the server's thread counts, probe and niceness reach the llama.cpp generator and the
    Pipeline; without them (the CLI, eval) the library defaults stand."""
    module, gguf = fake_llama
    retriever = types.SimpleNamespace(embedder=types.SimpleNamespace(embed_queries=lambda texts: None))
    monkeypatch.setattr(service.qa.pipeline, "load_retriever", lambda settings: retriever)
    monkeypatch.setattr(service.qa.pipeline, "Pipeline", _StubPipeline)
    settings = Settings(generator_model=str(gguf), generator_threads=3, generator_busy_threads=2, generation_nice=4)

    busy = probe(False)
    served = load_serving_pipeline(settings, busy=busy)
    gen = served.generator()
    assert module.made[-1]["n_threads"] == 3 and module.made[-1]["n_threads_batch"] == 3  # made warm, at load
    assert (gen.n_threads, gen.busy_threads, gen.busy) == (3, 2, busy)
    forms = {"model_forms": {"english", "name", "plan"}}  # Settings.model_forms, read by the loader
    assert served.kw == {"generation_nice": 4, **forms}

    alone = service.qa.pipeline.load_pipeline(settings, warm=True)  # the CLI: settings' split not applied
    gen = alone.generator()
    assert (gen.n_threads, gen.busy_threads, gen.busy) == (2, 1, None) and alone.kw == forms

    socket = load_serving_pipeline(settings)  # the Slack bot in Socket Mode: no lane, no probe
    assert socket.generator().busy is None and socket.generator().n_threads == 3


def test_serve_loads_the_model_with_the_configured_threads_and_niceness(fake_llama, monkeypatch) -> None:
    """`vraagbaak serve`: the app's loader passes the configured thread counts, niceness and the search
    lane's probe to the pipeline's loader (a stand-in here), which makes the generator with them."""
    import uvicorn

    from service.api.app import serve

    module, gguf = fake_llama
    made = module.made
    loaded = []

    def load_pipeline(settings, warm=False, models=None, **split):  # like the real one: the model when warm
        loaded.append(split)
        gen = make_generator("llama-cpp", settings.generator_model, gguf.parent, n_threads=split["n_threads"],
                             busy_threads=split["busy_threads"], busy=split["busy"]) if warm else None
        return types.SimpleNamespace(generator=gen, generation_nice=split["generation_nice"])

    apps = []
    monkeypatch.setattr(service.qa.pipeline, "load_pipeline", load_pipeline)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: apps.append(app))
    serve(Settings(generator_model=str(gguf), generator_threads=2, generator_busy_threads=1, generation_nice=0,
                   search_workers=2))
    runtime = apps[0].state.runtime
    runtime.holder.start()
    assert runtime.holder.wait(5)
    pipeline = runtime.holder.get()
    assert made == [made[0]] and made[0]["n_threads"] == 2 and made[0]["n_threads_batch"] == 2
    assert loaded == [{"n_threads": 2, "busy_threads": 1, "busy": runtime.cpu.busy, "generation_nice": 0}]
    assert (pipeline.generator.n_threads, pipeline.generator.busy_threads) == (2, 1)
    assert pipeline.generator.busy == runtime.cpu.busy and pipeline.generation_nice == 0  # the lane's probe
    assert runtime.cpu.workers == 2
    assert llama.LlamaCppGenerator(gguf).n_threads == 2  # the rest of the process keeps the default


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


def _busy_while(runtime, qa: LaneQA, kind: str, submit) -> tuple[bool, bool]:
    """(the lane's probe while `kind` computes, the probe once it is answered), read from this thread (not
    the event loop's), as the generation reads it."""
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(submit)
        while qa.now[kind] == 0:
            time.sleep(0.005)
        during = runtime.cpu.busy()
        assert answer.result().status_code == 200
    return during, runtime.cpu.busy()


def test_the_busy_probe_follows_the_search_lane() -> None:
    """A search, an extractive answer (plain or streamed) holding the lane or waiting for it: busy; when
    they are done, or while only a generation runs: idle."""
    qa = LaneQA(search_s=0.3, extractive_s=0.3, generate_s=0.3)
    app = _lane_app(qa, search_workers=1)
    runtime = app.state.runtime
    with running_server(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert runtime.holder.wait(5) and not runtime.cpu.busy()
        search = partial(client.post, "/v1/search", json={"query": "UNIFIL"})
        assert _busy_while(runtime, qa, "search", search) == (True, False)
        extractive = partial(client.post, "/v1/ask", json={"question": QUESTION, "mode": "extractive"})
        assert _busy_while(runtime, qa, "extractive", extractive) == (True, False)
        streamed = partial(client.post, "/v1/ask/stream", json={"question": QUESTION, "mode": "extractive"})
        assert _busy_while(runtime, qa, "search", streamed) == (True, False)  # FakeQA's stream searches
        generated = partial(client.post, "/v1/ask", json={"question": QUESTION, "mode": "generate"})
        assert _busy_while(runtime, qa, "generate", generated) == (False, False)  # not in the lane

        with ThreadPoolExecutor(2) as pool:  # one computes, one waits for the single worker
            first = pool.submit(search)
            while qa.now["search"] == 0:
                time.sleep(0.005)
            second = pool.submit(search)
            while httpx.get(base + "/info").json()["api"]["search_waiting"] == 0:
                time.sleep(0.005)
            busy_waiting = []
            while not first.done():
                busy_waiting.append(runtime.cpu.busy())
                time.sleep(0.01)
            while qa.now["search"] == 0 and not second.done():  # the second has not started computing yet
                busy_waiting.append(runtime.cpu.busy())
                time.sleep(0.001)
            assert first.result().status_code == second.result().status_code == 200
    assert busy_waiting and all(busy_waiting)
    assert not runtime.cpu.busy()


def test_info_shows_the_generators_thread_count_now() -> None:
    class Threaded(FakeQA):
        def __init__(self, gen):
            super().__init__()
            self.gen = gen

        def info(self) -> dict:
            return {**super().info(), "generator": getattr(self.gen, "name", None)}

        def generator(self):
            assert self.gen is not None, "/info must not load a generator"
            return self.gen

    gen = types.SimpleNamespace(name="qwen", threads=2)
    for qa, expected in ((Threaded(gen), 2), (Threaded(None), None), (FakeQA(), None)):
        app = create_app(lambda qa=qa: qa, fake_settings())
        with running_server(app) as base:
            assert app.state.runtime.holder.wait(5)
            assert httpx.get(base + "/info").json()["api"]["generator_threads"] == expected
            if expected:
                gen.threads = 1  # the search lane got busy: the generator took fewer
                assert httpx.get(base + "/info").json()["api"]["generator_threads"] == 1


def test_admission_still_turns_asks_away_at_once_while_the_lane_is_full() -> None:
    qa = LaneQA(search_s=0.3, generate_s=1.0)
    app = _lane_app(qa, search_workers=1, max_ask_wait_s=1.5)
    gate = app.state.runtime.gate
    with running_server(app) as base:
        assert app.state.runtime.holder.wait(5)
        with httpx.Client(base_url=base, timeout=30) as client, ThreadPoolExecutor(6) as pool:
            assert client.post("/v1/ask", json={"question": QUESTION, "mode": "generate"}).status_code == 200
            assert 0.95 < gate.service_s < 2.0  # measured: one generation ~1 s
            searches = [pool.submit(client.post, "/v1/search", json={"query": f"PAWA {i}"}) for i in range(4)]
            running = pool.submit(client.post, "/v1/ask", json={"question": QUESTION, "mode": "generate"})
            while gate.running_count == 0 or qa.now["search"] == 0:
                time.sleep(0.01)
            start = time.perf_counter()
            refused = client.post("/v1/ask", json={"question": QUESTION, "mode": "generate"})
            took = time.perf_counter() - start
            # at once: answered while the generation (~1 s) and the lane (4 searches of 0.3 s, one at a
            # time) are still busy; a bound far from both, so a loaded CI machine does not trip it
            generation_left, lane_left = not running.done(), not searches[-1].done()
            assert running.result().status_code == 200
            assert all(s.result().status_code == 200 for s in searches)
    assert refused.status_code == 429 and refused.json()["error_type"] == "overloaded"
    assert generation_left and lane_left and took < 0.6
    assert refused.headers["Retry-After"] in ("1", "2")  # ceil of the measured wait (< ~1 s), not the default 5
    assert gate.turned_away == 1


# ---------------------------------------------------------------- the real llama.cpp (slow tier)


@pytest.mark.slow
def test_real_llama_context_takes_the_thread_count_between_tokens() -> None:
    """The bundled GGUF in process: what llama.cpp's context holds (llama_n_threads / _batch), read at
    every probe call, follows the probe: busy before the prompt and the first two tokens, then idle."""
    import llama_cpp

    gguf = Settings().cache_dir / "models" / "qwen2.5-coder-1.5b.gguf"  # assembled by `vraagbaak setup`
    if not gguf.is_file():
        pytest.skip(f"no {gguf}: run `vraagbaak setup`")
    seen: list[tuple[int, int]] = []

    def busy() -> bool:
        seen.append((llama_cpp.llama_n_threads(gen._llm.ctx), llama_cpp.llama_n_threads_batch(gen._llm.ctx)))
        return len(seen) <= 3

    gen = llama.LlamaCppGenerator(gguf, n_threads=2, busy_threads=1, busy=busy)
    messages = [{"role": "user", "content": "Noem drie kleuren van de Nederlandse vlag."}]
    text = gen.generate(messages, max_tokens=12)
    print(f"\n{text!r}; threads at each probe call: {seen}")
    assert text and len(seen) >= 5
    assert seen[:5] == [(2, 2), (1, 1), (1, 1), (1, 1), (2, 2)]  # told before the prompt, back after 3 calls
    assert set(seen[4:]) == {(2, 2)} and gen.threads == 2
