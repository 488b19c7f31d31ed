"""Slack message text to plain questions, and a Slack thread to chat history (`Turn`s).

A thread is a conversation: the earlier messages of the thread (from `conversations.replies`,
bounded) become the history, the bot's own messages as assistant turns (their answer text without
the sources list), everyone else's as user turns. Deliberately not here: calling Slack.

    >>> question_text("<@UBOT> Wat is MINUSMA &amp; waar?", "UBOT")
    'Wat is MINUSMA & waar?'
"""

from __future__ import annotations

import re
from typing import Any

from service.slack.blocks import SOURCES_HEADING, WORD_JOINER

MAX_TURNS = 10  # the last ten messages of a thread are history; older ones are dropped
MAX_TURN_CHARS = 2000
_LINK = re.compile(r"<(?!@|!)([^|>]+)(?:\|([^>]*))?>")  # <https://x|label> -> label, <https://x> -> url
_USER = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_GROUP = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")
_NOTICE = re.compile(r"\(referentie: slack-[0-9a-f]+\)\s*$")  # the bot's failure messages are no answers


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def question_text(text: str, bot_user_id: str | None) -> str:
    """A message as the user meant it: the bot's mention removed, other markup made plain."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    text = _USER.sub(lambda m: "@" + m.group(1), text)
    text = _SPECIAL.sub(lambda m: "@" + m.group(1), text)
    text = _GROUP.sub(lambda m: "@" + (m.group(1) or "groep").lstrip("@"), text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    return " ".join(unescape(text).replace(WORD_JOINER, "").split())


def answer_text(text: str) -> str:
    """The bot's earlier message back to its answer (the fallback text without the sources list)."""
    return question_text(text.split(f"\n\n{SOURCES_HEADING}:", 1)[0], None)


def is_own(message: dict[str, Any], bot_user_id: str | None, bot_id: str | None) -> bool:
    return bool((bot_user_id and message.get("user") == bot_user_id) or (bot_id and message.get("bot_id") == bot_id))


def thread_turns(messages: list[dict[str, Any]], current_ts: str, bot_user_id: str | None,
                 bot_id: str | None, max_turns: int = MAX_TURNS) -> list[dict[str, str]]:
    """History from a thread's messages (oldest first): those before `current_ts`, at most `max_turns`.

    Other bots' messages, the bot's own failure notices and empty messages are left out.
    Returns [{"role", "content"}].
    """
    turns: list[dict[str, str]] = []
    for m in messages:
        if float(m.get("ts") or 0) >= float(current_ts):
            continue
        own = is_own(m, bot_user_id, bot_id)
        if not own and (m.get("bot_id") or m.get("subtype") == "bot_message"):
            continue
        if own and _NOTICE.search(m.get("text") or ""):
            continue
        content = answer_text(m.get("text") or "") if own else question_text(m.get("text") or "", bot_user_id)
        if content:
            turns.append({"role": "assistant" if own else "user", "content": content[:MAX_TURN_CHARS]})
    return turns[-max_turns:]
