"""Socket Mode: the same Bolt app over a WebSocket that the bot opens (`vraagbaak slack --socket`).

For workspaces where Slack cannot reach a public URL. Needs SLACK_BOT_TOKEN and SLACK_APP_TOKEN
(an app-level token with `connections:write`); no signing secret, since Slack itself is on the other
end of the socket. The models load before the socket opens. Deliberately not here: the listeners.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from service.errors import VraagbaakError
from service.slack.app import build_bot, create_slack_app, web_client

log = logging.getLogger("vraagbaak.slack")


def socket_handler(app: Any, app_token: str) -> Any:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    return AsyncSocketModeHandler(app, app_token=app_token)


async def run_socket_mode(settings: Any) -> None:
    """Load the pipeline, connect, and serve Slack until interrupted."""
    missing = [env for env, attr in (("SLACK_BOT_TOKEN", "slack_bot_token"), ("SLACK_APP_TOKEN", "slack_app_token"))
               if not getattr(settings, attr, None)]
    if missing:
        raise VraagbaakError(f"Socket Mode heeft {' en '.join(missing)} nodig")
    from service.serving import load_serving_pipeline

    log.info("loading the pipeline for Socket Mode")
    service = await asyncio.to_thread(load_serving_pipeline, settings)
    bot = build_bot(settings, lambda: service)
    app = create_slack_app(bot, web_client(settings.slack_bot_token, getattr(settings, "slack_api_url", None)),
                           settings.slack_signing_secret)
    handler = socket_handler(app, settings.slack_app_token)
    try:
        await handler.start_async()
    finally:
        await handler.close_async()
