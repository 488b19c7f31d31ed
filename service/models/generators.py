"""Language-model generators behind one small interface, chosen by configuration.

`Generator.generate(messages, ...)` takes OpenAI-style chat messages and returns the reply; with
`on_token` it also hands over text pieces as they are produced. Backends: llama-cpp-python on a
local GGUF (the default), transformers, any OpenAI-compatible server (plain httpx), and a scripted
fake for tests. `make_generator` builds one from settings values.

Not here: prompts, refusals and citation checks (the pipeline's job), queueing of concurrent
requests (each backend merely serializes calls on its own lock), and downloading models.
Heavy libraries (llama_cpp, transformers, torch) are imported only when a backend is built.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import httpx

from service.errors import GeneratorError, GeneratorTimeout, VraagbaakError
from service.models.gguf import GGUF_MODELS, ensure_gguf

OnToken = Callable[[str], None]
DEFAULT_GGUF = "qwen2.5-coder-1.5b"
BACKENDS = ("llama-cpp", "transformers", "openai", "scripted")


class Generator(Protocol):
    name: str

    def generate(self, messages: list[dict], *, max_tokens: int = 200, temperature: float = 0.0,
                 stop: list[str] | None = None, on_token: OnToken | None = None) -> str:
        """The reply to `messages`; `on_token` (if given) receives it piece by piece as it is made."""
        ...


def cut_at_stop(text: str, stop: list[str] | None) -> str:
    """`text` up to (not including) the earliest stop string, as OpenAI-style servers return it."""
    cut = min((i for s in stop or () if s and (i := text.find(s)) >= 0), default=len(text))
    return text[:cut]


def _emit_until_stop(pieces: Iterator[str], stop: list[str] | None, on_token: OnToken | None) -> str:
    """Consume `pieces` up to the first stop string; pass on only text that can no longer turn out to
    be the start of a stop string (it is held back until that is clear). Returns the text."""
    text, sent = "", 0
    longest = max((len(s) for s in stop or ()), default=0)
    for piece in pieces:
        text += piece
        cut = cut_at_stop(text, stop)
        done = len(cut) < len(text)
        safe = len(cut) if done else max(sent, len(text) - max(longest - 1, 0))
        if on_token is not None and safe > sent:
            on_token(text[sent:safe])
        sent = max(sent, safe)
        if done:
            return cut
    if on_token is not None and sent < len(text):
        on_token(text[sent:])
    return text


class ScriptedGenerator:
    """A fake for tests: replies come from a queue; each call's messages are kept in `.calls`.

    Replies stream word by word (whitespace kept, so the pieces join to the reply) and honour `stop`;
    `max_tokens` and `temperature` are ignored. An enqueued exception is raised instead of replying.
    An empty queue raises GeneratorError (rather than returning ""), so a test that forgot to
    enqueue a reply fails loudly.
    """

    name = "scripted"

    def __init__(self, replies: list[str | Exception] | None = None) -> None:
        self._replies: deque[str | Exception] = deque(replies or [])
        self.calls: list[list[dict]] = []

    def enqueue(self, reply: str | Exception) -> None:
        self._replies.append(reply)

    def generate(self, messages: list[dict], *, max_tokens: int = 200, temperature: float = 0.0,
                 stop: list[str] | None = None, on_token: OnToken | None = None) -> str:
        self.calls.append([dict(m) for m in messages])
        if not self._replies:
            raise GeneratorError("ScriptedGenerator: geen antwoord meer in de wachtrij (gebruik enqueue)")
        reply = self._replies.popleft()
        if isinstance(reply, Exception):
            raise reply
        return _emit_until_stop(iter(re.findall(r"\s+|\S+\s*", reply)), stop, on_token)


class LlamaCppGenerator:
    """llama-cpp-python on a local GGUF, with the chat template stored in the model.

    Consecutive prompts that share a token prefix (the same system prompt) reuse its KV cache:
    `Llama.generate` keeps the last prompt's tokens and only evaluates the new suffix.
    """

    def __init__(self, model_path: Path, n_ctx: int = 4096, n_threads: int = 2, seed: int = 0) -> None:
        model_path = Path(model_path)
        if not model_path.is_file():
            raise VraagbaakError(f"GGUF-model niet gevonden: {model_path}")
        from llama_cpp import Llama

        self.name, self.n_ctx, self._seed = model_path.stem, n_ctx, seed
        try:
            self._llm = Llama(model_path=str(model_path), n_ctx=n_ctx, n_threads=n_threads, seed=seed,
                              verbose=False)
        except ValueError as e:
            raise VraagbaakError(f"kan GGUF-model niet laden ({e}): {model_path}") from e
        self._lock = threading.Lock()  # a Llama context is not reentrant

    def count_tokens(self, text: str) -> int:
        """Number of model tokens in `text` (no BOS, special tokens as plain text)."""
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def generate(self, messages: list[dict], *, max_tokens: int = 200, temperature: float = 0.0,
                 stop: list[str] | None = None, on_token: OnToken | None = None) -> str:
        kw = dict(messages=messages, max_tokens=max_tokens, temperature=temperature, stop=stop or [],
                  seed=self._seed, stream=True)  # always streamed: one code path, same text
        pieces = []
        with self._lock:
            for chunk in _llama_errors(lambda: self._llm.create_chat_completion(**kw), self.name):
                if piece := chunk["choices"][0]["delta"].get("content"):
                    pieces.append(piece)
                    if on_token is not None:
                        on_token(piece)
        return "".join(pieces)


def _llama_errors(start: Callable[[], Iterator[dict]], name: str) -> Iterator[dict]:
    """The chunks of `start()`, with llama-cpp's errors (e.g. a prompt longer than the context window)
    turned into GeneratorError. Errors raised by the consumer (an `on_token` callback) are not touched."""
    try:
        yield from start()
    except (ValueError, RuntimeError) as e:
        raise GeneratorError(f"llama-cpp ({name}): {e}") from e


class TransformersGenerator:
    """A transformers causal LM from a local folder or a GGUF file (`gguf_file=`), on CPU.

    Uses the tokenizer's chat template; greedy when temperature is 0. Streaming runs
    `model.generate` in a thread feeding a `TextIteratorStreamer`.
    """

    def __init__(self, path_or_gguf: str | Path) -> None:
        path = Path(path_or_gguf)
        if not path.exists():
            raise VraagbaakError(f"transformers-model niet gevonden: {path}")
        from transformers import AutoModelForCausalLM, AutoTokenizer

        src, kw = (path.parent, {"gguf_file": path.name}) if path.suffix == ".gguf" else (path, {})
        self.name = path.stem if path.suffix == ".gguf" else path.name
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(src), local_files_only=True, **kw)
            self.model = AutoModelForCausalLM.from_pretrained(str(src), local_files_only=True, **kw).eval()
        except ImportError as e:  # GGUF loading needs the optional `gguf` (and `accelerate`) packages
            raise VraagbaakError(f"transformers kan {path} niet laden: {' '.join(str(e).split())}") from e
        self._lock = threading.Lock()

    def format_prompt(self, messages: list[dict]) -> str:
        """The prompt text the chat template makes of `messages`, ending with the assistant header."""
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def generate(self, messages: list[dict], *, max_tokens: int = 200, temperature: float = 0.0,
                 stop: list[str] | None = None, on_token: OnToken | None = None) -> str:
        from transformers import TextIteratorStreamer

        inputs = self.tokenizer(self.format_prompt(messages), return_tensors="pt", add_special_tokens=False)
        pad = self.tokenizer.pad_token_id
        kw = dict(**inputs, max_new_tokens=max_tokens, do_sample=temperature > 0,
                  pad_token_id=self.tokenizer.eos_token_id if pad is None else pad)
        if temperature > 0:
            kw.update(temperature=temperature, top_k=0, top_p=1.0)
        if stop:
            kw.update(stop_strings=stop, tokenizer=self.tokenizer)
        with self._lock:
            if on_token is None:
                try:
                    out = self.model.generate(**kw)[0, inputs["input_ids"].shape[1]:]
                except (RuntimeError, ValueError, IndexError) as e:  # e.g. prompt too long for the model
                    raise GeneratorError(f"transformers ({self.name}): {e}") from e
                return cut_at_stop(self.tokenizer.decode(out, skip_special_tokens=True), stop)
            streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
            return self._stream(kw | {"streamer": streamer}, streamer, stop, on_token)

    def _stream(self, kw: dict, streamer, stop: list[str] | None, on_token: OnToken) -> str:
        import torch
        from transformers import StoppingCriteriaList

        failure: list[BaseException] = []
        cancel = threading.Event()  # set once the caller no longer wants tokens
        kw["stopping_criteria"] = StoppingCriteriaList(
            [lambda ids, scores, **_: torch.full((ids.shape[0],), cancel.is_set(), dtype=torch.bool)])

        def run() -> None:
            try:
                self.model.generate(**kw)
            except BaseException as e:  # handed to the caller's thread below
                failure.append(e)
                streamer.end()

        worker = threading.Thread(target=run, name="transformers-generate", daemon=True)
        worker.start()
        try:
            text = _emit_until_stop(iter(streamer), stop, on_token)
        finally:
            cancel.set()  # stop string seen, or on_token raised: stop generating at the next step
            worker.join()  # the streamer's queue is unbounded, so generate() never blocks on it
        if failure:
            raise GeneratorError(f"transformers ({self.name}): {failure[0]}") from failure[0]
        return text


class OpenAIGenerator:
    """Any OpenAI-compatible chat server (llama.cpp server, vLLM, Ollama, ...) through httpx.

    `timeout` bounds each network step (connecting, and each wait for more data), not the whole
    answer, so a long streamed answer is fine as long as tokens keep coming.
    """

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.name, self.model, self.timeout = f"openai:{model}", model, timeout
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.base_url + "/", headers=headers, timeout=timeout,
                                    transport=transport)

    def generate(self, messages: list[dict], *, max_tokens: int = 200, temperature: float = 0.0,
                 stop: list[str] | None = None, on_token: OnToken | None = None) -> str:
        body = {"model": self.model, "messages": messages, "max_tokens": max_tokens,
                "temperature": temperature, "stream": on_token is not None}
        if stop:
            body["stop"] = stop
        try:
            with self._client.stream("POST", "chat/completions", json=body) as r:
                if r.status_code >= 400:
                    raise GeneratorError(f"taalmodelserver {self.base_url} gaf HTTP {r.status_code}: "
                                         f"{_error_text(r.read())}")
                if on_token is None:
                    return _content(r.read(), "message")
                return _emit_until_stop(_sse_pieces(r.iter_lines()), None, on_token)
        except httpx.TimeoutException as e:
            raise GeneratorTimeout(f"taalmodelserver {self.base_url} antwoordde niet binnen "
                                   f"{self.timeout:g} s") from e
        except httpx.HTTPError as e:
            raise GeneratorError(f"taalmodelserver {self.base_url} onbereikbaar "
                                 f"({type(e).__name__}: {e})") from e

    def close(self) -> None:
        self._client.close()


def _content(raw: bytes | str, key: str) -> str:
    """The text of choice 0 (`key` "message" or "delta") of a JSON chat-completion (chunk)."""
    raw = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        payload = json.loads(raw)
        if "error" in payload:
            raise GeneratorError(f"taalmodelserver meldt: {_error_text(raw)}")
        return (payload["choices"][0][key].get("content") or "") if payload["choices"] else ""
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
        snippet = " ".join(raw[:80].split())
        raise GeneratorError(f"taalmodelserver gaf een onleesbaar antwoord: {snippet}") from e


def _sse_pieces(lines: Iterator[str]) -> Iterator[str]:
    """Text pieces of an OpenAI chat-completion event stream, up to `data: [DONE]`."""
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, comments, `event:` lines
        data = line[5:].strip()
        if data == "[DONE]":
            return
        if piece := _content(data, "delta"):
            yield piece


def _error_text(raw: bytes | str) -> str:
    """One short line from an error body: OpenAI's `error.message` if present, else the text."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        err = json.loads(text).get("error", text)
        text = str(err.get("message", err) if isinstance(err, dict) else err)
    except (ValueError, AttributeError):
        pass
    return " ".join(text.split())[:200] or "(lege body)"


