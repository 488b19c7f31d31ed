"""Dutch failure messages per error kind, and the bound on background answers."""

from __future__ import annotations

import asyncio

import pytest

from service.api.errors import ApiError
from service.errors import Busy, GeneratorError, GeneratorTimeout, VraagbaakError
from service.slack.jobs import AnswerJobs, QueueFull, failure_message


@pytest.mark.parametrize(("exc", "start"), [
    (QueueFull(), "Het is op dit moment erg druk"),
    (Busy("vol", retry_after=5), "Het is op dit moment erg druk"),
    (TimeoutError(), "Het antwoord duurde te lang"),
    (GeneratorTimeout("llama: 60 s"), "Het antwoord duurde te lang"),
    (GeneratorError("llama: crashed"), "Het taalmodel gaf een fout"),
    (ApiError("not_ready", "laden"), "De vraagbaak is nog aan het opstarten"),
    (VraagbaakError("de vraag is te lang (2345 tekens, maximaal 2000)"),
     "Dat lukte niet: de vraag is te lang (2345 tekens, maximaal 2000)"),
    (RuntimeError("KeyError in compose"), "Sorry, er ging iets mis"),
])
def test_every_failure_gets_a_polite_dutch_message_with_its_reference(exc, start):
    text = failure_message(exc, "slack-0123456789ab")
    assert text.startswith(start) and text.endswith("(referentie: slack-0123456789ab)")
    assert "KeyError" not in text and "crashed" not in text  # internals stay in the log


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_jobs_run_at_most_concurrency_and_refuse_beyond_the_queue(anyio_backend):
    jobs, running, peak = AnswerJobs(concurrency=2, max_queue=1), [0], [0]

    async def job() -> None:
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        await asyncio.sleep(0.05)
        running[0] -= 1

    accepted = [jobs.submit(job) for _ in range(5)]
    assert accepted == [True, True, True, False, False] and jobs.pending == 3
    await jobs.join()
    assert peak[0] == 2 and jobs.pending == 0
    assert jobs.submit(job) is True  # room again once they are done
    await jobs.join()
