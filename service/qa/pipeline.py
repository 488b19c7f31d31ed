"""The question-answering pipeline, and the wiring that loads it from Settings.

ask(): follow-up rewrite -> hybrid retrieval -> evidence sentences -> refusal decided in code ->
extractive answer, or a generated one whose [n] and sentences are checked against the evidence
(falling back to the extractive answer when the model drifts, fails or writes nothing supported).
`load_retriever(settings)` gives search only; `load_pipeline(settings)` the whole service.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import asdict, replace

from index.sentences import sentence_key
from index.text import is_dutch, squash
from service.config import Settings, qdrant_location
from service.errors import GeneratorError, VraagbaakError
from service.qa import learned
from service.qa.compose import (
    EXPLAIN_SUPPORTING,
    EXPLAIN_WORDS,
    build_messages,
    lead_and_support,
    lead_from,
    renumber,
    safe_words,
    short_answer,
)
from service.qa.evidence import (
    IdfTable,
    asks_person,
    asks_reason,
    continues,
    expected_type,
    has_type,
    names_person,
    question_parts,
)
from service.qa.protocol import MODES
from service.qa.retrieval import FusionParams, Retriever, validate_query
from service.types import REFUSAL, Answer, Evidence, Hit, Sentence, StreamEvent, Turn

# A two-part question's first part of this many words or fewer is only a question phrase ("In welk
# Kameroverleg, en op welke datum, zijn …?"): it is not searched alone (docs/answers.md).
BARE_ASK_WORDS = 3

# The forms of question `question_form` tells apart. In generate mode the model writes the lead only for
# the forms the pipeline is given (`model_forms`; the service's default: Settings.model_forms, the forms
# where the model's lead did not lose key facts against the extractive answer on the tuning files).
FORMS = ("follow-up", "english", "two-part", "why", "money", "date", "place", "number", "name", "plan", "other")

log = logging.getLogger(__name__)


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
                 default_mode: str = "generate", k: int = 8, max_tokens: int = 60, generation_nice: int = 10,
                 evidence_sentences: int = 5, evidence_chars: int = 1100, models: learned.Models | None = None,
                 depth: int = 16, model_forms: Iterable[str] | None = None):
        self.retriever = retriever
        self.models = models or learned.load_models()
        self.depth = depth  # passages searched and reranked; k of them are shown as sources
        # Sentence scoring without compound heads: measured 0.685 vs 0.648 key-fact recall with them.
        texts = retriever.chunk_texts()
        self.idf = IdfTable(texts)
        self._corpus = squash(" ".join(texts))  # names beyond the passages
        self._asked = _asked_terms(retriever, self.idf)
        self._factory = generator_factory
        self._generator = None
        self._lock = threading.Lock()
        self.default_mode = default_mode if generator_factory else "extractive"
        self.k = k
        self.max_tokens = max_tokens
        self.generation_nice = generation_nice
        self.evidence_sentences, self.evidence_chars = evidence_sentences, evidence_chars
        # None: the model writes the lead for every form of question in generate mode
        self.model_forms = None if model_forms is None else frozenset(model_forms)

    # -- QAService -------------------------------------------------------------------------------------
    def search(self, query: str, k: int = 10, filters: dict | None = None) -> list[Hit]:
        """The k best passages: the fused search's top `depth` (at least k), reranked by the passage model."""
        query = validate_query(query)
        hits = self.retriever.search(query, max(k, self.depth), filters)
        return self._analyse(query, query, "", hits).hits[:k]

    def analyse(self, question: str, history: list | None = None, k: int | None = None,
                ) -> tuple[str, learned.Analysis]:
        """(standalone search query, analysis): the passages of the question (with its context when it is a
        follow-up), reranked, their sentences ranked, and the probability that they answer it."""
        question, history = validate_query(question), _turns(history)
        query, conversation = standalone(question, history)
        depth = max(k or self.k, self.depth)
        if query != question:  # a follow-up: its own words and the words with context, one fused ranking
            hits, _ = self.retriever.search_followup(query, question, depth)
        else:
            hits = self.retriever.search(query, depth)
        said = frozenset(self.idf.terms(" ".join(t.content for t in history[-4:] if t.role == "assistant")))
        return query, self._analyse(question, query, conversation, hits, said)

    def _analyse(self, question: str, query: str, conversation: str, hits: list[Hit],
                 said: frozenset[str] = frozenset()) -> learned.Analysis:
        return learned.analyse(question, query, conversation, hits, self.idf,
                               self.retriever.sentence_similarity(query, embed_missing=False), self.models,
                               self._corpus, self.retriever.compound_heads, said,
                               self.retriever.sentence_similarity(query, embed_missing=False, own=True),
                               self.retriever.token_match(query), self.retriever.question_match(query),
                               lambda text: self._asked.get(sentence_key(text)))

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
        streamed: list[str] = []  # the answer text already sent (a generated sentence's safe words)
        answer = yield from self._steps(question, history, mode, k, stream_tokens, streamed)
        if stream_tokens:  # the rest of the final, checked text: what streams is what stays
            sent = "".join(streamed)
            if not answer.answer.startswith(sent):  # lead_from keeps the sent words: cannot happen
                log.error("streamed text %r is not the start of the answer %r", sent, answer.answer)
            for piece in _pieces(answer.answer[len(sent):]):
                yield StreamEvent("token", {"text": piece})
        yield StreamEvent("done", answer.to_dict())

    def _steps(self, question: str, history: list | None, mode: str | None, k: int | None,
               stream_tokens: bool, streamed: list[str] | None = None) -> Generator[StreamEvent, None, Answer]:
        """The answer, step by step: yields 'sources' (and, when `stream_tokens`, a generated first
        sentence's words as soon as they are safe to show, appended to `streamed`), returns the Answer.
        Both `ask` and `ask_stream` run it."""
        t0 = time.perf_counter()
        question, history, mode = validate_query(question), _turns(history), self._mode(mode)
        query, analysis = self.analyse(question, history, k)
        hits = analysis.hits[: k or self.k]
        timings = {"retrieve": _ms(t0)}
        yield StreamEvent("sources", {"hits": [_hit_dict(h) for h in hits]})
        t1 = time.perf_counter()
        sentences = self._evidence(analysis)
        threshold = self.models.answerable.threshold
        timings["evidence"] = _ms(t1)
        if not sentences or analysis.p_answerable < threshold:
            return self._refusal(hits, query, mode, timings, t0, _reason(analysis, threshold, bool(sentences)))
        if analysis.p_followup is not None and analysis.p_followup < self.models.followup.threshold:
            return self._refusal(hits, query, mode, timings, t0, "de gevonden passages beantwoorden de vervolgvraag "
                                 f"niet ({_score(analysis.p_followup, self.models.followup.threshold)})")
        if asks_person(question) and not any(names_person(c.sentence.text) for c in analysis.ranked[:PERSON_TOP]):
            return self._refusal(hits, query, mode, timings, t0, UNNAMED)
        if analysis.kind == "money" and not any(has_type(h.text, "money") for h in hits):
            return self._refusal(hits, query, mode, timings, t0, NO_AMOUNT)
        evidence = self._second_part(question, history, analysis, sentences)
        if evidence.parts == 1:
            evidence = _continued(evidence, analysis)
        text, prompt_tokens = yield from self._answer_text(question, history, evidence, mode, timings,
                                                           streamed if stream_tokens else None)
        text, cites = renumber(text, evidence)
        timings["total"] = _ms(t0)
        # generate mode answers a form the model does not write for as extractive mode does: say so
        return Answer(text, False, cites, timings, mode if "generate" in timings else "extractive", query,
                      prompt_tokens)

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

    def _evidence(self, analysis: learned.Analysis) -> list[Sentence]:
        """The best-ranked sentences, near-duplicates left out, within the evidence budget, best first."""
        out = _unique((c.sentence for c in analysis.ranked), limit=2 * self.evidence_sentences)
        return _fit(out, max_sentences=self.evidence_sentences, max_chars=self.evidence_chars)

    def _second_part(self, question: str, history: list[Turn], analysis: learned.Analysis,
                     sentences: list[Sentence]) -> Evidence:
        """The evidence; for a first question that asks two things ("…, en waarom …?") the lead is the best
        sentence for its first part alone, and the best sentence for its second part, read as a follow-up
        of the first, is the second evidence sentence and stays in the answer (measured on the tuning
        files' two-part questions, docs/answers.md)."""
        parts = None if history else question_parts(question)
        if not parts:
            return Evidence(tuple(sentences), tuple(analysis.hits))
        first, second = parts
        hits = list(analysis.hits)
        if len(first.split()) > BARE_ASK_WORDS:  # a bare "In welk Kameroverleg?": its subject follows the second ask
            _, head = self.analyse(first, [])
            if head.ranked:
                sentences = [self._place(head.ranked[0].sentence, head, hits), *sentences]
        lead = _dedupe_key(sentences[0].text)
        _, part = self.analyse(second, [Turn("user", first), Turn("assistant", sentences[0].text)])
        best = next((c.sentence for c in part.ranked if _dedupe_key(c.sentence.text) != lead), None)
        if best is None:
            return Evidence(tuple(_unique(sentences)), tuple(hits))
        chosen = _dedupe_key(best.text)
        rest = [s for s in sentences[1:] if _dedupe_key(s.text) not in (chosen, lead)]
        ordered = [sentences[0], self._place(best, part, hits), *_unique(rest)][: max(2, self.evidence_sentences)]
        return Evidence(tuple(ordered), tuple(hits), parts=2)

    @staticmethod
    def _place(sentence: Sentence, analysis: learned.Analysis, hits: list[Hit]) -> Sentence:
        """`sentence` of another analysis, pointing into `hits` (its passage appended when not there)."""
        hit = analysis.hits[sentence.hit]
        at = next((i for i, h in enumerate(hits) if h.chunk_id == hit.chunk_id and h.text == hit.text), None)
        if at is None:
            hits.append(hit)
            at = len(hits) - 1
        return replace(sentence, hit=at)

    def _answer_text(self, question: str, history: list[Turn], evidence: Evidence, mode: str, timings: dict,
                     streamed: list[str] | None):
        """The extractive answer, or in generate mode the model's first sentence (checked: `lead_from`)
        leading the extractive support. With `streamed` (a list) the sentence's words are yielded as
        'token' events as soon as `safe_words` allows, and recorded there; nothing else of the model is."""
        extractive = (short_answer(evidence, EXPLAIN_WORDS, supporting=EXPLAIN_SUPPORTING) if asks_reason(question)
                      else short_answer(evidence))
        if mode == "extractive" or not self.model_writes(question, history):
            return extractive, None
        t = time.perf_counter()
        prev = next((h.content for h in reversed(history) if h.role == "user"), "")
        prompt = build_messages(question, evidence, prev, getattr(self.generator(), "count_tokens", None))
        top = Evidence(evidence.sentences[:prompt.sentences], evidence.hits)
        raw = yield from self._generate_streaming(prompt.messages, top, question, streamed)
        timings["generate"] = _ms(t)
        lead = lead_from(raw, top, question, "".join(streamed).split() if streamed else None)
        if not lead or (not streamed and is_dutch(lead) is False):
            return extractive, prompt.tokens
        return lead_and_support(lead, evidence), prompt.tokens

    def model_writes(self, question: str, history: list[Turn]) -> bool:
        """Whether generate mode asks the model for this question's lead (`model_forms`)."""
        return self.model_forms is None or question_form(question, history) in self.model_forms

    def _generate_streaming(self, messages: list[dict], top: Evidence, question: str,
                            streamed: list[str] | None) -> Generator[StreamEvent, None, str]:
        """Run the model in a dedicated, lower-priority thread (its worker threads inherit the niceness),
        so searches keep their latency while an answer is being written; one sentence (it stops at the
        first line break). Returns the model's text ("" or what it wrote before failing, when it fails:
        the extractive answer or the safe words stand in). With `streamed`, yields the safe words."""
        gen = self.generator()
        pieces: queue.Queue = queue.Queue()
        result: dict = {}

        def run() -> None:
            try:
                _lower_priority(self.generation_nice)
                gen.generate(messages, max_tokens=self.max_tokens, temperature=0.0, stop=["\n"],
                             on_token=pieces.put)
            except GeneratorError as e:
                result["error"] = e
            except Exception as e:  # not a model failure: surfaced in the caller's thread below
                result["raise"] = e
            finally:
                pieces.put(None)

        worker = threading.Thread(target=run, daemon=True, name="vraagbaak-generate")
        worker.start()
        raw, shown = "", 0
        while (piece := pieces.get()) is not None:
            raw += piece
            if streamed is None or not piece[-1:].isspace() and " " not in piece:
                continue  # no word finished: nothing new can be safe
            words = safe_words(raw, top, question)
            for w in words[shown:]:
                text = w if not streamed else " " + w
                streamed.append(text)
                yield StreamEvent("token", {"text": text})
            shown = max(shown, len(words))
        worker.join()
        if "raise" in result:
            raise result["raise"]
        if "error" in result:  # what the model wrote is cut short: only the words already shown stay
            log.warning("generator failed, the extractive answer or the words shown stand in: %s", result["error"])
            return "".join(streamed or ()).strip() + ("." if streamed else "")
        return raw

    def generator(self):
        with self._lock:
            if self._generator is None:
                if self._factory is None:
                    raise VraagbaakError("geen taalmodel ingesteld; gebruik modus 'extractive'")
                self._generator = self._factory()
            return self._generator

    def _refusal(self, hits: list[Hit], query: str, mode: str, timings: dict, t0: float, reason: str) -> Answer:
        titles = list(dict.fromkeys(h.title for h in hits[:3]))
        cover = f" De meest verwante passages komen uit: {'; '.join(titles)}." if titles else ""
        timings["total"] = _ms(t0)
        return Answer(REFUSAL + cover, True, (), timings, mode, query, refusal_reason=reason)