def make_generator(backend: str, model: str | None, cache_dir: Path, *, base_url: str | None = None,
                   api_key: str | None = None, timeout: float = 60.0) -> Generator:
    """A generator from settings values: backend "llama-cpp" (model: a name from GGUF_MODELS,
    default qwen2.5-coder-1.5b, or a .gguf path), "transformers" (model: a folder, a .gguf path or a
    GGUF_MODELS name), "openai" (base_url like http://host:8080/v1; model defaults to "default"),
    or "scripted". "transformers:<path>" is accepted as backend plus model in one string."""
    if ":" in backend and model is None:
        backend, model = backend.split(":", 1)
    if backend == "scripted":
        return ScriptedGenerator()
    if backend == "openai":
        if not base_url:
            raise VraagbaakError("generator 'openai' heeft een base_url nodig, bv. http://localhost:8080/v1")
        return OpenAIGenerator(base_url, model or "default", api_key=api_key, timeout=timeout)
    if backend == "llama-cpp":
        return LlamaCppGenerator(_model_file(model or DEFAULT_GGUF, cache_dir))
    if backend == "transformers":
        if not model:
            raise VraagbaakError("generator 'transformers' heeft een model nodig (map of .gguf-pad)")
        return TransformersGenerator(_model_file(model, cache_dir) if model in GGUF_MODELS else model)
    raise VraagbaakError(f"onbekende generator-backend {backend!r}; kies uit {', '.join(BACKENDS)}")


def _model_file(model: str, cache_dir: Path) -> Path:
    if model in GGUF_MODELS:
        return ensure_gguf(model, cache_dir)
    if model.endswith(".gguf"):
        return Path(model).expanduser()
    raise VraagbaakError(f"onbekend model {model!r}; kies uit {', '.join(GGUF_MODELS)} of geef een .gguf-pad")
