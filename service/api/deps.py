"""What route functions depend on: the app's Runtime, the ready service, the API key check, and the
two ways to run a generation under the gate (whole answer, or a stream of events).

Dependencies are `async def` on purpose: they run on the event loop (no thread hop), which is also
what lets the generation gate count without a lock. Blocking service calls go to worker threads here,
never on the loop.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request

from service.api.errors import ApiError, to_api_error
from service.api.observability import Metrics
from service.api.runtime import GenerationGate, ServiceHolder, Ticket, iterate_in_thread
from service.qa.protocol import QAService
from service.types import Answer, StreamEvent

log = logging.getLogger("vraagbaak.api")
UNAUTHORIZED_MESSAGE = "API-sleutel ontbreekt of klopt niet (stuur de kop 'Authorization: Bearer <sleutel>')."


@dataclass(frozen=True)
class Runtime:
    holder: ServiceHolder
    gate: GenerationGate  # answers that run the language model
    metrics: Metrics
    api_key: str | None = None
    # extractive answers take ~0.1 s: their own wider lane, so they never queue behind a generation
    quick: GenerationGate = field(default_factory=lambda: GenerationGate(4, 32))
    default_mode: str = "generate"

    def gate_for(self, mode: str | None) -> GenerationGate:
        return self.quick if (mode or self.default_mode) == "extractive" else self.gate


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_service(runtime: RuntimeDep) -> QAService:
    """The loaded service, or 503 not_ready while it is still loading."""
    return runtime.holder.get()


ServiceDep = Annotated[QAService, Depends(get_service)]


async def require_api_key(request: Request, runtime: RuntimeDep) -> None:
    """When an API key is configured, require `Authorization: Bearer <key>` (constant-time compare)."""
    if not runtime.api_key:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    given = token.strip().encode()
    if scheme.lower() != "bearer" or not secrets.compare_digest(given, runtime.api_key.encode()):
        raise ApiError("unauthorized", UNAUTHORIZED_MESSAGE, {"WWW-Authenticate": "Bearer"})


async def generate(runtime: Runtime, call: Callable[[], Answer], mode: str | None = None) -> Answer:
    """Run a blocking `ask` in a worker thread once the mode's gate lets it through (429 when full or
    when the measured queue wait is too long)."""
    async with runtime.gate_for(mode).admit().running():
        answer = await anyio.to_thread.run_sync(call)
    runtime.metrics.observe_stages(answer.timings_ms)
    return answer


async def gated_events(runtime: Runtime, ticket: Ticket,
                       make: Callable[[], Iterator[StreamEvent]]) -> AsyncIterator[StreamEvent]:
    """The service's stream events, generated under `ticket`; a failure becomes a last 'error' event
    (the HTTP status was sent with the first byte, so the error has to travel inside the stream)."""
    async with ticket.running():
        try:
            async with aclosing(iterate_in_thread(make)) as events:
                async for event in events:
                    if event.event == "done":
                        runtime.metrics.observe_stages(event.data.get("timings_ms"))
                    yield event
        except Exception as exc:  # noqa: BLE001 - every failure must reach the client as an event
            error = to_api_error(exc)
            runtime.metrics.errors.labels(error.error_type).inc()
            if error.error_type == "internal":
                log.error("stream failed", exc_info=exc)
            else:
                log.warning("stream failed: %s: %s", error.error_type, error.message)
            yield StreamEvent("error", {**error.body(), "status": error.status})