def _continued(evidence: Evidence, analysis: learned.Analysis) -> Evidence:
    """The evidence with the lead's next sentence in its passage second, when that sentence continues the
    lead ("Daarbij raakten vier peacekeepers gewond."): what the lead begins, it says."""
    lead = evidence.sentences[0]
    text = evidence.hits[lead.hit].text
    after = [c.sentence for c in analysis.ranked if c.sentence.hit == lead.hit and c.sentence.start >= lead.end]
    nxt = min(after, key=lambda s: s.start, default=None)
    if nxt is None or text[lead.end:nxt.start].strip() or not continues(nxt.text):
        return evidence
    key = _dedupe_key(nxt.text)
    rest = [s for s in evidence.sentences[1:] if _dedupe_key(s.text) != key]
    return replace(evidence, sentences=(lead, nxt, *rest))


def question_form(question: str, history: list[Turn] | None = None) -> str:
    """The form of a question, one of FORMS, checked in this order: a follow-up (there is a history), an
    English question, a question that asks two things, a why-question, else the kind of answer it asks
    (`expected_type`), or 'other'."""
    if history:
        return "follow-up"
    if learned.is_english(question):
        return "english"
    if question_parts(question):
        return "two-part"
    if asks_reason(question):
        return "why"
    return expected_type(question) or "other"


