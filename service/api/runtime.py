"""What the HTTP app holds at run time: the lazily loaded service and the generation gate.

`ServiceHolder` builds the QAService in a background thread so the server answers /healthz at once
and /readyz says 503 until loading is done. `GenerationGate` bounds generation: `concurrency` requests
generate at a time, at most `max_queue` more wait, and anything beyond is refused with `Busy` (429).
Searching never passes the gate (it has a CPU lane of its own, service.api.deps). `iterate_in_thread`
runs a blocking `ask_stream` iterator in worker threads, one event at a time, and always closes it.
Does not know about routes or JSON.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio
import anyio.to_thread
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from service.api.errors import ApiError
from service.errors import Busy
from service.qa.protocol import QAService

log = logging.getLogger("vraagbaak.api")
T = TypeVar("T")
NOT_READY_MESSAGE = "De vraagbaak is nog aan het opstarten (modellen en index laden). Probeer het zo opnieuw."
LOAD_FAILED_MESSAGE = "De vraagbaak kon niet opstarten; de beheerder vindt de oorzaak in de log."
BUSY_MESSAGE = "Het is op dit moment erg druk. Probeer het over een paar seconden opnieuw."


class ServiceHolder:
    """Holds the QAService once `factory` has built it in a background thread."""

    def __init__(self, factory: Callable[[], QAService], retry_after: int = 5):
        self._factory, self._retry_after = factory, retry_after
        self._service: QAService | None = None
        self._failed = False
        self._loaded = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._load, name="vraagbaak-load", daemon=True)
            self._thread.start()

    def _load(self) -> None:
        try:
            self._service = self._factory()
            log.info("service ready")
        except Exception:
            self._failed = True
            log.exception("loading the service failed")
        finally:
            self._loaded.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until loading finished (tests, scripts); True when the service is ready."""
        self._loaded.wait(timeout)
        return self._service is not None

    @property
    def ready(self) -> bool:
        return self._service is not None

    def get(self) -> QAService:
        if self._service is not None:
            return self._service
        message = LOAD_FAILED_MESSAGE if self._failed else NOT_READY_MESSAGE
        raise ApiError("not_ready", message, {"Retry-After": str(self._retry_after)})


