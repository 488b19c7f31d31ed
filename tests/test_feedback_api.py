"""POST /v1/feedback on the HTTP app, and the Slack routes' presence depending on the settings."""

from __future__ import annotations

import json
import logging
import time

import pytest
from fastapi.testclient import TestClient
from slack_fakes import BOT_TOKEN, BOT_USER, SECRET, FakeSlackAPI, event_body, message, signed_headers
from test_api_fakes import FakeQA, fake_settings

from service.api.app import create_app
from service.feedback import FeedbackStore

BODY = {"rating": "down", "question": "Wie was de commandant van het C-130-detachement?",
        "answer": "Dat staat niet in de rapporten die ik kan raadplegen.", "refused": True, "mode": "generate",
        "citations": [{"n": 1, "doc_id": "c130", "title": "Beleidsreactie C-130", "page": 2, "section": "",
                       "quote": "Het detachement telde 70 militairen."}],
        "history": [{"role": "user", "content": "Wat deed het C-130-detachement?"},
                    {"role": "assistant", "content": "Luchttransport voor MINUSMA [1]."}]}


def test_feedback_is_stored_with_everything_the_page_showed(tmp_path):
    path = tmp_path / "var" / "feedback.sqlite3"
    with TestClient(create_app(FakeQA, fake_settings(feedback_db=path))) as client:
        response = client.post("/v1/feedback", json=BODY)
    assert response.status_code == 201 and response.json() == {"id": 1, "status": "stored"}
    [row] = FeedbackStore(path).rows()
    assert (row["rating"], row["question"], row["source"], row["mode"], row["refused"]) == (
        "down", BODY["question"], "web", "generate", True)
    assert row["history"] == BODY["history"] and row["citations"][0]["quote"] == "Het detachement telde 70 militairen."


@pytest.mark.parametrize(("change", "field"), [
    ({"rating": "meh"}, "rating"), ({"question": ""}, "question"), ({"extra": 1}, "extra"),
    ({"history": [{"role": "system", "content": "x"}]}, "history"),
])
def test_bad_feedback_is_a_422_naming_the_field(tmp_path, change, field):
    with TestClient(create_app(FakeQA, fake_settings(feedback_db=tmp_path / "f.sqlite3"))) as client:
        response = client.post("/v1/feedback", json={**BODY, **change})
    assert response.status_code == 422 and field in json.dumps(response.json())
    assert FeedbackStore(tmp_path / "f.sqlite3").rows() == []


def test_feedback_needs_the_api_key_when_one_is_set(tmp_path):
    app = create_app(FakeQA, fake_settings(api_key="geheim", feedback_db=tmp_path / "f.sqlite3"))
    with TestClient(app) as client:
        assert client.post("/v1/feedback", json=BODY).status_code == 401
        ok = client.post("/v1/feedback", json=BODY, headers={"Authorization": "Bearer geheim"})
    assert ok.status_code == 201


def test_slack_routes_are_absent_without_tokens_and_the_log_says_why(tmp_path, caplog):
    settings = fake_settings(feedback_db=tmp_path / "f.sqlite3", slack_signing_secret=SECRET)
    with caplog.at_level(logging.INFO, logger="vraagbaak.slack"), TestClient(create_app(FakeQA, settings)) as client:
        assert [client.post(p, content="{}").status_code for p in
                ("/slack/events", "/slack/commands", "/slack/interactions")] == [404, 404, 404]
    said = [r.getMessage() for r in caplog.records if r.name == "vraagbaak.slack"]
    assert said == ["Slack disabled: SLACK_BOT_TOKEN not set, so /slack/events, /slack/commands and "
                    "/slack/interactions are not served"]


def test_slack_routes_are_served_with_tokens_and_check_signatures(tmp_path):
    fake = FakeSlackAPI()
    settings = fake_settings(feedback_db=tmp_path / "f.sqlite3", slack_bot_token=BOT_TOKEN,
                             slack_signing_secret=SECRET, slack_api_url=fake.base_url)
    body = json.dumps({"token": "legacy", "challenge": "c-123", "type": "url_verification"})
    try:
        with TestClient(create_app(FakeQA, settings)) as client:
            echoed = client.post("/slack/events", content=body, headers=signed_headers(body))
            forged = client.post("/slack/events", content=body, headers=signed_headers(body, secret="wrong"))
    finally:
        fake.close()
    assert echoed.status_code == 200 and echoed.json() == {"challenge": "c-123"}
    assert forged.status_code == 401 and fake.calls == []


def test_slack_answers_come_from_the_apps_service_through_its_generation_gate(tmp_path):
    fake = FakeSlackAPI()
    settings = fake_settings(feedback_db=tmp_path / "f.sqlite3", slack_bot_token=BOT_TOKEN,
                             slack_signing_secret=SECRET, slack_api_url=fake.base_url)
    body = event_body(message(f"<@{BOT_USER}> Wanneer werd het C-130 detachement ingezet?", "70.000100"), "EvA1")
    try:
        app = create_app(FakeQA, settings)
        with TestClient(app) as client:
            assert app.state.runtime.holder.wait(5)
            assert client.post("/slack/events", content=body, headers=signed_headers(body)).status_code == 200
            deadline = time.monotonic() + 5
            while not fake.to("chat.postMessage") and time.monotonic() < deadline:
                time.sleep(0.02)
            metrics = client.get("/metrics").text
    finally:
        fake.close()
    [post] = fake.to("chat.postMessage")
    assert post["thread_ts"] == "70.000100" and "november 2021" in post["text"]
    assert 'vraagbaak_stage_seconds_count{stage="generate"} 1.0' in metrics  # counted by the shared gate
    assert app.state.runtime.gate.pending == 0


def test_chat_page_offers_thumbs_that_post_feedback(tmp_path):
    with TestClient(create_app(FakeQA, fake_settings(feedback_db=tmp_path / "f.sqlite3"))) as client:
        page, script = client.get("/").text, client.get("/static/app.js").text
    assert 'data-rating="up"' in page and 'data-rating="down"' in page
    assert 'fetch("/v1/feedback"' in script and "offerRating(view, question" in script
