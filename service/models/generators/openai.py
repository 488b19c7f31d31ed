"""Any OpenAI-compatible chat server (llama.cpp server, vLLM, Ollama, ...) as a generator, through httpx:
how a deployment scales past one machine.

A request that fails before the server sent anything usable (connection refused, the server answering
429/502/503/504) is tried again after a growing pause (`backoff`, doubled each time, or the server's
Retry-After up to `MAX_RETRY_AFTER_S`), at most `retries` times. A timeout is not retried (a slow server
gets no second request from us; the caller sees GeneratorTimeout, HTTP 504), and neither is anything once
text has arrived: a stream that breaks off midway raises GeneratorError (HTTP 502), it never returns a
half answer as if it were whole.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import httpx

from service.errors import GeneratorError, GeneratorTimeout
from service.models.generators.base import OnToken, _emit_until_stop


class OpenAIGenerator:
    """Any OpenAI-compatible chat server (llama.cpp server, vLLM, Ollama, ...) through httpx.

    `timeout` bounds each network step (connecting, and each wait for more data), not the whole
    answer, so a long streamed answer is fine as long as tokens keep coming.
    """

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None, retries: int = 2, backoff: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.name, self.model, self.timeout = f"openai:{model}", model, timeout
        self.retries, self.backoff, self._sleep = retries, backoff, sleep
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.base_url + "/", headers=headers, timeout=timeout,
                                    transport=transport)

    def generate(self, messages: list[dict], *, max_tokens: int = 200, temperature: float = 0.0,
                 stop: list[str] | None = None, on_token: OnToken | None = None) -> str:
        body = {"model": self.model, "messages": messages, "max_tokens": max_tokens,
                "temperature": temperature, "stream": on_token is not None}
        if stop:
            body["stop"] = stop
        for attempt in range(self.retries + 1):
            try:
                return self._once(body, on_token)
            except _Retryable as e:
                if attempt == self.retries:
                    raise GeneratorError(str(e)) from e.__cause__
                self._sleep(e.retry_after if e.retry_after is not None else self.backoff * 2 ** attempt)
        raise AssertionError("unreachable")

    def _once(self, body: dict, on_token: OnToken | None) -> str:
        try:
            with self._client.stream("POST", "chat/completions", json=body) as r:
                if r.status_code in RETRY_STATUSES:
                    raise _Retryable(f"taalmodelserver {self.base_url} gaf HTTP {r.status_code}: "
                                     f"{_error_text(r.read())}", _retry_after(r.headers.get("retry-after")))
                if r.status_code >= 400:
                    raise GeneratorError(f"taalmodelserver {self.base_url} gaf HTTP {r.status_code}: "
                                         f"{_error_text(r.read())}")
                if on_token is None:
                    return _content(r.read(), "message")
                return _emit_until_stop(_sse_pieces(r.iter_lines(), self.base_url), None, on_token)
        except httpx.ConnectError as e:  # nothing was sent: safe to try again
            raise _Retryable(f"taalmodelserver {self.base_url} onbereikbaar ({type(e).__name__}: {e})") from e
        except httpx.TimeoutException as e:
            raise GeneratorTimeout(f"taalmodelserver {self.base_url} antwoordde niet binnen "
                                   f"{self.timeout:g} s") from e
        except (httpx.RemoteProtocolError, httpx.ReadError) as e:  # the server went away while answering
            raise GeneratorError(f"taalmodelserver {self.base_url} brak het antwoord midden in af "
                                 f"({type(e).__name__})") from e
        except httpx.HTTPError as e:
            raise GeneratorError(f"taalmodelserver {self.base_url} onbereikbaar "
                                 f"({type(e).__name__}: {e})") from e

    def close(self) -> None:
        self._client.close()


RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER_S = 10.0


class _Retryable(Exception):
    """A failure before any text arrived, worth another try."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER_S) if value else None
    except ValueError:
        return None


def _content(raw: bytes | str, key: str) -> str:
    """The text of choice 0 (`key` "message" or "delta") of a JSON chat-completion (chunk)."""
    raw = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        payload = json.loads(raw)
        if "error" in payload:
            raise GeneratorError(f"taalmodelserver meldt: {_error_text(raw)}")
        return (payload["choices"][0][key].get("content") or "") if payload["choices"] else ""
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
        snippet = " ".join(raw[:80].split())
        raise GeneratorError(f"taalmodelserver gaf een onleesbaar antwoord: {snippet}") from e


def _sse_pieces(lines: Iterator[str], server: str = "") -> Iterator[str]:
    """Text pieces of an OpenAI chat-completion event stream, up to `data: [DONE]`; a stream that ends
    without it (the server died or dropped the connection) is a GeneratorError, not a short answer."""
    finished = False
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, comments, `event:` lines
        data = line[5:].strip()
        if data == "[DONE]":
            return
        if piece := _content(data, "delta"):
            yield piece
        finished = finished or _finish_reason(data) is not None
    if not finished:
        raise GeneratorError(f"taalmodelserver {server} brak het antwoord midden in af")


def _finish_reason(data: str) -> str | None:
    try:
        return json.loads(data)["choices"][0].get("finish_reason")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None


def _error_text(raw: bytes | str) -> str:
    """One short line from an error body: OpenAI's `error.message` if present, else the text."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        err = json.loads(text).get("error", text)
        text = str(err.get("message", err) if isinstance(err, dict) else err)
    except (ValueError, AttributeError):
        pass
    return " ".join(text.split())[:200] or "(lege body)"
