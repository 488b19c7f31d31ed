"""The Slack bot end to end without Slack: signed requests into Bolt's FastAPI adapter, listeners, and
slack_sdk's AsyncWebClient talking to a fake Web API on 127.0.0.1 that records every call."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from slack_fakes import (
    BOT_TOKEN,
    BOT_USER,
    QUOTE,
    TITLE,
    FakeQA,
    FakeSlackAPI,
    action_body,
    command_body,
    event_body,
    message,
    running_tasks,
    settle,
    signed_headers,
    until,
)

from service.errors import GeneratorError
from service.feedback import FeedbackStore
from service.slack.app import create_slack_app, slack_router, web_client
from service.slack.blocks import FEEDBACK_UP, SHARE
from service.slack.bot import BotConfig, SlackBot
from service.slack.dedupe import SeenEvents
from service.types import Turn

pytestmark = pytest.mark.anyio
QUESTION = "Hoe lang duurde de inzet van het C-130-detachement?"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake():
    api = FakeSlackAPI()
    yield api
    api.close()


class Harness:
    def __init__(self, fake: FakeSlackAPI, tmp_path: Path, qa: FakeQA, config: BotConfig | None = None):
        self.fake, self.qa = fake, qa
        self.baseline = running_tasks()
        self.store = FeedbackStore(tmp_path / "feedback.sqlite3")
        self.bot = SlackBot(lambda: qa, self.store, SeenEvents(tmp_path / "feedback.sqlite3"),
                            config=config or BotConfig())
        self.app = FastAPI()
        self.app.include_router(slack_router(create_slack_app(self.bot, web_client(BOT_TOKEN, fake.base_url),
                                                              "test-signing-secret")))

    async def post(self, path: str, body: str, **headers: str) -> httpx.Response:
        sign = {k: headers.pop(k) for k in ("timestamp", "secret") if k in headers}
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://slack.test") as client:
            return await client.post(path, content=body, headers=signed_headers(body, **sign, **headers))

    async def event(self, event: dict, event_id: str, **headers: str) -> httpx.Response:
        return await self.post("/slack/events", event_body(event, event_id), **headers)

    async def settle(self) -> None:
        await settle(self.baseline)

    def posted(self) -> list[dict]:
        return self.fake.to("chat.postMessage")


def buttons(blocks: list[dict]) -> dict[str, str]:
    """action_id -> value of the buttons in a message's blocks."""
    return {e["action_id"]: e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]}


def context_texts(blocks: list[dict]) -> list[str]:
    return [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]


async def test_mention_gets_one_threaded_answer_with_sources(fake, tmp_path):
    h = Harness(fake, tmp_path, FakeQA())
    start = time.perf_counter()
    response = await h.event(message(f"<@{BOT_USER}> {QUESTION}", "100.000200"), "Ev1")
    assert response.status_code == 200
    assert time.perf_counter() - start < 1.0  # acknowledged before the answer is made
    await h.settle()
    [post] = h.posted()
    assert (post["channel"], post["thread_ts"]) == ("C1", "100.000200")
    assert post["text"].startswith("Het C-130-detachement werd ingezet van november 2021 tot en met mei 2022 [1].")
    assert f"Bronnen: [1] {TITLE}, p. 1 · Inleiding" in post["text"]
    assert post["blocks"][0]["text"]["text"] == h.qa.text
    assert f"*[1]* {TITLE}, p. 1 · Inleiding\n_“{QUOTE}”_" in context_texts(post["blocks"])
    assert set(buttons(post["blocks"])) == {"vraagbaak_feedback_up", "vraagbaak_feedback_down"}
    assert h.qa.calls == [(QUESTION, [], None)]
    calls = [m for m in fake.methods() if m != "auth.test"]
    assert calls == ["reactions.add", "chat.postMessage", "reactions.remove"]
    assert fake.to("reactions.add")[0] == {"channel": "C1", "timestamp": "100.000200", "name": "eyes",
                                              "team_id": "T1"}