def parse_forms(value: str) -> frozenset[str] | None:
    """Settings.model_forms ("english,name,plan", or "all") as a set of FORMS; None for "all"."""
    names = {f.strip() for f in value.split(",") if f.strip()}
    if names == {"all"}:
        return None
    if unknown := names - set(FORMS):
        raise VraagbaakError(f"onbekende vraagvorm(en) in VRAAGBAAK_MODEL_FORMS: {', '.join(sorted(unknown))}; "
                             f"kies uit {', '.join(FORMS)} of 'all'")
    return frozenset(names)


# a question asking who holds a role (evidence.asks_person) whose best sentences name nobody is refused
PERSON_TOP = 3
UNNAMED = "de gevonden passages noemen niemand in die functie bij naam"
# a question for an amount of money whose shown passages hold no amount is refused
NO_AMOUNT = "de gevonden passages noemen geen bedrag"


def _score(p: float, threshold: float) -> str:
    return f"kans op een antwoord {p:.2f} < drempel {threshold:.2f}"


def _reason(analysis: learned.Analysis, threshold: float, found: bool) -> str:
    """Why the code refused, for logs and the eval report: what the reports lack, and the model's score."""
    if not found:
        return "geen passages gevonden"
    score = _score(analysis.p_answerable, threshold)
    if analysis.missing:
        return f"niet gevonden in de rapporten: {', '.join(analysis.missing)} ({score})"
    return f"de gevonden passages beantwoorden de vraag niet ({score})"


