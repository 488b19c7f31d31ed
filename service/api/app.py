"""The HTTP API and the chat page: `create_app(service_factory, settings)` and `serve(settings, host, port)`.

Routes are thin: validate the body (service.api.schemas), call the QAService in a worker thread, and
return its values as JSON or Server-Sent Events. Generation (/v1/ask, /v1/ask/stream,
/v1/chat/completions) passes the bounded generation gate; search, health and the page never do, so a
slow answer cannot block them. The service is built in a background thread at start-up: /healthz
answers at once, /readyz and the /v1 routes say 503 until it is loaded.

Deliberately not here: error shapes (service.api.errors), request ids, logs and metrics
(service.api.observability), the OpenAI-compatible route (service.api.openai), feedback
(service.api.feedback), the Slack routes (service.slack, mounted here when configured), and any
answering logic.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from dataclasses import asdict
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from service.api.deps import (
    Runtime,
    RuntimeDep,
    SearchLane,
    ServiceDep,
    gated_events,
    generate,
    require_api_key,
)
from service.api.errors import BodyLimit, error_responses, install_error_handlers
from service.api.feedback import router as feedback_router
from service.api.observability import Metrics, RequestContext, log_config
from service.api.openai import router as openai_router
from service.api.runtime import EventStream, GenerationGate, ServiceHolder
from service.api.schemas import (
    MAX_BODY_BYTES,
    MAX_HISTORY_TURNS,
    MAX_K,
    AskRequest,
    AskResponse,
    DocumentsResponse,
    SearchRequest,
    SearchResponse,
    StatusOut,
)
from service.feedback import FeedbackStore
from service.qa.protocol import QAService
from service.qa.retrieval import MAX_QUERY_CHARS
from service.slack.app import mount_slack
from service.types import StreamEvent

STATIC_DIR = Path(__file__).parent / "static"
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000
SSE_EVENT = {"type": "object", "required": ["event", "data"], "properties": {
    "event": {"type": "string", "enum": ["sources", "token", "done", "error"]},
    "data": {"type": "string", "contentMediaType": "application/json"}}}
SSE_RESPONSE = {200: {"description": "Server-Sent Events: sources, token*, then done (the /v1/ask JSON) "
                                     "or error", "content": {"text/event-stream": {"schema": SSE_EVENT}}}}
READ_ERRORS = error_responses(401, 503)
BODY_ERRORS = error_responses(400, 401, 413, 422, 503)
GENERATE_ERRORS = error_responses(400, 401, 413, 422, 429, 502, 503, 504)

public = APIRouter()
api = APIRouter()


@public.get("/", include_in_schema=False)
async def chat_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html")


@public.get("/healthz", response_model=StatusOut, tags=["health"])
async def healthz() -> dict[str, str]:
    """Alive: answers as soon as the process serves HTTP, also while models load."""
    return {"status": "ok"}


@public.get("/readyz", response_model=StatusOut, responses=error_responses(503), tags=["health"])
async def readyz(service: ServiceDep) -> dict[str, str]:
    """Ready: 200 once models and index are loaded, 503 (not_ready, Retry-After) before."""
    return {"status": "ready"}


@api.post("/v1/search", response_model=SearchResponse, responses=BODY_ERRORS)
async def search(body: SearchRequest, service: ServiceDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Ranked passages for a query; never waits for generation."""
    start = time.perf_counter()
    # the search lane: never the generation's core; while it is in use the generation takes fewer threads
    hits = await runtime.cpu.run_sync(partial(service.search, body.query, body.k, body.filter_dict()))
    ms = (time.perf_counter() - start) * 1000
    runtime.metrics.observe_stages({"retrieve": ms})
    return {"hits": [asdict(h) for h in hits], "timings_ms": {"retrieve": round(ms, 1)}}


@api.post("/v1/ask", response_model=AskResponse, responses=GENERATE_ERRORS)
async def ask(body: AskRequest, service: ServiceDep, runtime: RuntimeDep) -> dict[str, Any]:
    """A grounded answer with checked citations, or a refusal (`refused: true`)."""
    turns = body.turns()
    lane = runtime.lane_mode(service, body.question, turns, body.mode)
    answer = await generate(runtime, partial(service.ask, body.question, turns, body.mode, body.k), lane)
    return answer.to_dict()


@api.post("/v1/ask/stream", response_class=EventStream, status_code=200,
          responses={**SSE_RESPONSE, **GENERATE_ERRORS})
async def ask_stream(body: AskRequest, service: ServiceDep, runtime: RuntimeDep) -> EventStream:
    """/v1/ask as Server-Sent Events: `sources`, then `token`s, then `done` (the /v1/ask JSON)."""
    turns = body.turns()
    lane = runtime.lane_mode(service, body.question, turns, body.mode)
    ticket = runtime.gate_for(lane).admit()
    make = partial(service.ask_stream, body.question, turns, body.mode, body.k)
    return EventStream(sse_lines(gated_events(runtime, ticket, make, lane)), ticket)


@api.get("/v1/documents", response_model=DocumentsResponse, responses=READ_ERRORS)
def documents(service: ServiceDep) -> dict[str, Any]:
    """The indexed reports (doc_id, title, year, chunks, ...)."""
    return {"documents": service.documents()}


