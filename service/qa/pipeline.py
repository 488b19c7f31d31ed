"""The question-answering pipeline, and the wiring that loads it from Settings.

ask(): follow-up rewrite -> hybrid retrieval -> evidence sentences -> refusal decided in code ->
extractive answer, or a generated one whose [n] and sentences are checked against the evidence
(falling back to the extractive answer when the model drifts, fails or writes nothing supported).
`load_retriever(settings)` gives search only; `load_pipeline(settings)` the whole service.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import asdict

from index.text import is_dutch, squash
from service.config import Settings
from service.errors import GeneratorError, VraagbaakError
from service.qa.compose import build_messages, check_answer, complete, extractive_answer, renumber
from service.qa.evidence import IdfTable, expected_type, question_weights, select_evidence
from service.qa.protocol import MODES
from service.qa.refusal import decide
from service.qa.retrieval import FusionParams, Retriever, validate_query
from service.types import REFUSAL, Answer, Evidence, Hit, Sentence, StreamEvent, Turn


def standalone(question: str, history: list[Turn]) -> tuple[str, str]:
    """(retrieval query, conversation text) for a possibly elliptic follow-up question.

    Measured heuristic: the previous user question is appended to the search query (it names what
    "die bijdrage" or "ze" refers to); the whole conversation counts, at lower weight, when sentences
    are scored.
    """
    users = [t.content for t in history if t.role == "user"]
    if not users:
        return question, ""
    return f"{question} {users[-1]}", " ".join(t.content for t in history[-4:])


class Pipeline:
    def __init__(self, retriever: Retriever, generator_factory: Callable[[], object] | None = None,
                 default_mode: str = "generate", k: int = 8, max_tokens: int = 160, generation_nice: int = 10,
                 evidence_sentences: int = 5, evidence_chars: int = 1100):
        self.retriever = retriever
        # Sentence scoring without compound heads: measured 0.685 vs 0.648 key-fact recall with them.
        texts = retriever.chunk_texts()
        self.idf = IdfTable(texts)
        self._corpus = squash(" ".join(texts))  # names beyond the passages
        self._factory = generator_factory
        self._generator = None
        self._lock = threading.Lock()
        self.default_mode = default_mode if generator_factory else "extractive"
        self.k = k
        self.max_tokens = max_tokens
        self.generation_nice = generation_nice
        self.evidence_sentences, self.evidence_chars = evidence_sentences, evidence_chars

    # -- QAService -------------------------------------------------------------------------------------
    def search(self, query: str, k: int = 10, filters: dict | None = None) -> list[Hit]:
        return self.retriever.search(query, k, filters)

    def ask(self, question: str, history: list[Turn] | None = None, mode: str | None = None,
            k: int | None = None) -> Answer:
        steps = self._steps(question, history, mode, k, stream_tokens=False)
        while True:
            try:
                next(steps)  # the 'sources' event: not needed here
            except StopIteration as done:
                return done.value

    def ask_stream(self, question: str, history: list[Turn] | None = None, mode: str | None = None,
                   k: int | None = None, stream_tokens: bool = True) -> Iterator[StreamEvent]:
        answer = yield from self._steps(question, history, mode, k, stream_tokens)
        if stream_tokens and (answer.mode == "extractive" or answer.refused):
            for piece in _pieces(answer.answer):
                yield StreamEvent("token", {"text": piece})
        yield StreamEvent("done", answer.to_dict())

    def _steps(self, question: str, history: list | None, mode: str | None, k: int | None,
               stream_tokens: bool) -> Generator[StreamEvent, None, Answer]:
        """The answer, step by step: yields 'sources' (and the model's 'token's when `stream_tokens`),
        returns the Answer. Both `ask` and `ask_stream` run it."""
        t0 = time.perf_counter()
        question, history, mode = validate_query(question), _turns(history), self._mode(mode)
        query, conversation = standalone(question, history)
        # a follow-up searches with its own words too: "hoe groot is dat noordelijke deel van Mali?" after a
        # question about MINUSMA's sectors must not only find the sectors again (measured: docs/answers.md);
        # refusal looks at what the question with its context finds as well: one ranking of each query serves both
        if query != question:
            hits, context_hits = self.retriever.search_followup(query, question, k or self.k)
            seen = hits + context_hits
        else:
            hits = seen = self.retriever.search(query, k or self.k)
        timings = {"retrieve": _ms(t0)}
        yield StreamEvent("sources", {"hits": [_hit_dict(h) for h in hits]})
        t1 = time.perf_counter()
        kind = expected_type(question)
        said = frozenset(self.idf.terms(" ".join(t.content for t in history[-4:] if t.role == "assistant")))
        sentences = self._evidence(question, query, conversation, kind, hits, said)
        decision = decide(question, kind, seen, sentences, self.idf, self.retriever.compound_heads,
                          conversation, corpus=self._corpus)
        timings["evidence"] = _ms(t1)
        if decision.refuse:
            return self._refusal(hits, query, mode, timings, t0, decision.reason)
        evidence = Evidence(tuple(sentences), tuple(hits))
        text, prompt_tokens = yield from self._answer_text(question, history, evidence, mode, timings,
                                                           stream_tokens)
        text, cites = renumber(text, evidence)
        timings["total"] = _ms(t0)
        return Answer(text, False, cites, timings, mode, query, prompt_tokens)

    def documents(self) -> list[dict]:
        return self.retriever.documents()

    def info(self) -> dict:
        gen = self._generator
        return {"embedder": self.retriever.embedder_name, "generator": getattr(gen, "name", None),
                "default_mode": self.default_mode, "index": self.retriever.manifest}

    # -- steps ---------------------------------------------------------------------------------------------
    def _mode(self, mode: str | None) -> str:
        mode = mode or self.default_mode
        if mode not in MODES:
            raise VraagbaakError(f"onbekende modus {mode!r}; kies uit {', '.join(MODES)}")
        return mode if self._factory else "extractive"

    def _evidence(self, question: str, query: str, conversation: str, kind: str | None, hits: list[Hit],
                  said: frozenset[str] = frozenset()) -> list[Sentence]:
        weights = question_weights(question, self.idf, conversation)
        sentences = select_evidence(weights, kind, hits, self.idf, max_sentences=8, max_chars=2000,
                                    similarity=self.retriever.sentence_similarity(query), said=said)
        return _fit(sentences, max_sentences=self.evidence_sentences, max_chars=self.evidence_chars)

    def _answer_text(self, question: str, history: list[Turn], evidence: Evidence, mode: str, timings: dict,
                     stream_tokens: bool):
        extractive = extractive_answer(evidence)
        if mode == "extractive":
            return extractive, None
        t = time.perf_counter()
        prev = next((h.content for h in reversed(history) if h.role == "user"), "")
        messages = build_messages(question, evidence, prev)
        try:
            raw = yield from self._generate(messages, stream_tokens)
        except GeneratorError:
            raw = ""  # the model failed: the extractive answer stands in
        timings["generate"] = _ms(t)
        text, _ = check_answer(raw, evidence, question=question, topic=f"{question} {prev}", previous=prev)
        if not text or is_dutch(text) is False:
            return extractive, self._count_tokens(messages)
        return complete(text, evidence), self._count_tokens(messages)

    def _generate(self, messages: list[dict], stream_tokens: bool):
        """Run the model in a dedicated, lower-priority thread (its worker threads inherit the niceness),
        so searches keep their latency while an answer is being written; tokens are passed on."""
        gen = self.generator()
        pieces: queue.Queue = queue.Queue()
        result: dict = {}

        def run() -> None:
            try:
                _lower_priority(self.generation_nice)
                result["text"] = gen.generate(messages, max_tokens=self.max_tokens, temperature=0.0,
                                              on_token=pieces.put if stream_tokens else None)
            except Exception as e:  # surfaced in the caller's thread below
                result["error"] = e
            finally:
                pieces.put(None)

        threading.Thread(target=run, daemon=True, name="vraagbaak-generate").start()
        while (piece := pieces.get()) is not None:
            yield StreamEvent("token", {"text": piece})
        if "error" in result:
            raise result["error"]
        return result["text"]

    def generator(self):
        with self._lock:
            if self._generator is None:
                if self._factory is None:
                    raise VraagbaakError("geen taalmodel ingesteld; gebruik modus 'extractive'")
                self._generator = self._factory()
            return self._generator

    def _count_tokens(self, messages: list[dict]) -> int | None:
        count = getattr(self._generator, "count_tokens", None)
        return count("\n".join(m["content"] for m in messages)) if count else None

    def _refusal(self, hits: list[Hit], query: str, mode: str, timings: dict, t0: float, reason: str) -> Answer:
        titles = list(dict.fromkeys(h.title for h in hits[:3]))
        cover = f" De meest verwante passages komen uit: {'; '.join(titles)}." if titles else ""
        timings["total"] = _ms(t0)
        return Answer(REFUSAL + cover, True, (), timings, mode, query, refusal_reason=reason)


def _lower_priority(nice: int) -> None:
    """Raise this thread's niceness (Linux: per thread); threads it starts inherit it."""
    if nice > 0 and hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
        except OSError:
            pass  # not permitted here: generation simply keeps normal priority


def _fit(sentences: list[Sentence], max_sentences: int, max_chars: int) -> list[Sentence]:
    out, used = [], 0
    for s in sentences:
        if used + len(s.text) > max_chars and out:
            continue
        out.append(s)
        used += len(s.text)
        if len(out) == max_sentences:
            break
    return out


def _turns(history: list | None) -> list[Turn]:
    turns = [_turn(i, h) for i, h in enumerate(history or [])]
    if len(turns) > 20:
        raise VraagbaakError(f"te veel beurten in de geschiedenis: {len(turns)} (maximaal 20)")
    return turns


def _turn(i: int, item: object) -> Turn:
    """A history item as a Turn: a Turn, or a mapping with role 'user' or 'assistant' and text content."""
    if isinstance(item, Turn):
        return item
    if not isinstance(item, dict):
        raise VraagbaakError(f"beurt {i} van de geschiedenis is geen object met role en content")
    role, content = item.get("role"), item.get("content")
    if role not in ("user", "assistant"):
        raise VraagbaakError(f"beurt {i} van de geschiedenis: role moet 'user' of 'assistant' zijn, niet {role!r}")
    if not isinstance(content, str):
        raise VraagbaakError(f"beurt {i} van de geschiedenis: content moet tekst zijn")
    return Turn(role, content)


def _pieces(text: str) -> Iterator[str]:
    words = text.split(" ")
    for i, w in enumerate(words):
        yield w if i == len(words) - 1 else w + " "


def _hit_dict(h: Hit) -> dict:
    d = asdict(h)
    d.pop("row", None)
    return d


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 1)


