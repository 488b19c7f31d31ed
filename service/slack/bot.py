"""The Slack listeners: a mention or a DM is answered once, in its thread; /vraag answers privately
with a "Deel in kanaal" button; 👍/👎 buttons become feedback rows.

Every listener acknowledges at once (events are acknowledged by Bolt before the listener runs) and
hands the answer to `AnswerJobs`. An answer job adds 👀 to the message, reads the thread as history,
asks the QA service through the host's runner, posts the answer in the thread and removes 👀. A
failure of any kind becomes a short Dutch message in the thread plus a log line with a request id.
A delivery is answered at most once: its event id and its message (channel, ts) are claimed in
`SeenEvents` first, so Slack's retries and a message that arrives as both `app_mention` and
`message.im` produce one answer. Deliberately not here: signatures, routing (Bolt does both),
transport (HTTP or Socket Mode) and rendering (service.slack.blocks).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio.to_thread

from service.feedback import Feedback, FeedbackStore
from service.qa.protocol import lane
from service.slack.blocks import FEEDBACK_DOWN, FEEDBACK_UP, SHARE, answer_blocks, fallback_text, safe
from service.slack.dedupe import SeenEvents
from service.slack.history import question_text, thread_turns
from service.slack.jobs import AnswerJobs, QueueFull, failure_message

log = logging.getLogger("vraagbaak.slack")
# runs a blocking call (the HTTP gate, or a thread); the mode names the lane (None: the default mode's)
Runner = Callable[[Callable[[], Any], str | None], Awaitable[Any]]

WORKING = "eyes"
USAGE = "Stel je vraag na de opdracht, bijvoorbeeld: `/vraag Hoe lang duurde de inzet van het C-130-detachement?`"
EMPTY_MENTION = "Stel je vraag in hetzelfde bericht, bijvoorbeeld: _@Vraagbaak Wat deed Nederland in UNIFIL?_"
SEARCHING = "Ik zoek het op in de rapporten: _{question}_"
THANKS = "Bedankt voor je feedback! Je beoordeling ({rating}) is opgeslagen."
GONE = "Dit antwoord is niet meer bewaard, dus dat lukte niet. Stel de vraag gerust opnieuw."
_IGNORED_SUBTYPES_OK = (None, "thread_broadcast", "file_share")


@dataclass(frozen=True)
class BotConfig:
    concurrency: int = 1  # answers generating at once (each still passes the host's runner)
    max_queue: int = 32  # Slack answers waiting; beyond -> "erg druk" in the thread
    timeout_s: float = 120.0  # per answer, then a polite message
    replies_limit: int = 50  # messages read from a thread for history (conversations.replies)
    mode: str | None = None  # answer mode; None: the service's default


async def in_thread(call: Callable[[], Any], mode: str | None = None) -> Any:
    return await anyio.to_thread.run_sync(call)


class SlackBot:
    def __init__(self, qa: Callable[[], Any], feedback: FeedbackStore, seen: SeenEvents,
                 run: Runner = in_thread, config: BotConfig = BotConfig()):
        self.qa, self.feedback, self.seen, self.run, self.config = qa, feedback, seen, run, config
        self.jobs = AnswerJobs(config.concurrency, config.max_queue)

    def register(self, app: Any) -> None:
        """Attach the listeners to a slack_bolt AsyncApp."""
        app.event("app_mention")(self.on_mention)
        app.event("message")(self.on_message)
        app.command("/vraag")(self.on_command)
        app.action(FEEDBACK_UP)(self.on_feedback)
        app.action(FEEDBACK_DOWN)(self.on_feedback)
        app.action(SHARE)(self.on_share)

    # --- events ----------------------------------------------------------------------------------
    async def on_mention(self, body: dict, event: dict, context: Any, client: Any, request: Any) -> None:
        await self._event(body, event, context, client, request)

    async def on_message(self, body: dict, event: dict, context: Any, client: Any, request: Any) -> None:
        if event.get("channel_type") == "im":  # channel messages arrive as app_mention
            await self._event(body, event, context, client, request)

    async def _event(self, body: dict, event: dict, context: Any, client: Any, request: Any) -> None:
        if not self._is_question(event, context):
            return
        channel, ts = event.get("channel", ""), event.get("ts", "")
        if not self.seen.claim(f"event:{body.get('event_id', '')}", f"msg:{channel}:{ts}"):
            retry = (request.headers.get("x-slack-retry-num") or [None])[0]
            log.info("slack duplicate ignored: event_id=%s retry=%s", body.get("event_id"), retry)
            return
        request_id = _request_id()
        thread_ts = event.get("thread_ts") or ts
        question = question_text(event.get("text") or "", context.bot_user_id)
        if not question:
            await self._post(client, channel, thread_ts, EMPTY_MENTION, request_id)
            return
        job = partial(self._answer_in_thread, client, event, context, question, request_id)
        if not self.jobs.submit(job):
            log.warning("slack answer refused: request_id=%s event_id=%s queue full", request_id, body.get("event_id"))
            await self._post(client, channel, thread_ts, failure_message(QueueFull(), request_id), request_id)

    @staticmethod
    def _is_question(event: dict, context: Any) -> bool:
        """A person's new message: not the bot's own, not another bot's, not an edit or deletion."""
        if event.get("subtype") not in _IGNORED_SUBTYPES_OK or "edited" in event:
            return False
        if event.get("bot_id") or event.get("bot_profile"):
            return False
        return bool(event.get("user")) and event.get("user") != context.bot_user_id

    async def _answer_in_thread(self, client: Any, event: dict, context: Any, question: str, request_id: str) -> None:
        channel, ts = event["channel"], event["ts"]
        thread_ts = event.get("thread_ts") or ts
        await self._quietly(client.reactions_add(channel=channel, timestamp=ts, name=WORKING), request_id)
        try:
            history = await self._history(client, channel, event, context) if event.get("thread_ts") else []
            answer = await self._ask(question, history)
            answer_id = self.feedback.keep_answer(question, history, answer)
            await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=fallback_text(answer),
                                          blocks=answer_blocks(answer, answer_id), unfurl_links=False,
                                          unfurl_media=False)
            log.info("slack answered: request_id=%s channel=%s thread=%s refused=%s", request_id, channel,
                     thread_ts, answer.get("refused"))
        except Exception as exc:  # noqa: BLE001 - never silence: every failure is told in the thread
            self._log_failure(exc, request_id)
            await self._post(client, channel, thread_ts, failure_message(exc, request_id), request_id)
        finally:
            await self._quietly(client.reactions_remove(channel=channel, timestamp=ts, name=WORKING), request_id)

    async def _history(self, client: Any, channel: str, event: dict, context: Any) -> list[dict[str, str]]:
        reply = await client.conversations_replies(channel=channel, ts=event["thread_ts"],
                                                   limit=self.config.replies_limit)
        return thread_turns(reply.get("messages") or [], event["ts"], context.bot_user_id, context.bot_id)

    async def _ask(self, question: str, history: list[dict[str, str]]) -> dict[str, Any]:
        from service.types import Turn

        service = self.qa()  # raises while the service is still loading
        turns = [Turn(t["role"], t["content"]) for t in history]  # type: ignore[arg-type]
        call = partial(service.ask, question, turns, self.config.mode)
        # Not asyncio.wait_for: a worker thread cannot be cancelled, so wait_for would only raise once
        # the generation ended. The user hears at the deadline; the generation finishes (and frees
        # its slot) in the background.
        task = asyncio.ensure_future(self.run(call, lane(service, question, turns, self.config.mode)))
        done, _ = await asyncio.wait({task}, timeout=self.config.timeout_s)
        if not done:
            task.add_done_callback(_finished_late)
            raise TimeoutError(f"no answer within {self.config.timeout_s:g} s")
        return task.result().to_dict()

    # --- /vraag ----------------------------------------------------------------------------------
    async def on_command(self, ack: Any, command: dict, respond: Any) -> None:
        question = question_text(command.get("text") or "", None)
        if not question:
            await ack(text=USAGE)
            return
        if not self.seen.claim(f"command:{command.get('trigger_id', '')}"):
            await ack()
            return
        await ack(text=SEARCHING.format(question=safe(question)))
        request_id = _request_id()
        if not self.jobs.submit(partial(self._answer_command, respond, question, request_id)):
            log.warning("slack /vraag refused: request_id=%s queue full", request_id)
            await respond(text=failure_message(QueueFull(), request_id), response_type="ephemeral")

    async def _answer_command(self, respond: Any, question: str, request_id: str) -> None:
        try:
            answer = await self._ask(question, [])
            answer_id = self.feedback.keep_answer(question, [], answer)
            await respond(text=fallback_text(answer), response_type="ephemeral", replace_original=False,
                          blocks=answer_blocks(answer, answer_id, share=True, asked=f"/vraag {safe(question)}"))
        except Exception as exc:  # noqa: BLE001 - the user hears about it, the log has the details
            self._log_failure(exc, request_id)
            await respond(text=failure_message(exc, request_id), response_type="ephemeral", replace_original=False)

    # --- buttons ---------------------------------------------------------------------------------
    async def on_share(self, ack: Any, body: dict, action: dict, respond: Any) -> None:
        await ack()
        kept = self.feedback.answer(action.get("value") or "")
        if kept is None:
            await respond(text=GONE, response_type="ephemeral", replace_original=False)
            return
        user = (body.get("user") or {}).get("id", "")
        asked = f"<@{user}> vroeg: {safe(kept['question'])}" if user else f"Vraag: {safe(kept['question'])}"
        answer = kept["answer"]
        await respond(text=fallback_text(answer), response_type="in_channel", replace_original=False,
                      blocks=answer_blocks(answer, action["value"], asked=asked))
        await respond(delete_original=True)  # the private copy with its share button

    async def on_feedback(self, ack: Any, body: dict, action: dict, respond: Any) -> None:
        await ack()
        rating = "up" if action.get("action_id") == FEEDBACK_UP else "down"
        answer_id = action.get("value") or ""
        kept = self.feedback.answer(answer_id)
        if kept is None:
            await respond(text=GONE, response_type="ephemeral", replace_original=False)
            return
        answer = kept["answer"]
        self.feedback.add(Feedback(
            rating, kept["question"], answer.get("answer", ""), answer.get("citations") or [], answer.get("mode"),
            bool(answer.get("refused")), kept["history"], source="slack", user=(body.get("user") or {}).get("id"),
            answer_id=answer_id, answered_at=kept["answered_at"]))
        await respond(text=THANKS.format(rating="👍" if rating == "up" else "👎"), response_type="ephemeral",
                      replace_original=False)

    # --- helpers ---------------------------------------------------------------------------------
    async def _post(self, client: Any, channel: str, thread_ts: str, text: str, request_id: str) -> None:
        try:
            await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
        except Exception:  # Slack itself is unreachable: only the log can tell
            log.exception("slack post failed: request_id=%s channel=%s", request_id, channel)

    @staticmethod
    async def _quietly(call: Awaitable[Any], request_id: str) -> None:
        """A reaction is decoration: its failure (already reacted, no permission) is logged, not fatal."""
        try:
            await call
        except Exception as exc:  # noqa: BLE001
            log.info("slack reaction failed: request_id=%s %s", request_id, exc)

    @staticmethod
    def _log_failure(exc: BaseException, request_id: str) -> None:
        log.error("slack answer failed: request_id=%s error=%s: %s", request_id, type(exc).__name__, exc,
                  exc_info=not isinstance(exc, TimeoutError))


def _finished_late(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.info("slack answer after its timeout failed too: %s", task.exception())


def _request_id() -> str:
    return "slack-" + uuid.uuid4().hex[:12]
