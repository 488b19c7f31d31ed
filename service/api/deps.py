"""What route functions depend on: the app's Runtime, the ready service, the API key check, and the
two ways to run a generation under the gate (whole answer, or a stream of events).

Dependencies are `async def` on purpose: they run on the event loop (no thread hop), which is also
what lets the generation gate count without a lock. Blocking service calls go to worker threads here,
never on the loop. Searches and extractive answers (CPU work of a few tens of ms: embedding the query,
ranking sentences) run through one bounded lane, `Runtime.cpu`, so that however many arrive at once they
keep to `search_workers` threads and leave the generation its own core; a generate-mode answer runs in a
thread of its own (its retrieval included) and never waits for that lane. While the lane is in use (a call
computing or waiting), `SearchLane.busy()` says so, to any thread: the in-process generation then takes
fewer llama.cpp threads (service/serving.py).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Request

from service.api.errors import ApiError, to_api_error
from service.api.observability import Metrics
from service.api.runtime import GenerationGate, ServiceHolder, Ticket, iterate_in_thread
from service.qa.protocol import QAService, lane
from service.types import Answer, StreamEvent

log = logging.getLogger("vraagbaak.api")
UNAUTHORIZED_MESSAGE = "API-sleutel ontbreekt of klopt niet (stuur de kop 'Authorization: Bearer <sleutel>')."
T = TypeVar("T")


class SearchLane:
    """The search lane (VRAAGBAAK_SEARCH_WORKERS): at most `workers` searches and extractive answers compute
    at a time, each in a worker thread; the rest wait on the event loop (an anyio CapacityLimiter).

    `busy()` - a call is computing in the lane or waiting for it - may be read from any thread (the
    generation's, before each token). anyio does not promise that a limiter's statistics can be read outside
    its event loop (`statistics()` copies the set of borrowers the loop changes), so the lane keeps its own
    count of calls inside, guarded by a lock.
    """

    def __init__(self, workers: int = 1) -> None:
        self.limiter = anyio.CapacityLimiter(workers)
        self._inside = 0
        self._count_lock = threading.Lock()

    @property
    def workers(self) -> int:
        return int(self.limiter.total_tokens)

    @property
    def waiting(self) -> int:
        """Calls waiting for a worker: anyio's statistics, a snapshot for /info (not for decisions)."""
        return self.limiter.statistics().tasks_waiting

    def busy(self) -> bool:
        """Whether a call computes in the lane or waits for it; safe from any thread."""
        with self._count_lock:
            return self._inside > 0

    @contextmanager
    def entered(self) -> Iterator[None]:
        """Counts as busy for the block (waiting for the lane and computing in it)."""
        with self._count_lock:
            self._inside += 1
        try:
            yield
        finally:
            with self._count_lock:
                self._inside -= 1

    async def run_sync(self, func: Callable[[], T]) -> T:
        """`func()` in a worker thread of the lane, once a worker is free."""
        with self.entered():
            return await anyio.to_thread.run_sync(func, limiter=self.limiter)


@dataclass(frozen=True)
class Runtime:
    holder: ServiceHolder
    gate: GenerationGate  # answers that run the language model
    metrics: Metrics
    api_key: str | None = None
    # extractive answers take ~0.1 s: their own wider lane, so they never queue behind a generation
    quick: GenerationGate = field(default_factory=lambda: GenerationGate(4, 32))
    default_mode: str = "generate"
    # searches and extractive answers computing at once (VRAAGBAAK_SEARCH_WORKERS); the rest wait here,
    # on the event loop, not in threads
    cpu: SearchLane = field(default_factory=SearchLane)

    def gate_for(self, mode: str | None) -> GenerationGate:
        return self.quick if self._extractive(mode) else self.gate

    def lane_for(self, mode: str | None) -> SearchLane | None:
        """The CPU lane of an answer: the search lane for extractive answers; None (a thread of its own)
        for a generation, which holds its slot for seconds."""
        return self.cpu if self._extractive(mode) else None

    def _extractive(self, mode: str | None) -> bool:
        return (mode or self.default_mode) == "extractive"

    def lane_mode(self, service: object, question: str, history: list, mode: str | None) -> str | None:
        """The mode whose gate and lane an answer needs: a generate-mode question of a form the model does
        not write for (`Pipeline.model_writes`) is answered as extractive mode does, so it takes the quick
        lane and never queues behind a generation (`protocol.lane`)."""
        return mode if self._extractive(mode) else lane(service, question, history, mode)

    def measures(self, ticket: Ticket, timings_ms: dict | None) -> bool:
        """Whether a finished request's hold time says how long a generation takes: always in the extractive
        lane; in the generation gate only when the model ran (a question refused before generation, or a
        service without a model, answers in milliseconds)."""
        return ticket.gate is not self.gate or "generate" in (timings_ms or {})


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
    ticket = runtime.gate_for(mode).admit()
    async with ticket.running():
        lane = runtime.lane_for(mode)
        answer = await (lane.run_sync(call) if lane is not None else anyio.to_thread.run_sync(call))
        ticket.measured = runtime.measures(ticket, answer.timings_ms)
    runtime.metrics.observe_stages(answer.timings_ms)
    return answer


async def gated_events(runtime: Runtime, ticket: Ticket, make: Callable[[], Iterator[StreamEvent]],
                       mode: str | None = None) -> AsyncIterator[StreamEvent]:
    """The service's stream events, generated under `ticket` (in `mode`'s CPU lane); a failure becomes a
    last 'error' event (the HTTP status was sent with the first byte, so the error has to travel inside
    the stream). A stream in the search lane counts as using it (SearchLane.busy) until it ends."""
    lane = runtime.lane_for(mode)
    async with ticket.running():
        try:
            with lane.entered() if lane is not None else nullcontext():
                limiter = lane.limiter if lane is not None else None
                async with aclosing(iterate_in_thread(make, limiter)) as events:
                    async for event in events:
                        if event.event == "done":
                            runtime.metrics.observe_stages(event.data.get("timings_ms"))
                            ticket.measured = runtime.measures(ticket, event.data.get("timings_ms"))
                        yield event
        except Exception as exc:  # noqa: BLE001 - every failure must reach the client as an event
            error = to_api_error(exc)
            runtime.metrics.errors.labels(error.error_type).inc()
            if error.error_type == "internal":
                log.error("stream failed", exc_info=exc)
            else:
                log.warning("stream failed: %s: %s", error.error_type, error.message)
            yield StreamEvent("error", {**error.body(), "status": error.status})