async def test_direct_message_is_answered_in_its_thread(fake, tmp_path):
    h = Harness(fake, tmp_path, FakeQA())
    dm = message(QUESTION, "200.000100", channel="D1", kind="message", channel_type="im")
    assert (await h.event(dm, "Ev2")).status_code == 200
    await h.settle()
    [post] = h.posted()
    assert (post["channel"], post["thread_ts"]) == ("D1", "200.000100")
    assert "[1]" in post["text"] and h.qa.calls == [(QUESTION, [], None)]


async def test_channel_message_without_mention_is_not_answered(fake, tmp_path):
    h = Harness(fake, tmp_path, FakeQA())
    await h.event(message(QUESTION, "201.0", kind="message", channel_type="channel"), "Ev3")
    await h.settle()
    assert h.posted() == [] and h.qa.calls == []


async def test_slash_command_answers_ephemeral_via_response_url(fake, tmp_path):
    h = Harness(fake, tmp_path, FakeQA())
    response = await h.post("/slack/commands", command_body(QUESTION, fake.response_url))
    assert response.status_code == 200
    assert f"Ik zoek het op in de rapporten: _{QUESTION}_" in response.text
    await h.settle()
    [reply] = fake.to("response_url")
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith("Het C-130-detachement") and f"Bronnen: [1] {TITLE}" in reply["text"]
    assert set(buttons(reply["blocks"])) == {"vraagbaak_feedback_up", "vraagbaak_feedback_down", SHARE}
    assert h.posted() == []  # nothing public until someone shares it


async def test_share_button_posts_the_answer_publicly(fake, tmp_path):
    h = Harness(fake, tmp_path, FakeQA())
    await h.post("/slack/commands", command_body(QUESTION, fake.response_url))
    await h.settle()
    answer_id = buttons(fake.to("response_url")[0]["blocks"])[SHARE]
    response = await h.post("/slack/interactions", action_body(SHARE, answer_id, fake.response_url))
    assert response.status_code == 200
    await h.settle()
    _, public, delete = fake.to("response_url")
    assert public["response_type"] == "in_channel" and public["replace_original"] is False
    assert public["text"].startswith("Het C-130-detachement")
    assert context_texts(public["blocks"])[0] == f"<@U1> vroeg: {QUESTION}"
    assert SHARE not in buttons(public["blocks"])
    assert delete["delete_original"] is True and delete["text"] == ""
    assert len(h.qa.calls) == 1  # shared, not asked again


async def test_forged_signature_gets_401_and_nothing_runs(fake, tmp_path):
    h = Harness(fake, tmp_path, FakeQA())
    response = await h.event(message(f"<@{BOT_USER}> {QUESTION}", "300.0"), "Ev4", secret="not-the-secret")
    assert response.status_code == 401
    await h.settle()
    assert fake.calls == [] and h.qa.calls == []


async def test_stale_timestamp_gets_401(fake, tmp_path):
    h = Harness(fake, tmp_path, FakeQA())
    stale = int(time.time()) - 6 * 60
    response = await h.event(message(f"<@{BOT_USER}> {QUESTION}", "301.0"), "Ev5", timestamp=stale)
    assert response.status_code == 401
    await h.settle()
    assert fake.calls == [] and h.qa.calls == []


async def test_event_delivered_three_times_is_answered_once(fake, tmp_path):
    h = Harness(fake, tmp_path, FakeQA(delay=0.2))
    event = message(f"<@{BOT_USER}> {QUESTION}", "400.0")
    statuses = [(await h.event(event, "Ev6")).status_code,
                (await h.event(event, "Ev6", **{"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"})
                 ).status_code,
                (await h.event(event, "Ev6", **{"x-slack-retry-num": "2"})).status_code]
    assert statuses == [200, 200, 200]
    await h.settle()
    assert len(h.posted()) == 1 and len(h.qa.calls) == 1


