"""A ready Slack app manifest for Vraagbaak: scopes, events, the /vraag command, interactivity.

`vraagbaak slack manifest --url https://vraagbaak.example.org` prints it as JSON; paste it at
api.slack.com/apps ("Create New App" > "From an app manifest"). With `socket=True` the manifest
turns on Socket Mode and leaves out the request URLs (no public URL needed). Deliberately not here:
installing the app or handling tokens.
"""

from __future__ import annotations

from typing import Any

BOT_SCOPES = [
    "app_mentions:read",  # app_mention events
    "chat:write",  # answers in threads
    "commands",  # /vraag
    "reactions:write",  # the 👀 while working
    "im:history",  # message.im events and DM threads as history
    "channels:history",  # public channel threads as history (conversations.replies)
    "groups:history",  # private channel threads as history
    "mpim:history",  # group DM threads as history
]
BOT_EVENTS = ["app_mention", "message.im"]


def manifest(public_url: str | None, name: str = "Vraagbaak", socket: bool = False) -> dict[str, Any]:
    """The manifest dict; `public_url` is where POST /slack/* is reachable (ignored with `socket`)."""
    if not socket and not public_url:
        raise ValueError("a public URL is needed for the HTTP transport (or use Socket Mode)")
    base = (public_url or "").rstrip("/")
    command: dict[str, Any] = {"command": "/vraag", "description": "Stel een vraag over de vredesmissierapporten",
                               "usage_hint": "Hoe lang duurde de inzet van het C-130-detachement?",
                               "should_escape": False}
    events: dict[str, Any] = {"bot_events": BOT_EVENTS}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if not socket:
        command["url"] = f"{base}/slack/commands"
        events["request_url"] = f"{base}/slack/events"
        interactivity["request_url"] = f"{base}/slack/interactions"
    return {
        "display_information": {
            "name": name,
            "description": "Antwoorden met bronnen uit de rapporten over Nederlandse bijdragen aan vredesmissies",
        },
        "features": {
            "bot_user": {"display_name": name, "always_online": True},
            "app_home": {"messages_tab_enabled": True, "messages_tab_read_only_enabled": False},
            "slash_commands": [command],
        },
        "oauth_config": {"scopes": {"bot": BOT_SCOPES}},
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket,
            "token_rotation_enabled": False,
        },
    }
