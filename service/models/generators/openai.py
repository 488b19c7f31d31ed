"""Any OpenAI-compatible chat server (llama.cpp server, vLLM, Ollama, ...) as a generator, through httpx:
how a deployment scales past one machine."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx

from service.errors import GeneratorError, GeneratorTimeout
from service.models.generators.base import OnToken, _emit_until_stop


class OpenAIGenerator:
    """Any OpenAI-compatible chat server (llama.cpp server, vLLM, Ollama, ...) through httpx.

    `timeout` bounds each network step (connecting, and each wait for more data), not the whole
    answer, so a long streamed answer is fine as long as tokens keep coming.
    """

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.name, self.model, self.timeout = f"openai:{model}", model, timeout
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
        try:
            with self._client.stream("POST", "chat/completions", json=body) as r:
                if r.status_code >= 400:
                    raise GeneratorError(f"taalmodelserver {self.base_url} gaf HTTP {r.status_code}: "
                                         f"{_error_text(r.read())}")
                if on_token is None:
                    return _content(r.read(), "message")
                return _emit_until_stop(_sse_pieces(r.iter_lines()), None, on_token)
        except httpx.TimeoutException as e:
            raise GeneratorTimeout(f"taalmodelserver {self.base_url} antwoordde niet binnen "
                                   f"{self.timeout:g} s") from e
        except httpx.HTTPError as e:
            raise GeneratorError(f"taalmodelserver {self.base_url} onbereikbaar "
                                 f"({type(e).__name__}: {e})") from e

    def close(self) -> None:
        self._client.close()


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


def _sse_pieces(lines: Iterator[str]) -> Iterator[str]:
    """Text pieces of an OpenAI chat-completion event stream, up to `data: [DONE]`."""
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, comments, `event:` lines
        data = line[5:].strip()
        if data == "[DONE]":
            return
        if piece := _content(data, "delta"):
            yield piece


def _error_text(raw: bytes | str) -> str:
    """One short line from an error body: OpenAI's `error.message` if present, else the text."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        err = json.loads(text).get("error", text)
        text = str(err.get("message", err) if isinstance(err, dict) else err)
    except (ValueError, AttributeError):
        pass
    return " ".join(text.split())[:200] or "(lege body)"
