"""How a long-running server (`vraagbaak serve`, the Slack bot in Socket Mode) loads the pipeline: with
the CPU split of docs/scaling.md (load). On a small machine an in-process generation and a stream of
searches compete for the same cores. llama.cpp adapts: `generator_threads` threads (default 2) while the
server is otherwise idle, `generator_busy_threads` (default 1) while the probe `busy` says searches or
extractive answers compute or wait (`serve`: the search lane, service.api.deps.SearchLane, which lets at
most `search_workers` of them compute at a time). The generating thread runs at niceness
`generation_nice` (default 0). The Slack bot in Socket Mode has no search lane and no probe: it always
generates with `generator_threads`.

The CLI and the eval load the pipeline directly and keep the library defaults (2 llama.cpp threads,
generation at niceness 10): they have the machine to themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.qa.protocol import QAService


def load_serving_pipeline(settings: Any, busy: Callable[[], bool] | None = None) -> QAService:
    """The whole service, language model loaded, its generation on `generator_threads` threads
    (`generator_busy_threads` while `busy()`) at niceness `generation_nice`."""
    from service.qa.pipeline import load_pipeline

    return load_pipeline(settings, warm=True,
                         n_threads=int(getattr(settings, "generator_threads", 2)),
                         busy_threads=int(getattr(settings, "generator_busy_threads", 1)),
                         busy=busy, generation_nice=int(getattr(settings, "generation_nice", 0)))