async def test_message_arriving_as_mention_and_dm_is_answered_once(fake, tmp_path):
    h = Harness(fake, tmp_path, FakeQA())
    text = f"<@{BOT_USER}> {QUESTION}"
    await h.event(message(text, "401.0", channel="D1", channel_type="im"), "Ev7")
    await h.event(message(text, "401.0", channel="D1", kind="message", channel_type="im"), "Ev8")
    await h.settle()
    assert len(h.posted()) == 1 and len(h.qa.calls) == 1


async def test_url_verification_echoes_the_challenge(fake, tmp_path):
    h = Harness(fake, tmp_path, FakeQA())
    body = json.dumps({"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"})
    response = await h.post("/slack/events", body)
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


async def test_follow_up_in_a_thread_uses_the_thread_as_history(fake, tmp_path):
    h = Harness(fake, tmp_path, FakeQA())
    fake.replies["500.000100"] = [
        message(f"<@{BOT_USER}> {QUESTION}", "500.000100"),
        {"type": "message", "user": BOT_USER, "bot_id": "BBOT", "ts": "500.000200", "thread_ts": "500.000100",
         "text": f"Van november 2021 tot en met mei 2022 [1].\n\nBronnen: [1] {TITLE}, p. 1"},
        {"type": "message", "user": "U9", "bot_id": "BOTHER", "ts": "500.000250", "text": "andere bot"},
        message(f"<@{BOT_USER}> En waarom stopte die inzet?", "500.000300", thread_ts="500.000100"),
    ]
    follow_up = message(f"<@{BOT_USER}> En waarom stopte die inzet?", "500.000300", thread_ts="500.000100")
    await h.event(follow_up, "Ev9")
    await h.settle()
    assert fake.to("conversations.replies") == [{"channel": "C1", "ts": "500.000100", "limit": "50",
                                                      "team_id": "T1"}]
    assert h.qa.calls == [("En waarom stopte die inzet?", [
        Turn("user", QUESTION), Turn("assistant", "Van november 2021 tot en met mei 2022 [1].")], None)]
    [post] = h.posted()
    assert post["thread_ts"] == "500.000100"


async def test_generator_failure_becomes_a_dutch_message_in_the_thread(fake, tmp_path, caplog):
    h = Harness(fake, tmp_path, FakeQA(fail=GeneratorError("llama-cpp: context overflow")))
    with caplog.at_level(logging.INFO, logger="vraagbaak.slack"):
        await h.event(message(f"<@{BOT_USER}> {QUESTION}", "600.0"), "Ev10")
        await h.settle()
    [post] = h.posted()
    assert post["thread_ts"] == "600.0"
    assert post["text"].startswith("Het taalmodel gaf een fout, dus ik kon je vraag niet beantwoorden.")
    request_id = re.search(r"referentie: (slack-[0-9a-f]{12})", post["text"]).group(1)
    failures = [r.getMessage() for r in caplog.records if "slack answer failed" in r.getMessage()]
    assert failures == [f"slack answer failed: request_id={request_id} error=GeneratorError: "
                        "llama-cpp: context overflow"]
    assert [m for m in fake.methods() if m.startswith("reactions.")] == ["reactions.add", "reactions.remove"]


async def test_full_queue_says_busy_instead_of_silence(fake, tmp_path):
    h = Harness(fake, tmp_path, FakeQA(delay=0.3), BotConfig(concurrency=1, max_queue=0))
    await h.event(message(f"<@{BOT_USER}> {QUESTION}", "700.0"), "Ev11")
    await h.event(message(f"<@{BOT_USER}> Wat deed Nederland in UNIFIL?", "701.0"), "Ev12")
    await h.settle()
    by_thread = {p["thread_ts"]: p["text"] for p in h.posted()}
    assert by_thread["700.0"].startswith("Het C-130-detachement")
    assert by_thread["701.0"].startswith("Het is op dit moment erg druk")