def _lower_priority(nice: int) -> None:
    """Raise this thread's niceness (Linux: per thread); threads it starts inherit it."""
    if nice > 0 and hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
        except OSError:
            pass  # not permitted here: generation simply keeps normal priority


def _asked_terms(retriever: Retriever, idf: IdfTable) -> dict[str, frozenset[str]]:
    """Sentence key -> the stemmed terms of the questions written for that sentence (the ranker's `qlex`);
    empty for an index without them."""
    vectors = getattr(retriever.index, "sentences", None)
    if vectors is None or vectors.questions is None or not vectors.questions.texts:
        return {}
    return {vectors.keys[row]: frozenset().union(*(idf.terms(t) for t in texts))
            for row, texts in vectors.questions.of_row().items()}


def _dedupe_key(text: str) -> str:
    """Sentences with the same key are near-duplicates (the same sentence in two overlapping passages)."""
    return re.sub(r"\W+", "", text.lower())[:80]


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


def _unique(sentences: Iterable[Sentence], limit: int | None = None) -> list[Sentence]:
    """`sentences` without near-duplicates, the first of each kept; at most `limit` (read no further)."""
    seen: set[str] = set()
    out: list[Sentence] = []
    for s in sentences:
        if limit is not None and len(out) == limit:
            break
        key = _dedupe_key(s.text)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def _pieces(text: str) -> Iterator[str]:
    """`text` word by word, each word with the space before it: the pieces join to `text` (stripped)."""
    yield from re.findall(r"\s*\S+", text)


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
        embedder.use_onnx_queries(settings.cache_dir / "models", int8=settings.query_int8)
    index = load_index(settings.index_dir, embedder.fingerprint, qdrant_location(settings, embedder.name))
    return Retriever(index, embedder, FusionParams(question_weight=settings.question_weight))


