"""Bounded background work for Slack answers, and the Dutch messages for when an answer fails.

Slack wants a 200 within 3 seconds, an answer takes longer, so listeners acknowledge at once and
hand the answer to `AnswerJobs`: at most `concurrency` answers run at a time and `max_queue` wait;
beyond that `submit` says no and the caller tells the user it is busy. The generation itself goes
through the host's runner (in the HTTP app: the same generation gate as /v1/ask), so Slack and
HTTP share the model's slots. Deliberately not here: Slack calls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("vraagbaak.slack")

BUSY = "Het is op dit moment erg druk, dus ik kon je vraag niet beantwoorden. Probeer het over een minuut opnieuw."
TIMEOUT = "Het antwoord duurde te lang. Probeer het opnieuw, liefst met een kortere vraag."
GENERATOR = "Het taalmodel gaf een fout, dus ik kon je vraag niet beantwoorden. Probeer het later opnieuw."
NOT_READY = "De vraagbaak is nog aan het opstarten. Probeer het over een halve minuut opnieuw."
FALLBACK = "Sorry, er ging iets mis bij het beantwoorden van je vraag. Probeer het later opnieuw."


class QueueFull(Exception):
    """More Slack answers are waiting than the queue holds."""


def failure_message(exc: BaseException, request_id: str) -> str:
    """A short polite Dutch message for a failed answer, with the id that finds its log line."""
    from service.errors import Busy, GeneratorError, GeneratorTimeout, VraagbaakError

    if isinstance(exc, QueueFull | Busy):
        text = BUSY
    elif isinstance(exc, TimeoutError | GeneratorTimeout):
        text = TIMEOUT
    elif isinstance(exc, GeneratorError):
        text = GENERATOR
    elif getattr(exc, "error_type", None) == "not_ready":
        text = NOT_READY
    elif isinstance(exc, VraagbaakError):  # bad input: its message is Dutch and says what to change
        text = f"Dat lukte niet: {exc}"
    else:
        text = FALLBACK
    return f"{text} (referentie: {request_id})"


class AnswerJobs:
    """At most `concurrency` jobs at a time and `max_queue` waiting; `submit` is False beyond that."""

    def __init__(self, concurrency: int = 1, max_queue: int = 32):
        self.concurrency, self.capacity = max(1, concurrency), max(1, concurrency) + max(0, max_queue)
        self.pending = 0
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task] = set()

    def submit(self, job: Callable[[], Awaitable[None]]) -> bool:
        """Start `job` in the background on the running loop, or return False when full."""
        if self.pending >= self.capacity:
            return False
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a semaphore belongs to one loop (tests start several)
            self._loop, self._slots = loop, asyncio.Semaphore(self.concurrency)
        self.pending += 1
        task = loop.create_task(self._run(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _run(self, job: Callable[[], Awaitable[None]]) -> None:
        assert self._slots is not None
        try:
            async with self._slots:
                await job()
        except Exception:  # jobs report their own failures to the user; this is the last resort
            log.exception("slack job failed")
        finally:
            self.pending -= 1

    async def join(self, timeout: float = 30.0) -> None:
        """Wait until no job is pending (tests and the benchmark)."""
        async with asyncio.timeout(timeout):
            while self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