async def test_bots_own_messages_and_edits_are_ignored(fake, tmp_path):
    h = Harness(fake, tmp_path, FakeQA())
    mention = f"<@{BOT_USER}> {QUESTION}"
    await h.event(message(mention, "800.1", channel="D1", kind="message", channel_type="im", user=BOT_USER), "Ev13")
    await h.event(message(mention, "800.2", channel="D1", kind="message", channel_type="im", bot_id="B2"), "Ev14")
    edited = message(mention, "800.3", channel="D1", kind="message", channel_type="im", subtype="message_changed")
    await h.event(edited, "Ev15")
    await h.event(message(mention, "800.4", edited={"user": "U1", "ts": "800.5"}), "Ev16")
    await h.settle()
    assert h.posted() == [] and h.qa.calls == []


async def test_thumbs_up_click_stores_a_feedback_row(fake, tmp_path):
    h = Harness(fake, tmp_path, FakeQA())
    await h.event(message(f"<@{BOT_USER}> {QUESTION}", "900.0"), "Ev17")
    await h.settle()
    answer_id = buttons(h.posted()[0]["blocks"])[FEEDBACK_UP]
    response = await h.post("/slack/interactions", action_body(FEEDBACK_UP, answer_id, fake.response_url, user="U7"))
    assert response.status_code == 200
    await h.settle()
    [row] = h.store.rows()
    assert (row["rating"], row["question"], row["source"], row["user"]) == ("up", QUESTION, "slack", "U7")
    assert row["answer"] == h.qa.text and row["citations"][0]["quote"] == QUOTE and row["mode"] == "extractive"
    assert fake.to("response_url")[-1]["text"] == "Bedankt voor je feedback! Je beoordeling (👍) is opgeslagen."


async def test_rate_limited_post_is_retried_by_the_client(fake, tmp_path):
    h = Harness(fake, tmp_path, FakeQA())
    fake.rate_limit_once.add("chat.postMessage")
    await h.event(message(f"<@{BOT_USER}> {QUESTION}", "950.0"), "Ev18")
    await h.settle()
    first, second = h.posted()
    assert first == second and second["thread_ts"] == "950.0"


async def test_slow_answer_gets_a_timeout_message_at_the_deadline(fake, tmp_path):
    h = Harness(fake, tmp_path, FakeQA(delay=0.6), BotConfig(timeout_s=0.1))
    start = time.perf_counter()
    await h.event(message(f"<@{BOT_USER}> {QUESTION}", "960.0"), "Ev19")
    await until(lambda: len(h.posted()) == 1)
    assert time.perf_counter() - start < 0.5  # told at the deadline, not when the generation ends
    assert h.posted()[0]["text"].startswith("Het antwoord duurde te lang.")
    await h.settle()
    assert len(h.posted()) == 1  # the late answer is not posted after the apology


class FormsQA(FakeQA):
    """The fake service, with the model writing the lead for no question (`Pipeline.model_writes`)."""

    def model_writes(self, question: str, history: list) -> bool:
        return False


@pytest.mark.parametrize(("qa", "lane"), [(FormsQA, "extractive"), (FakeQA, "generate")])
async def test_the_bot_runs_a_question_the_model_does_not_write_for_in_the_extractive_lane(fake, tmp_path, qa,
                                                                                           lane):
    lanes: list[str | None] = []

    async def run(call, mode=None):
        lanes.append(mode)
        return call()

    h = Harness(fake, tmp_path, qa(), config=BotConfig(mode="generate"))
    h.bot.run = run
    await h.event(message(f"<@{BOT_USER}> {QUESTION}", "100.000200"), "Ev1")
    await h.settle()
    assert lanes == [lane] and h.qa.calls == [(QUESTION, [], "generate")]
    assert len(h.posted()) == 1
