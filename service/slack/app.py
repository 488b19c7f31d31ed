"""The Bolt app and its two transports: HTTP routes on the FastAPI app, or Socket Mode.

`create_slack_app` builds a `slack_bolt.async_app.AsyncApp` with the SlackBot's listeners and a Web
API client that retries connection errors and rate limits (Retry-After) with slack_sdk's handlers.
`slack_router` serves it at POST /slack/events, /slack/commands and /slack/interactions through
Bolt's FastAPI adapter: Bolt checks the v0 signature and its 5-minute window (401 otherwise, and no
listener runs), answers the url_verification challenge and drops the bot's own events.
`mount_slack` does that for the HTTP app only when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set,
and otherwise says why the routes are absent. Deliberately not here: what the listeners do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from service.feedback import FeedbackStore
from service.slack.bot import BotConfig, Runner, SlackBot, in_thread
from service.slack.dedupe import SeenEvents

ROUTES = ("/slack/events", "/slack/commands", "/slack/interactions")


def web_client(token: str | None, base_url: str | None = None, max_retries: int = 2) -> AsyncWebClient:
    """An AsyncWebClient that retries connection errors and 429s (waiting Retry-After)."""
    handlers = [AsyncConnectionErrorRetryHandler(max_retry_count=max_retries),
                AsyncRateLimitErrorRetryHandler(max_retry_count=max_retries)]
    return AsyncWebClient(token=token, base_url=base_url or AsyncWebClient.BASE_URL, retry_handlers=handlers)


def create_slack_app(bot: SlackBot, client: AsyncWebClient, signing_secret: str | None) -> AsyncApp:
    """The Bolt app: listeners of `bot`, Web API calls through `client`."""
    app = AsyncApp(client=client, signing_secret=signing_secret or "", process_before_response=False,
                   logger=logging.getLogger("vraagbaak.slack.bolt"))
    bot.register(app)
    return app


def slack_router(app: AsyncApp) -> APIRouter:
    handler = AsyncSlackRequestHandler(app)
    router = APIRouter(tags=["slack"], include_in_schema=False)

    async def endpoint(request: Request) -> Response:
        return await handler.handle(request)

    for path in ROUTES:
        router.add_api_route(path, endpoint, methods=["POST"])
    return router


def build_bot(settings: Any, qa: Callable[[], Any], run: Runner = in_thread,
              feedback: FeedbackStore | None = None) -> SlackBot:
    """A SlackBot over the settings' feedback file (the event-id store lives in the same file)."""
    path = Path(getattr(settings, "feedback_db", None) or ":memory:")
    config = BotConfig(concurrency=int(getattr(settings, "max_concurrent_generations", 1)),
                       max_queue=int(getattr(settings, "slack_max_queue", 32)),
                       timeout_s=float(getattr(settings, "slack_timeout_s", 120.0)))
    return SlackBot(qa, feedback or FeedbackStore(path), SeenEvents(path), run, config)


def missing_settings(settings: Any) -> list[str]:
    names = (("SLACK_BOT_TOKEN", "slack_bot_token"), ("SLACK_SIGNING_SECRET", "slack_signing_secret"))
    return [env for env, attr in names if not getattr(settings, attr, None)]


def mount_slack(fastapi_app: FastAPI, settings: Any, qa: Callable[[], Any], run: Runner,
                feedback: FeedbackStore | None = None) -> tuple[SlackBot | None, str]:
    """Serve the Slack routes on `fastapi_app` when both Slack settings are present. Returns the bot
    (None when disabled) and one line for the log saying which, and why (the caller logs it once the
    logging is set up)."""
    missing = missing_settings(settings)
    if missing:
        return None, (f"Slack disabled: {' and '.join(missing)} not set, so {', '.join(ROUTES[:2])} and "
                      f"{ROUTES[2]} are not served")
    bot = build_bot(settings, qa, run, feedback)
    client = web_client(settings.slack_bot_token, getattr(settings, "slack_api_url", None))
    fastapi_app.include_router(slack_router(create_slack_app(bot, client, settings.slack_signing_secret)))
    return bot, f"Slack enabled: POST {', '.join(ROUTES)}"