@api.get("/info", responses=READ_ERRORS)
def info(service: ServiceDep, runtime: RuntimeDep) -> dict[str, Any]:
    """Model names and the index manifest, plus this API's version and limits."""
    about = service.info()
    return {**about, "api": {**api_info(runtime), "generator_threads": generator_threads(service, about)}}


@api.get("/metrics", response_class=Response, responses={**error_responses(401), 200: {
    "description": "Prometheus text format",
    "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}})
async def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus metrics: requests, errors, latency per route and per stage (retrieve, generate)."""
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)


async def sse_lines(events: AsyncIterator[StreamEvent]) -> AsyncIterator[str]:
    """StreamEvents as SSE: `event: <name>` and one `data: <json>` line each."""
    async with aclosing(events):
        async for event in events:
            yield f"event: {event.event}\ndata: {json.dumps(event.data, ensure_ascii=False)}\n\n"


def api_info(runtime: Runtime) -> dict[str, Any]:
    gate = runtime.gate
    return {"version": _version(), "max_question_chars": MAX_QUERY_CHARS,
            "max_history_turns": MAX_HISTORY_TURNS, "max_k": MAX_K, "max_body_bytes": MAX_BODY_BYTES,
            "generation_capacity": gate.capacity, "generation_pending": gate.pending,
            "generation_seconds": round(gate.service_s, 2) if gate.service_s is not None else None,
            "estimated_wait_s": round(gate.estimated_wait(), 1), "turned_away": gate.turned_away,
            "search_workers": runtime.cpu.workers, "search_waiting": runtime.cpu.waiting,
            "auth": bool(runtime.api_key)}


def generator_threads(service: QAService, about: dict[str, Any]) -> int | None:
    """The llama.cpp threads the in-process generator uses now (it adapts them to the search lane), None
    when no generator is loaded (`info()` names none; asking for it would load one) or it is not llama.cpp."""
    loaded = getattr(service, "generator", None)
    if about.get("generator") is None or not callable(loaded):
        return None
    threads = getattr(loaded(), "threads", None)
    return threads if isinstance(threads, int) else None


def _version() -> str:
    try:
        return metadata.version("vraagbaak")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def create_app(service_factory: Callable[[], QAService], settings: Any, lane: SearchLane | None = None) -> FastAPI:
    """The app; `service_factory` runs once, in a background thread, when the app starts. `lane`: the
    search lane (default: one of `search_workers` workers), given when the service watches it."""
    retry_after = int(getattr(settings, "retry_after_s", 5))
    runtime = Runtime(
        holder=ServiceHolder(service_factory, retry_after),
        gate=GenerationGate(int(getattr(settings, "max_concurrent_generations", 1)),
                            int(getattr(settings, "max_queue", 8)), retry_after,
                            max_wait_s=getattr(settings, "max_ask_wait_s", 30.0)),
        metrics=Metrics(),
        api_key=getattr(settings, "api_key", None) or None,
        default_mode=str(getattr(settings, "default_mode", "generate")),
        cpu=lane or SearchLane(int(getattr(settings, "search_workers", 1))),
    )
    runtime.metrics.queue.set_function(lambda: runtime.gate.pending)
    runtime.metrics.ready.set_function(lambda: float(runtime.holder.ready))

    feedback_db = getattr(settings, "feedback_db", None)
    feedback = FeedbackStore(Path(feedback_db) if feedback_db else Path(":memory:"))  # schema created here

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.holder.start()
        logging.getLogger("vraagbaak.slack").info(slack_note)
        yield

    app = FastAPI(title="Vraagbaak API", version=_version(), lifespan=lifespan, redoc_url=None,
                  description="Grounded Dutch answers, with citations, over reports on Dutch peace missions.")
    app.state.runtime, app.state.feedback = runtime, feedback
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    origins = list(getattr(settings, "cors_origins", []) or [])
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                           expose_headers=["X-Request-ID", "Retry-After"])
    app.add_middleware(RequestContext, metrics=runtime.metrics)  # added last = outermost
    app.include_router(public)
    app.include_router(api, dependencies=[Depends(require_api_key)])
    app.include_router(openai_router, dependencies=[Depends(require_api_key)])
    app.include_router(feedback_router, dependencies=[Depends(require_api_key)])
    # Slack signs its requests (checked by Bolt), so its routes need no API key.
    app.state.slack, slack_note = mount_slack(app, settings, runtime.holder.get, partial(generate, runtime), feedback)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def serve(settings: Any, host: str | None = None, port: int | None = None) -> None:
    """Run the real service under uvicorn; models load in the background after the port is open."""
    import uvicorn

    from service.serving import load_serving_pipeline

    lane = SearchLane(int(getattr(settings, "search_workers", 1)))  # the generation takes fewer threads while busy
    uvicorn.run(create_app(partial(load_serving_pipeline, settings, busy=lane.busy), settings, lane),
                host=host if host is not None else getattr(settings, "host", DEFAULT_HOST),
                port=port if port is not None else int(getattr(settings, "port", DEFAULT_PORT)),
                log_config=log_config(), timeout_graceful_shutdown=10)
