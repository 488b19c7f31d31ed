"""Admission control of the generation gate (service/api/runtime.py): turned away at once with an honest
Retry-After when the measured wait is too long, never left waiting for minutes, and extractive answers in
their own lane. Over a real uvicorn on 127.0.0.1 with the slowed-down fake service."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import anyio
import httpx
import pytest
from test_api_fakes import FakeQA, fake_settings, running_server

from service.api.app import create_app
from service.api.deps import Runtime, gated_events, generate
from service.api.observability import Metrics
from service.api.runtime import GenerationGate, ServiceHolder
from service.errors import Busy
from service.types import REFUSAL, Answer, StreamEvent

QUESTION = "Wanneer werd het C-130 detachement ingezet?"


def test_estimated_wait_counts_rounds_ahead_times_the_measured_generation() -> None:
    gate = GenerationGate(concurrency=2, max_queue=8, max_wait_s=30)
    assert gate.estimated_wait() == 0.0
    gate.pending, gate.running_count = 2, 2
    assert gate.estimated_wait() == 0.0  # nothing measured yet: admit and learn
    gate.observe(4.0)
    gate.observe(6.0)
    assert gate.service_s == pytest.approx(4.6)  # 0.7 * 4 + 0.3 * 6
    assert gate.estimated_wait() == pytest.approx(4.6)
    gate.pending = 5  # 2 generating, 3 waiting: two rounds ahead of a newcomer
    assert gate.estimated_wait() == pytest.approx(2 * 4.6)


def test_a_generation_running_past_the_average_raises_the_estimate() -> None:
    gate = GenerationGate(concurrency=1, max_queue=8, max_wait_s=30)
    gate.observe(10.0)
    gate.pending, gate.running_count = 2, 1  # one running, one waiting
    gate._started = [time.perf_counter() - 4.0]  # 4 s into a 10 s average: 6 s left, then one more round
    assert gate.estimated_wait() == pytest.approx(6.0 + 10.0, abs=0.1)
    gate._started = [time.perf_counter() - 25.0]  # past the average: 25 s more expected, rounds of 25 s
    assert gate.estimated_wait() == pytest.approx(25.0 + 25.0, abs=0.1)
    with pytest.raises(Busy) as info:
        gate.admit()
    assert 49 <= info.value.retry_after <= 51


def test_admission_refuses_when_wait_plus_generation_passes_the_budget() -> None:
    gate = GenerationGate(concurrency=1, max_queue=8, max_wait_s=30)
    gate.observe(12.0)
    gate.pending, gate.running_count = 1, 1
    gate.admit()  # 12 s wait + 12 s generation = 24 s: admitted
    with pytest.raises(Busy) as info:
        gate.admit()  # 2 rounds (24 s) + 12 s > 30 s
    assert info.value.retry_after == 24 and gate.turned_away == 1
    gate.pending = 0
    gate.observe(1000.0)
    assert gate.admit()  # a free slot always admits, however slow the last generation was


def test_a_request_waiting_too_long_for_a_slot_gives_up_with_429() -> None:
    async def scenario() -> tuple[float, int]:
        gate = GenerationGate(concurrency=1, max_queue=8, max_wait_s=1.0)
        first = gate.admit()
        second = gate.admit()
        async with first.running():
            start = time.perf_counter()
            with pytest.raises(Busy) as info:
                async with second.running():
                    pass
            return time.perf_counter() - start, info.value.retry_after

    waited, retry_after = anyio.run(scenario)
    assert 0.9 < waited < 1.5 and retry_after >= 1


@pytest.fixture
def served():
    fake = FakeQA(delay=1.0)
    app = create_app(lambda: fake, fake_settings(max_concurrent_generations=1, max_queue=8, max_ask_wait_s=1.5))
    with running_server(app) as url:
        assert app.state.runtime.holder.wait(5)
        yield app, url


def test_an_ask_is_turned_away_at_once_with_the_measured_retry_after(served) -> None:
    app, base = served
    with httpx.Client(base_url=base, timeout=10) as client, ThreadPoolExecutor(1) as pool:
        assert client.post("/v1/ask", json={"question": QUESTION}).status_code == 200  # measures ~1 s
        assert 0.95 < app.state.runtime.gate.service_s < 2.0
        running = pool.submit(client.post, "/v1/ask", json={"question": QUESTION})
        while app.state.runtime.gate.running_count == 0:
            time.sleep(0.01)
        start = time.perf_counter()
        refused = client.post("/v1/ask", json={"question": QUESTION})
        took, generation_left = time.perf_counter() - start, not running.done()
        assert generation_left and took < 0.6  # at once, not after the running generation (~1 s)
        assert refused.status_code == 429 and refused.json()["error_type"] == "overloaded"
        assert refused.headers["Retry-After"] in ("1", "2")  # ceil of the measured wait (< ~1 s), not the default 5
        stream = client.post("/v1/ask/stream", json={"question": QUESTION})
        assert stream.status_code == 429
        assert running.result().status_code == 200
        info = client.get("/info").json()["api"]
        assert info["turned_away"] == 2 and info["generation_seconds"] > 0.95


def test_extractive_answers_do_not_queue_behind_a_generation() -> None:
    app = create_app(lambda: FakeQA(delay=0.8), fake_settings(max_concurrent_generations=1))
    with running_server(app) as base, httpx.Client(base_url=base, timeout=10) as client, \
            ThreadPoolExecutor(1) as pool:
        assert app.state.runtime.holder.wait(5)
        running = pool.submit(client.post, "/v1/ask", json={"question": QUESTION, "mode": "generate"})
        while app.state.runtime.gate.running_count == 0:
            time.sleep(0.01)
        start = time.perf_counter()
        quick = client.post("/v1/ask", json={"question": QUESTION, "mode": "extractive"})
        elapsed = time.perf_counter() - start
        assert quick.status_code == 200 and elapsed < 1.3  # its own 0.8 s; queued it would be 1.6 s or more
        assert running.result().status_code == 200
        assert app.state.runtime.quick.service_s > 0.7 and app.state.runtime.gate.pending == 0


class FormsQA(FakeQA):
    """The fake service, with the model writing only for questions that do not ask "hoeveel"."""

    def model_writes(self, question: str, history: list) -> bool:
        return not question.lower().startswith("hoeveel")


def test_a_generate_ask_of_a_form_the_model_does_not_write_for_takes_the_quick_lane() -> None:
    app = create_app(lambda: FormsQA(delay=0.8), fake_settings(max_concurrent_generations=1))
    runtime = app.state.runtime
    assert runtime.lane_mode(FormsQA(), "Hoeveel militairen?", [], "generate") == "extractive"
    assert runtime.lane_mode(FormsQA(), QUESTION, [], "generate") == "generate"
    assert runtime.lane_mode(FakeQA(), "Hoeveel militairen?", [], "generate") == "generate"  # no model_writes
    with running_server(app) as base, httpx.Client(base_url=base, timeout=10) as client, \
            ThreadPoolExecutor(1) as pool:
        assert runtime.holder.wait(5)
        running = pool.submit(client.post, "/v1/ask", json={"question": QUESTION, "mode": "generate"})
        while runtime.gate.running_count == 0:
            time.sleep(0.01)
        start = time.perf_counter()
        quick = client.post("/v1/ask", json={"question": "Hoeveel militairen gingen er?", "mode": "generate"})
        elapsed = time.perf_counter() - start
        assert quick.status_code == 200 and elapsed < 1.3  # its own 0.8 s; queued it would be 1.6 s or more
        assert running.result().status_code == 200 and runtime.gate.pending == 0


def test_a_generate_ask_that_runs_no_model_does_not_lower_the_measured_generation() -> None:
    """A question refused before generation holds the slot for milliseconds: averaged in, it made the gate
    promise waits it could not keep (429s after ~20 s in the queue in a 90 s load run)."""
    generated = Answer("Het detachement werd in 2021 ingezet [1].", False, (), {"retrieve": 1.0, "generate": 300.0},
                       "generate")
    refused = Answer(REFUSAL, True, (), {"retrieve": 1.0, "evidence": 0.5}, "generate")

    def stream(answer: Answer):
        return lambda: iter([StreamEvent("sources", {"hits": []}), StreamEvent("done", answer.to_dict())])

    async def scenario() -> tuple[float | None, ...]:
        runtime = Runtime(ServiceHolder(lambda: None), GenerationGate(1, 8, max_wait_s=30), Metrics())
        await generate(runtime, lambda: time.sleep(0.3) or generated, "generate")
        measured = runtime.gate.service_s
        await generate(runtime, lambda: refused, "generate")
        async for _ in gated_events(runtime, runtime.gate.admit(), stream(refused), "generate"):
            pass
        after_refusals = runtime.gate.service_s
        async for _ in gated_events(runtime, runtime.gate.admit(), stream(generated), "generate"):
            pass  # a generated stream counts (a few ms here)
        await generate(runtime, lambda: refused, "extractive")  # the extractive lane measures every answer
        return measured, after_refusals, runtime.gate.service_s, runtime.quick.service_s

    measured, after_refusals, after_stream, quick = anyio.run(scenario)
    assert 0.29 < measured < 0.6 and after_refusals == measured
    assert after_stream == pytest.approx(0.7 * measured, abs=0.02)
    assert quick is not None and quick < 0.1
