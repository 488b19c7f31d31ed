"""The API under a real uvicorn server on a random loopback port, with a slow fake service:
generation is bounded (429 beyond the queue), never blocks health or search, streams its sources
at once, and frees its slot when a streaming client goes away."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi import FastAPI
from httpx_sse import connect_sse
from test_api_fakes import FakeQA, fake_settings, running_server

from service.api.app import create_app

QUESTION = "Wanneer werd het C-130 detachement ingezet?"


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


@pytest.fixture
def slow() -> FakeQA:
    return FakeQA(delay=1.0, token_delay=0.05)


@pytest.fixture
def app(slow: FakeQA) -> FastAPI:
    return create_app(lambda: slow, fake_settings(max_concurrent_generations=1, max_queue=1))


@pytest.fixture
def base(app: FastAPI) -> Iterator[str]:
    with running_server(app) as url:
        assert app.state.runtime.holder.wait(5)
        yield url


def timed(call) -> tuple[httpx.Response, float]:
    start = time.perf_counter()
    response = call()
    return response, time.perf_counter() - start


def test_busy_generation_blocks_neither_health_nor_search_and_the_full_queue_says_429(
        app: FastAPI, base: str) -> None:
    with httpx.Client(base_url=base, timeout=10) as client, ThreadPoolExecutor(2) as pool:
        asks = [pool.submit(client.post, "/v1/ask", json={"question": QUESTION}) for _ in range(2)]
        wait_until(lambda: app.state.runtime.gate.pending == 2)  # one generating, one waiting
        health, health_s = timed(lambda: client.get("/healthz"))
        search, search_s = timed(lambda: client.post("/v1/search", json={"query": QUESTION}))
        # blocked calls would wait for the 1 s generation; 0.6 s leaves room for a busy CI box
        assert health.status_code == 200 and health_s < 0.6
        assert search.status_code == 200 and search_s < 0.6
        assert client.get("/readyz").status_code == 200
        for path in ("/v1/ask", "/v1/ask/stream"):
            refused = client.post(path, json={"question": QUESTION})
            assert refused.status_code == 429 and refused.headers["Retry-After"] == "5"
            assert refused.json()["error_type"] == "overloaded"
        chat = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]})
        assert chat.status_code == 429
        started = time.perf_counter()
        assert [f.result().status_code for f in asks] == [200, 200]
        assert time.perf_counter() - started > 0.7  # the second ask really waited for the first
    assert app.state.runtime.gate.pending == 0


def test_stream_sends_sources_within_half_a_second(base: str) -> None:
    with httpx.Client(base_url=base, timeout=10) as client:
        start = time.perf_counter()
        with connect_sse(client, "POST", "/v1/ask/stream", json={"question": QUESTION}) as source:
            events = source.iter_sse()
            first = next(events)
            first_s = time.perf_counter() - start
            rest = [event.event for event in events]
    assert first.event == "sources" and first_s < 0.5
    assert rest[-1] == "done" and rest.count("token") >= 5


def test_a_client_that_leaves_mid_stream_frees_the_generation_slot(app: FastAPI, base: str,
                                                                   slow: FakeQA) -> None:
    with httpx.Client(base_url=base, timeout=10) as client:
        with connect_sse(client, "POST", "/v1/ask/stream", json={"question": QUESTION}) as source:
            assert next(source.iter_sse()).event == "sources"
            assert app.state.runtime.gate.pending == 1
        # leaving the block closes the connection while the fake is still "generating"
        wait_until(lambda: app.state.runtime.gate.pending == 0 and slow.closed_streams == 1)
        assert client.post("/v1/ask", json={"question": QUESTION}).status_code == 200