def load_retriever(settings: Settings) -> Retriever:
    import faiss

    from index.store import load_index
    from service.models.embedder import load_embedder

    faiss.omp_set_num_threads(1)  # single queries: two threads are slower on two cores
    embedder = load_embedder(settings.embedder, settings.cache_dir, settings.embed_bf16)
    if settings.embedder != "fake":
        import torch

        torch.set_num_threads(1)  # one short query: 2 threads stall on busy cores (1.5 s vs 20 ms measured)
    if settings.query_onnx and hasattr(embedder, "use_onnx_queries"):
        embedder.use_onnx_queries(settings.cache_dir / "models")
    index = load_index(settings.index_dir, embedder.fingerprint)
    return Retriever(index, embedder, FusionParams())


def load_pipeline(settings: Settings, warm: bool = False) -> Pipeline:
    """The whole service; `warm` loads the language model now rather than on the first question."""
    retriever = load_retriever(settings)
    factory = None
    if settings.generator != "none":
        from service.models.generators import make_generator

        def factory():
            return make_generator(settings.generator, settings.generator_model, settings.cache_dir / "models",
                                  base_url=settings.generator_base_url, api_key=settings.generator_api_key,
                                  timeout=settings.generator_timeout)

    pipeline = Pipeline(retriever, factory, settings.default_mode, settings.k)
    retriever.embedder.embed_queries(["opwarmen"])  # load the embedder now, not on the first question
    if warm and factory is not None:
        pipeline.generator()
    return pipeline
