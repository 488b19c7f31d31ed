"""OpenAI-compatible chat completions over the QAService: POST /v1/chat/completions, GET /v1/models.

The last message (role "user") is the question; earlier user/assistant messages are the history (the
last 20 turns; system messages are ignored, because the answer must come from the reports, not from
instructions). The reply text ends with a short "Bronnen:" list, and the checked citations ride along
in an extra top-level `citations` field (on the last chunk when streaming), so the official `openai`
client works unchanged. Any model name is accepted; replies always name the model "vraagbaak".
Not supported: tools, n > 1, logprobs, sampling parameters (accepted and ignored).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from service.api.deps import RuntimeDep, ServiceDep, gated_events, generate
from service.api.errors import ApiError, error_responses
from service.api.runtime import EventStream
from service.api.schemas import MAX_HISTORY_TURNS, CitationOut
from service.qa.retrieval import MAX_QUERY_CHARS
from service.types import StreamEvent, Turn

MODEL = "vraagbaak"
SOURCES_HEADING = "Bronnen:"

router = APIRouter()


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    model: str = MODEL
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False


class AssistantMessage(BaseModel):
    role: Literal["assistant"]
    content: str


class Choice(BaseModel):
    index: int
    message: AssistantMessage
    finish_reason: str


class ChatCompletion(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    citations: list[CitationOut]
    refused: bool


COMPLETION_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": ChatCompletion, "description": "A chat completion, or with stream=true a stream of chunks",
          "content": {"text/event-stream": {"schema": {"type": "object", "required": ["data"], "properties": {
              "data": {"type": "string", "description": "a chat.completion.chunk as JSON, or [DONE]"}}}}}},
    **error_responses(400, 401, 413, 422, 429, 502, 503, 504),
}


@router.get("/v1/models", tags=["openai"])
async def models() -> dict[str, Any]:
    model = {"id": MODEL, "object": "model", "created": 0, "owned_by": "vraagbaak"}
    return {"object": "list", "data": [model]}


@router.post("/v1/chat/completions", response_model=None, responses=COMPLETION_RESPONSES, tags=["openai"])
async def chat_completions(body: ChatRequest, service: ServiceDep,
                           runtime: RuntimeDep) -> JSONResponse | EventStream:
    question, history = conversation(body.messages)
    chunker = Chunker()
    lane = runtime.lane_mode(service, question, history, None)
    if body.stream:
        ticket = runtime.gate_for(lane).admit()
        events = gated_events(runtime, ticket, partial(service.ask_stream, question, history), lane)
        return EventStream(completion_chunks(events, chunker), ticket)
    answer = (await generate(runtime, partial(service.ask, question, history), lane)).to_dict()
    return JSONResponse(completion(answer, chunker))


def conversation(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """The question (last message) and the history (earlier user/assistant turns, sources stripped)."""
    last = messages[-1]
    question = last.text()
    if last.role != "user":
        raise ApiError("validation", "Het laatste bericht moet de vraag van de gebruiker zijn (role 'user').")
    if not question.strip():
        raise ApiError("validation", "De vraag (het laatste bericht) is leeg.")
    if len(question) > MAX_QUERY_CHARS:
        raise ApiError("validation", f"De vraag is te lang (maximaal {MAX_QUERY_CHARS} tekens).")
    turns = [Turn(m.role, strip_sources(m.text())) for m in messages[:-1] if m.role in ("user", "assistant")]
    return question, turns[-MAX_HISTORY_TURNS:]


def sources_block(citations: list[dict[str, Any]]) -> str:
    """'\\n\\nBronnen:\\n[1] <title>, p. <page>' lines, or '' without citations."""
    lines = [f"[{c['n']}] {c['title']}" + (f", p. {c['page']}" if c.get("page") is not None else "")
             for c in citations]
    return f"\n\n{SOURCES_HEADING}\n" + "\n".join(lines) if lines else ""


def strip_sources(content: str) -> str:
    """An earlier reply without its sources list, so the list does not leak into the history."""
    return content.split(f"\n\n{SOURCES_HEADING}\n", 1)[0]


def completion(answer: dict[str, Any], chunker: Chunker) -> dict[str, Any]:
    message = {"role": "assistant", "content": answer["answer"] + sources_block(answer["citations"])}
    return {"id": chunker.id, "object": "chat.completion", "created": chunker.created, "model": MODEL,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "citations": answer["citations"], "refused": answer["refused"]}


@dataclass(frozen=True)
class Chunker:
    """Formats `chat.completion.chunk` SSE lines of one completion."""

    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))

    def __call__(self, delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> str:
        body = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": MODEL,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}], **extra}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


async def completion_chunks(events: AsyncIterator[StreamEvent], chunk: Chunker) -> AsyncIterator[str]:
    """Service stream events as OpenAI chunks; an 'error' event becomes an OpenAI error object."""
    async with aclosing(events):
        yield chunk({"role": "assistant", "content": ""})
        streamed = False
        async for event in events:
            if event.event == "token":
                streamed = True
                yield chunk({"content": event.data.get("text", "")})
            elif event.event == "done":
                tail = ("" if streamed else event.data["answer"]) + sources_block(event.data["citations"])
                if tail:
                    yield chunk({"content": tail})
                yield chunk({}, "stop", citations=event.data["citations"], refused=event.data["refused"])
            elif event.event == "error":
                error = {"message": event.data["error"], "type": event.data["error_type"],
                         "code": event.data.get("status")}
                yield f"data: {json.dumps({'error': error}, ensure_ascii=False)}\n\n"
                return
        yield "data: [DONE]\n\n"
