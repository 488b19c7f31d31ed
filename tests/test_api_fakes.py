"""A scripted fake QAService and a real uvicorn server on a random loopback port, for the API tests.

`FakeQA` answers deterministically from three Dutch passages (a word-overlap ranking), refuses when
no passage shares a word with the question, and can be slowed down (`delay`, `token_delay`) or made
to fail (`fail`, raised by `ask` and after the `sources` event of `ask_stream`). It records every
call so tests can assert on what the API passed through.

Run it as a server for manual checks and the load benchmark:
    .venv/bin/python tests/test_api_fakes.py --port 8765 --delay 2
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.qa.retrieval import Filters, validate_query  # noqa: E402
from service.types import REFUSAL, Answer, Citation, Hit, StreamEvent, Turn  # noqa: E402

DOCUMENTS = [
    {"doc_id": "iob-minusma", "title": "IOB-evaluatie MINUSMA (fragment)", "publisher": "IOB", "year": 2022,
     "kind": "evaluatierapport", "chunks": 1},
    {"doc_id": "c130-beleidsreactie", "title": "Beleidsreactie C-130 (fragment)",
     "publisher": "Ministerie van Defensie", "year": 2023, "kind": "Kamerbrief", "chunks": 1},
    {"doc_id": "kleinere-bijdragen", "title": "Kleinere missiebijdragen (fragment)",
     "publisher": "Ministerie van Defensie", "year": 2015, "kind": "Kamerbrief", "chunks": 1},
]
_TEXTS = [
    ("iob-minusma", "1.1 Aanleiding", 12,
     "IOB voerde de eindevaluatie van MINUSMA uit tussen april 2021 en mei 2022. Voor Nederlandse "
     "bijdragen aan artikel 100-missies geldt een verplichting om de inzet na beëindiging te evalueren."),
    ("c130-beleidsreactie", "Inleiding", 1,
     "Het C-130 detachement werd ingezet van november 2021 tot en met mei 2022. De inzet was onderdeel "
     "van het door Noorwegen gecoördineerde Multinational Rotational Concept."),
    ("kleinere-bijdragen", "Overzicht", None,
     "Nederland leverde ook kleinere bijdragen aan missies, zoals stafofficieren en politiefunctionarissen "
     "bij VN-missies in Afrika."),
]
PASSAGES = tuple(
    Hit(f"{doc}#0", doc, next(d["title"] for d in DOCUMENTS if d["doc_id"] == doc), section, page, text,
        0, len(text), 0.0, ("dense", "bm25"))
    for doc, section, page, text in _TEXTS
)
TIMINGS = {"retrieve": 1.5, "generate": 20.0}


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 2}


class FakeQA:
    """A deterministic QAService; see the module docstring."""

    def __init__(self, delay: float = 0.0, token_delay: float = 0.0, fail: Exception | None = None):
        self.delay, self.token_delay, self.fail = delay, token_delay, fail
        self.calls: list[tuple[str, Any]] = []
        self.closed_streams = 0

    def search(self, query: str, k: int = 10, filters: dict | None = None) -> list[Hit]:
        query = validate_query(query)
        self.calls.append(("search", (query, k, filters)))
        f = Filters.from_dict(filters)
        year = {d["doc_id"]: d["year"] for d in DOCUMENTS}
        pool = [h for h in PASSAGES if (not f.doc_ids or h.doc_id in f.doc_ids)
                and (not f.years or year[h.doc_id] in f.years)]
        q = _words(query)
        scored = [replace(h, score=round(len(q & _words(h.text)) / max(1, len(q)), 4)) for h in pool]
        return sorted(scored, key=lambda h: -h.score)[:k]

    def _answer(self, question: str, history: list[Turn] | None, mode: str | None, k: int | None) -> Answer:
        question = validate_query(question)
        self.calls.append(("ask", (question, list(history or []), mode, k)))
        hits = self.search(question, k or 3)
        if not hits or hits[0].score == 0:
            return Answer(REFUSAL, True, (), dict(TIMINGS), mode or "generate", question)
        top = hits[0]
        quote = top.text.split(". ")[0].rstrip(".") + "."
        citation = Citation(1, top.chunk_id, top.doc_id, top.title, top.section, top.page, top.text, quote,
                            top.score)
        return Answer(f"{quote} [1]", False, (citation,), dict(TIMINGS), mode or "generate", question, 42)

    def ask(self, question: str, history: list[Turn] | None = None, mode: str | None = None,
            k: int | None = None) -> Answer:
        answer = self._answer(question, history, mode, k)
        time.sleep(self.delay)
        if self.fail:
            raise self.fail
        return answer

    def ask_stream(self, question: str, history: list[Turn] | None = None, mode: str | None = None,
                   k: int | None = None) -> Iterator[StreamEvent]:
        answer = self._answer(question, history, mode, k)
        try:
            hits = [{key: v for key, v in asdict(h).items() if key != "row"}
                    for h in self.search(question, k or 3)]
            yield StreamEvent("sources", {"hits": hits})
            time.sleep(self.delay)
            if self.fail:
                raise self.fail
            for word in re.findall(r"\S+\s*", answer.answer):
                time.sleep(self.token_delay)
                yield StreamEvent("token", {"text": word})
            yield StreamEvent("done", answer.to_dict())
        finally:
            self.closed_streams += 1

    def documents(self) -> list[dict]:
        return [dict(d) for d in DOCUMENTS]

    def info(self) -> dict:
        manifest = {"documents": len(DOCUMENTS), "chunks": len(PASSAGES)}
        return {"embedder": "fake", "generator": "fake", "manifest": manifest}


def fake_settings(**overrides: Any) -> SimpleNamespace:
    """The API settings the app reads (getattr with defaults), as a plain object."""
    values = {"api_key": None, "cors_origins": [], "max_concurrent_generations": 1, "max_queue": 8}
    return SimpleNamespace(**{**values, **overrides})


@contextmanager
def running_server(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1:<random port> in a thread; yields the base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def main() -> None:
    from service.api.app import create_app
    from service.api.observability import log_config

    parser = argparse.ArgumentParser(description="Serve the API with the fake QAService (loopback only).")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds of 'generation' per answer")
    parser.add_argument("--token-delay", type=float, default=0.0)
    parser.add_argument("--max-queue", type=int, default=8)
    args = parser.parse_args()
    app = create_app(lambda: FakeQA(args.delay, args.token_delay), fake_settings(max_queue=args.max_queue))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=log_config("WARNING"))


if __name__ == "__main__":
    main()
