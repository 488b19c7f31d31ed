"""An answer as Slack Block Kit: the text, "Bronnen" (one context block per cited report), buttons.

Everything shown comes from reports or users, so it is escaped for Slack mrkdwn (`&`, `<`, `>`) and
mentions are defused: after escaping, `<@U123>`, `<!here>` and `<!subteam^S1>` are plain text, and a
word joiner after every `@` keeps `@channel`, `@here` and `@name` from notifying anyone. Slack's
limits are kept: at most 3,000 characters per section (longer answers are split), at most 50 blocks
(sources beyond that are counted, not shown), and a plain-text fallback `text` for notifications.
Deliberately not here: posting, or anything about how the answer was made.

    >>> safe("Q&A <@U1> @channel")
    'Q&amp;A &lt;@\\u2060U1&gt; @\\u2060channel'
"""

from __future__ import annotations

import re
from typing import Any

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
FALLBACK_LIMIT = 3000
QUOTE_CHARS = 280
WORD_JOINER = "\u2060"
SOURCES_HEADING = "Bronnen"
FEEDBACK_UP, FEEDBACK_DOWN, SHARE = "vraagbaak_feedback_up", "vraagbaak_feedback_down", "vraagbaak_share"
_AT = re.compile(r"@(?=\w)")


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def defuse(text: str) -> str:
    """A word joiner after each `@` that starts a word: Slack no longer sees a mention."""
    return _AT.sub("@" + WORD_JOINER, text)


def safe(text: str) -> str:
    return defuse(escape(text))


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at a paragraph, line, sentence or space."""
    parts: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind(sep) + len(sep) for sep in ("\n\n", "\n", ". ", " "))
        cut = cut if cut > limit // 2 else limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return parts + [text] if text else parts


def where(c: dict[str, Any]) -> str:
    """'title, p. 12 · section' for one citation."""
    page = f", p. {c['page']}" if c.get("page") is not None else ""
    section = f" · {c['section']}" if c.get("section") else ""
    return f"{c.get('title') or c.get('doc_id') or 'rapport'}{page}{section}"


def shorten(text: str, limit: int = QUOTE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def citation_block(c: dict[str, Any]) -> dict[str, Any]:
    quote = shorten(c.get("quote") or c.get("text") or "")
    line = f"*[{c['n']}]* {safe(where(c))}" + (f"\n_“{safe(quote)}”_" if quote else "")
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": line[:SECTION_LIMIT]}]}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str, action_id: str, value: str, label: str, style: str | None = None) -> dict[str, Any]:
    b = {"type": "button", "text": {"type": "plain_text", "text": text, "emoji": True},
         "action_id": action_id, "value": value, "accessibility_label": label}
    return {**b, "style": style} if style else b


def actions(answer_id: str, share: bool) -> dict[str, Any]:
    elements = [button("👍", FEEDBACK_UP, answer_id, "Goed antwoord"),
                button("👎", FEEDBACK_DOWN, answer_id, "Slecht antwoord")]
    if share:
        elements.append(button("Deel in kanaal", SHARE, answer_id, "Deel dit antwoord in het kanaal", "primary"))
    return {"type": "actions", "block_id": "vraagbaak_actions", "elements": elements}


def answer_blocks(answer: dict[str, Any], answer_id: str | None = None, *, share: bool = False,
                  asked: str | None = None) -> list[dict[str, Any]]:
    """Blocks for an answer (`Answer.to_dict()`); `asked` is a context line above it (mrkdwn, made safe
    by the caller), `answer_id` adds the 👍/👎 buttons, `share` the "Deel in kanaal" button."""
    head = [{"type": "context", "elements": [{"type": "mrkdwn", "text": asked[:SECTION_LIMIT]}]}] if asked else []
    body = [section(part) for part in split_text(safe(answer.get("answer") or ""))]
    tail = [actions(answer_id, share)] if answer_id else []
    room = MAX_BLOCKS - len(head) - len(tail)
    body = body[: room - 2] if len(body) > room - 2 else body  # keep room for a heading and one source
    citations = list(answer.get("citations") or [])
    sources: list[dict[str, Any]] = []
    if citations:
        free = room - len(body) - 1
        shown = citations if len(citations) <= free else citations[: free - 1]
        sources = [section(f"*{SOURCES_HEADING}*")] + [citation_block(c) for c in shown]
        if len(shown) < len(citations):
            more = f"… en nog {len(citations) - len(shown)} bronnen"
            sources.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    return head + body + sources + tail


def fallback_text(answer: dict[str, Any]) -> str:
    """The plain `text` of the message (notifications, clients without blocks)."""
    text = safe(answer.get("answer") or "")
    citations = answer.get("citations") or []
    if citations:
        text += f"\n\n{SOURCES_HEADING}: " + "; ".join(f"[{c['n']}] {safe(where(c))}" for c in citations)
    return text if len(text) <= FALLBACK_LIMIT else text[: FALLBACK_LIMIT - 1] + "…"
