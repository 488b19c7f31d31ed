"""How a long-running server (`vraagbaak serve`, the Slack bot in Socket Mode) loads the pipeline: with
the CPU split of docs/scaling.md (load). On a small machine an in-process generation and a stream of
searches compete for the same cores; the generation gets its own: llama.cpp with
`generator_threads` threads (default 1) at niceness `generation_nice` (default 0), while the front door
lets at most `search_workers` searches compute at a time (service.api.deps.Runtime.cpu).

The CLI and the eval load the pipeline directly and keep the library defaults (2 llama.cpp threads,
generation at niceness 10): they have the machine to themselves.
"""

from __future__ import annotations

from typing import Any

from service.qa.protocol import QAService


def load_serving_pipeline(settings: Any) -> QAService:
    """The whole service, language model loaded, its generation on `generator_threads` threads at
    niceness `generation_nice`."""
    from service.models.generators.llama import default_threads
    from service.qa.pipeline import load_pipeline

    with default_threads(int(getattr(settings, "generator_threads", 1))):
        pipeline = load_pipeline(settings, warm=True)  # warm: the model is made now, inside the block
    if hasattr(pipeline, "generation_nice"):  # the Pipeline runs each generation in a thread of this niceness
        pipeline.generation_nice = int(getattr(settings, "generation_nice", 0))
    return pipeline
