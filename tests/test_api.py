"""The HTTP API with a fake QAService, through FastAPI's TestClient: every route, the error shape and
status table, limits, readiness, request ids, the API key, CORS, metrics and the chat page."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from httpx_sse import connect_sse
from test_api_fakes import FakeQA, fake_settings

from service.api.app import create_app
from service.api.observability import JsonFormatter
from service.config import Settings
from service.errors import Busy, GeneratorError, GeneratorTimeout, VraagbaakError

QUESTION = "Wanneer werd het C-130 detachement ingezet?"


@pytest.fixture
def fake() -> FakeQA:
    return FakeQA()


@contextmanager
def serving(service: FakeQA, **settings: object) -> Iterator[TestClient]:
    app = create_app(lambda: service, fake_settings(**settings))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert app.state.runtime.holder.wait(5)
        yield client


@pytest.fixture
def client(fake: FakeQA) -> Iterator[TestClient]:
    with serving(fake) as client:
        yield client


def assert_error(response, status: int, error_type: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "error_type"} and body["error_type"] == error_type
    assert body["error"] and isinstance(body["error"], str)
    return body


def test_healthz_answers_while_loading_and_readyz_waits_for_the_service(fake: FakeQA) -> None:
    release = threading.Event()

    def slow_factory() -> FakeQA:
        release.wait(10)
        return fake

    app = create_app(slow_factory, fake_settings())
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        not_ready = client.get("/readyz")
        assert_error(not_ready, 503, "not_ready")
        assert not_ready.headers["Retry-After"] == "5"
        assert_error(client.post("/v1/search", json={"query": "MINUSMA"}), 503, "not_ready")
        release.set()
        assert app.state.runtime.holder.wait(5)
        assert client.get("/readyz").json() == {"status": "ready"}


def test_a_failing_factory_keeps_readyz_at_503(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> FakeQA:
        raise FileNotFoundError("var/index/manifest.json")

    app = create_app(broken, fake_settings())
    with TestClient(app) as client:
        assert not app.state.runtime.holder.wait(5)
        body = assert_error(client.get("/readyz"), 503, "not_ready")
    assert "kon niet opstarten" in body["error"]
    assert "loading the service failed" in caplog.text


def test_search_returns_ranked_hits_with_all_fields(client: TestClient, fake: FakeQA) -> None:
    body = client.post("/v1/search", json={"query": QUESTION, "k": 2}).json()
    assert [h["doc_id"] for h in body["hits"]] == ["c130-beleidsreactie", "iob-minusma"]
    hit = body["hits"][0]
    assert {"chunk_id", "doc_id", "title", "section", "page", "text", "start", "end", "score"} <= set(hit)
    assert "row" not in hit and hit["page"] == 1 and hit["score"] > body["hits"][1]["score"]
    assert set(body["timings_ms"]) == {"retrieve"}
    assert fake.calls == [("search", (QUESTION, 2, None))]


def test_search_passes_filters_through(client: TestClient, fake: FakeQA) -> None:
    body = client.post("/v1/search", json={"query": QUESTION, "filters": {"year": [2015, 2022]}}).json()
    assert {h["doc_id"] for h in body["hits"]} == {"iob-minusma", "kleinere-bijdragen"}
    assert fake.calls[-1] == ("search", (QUESTION, 10, {"year": [2015, 2022]}))


@pytest.mark.parametrize(("body", "status", "error_type", "words"), [
    ({"query": ""}, 422, "validation", "'query' mag niet leeg"),
    ({"query": " \n\t "}, 422, "validation", "'query' mag niet leeg"),
    ({"query": "x" * 2001}, 422, "validation", "maximaal 2000 tekens"),
    ({"query": "MINUSMA", "k": 0}, 422, "validation", "'k' moet minstens 1"),
    ({"query": "MINUSMA", "k": 51}, 422, "validation", "'k' mag hoogstens 50"),
    ({"query": "MINUSMA", "k": "5"}, 422, "validation", "'k'"),
    ({"query": "MINUSMA", "filters": {"land": "Mali"}}, 422, "validation", "'filters.land' is geen bekend"),
    ({"vraag": "MINUSMA"}, 422, "validation", "'query' ontbreekt"),
])
def test_search_rejects_bad_input_in_the_one_error_shape(client: TestClient, body: dict, status: int,
                                                        error_type: str, words: str) -> None:
    assert words in assert_error(client.post("/v1/search", json=body), status, error_type)["error"]


def test_malformed_json_is_400_and_a_large_body_is_413(client: TestClient) -> None:
    bad = client.post("/v1/search", content=b'{"query": ', headers={"Content-Type": "application/json"})
    assert_error(bad, 400, "bad_request")
    big = json.dumps({"query": "x" * 70_000}).encode()
    assert_error(client.post("/v1/ask", content=big, headers={"Content-Type": "application/json"}),
                 413, "too_large")
    chunked = client.post("/v1/ask", content=iter([big[:40_000], big[40_000:]]),
                          headers={"Content-Type": "application/json"})
    assert_error(chunked, 413, "too_large")


JSON = {"Content-Type": "application/json"}
DEEP = b'{"query": ' + b"[" * 5000 + b"]" * 5000 + b"}"


@pytest.mark.parametrize("route", ["/v1/search", "/v1/ask", "/v1/chat/completions"])
@pytest.mark.parametrize("body, message", [
    (b'{"query": "\xff\xfe MINUSMA"}', "De body is geen geldige UTF-8."),
    (DEEP, "De JSON in de body is te diep genest."),
])
def test_undecodable_bodies_get_a_dutch_400(client: TestClient, route: str, body: bytes, message: str) -> None:
    assert assert_error(client.post(route, content=body, headers=JSON), 400, "bad_request")["error"] == message


def test_bad_input_gets_clean_4xx_and_the_server_stays_up(client: TestClient) -> None:
    """The inputs tried by hand in issue 16, kept: each a 4xx in the one error shape, nothing English."""
    turn = {"role": "user", "content": "Wat deed Nederland in Mali?"}
    cases = [
        (client.post("/v1/ask", content=b"x" * 10_000_000, headers=JSON), 413, "too_large"),
        (client.post("/v1/ask", json={"question": QUESTION, "history": [turn] * 50}), 422, "validation"),
        (client.post("/v1/ask", json={"question": QUESTION, "history": [{"role": "user"}]}), 422, "validation"),
        (client.post("/v1/ask", json={"question": QUESTION, "history": "eerder"}), 422, "validation"),
        (client.post("/v1/search", json={"query": "MINUSMA", "k": 100_000}), 422, "validation"),
        (client.post("/v1/search", content=b"\xff", headers=JSON), 400, "bad_request"),
        (client.post("/v1/search", content=DEEP, headers=JSON), 400, "bad_request"),
    ]
    for response, status, error_type in cases:
        message = assert_error(response, status, error_type)["error"]
        assert "error" not in message.lower() and "parsing" not in message, message
    assert client.post("/v1/search", json={"query": "MINUSMA"}).status_code == 200


def test_unknown_route_and_wrong_method_use_the_error_shape(client: TestClient) -> None:
    assert "/v2/ask" in assert_error(client.get("/v2/ask"), 404, "not_found")["error"]
    assert_error(client.get("/v1/ask"), 405, "method_not_allowed")
    assert_error(client.get("/static/nope.js"), 404, "not_found")


def test_ask_returns_the_answer_json_and_passes_history_mode_and_k(client: TestClient, fake: FakeQA) -> None:
    history = [{"role": "user", "content": "Wat deed IOB?"}, {"role": "assistant", "content": "Evalueren."}]
    body = client.post("/v1/ask", json={"question": QUESTION, "history": history, "mode": "extractive",
                                        "k": 4}).json()
    expected = fake.ask(QUESTION, mode="extractive").to_dict()
    assert body == expected
    assert body["citations"][0]["quote"].startswith("Het C-130 detachement werd ingezet van november 2021")
    name, (question, turns, mode, k) = fake.calls[0]
    assert (name, question, mode, k) == ("ask", QUESTION, "extractive", 4)
    assert [(t.role, t.content) for t in turns] == [("user", "Wat deed IOB?"), ("assistant", "Evalueren.")]


def test_a_refusal_is_a_normal_answer(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": "Wat is de beste pizzeria?"})
    assert response.status_code == 200
    assert response.json()["refused"] is True and response.json()["citations"] == []


@pytest.mark.parametrize(("body", "words"), [
    ({"question": QUESTION, "history": [{"role": "user", "content": "x"}] * 21}, "maximaal 20"),
    ({"question": QUESTION, "history": [{"role": "system", "content": "x"}]}, "'history[0].role'"),
    ({"question": QUESTION, "mode": "creative"}, "'mode' moet een van"),
])
def test_ask_rejects_bad_input(client: TestClient, body: dict, words: str) -> None:
    assert words in assert_error(client.post("/v1/ask", json=body), 422, "validation")["error"]


def stream(client: TestClient, body: dict) -> list[tuple[str, dict]]:
    with connect_sse(client, "POST", "/v1/ask/stream", json=body) as source:
        assert source.response.headers["content-type"].startswith("text/event-stream")
        return [(event.event, event.json()) for event in source.iter_sse()]


def test_ask_stream_sends_sources_tokens_then_done_with_the_ask_json(client: TestClient,
                                                                     fake: FakeQA) -> None:
    events = stream(client, {"question": QUESTION})
    names = [name for name, _ in events]
    assert names[0] == "sources" and names[-1] == "done" and set(names[1:-1]) == {"token"}
    assert events[0][1]["hits"][0]["chunk_id"] == "c130-beleidsreactie#0"
    done = events[-1][1]
    assert "".join(data["text"] for name, data in events if name == "token") == done["answer"]
    assert done == client.post("/v1/ask", json={"question": QUESTION}).json()
    assert fake.closed_streams == 1


def test_ask_stream_reports_a_failure_after_the_first_byte_as_an_error_event() -> None:
    with serving(FakeQA(fail=GeneratorTimeout("het taalmodel antwoordde niet binnen 60 s"))) as client:
        events = stream(client, {"question": QUESTION})
        metrics = client.get("/metrics").text
    assert [name for name, _ in events] == ["sources", "error"]
    assert events[1][1] == {"error": "het taalmodel antwoordde niet binnen 60 s",
                            "error_type": "generator_timeout", "status": 504}
    assert 'vraagbaak_errors_total{error_type="generator_timeout"} 1.0' in metrics


@pytest.mark.parametrize(("error", "status", "error_type"), [
    (VraagbaakError("onbekend filter: land"), 400, "bad_request"),
    (Busy("de wachtrij van het taalmodel is vol", retry_after=7), 429, "overloaded"),
    (GeneratorError("llama-server gaf 500"), 502, "generator"),
    (GeneratorTimeout("geen antwoord binnen 60 s"), 504, "generator_timeout"),
    (RuntimeError("bug"), 500, "internal"),
])
def test_service_errors_map_to_one_status_table(error: Exception, status: int, error_type: str) -> None:
    with serving(FakeQA(fail=error)) as client:
        response = client.post("/v1/ask", json={"question": QUESTION})
        body = assert_error(response, status, error_type)
        assert response.headers["X-Request-ID"]
        if isinstance(error, Busy):
            assert response.headers["Retry-After"] == "7"
        if error_type == "internal":
            assert "bug" not in body["error"]


def test_documents_info_and_metrics(client: TestClient) -> None:
    documents = client.get("/v1/documents").json()["documents"]
    assert [(d["doc_id"], d["year"], d["chunks"]) for d in documents][0] == ("iob-minusma", 2022, 1)
    info = client.get("/info").json()
    assert info["embedder"] == "fake" and info["manifest"]["chunks"] == 3
    assert info["api"]["max_question_chars"] == 2000 and info["api"]["generation_capacity"] == 9
    client.post("/v1/ask", json={"question": QUESTION})
    client.post("/v1/search", json={"query": ""})
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'vraagbaak_requests_total{method="POST",route="/v1/ask",status="200"} 1.0' in text
    assert 'vraagbaak_errors_total{error_type="validation"} 1.0' in text
    assert 'vraagbaak_stage_seconds_count{stage="generate"} 1.0' in text
    assert 'vraagbaak_stage_seconds_count{stage="retrieve"} 1.0' in text
    assert "vraagbaak_ready 1.0" in text and "vraagbaak_generation_pending 0.0" in text


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id\n"}).headers["X-Request-ID"]
    assert len(made) == 32 and made != "bad id\n"
    assert client.get("/nope").headers["X-Request-ID"]


def test_api_key_guards_everything_but_health_and_the_page(fake: FakeQA) -> None:
    with serving(fake, api_key="geheim") as client:
        assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200
        assert client.get("/").status_code == 200
        for method, path in [("post", "/v1/search"), ("get", "/v1/documents"), ("get", "/metrics"),
                             ("get", "/info"), ("post", "/v1/chat/completions")]:
            denied = getattr(client, method)(path, headers={"Authorization": "Bearer fout"})
            assert_error(denied, 401, "unauthorized")
        assert client.get("/v1/documents").headers["WWW-Authenticate"] == "Bearer"
        ok = client.post("/v1/search", json={"query": QUESTION}, headers={"Authorization": "Bearer geheim"})
        assert ok.status_code == 200


def test_cors_only_for_configured_origins(fake: FakeQA) -> None:
    with serving(fake, cors_origins=["https://intranet.example"]) as client:
        preflight = {"Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "content-type"}
        ok = client.options("/v1/ask", headers={"Origin": "https://intranet.example", **preflight})
        assert ok.headers["access-control-allow-origin"] == "https://intranet.example"
        other = client.options("/v1/ask", headers={"Origin": "https://elders.example", **preflight})
        assert "access-control-allow-origin" not in other.headers


def test_real_settings_without_api_fields_fall_back_to_defaults(fake: FakeQA) -> None:
    app = create_app(lambda: fake, Settings())
    assert app.state.runtime.gate.capacity == 9 and app.state.runtime.api_key is None


def test_chat_page_and_its_assets_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="nl">' in page.text and "/static/app.js" in page.text
    script = client.get("/static/app.js").text
    assert "/v1/ask/stream" in script and "getReader" in script
    assert client.get("/static/style.css").status_code == 200


def test_log_lines_are_json_with_the_request_id(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="vraagbaak.api"):
        client.post("/v1/search", json={"query": QUESTION}, headers={"X-Request-ID": "req-42"})
    record = next(r for r in caplog.records if getattr(r, "route", None) == "/v1/search")
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "request" and line["status"] == 200 and line["path"] == "/v1/search"
    assert line["duration_ms"] >= 0 and line["level"] == "info" and line["request_id"] == "req-42"


def test_an_internal_error_is_logged_with_its_request_id(caplog: pytest.LogCaptureFixture) -> None:
    with serving(FakeQA(fail=RuntimeError("bug in de pijplijn"))) as client:
        response = client.post("/v1/ask", json={"question": QUESTION}, headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500 and response.headers["X-Request-ID"] == "req-500"
    record = next(r for r in caplog.records if r.getMessage() == "unhandled error")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-500" and "RuntimeError: bug in de pijplijn" in line["exc"]