class GenerationGate:
    """At most `concurrency` generations at a time and `max_queue` waiting; beyond that `Busy`.

    Admission also looks at time: the gate measures how long a generation holds its slot (a moving
    average, `service_s`) and, when every slot is busy, estimates a newcomer's wait as the number of
    rounds ahead of it times that average (a generation running longer than the average counts as needing
    as long again). If the wait plus its own generation would pass `max_wait_s`,
    the request is turned away at once (429) with Retry-After = the estimated time until a slot is free,
    rather than queued for minutes. A request already waiting gives up (429) when its wait passes
    `max_wait_s` less one generation. With a free slot a request is always admitted, so the estimate
    keeps being measured. Only holds that ran the model are measured (`Ticket.measured`): a generate-mode
    question refused before generation holds its slot for a fraction of a second, and averaging those in
    made the gate promise waits it could not keep (a 90 s load run: 429s after ~20 s in the queue).

    Lives on the event loop: `admit` and `release` are only called from async code, so the
    counters need no lock.
    """

    def __init__(self, concurrency: int = 1, max_queue: int = 8, retry_after: int = 5,
                 max_wait_s: float | None = None):
        self.capacity, self.retry_after = concurrency + max_queue, retry_after
        self.concurrency, self.max_wait_s = concurrency, max_wait_s
        self.pending = 0  # generating + waiting
        self.running_count = 0
        self.service_s: float | None = None  # moving average of the time a generation holds its slot
        self.turned_away = 0
        self._started: list[float] = []  # start times of the running generations
        self._slots = anyio.Semaphore(concurrency)

    def estimated_wait(self) -> float:
        """Seconds a newcomer would wait for a slot (0 with a free slot or nothing measured yet). A
        generation already running longer than the average is expected to need as long again (the
        average would otherwise promise a slot that is not coming): its elapsed time counts as a round."""
        if self.pending < self.concurrency or self.service_s is None:
            return 0.0
        elapsed = time.perf_counter() - min(self._started) if self._started else 0.0
        per_round = max(self.service_s, elapsed)
        first = self.service_s - elapsed if elapsed < self.service_s else elapsed
        waiting = self.pending - self.running_count
        return first + (waiting // self.concurrency) * per_round

    def admit(self) -> Ticket:
        if self.pending >= self.capacity:
            self.turned_away += 1
            raise Busy(BUSY_MESSAGE, retry_after=self._retry_after(self.estimated_wait()))
        wait = self.estimated_wait()
        if self.max_wait_s is not None and wait and wait + (self.service_s or 0.0) > self.max_wait_s:
            self.turned_away += 1
            raise Busy(BUSY_MESSAGE, retry_after=self._retry_after(wait))
        self.pending += 1
        return Ticket(self)

    def observe(self, seconds: float) -> None:
        """One generation held its slot this long."""
        self.service_s = seconds if self.service_s is None else 0.7 * self.service_s + 0.3 * seconds

    def queue_timeout(self) -> float | None:
        """How long an admitted request may wait for a slot."""
        if self.max_wait_s is None:
            return None
        return max(1.0, self.max_wait_s - (self.service_s or 0.0))

    def _retry_after(self, wait: float) -> int:
        """Seconds until a slot is likely free: the measured estimate when there is one."""
        return max(1, min(300, math.ceil(wait))) if wait else self.retry_after


class Ticket:
    """One admitted request: wait for a slot with `running()`; `release()` is idempotent. Set `measured`
    to False inside `running()` when the request turned out not to generate (its hold time is then not a
    generation time)."""

    def __init__(self, gate: GenerationGate):
        self._gate, self._released = gate, False
        self.measured = True

    @property
    def gate(self) -> GenerationGate:
        return self._gate

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        gate = self._gate
        try:
            with anyio.move_on_after(gate.queue_timeout()) as waited:
                await gate._slots.acquire()
            if waited.cancelled_caught:
                gate.turned_away += 1
                raise Busy(BUSY_MESSAGE, retry_after=gate._retry_after(gate.estimated_wait()))
            gate.running_count += 1
            start = time.perf_counter()
            gate._started.append(start)
            try:
                yield
            finally:
                gate.running_count -= 1
                gate._started.remove(start)
                if self.measured:
                    gate.observe(time.perf_counter() - start)
                gate._slots.release()
        finally:
            self.release()

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._gate.pending -= 1


async def iterate_in_thread(make: Callable[[], Iterator[T]],
                            limiter: anyio.CapacityLimiter | None = None) -> AsyncIterator[T]:
    """Items of a blocking iterator, each pulled in a worker thread (of `limiter`'s lane when given); the
    iterator is always closed."""
    done = object()
    iterator = await anyio.to_thread.run_sync(lambda: iter(make()), limiter=limiter)
    try:
        while (item := await anyio.to_thread.run_sync(next, iterator, done, limiter=limiter)) is not done:
            yield item  # type: ignore[misc]
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:  # stops the generation when the client went away
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(close)  # cheap, and must not wait for the lane


class EventStream(StreamingResponse):
    """A text/event-stream response that frees its generation ticket however the stream ends.

    Starlette does not close the body iterator when the client disconnects, so we do, which runs
    the iterator's `finally` blocks (closing the service's generator and freeing its slot).
    """

    def __init__(self, body: AsyncIterator[str], ticket: Ticket):
        # The media type is set per instance, not on the class: FastAPI would otherwise document the
        # route's JSON error responses as text/event-stream.
        super().__init__(body, media_type="text/event-stream",
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self.ticket = ticket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                with anyio.CancelScope(shield=True):
                    await aclose()
            self.ticket.release()