def load_pipeline(settings: Settings, warm: bool = False, models: learned.Models | None = None, *,
                  n_threads: int | None = None, busy_threads: int | None = None,
                  busy: Callable[[], bool] | None = None, generation_nice: int | None = None) -> Pipeline:
    """The whole service; `warm` loads the language model now rather than on the first question;
    `models` replaces the learned models of service/qa/weights.json (training starts from untrained ones).
    The server (service/serving.py) passes its CPU split: llama.cpp's threads when the machine is idle
    (`n_threads`) and while `busy()` (`busy_threads`), and the generating thread's niceness; None keeps
    the defaults of a process alone on the machine (2 threads, niceness 10: the CLI and eval)."""
    retriever = load_retriever(settings)
    factory = None
    if settings.generator != "none":
        from service.models.generators import make_generator

        def factory():
            return make_generator(settings.generator, settings.generator_model, settings.cache_dir / "models",
                                  base_url=settings.generator_base_url, api_key=settings.generator_api_key,
                                  timeout=settings.generator_timeout, n_threads=n_threads,
                                  busy_threads=busy_threads, busy=busy)

    nice = {} if generation_nice is None else {"generation_nice": generation_nice}
    pipeline = Pipeline(retriever, factory, settings.default_mode, settings.k, models=models,
                        model_forms=parse_forms(settings.model_forms), **nice)
    retriever.embedder.embed_queries(["opwarmen"])  # load the embedder now, not on the first question
    if warm and factory is not None:
        pipeline.generator()
    return pipeline
