"""Fakes for the Slack tests: a Slack Web API on 127.0.0.1 that records every call, a scripted QA
service, signed request bodies, and Slack's payload shapes.

`FakeSlackAPI` is a real HTTP server in a thread (as in slack_bolt's own tests), so the bot talks to
it with slack_sdk's real AsyncWebClient (`base_url=fake.base_url`) and Bolt's real `respond`
(`response_url=fake.response_url`). Bodies are signed with `slack_sdk.signature.SignatureVerifier`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from slack_sdk.signature import SignatureVerifier

from service.types import Answer, Citation

SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"
BOT_USER, BOT_ID, TEAM = "UBOT", "BBOT", "T1"
QUOTE = "Het C-130 detachement werd ingezet van november 2021 tot en met mei 2022."
TITLE = "Beleidsreactie C-130 (fragment)"


@dataclass
class Call:
    method: str  # Web API method ("chat.postMessage") or "response_url"
    args: dict[str, Any]
    path: str


class FakeSlackAPI:
    """Slack's Web API and response URLs on a loopback port; every request is recorded in `calls`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.replies: dict[str, list[dict]] = {}  # thread_ts -> messages returned by conversations.replies
        self.rate_limit_once: set[str] = set()  # methods answered 429 (Retry-After: 0) the first time
        self._lock = threading.Lock()
        self._ts = 1700000000
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, dict(parse_qsl(urlsplit(self.path).query)))

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                is_json = (self.headers.get("content-type") or "").startswith("application/json")
                query = dict(parse_qsl(urlsplit(self.path).query))  # AsyncWebClient sends `params` here
                fake._handle(self, {**query, **(json.loads(raw or "{}") if is_json else dict(parse_qsl(raw)))})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"
        self.response_url = f"http://127.0.0.1:{self.server.server_address[1]}/response/1"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def _handle(self, req: BaseHTTPRequestHandler, args: dict[str, Any]) -> None:
        path = urlsplit(req.path).path
        method = path.removeprefix("/api/") if path.startswith("/api/") else "response_url"
        with self._lock:
            self.calls.append(Call(method, args, path))
            if method in self.rate_limit_once:
                self.rate_limit_once.discard(method)
                return self._send(req, 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"})
            self._ts += 1
            ts = f"{self._ts}.000100"
        body: dict[str, Any] = {"ok": True}
        if method == "auth.test":
            body.update(user_id=BOT_USER, bot_id=BOT_ID, team_id=TEAM, user="vraagbaak", team="Test")
        elif method == "chat.postMessage":
            body.update(channel=args.get("channel"), ts=ts, message={"text": args.get("text")})
        elif method == "conversations.replies":
            body.update(messages=self.replies.get(str(args.get("ts")), []), has_more=False)
        self._send(req, 200, body)

    @staticmethod
    def _send(req: BaseHTTPRequestHandler, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        req.send_response(status)
        req.send_header("content-type", "application/json")
        req.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            req.send_header(k, v)
        req.end_headers()
        req.wfile.write(data)

    def to(self, method: str) -> list[dict[str, Any]]:
        """Arguments of every call to `method`, in order."""
        with self._lock:
            return [c.args for c in self.calls if c.method == method]

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeQA:
    """`ask` answers with one citation (or raises `fail`), after `delay` seconds; calls are recorded."""

    def __init__(self, delay: float = 0.0, fail: Exception | None = None, answer: str | None = None):
        self.delay, self.fail = delay, fail
        self.text = answer or "Het C-130-detachement werd ingezet van november 2021 tot en met mei 2022 [1]."
        self.calls: list[tuple[str, list, str | None]] = []
        self._lock = threading.Lock()

    def ask(self, question: str, history: list | None = None, mode: str | None = None, k: int | None = None) -> Answer:
        with self._lock:
            self.calls.append((question, list(history or []), mode))
        if self.delay:
            time.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        citation = Citation(1, "c130-beleidsreactie#0", "c130-beleidsreactie", TITLE, "Inleiding", 1,
                            QUOTE + " De inzet was onderdeel van het MRC.", QUOTE, 0.9)
        return Answer(self.text, False, (citation,), {"total": 1.0}, "extractive", question)


def signed_headers(body: str, timestamp: int | None = None, secret: str = SECRET, **extra: str) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    kind = "application/json" if body.startswith("{") else "application/x-www-form-urlencoded"
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"content-type": kind, "x-slack-request-timestamp": ts, "x-slack-signature": signature, **extra}


def message(text: str, ts: str, *, channel: str = "C1", user: str = "U1", kind: str = "app_mention",
            thread_ts: str | None = None, channel_type: str | None = None, **extra: Any) -> dict[str, Any]:
    event = {"type": kind, "user": user, "text": text, "ts": ts, "channel": channel, "event_ts": ts, **extra}
    if thread_ts:
        event["thread_ts"] = thread_ts
    if channel_type:
        event["channel_type"] = channel_type
    return event


def event_body(event: dict[str, Any], event_id: str) -> str:
    return json.dumps({"token": "legacy", "team_id": TEAM, "api_app_id": "A1", "event": event,
                       "type": "event_callback", "event_id": event_id, "event_time": int(time.time()),
                       "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}]})


def command_body(text: str, response_url: str, trigger_id: str = "trig-1") -> str:
    return urlencode({"token": "legacy", "team_id": TEAM, "channel_id": "C1", "user_id": "U1", "command": "/vraag",
                      "text": text, "response_url": response_url, "trigger_id": trigger_id, "api_app_id": "A1"})


def action_body(action_id: str, value: str, response_url: str, user: str = "U1") -> str:
    payload = {"type": "block_actions", "user": {"id": user}, "team": {"id": TEAM}, "api_app_id": "A1",
               "channel": {"id": "C1"}, "response_url": response_url, "trigger_id": "trig-2",
               "container": {"type": "message", "message_ts": "1.0", "channel_id": "C1", "is_ephemeral": True},
               "actions": [{"type": "button", "action_id": action_id, "block_id": "vraagbaak_actions",
                            "value": value, "action_ts": "2.0"}]}
    return urlencode({"payload": json.dumps(payload)})


def running_tasks() -> set[asyncio.Task]:
    """The tasks on this loop now (the test runner's own): `settle` leaves them alone."""
    return set(asyncio.all_tasks())


async def settle(baseline: set[asyncio.Task], timeout: float = 5.0) -> None:
    """Wait until every task started after `baseline` (Bolt's listeners, answer jobs) has finished."""
    me = asyncio.current_task()
    deadline = time.monotonic() + timeout
    while others := [t for t in asyncio.all_tasks() if t is not me and t not in baseline and not t.done()]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(others)} tasks still running: {others}")
        await asyncio.wait(others, timeout=0.05)


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.01)
