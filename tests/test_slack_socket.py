"""Socket Mode: the same listeners through AsyncSocketModeHandler's SocketModeRequest path, no network.

The handler is Bolt's own; only the WebSocket client it answers through is replaced by a recorder
(the envelope acknowledgements), and Web API calls go to the fake Slack API on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging

import pytest
from slack_fakes import BOT_TOKEN, BOT_USER, FakeQA, FakeSlackAPI, event_body, message, running_tasks, settle
from slack_sdk.socket_mode.request import SocketModeRequest

from service.feedback import FeedbackStore
from service.slack.app import create_slack_app, web_client
from service.slack.bot import SlackBot
from service.slack.dedupe import SeenEvents
from service.slack.socket import socket_handler

pytestmark = pytest.mark.anyio
QUESTION = "Wat deed Nederland in UNIFIL?"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class SocketRecorder:
    """Stands in for the WebSocket client: records the acknowledgements sent for each envelope."""

    logger = logging.getLogger("test.socket")

    def __init__(self) -> None:
        self.sent: list = []

    async def send_socket_mode_response(self, response) -> None:
        self.sent.append(response)


async def test_socket_mode_mention_answered_once_in_thread_despite_retry(tmp_path):
    fake, qa = FakeSlackAPI(), FakeQA()
    store = tmp_path / "feedback.sqlite3"
    bot = SlackBot(lambda: qa, FeedbackStore(store), SeenEvents(store))
    app = create_slack_app(bot, web_client(BOT_TOKEN, fake.base_url), signing_secret=None)
    handler = socket_handler(app, "xapp-1-A1-test")
    recorder = SocketRecorder()
    baseline = running_tasks()  # the socket client's own message loop runs on; our work must finish
    payload = json.loads(event_body(message(f"<@{BOT_USER}> {QUESTION}", "10.000100"), "EvS1"))
    try:
        await handler.handle(recorder, SocketModeRequest(type="events_api", envelope_id="env-1", payload=payload))
        await handler.handle(recorder, SocketModeRequest(type="events_api", envelope_id="env-2", payload=payload,
                                                         retry_attempt=1, retry_reason="timeout"))
        await settle(baseline)
    finally:
        await handler.client.close()
        fake.close()
    assert [r.envelope_id for r in recorder.sent] == ["env-1", "env-2"]  # both acknowledged
    [post] = fake.to("chat.postMessage")
    assert (post["channel"], post["thread_ts"]) == ("C1", "10.000100")
    assert post["text"].startswith(qa.text) and "Bronnen: [1]" in post["text"]
    assert qa.calls == [(QUESTION, [], None)]


async def test_run_socket_mode_wires_settings_pipeline_and_handler(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import service.qa.pipeline
    import service.slack.socket as socket_mode
    from service.errors import VraagbaakError

    started: dict = {}

    class Handler:
        def __init__(self, app, app_token):
            started.update(app=app, token=app_token)

        async def start_async(self):
            started["started"] = True

        async def close_async(self):
            started["closed"] = True

    qa = FakeQA()
    loaded = []
    monkeypatch.setattr(service.qa.pipeline, "load_pipeline",
                        lambda settings, warm=False, **split: loaded.append(split) or qa)
    monkeypatch.setattr(socket_mode, "socket_handler", Handler)
    settings = SimpleNamespace(slack_bot_token=BOT_TOKEN, slack_app_token="xapp-1-A1-test", slack_signing_secret=None,
                               slack_api_url="http://127.0.0.1:9/api/", feedback_db=tmp_path / "f.sqlite3")
    await socket_mode.run_socket_mode(settings)
    assert started["token"] == "xapp-1-A1-test" and started["started"] and started["closed"]
    assert started["app"].client.base_url == "http://127.0.0.1:9/api/"
    assert (tmp_path / "f.sqlite3").is_file()
    assert loaded == [{"n_threads": 2, "busy_threads": 1, "busy": None, "generation_nice": 0}]  # no search lane
    with pytest.raises(VraagbaakError, match="SLACK_APP_TOKEN"):
        await socket_mode.run_socket_mode(SimpleNamespace(**{**vars(settings), "slack_app_token": None}))
