"""The `openai` generator against a real OpenAI-compatible server: `python -m llama_cpp.server` with the
bundled GGUF on 127.0.0.1 (one thread), started and stopped here. Slow tier.

Checked: non-streaming and streaming give the same text, the same text as llama-cpp in process at
temperature 0, a too-short timeout is GeneratorTimeout (504 from our API), a server that is down is
GeneratorError (502), and a server killed in the middle of a stream ends our SSE stream with a clean
`error` event instead of hanging. The API side runs a QAService whose answers come straight from the
remote generator (`RemoteQA`), so nothing in between can hide the failure; the real Pipeline instead
falls back to its extractive answer when the generator fails (service/qa/pipeline.py).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from test_api_fakes import FakeQA, fake_settings, running_server

from service.api.app import create_app
from service.config import Settings
from service.errors import GeneratorError, GeneratorTimeout
from service.models.generators import OpenAIGenerator
from service.types import Answer, StreamEvent

pytestmark = pytest.mark.slow

GGUF = Settings().cache_dir / "models" / "qwen2.5-coder-1.5b.gguf"  # assembled by `vraagbaak setup`
MESSAGES = [
    {"role": "system", "content": "Je beantwoordt vragen in het Nederlands in één volledige zin, alleen uit de bron."},
    {"role": "user", "content": "Bron: Het C-130 detachement werd ingezet van november 2021 tot en met mei 2022, "
                                "als onderdeel van het door Noorwegen gecoördineerde Multinational Rotational "
                                "Concept.\n\nVraag: Welk land coördineerde de inzet van de C-130?"},
]
LONG = [{"role": "user", "content": "Schrijf een lang verhaal van minstens 400 woorden over een vredesmissie."}]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """`python -m llama_cpp.server` on 127.0.0.1:<free port>, one thread, seed 0; `kill()` is SIGKILL."""

    def __init__(self) -> None:
        if not GGUF.is_file():
            pytest.skip(f"needs the GGUF at {GGUF} (vraagbaak setup)")
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(GGUF), "--model_alias", "qwen",
             "--host", "127.0.0.1", "--port", str(self.port), "--n_threads", "1", "--n_ctx", "4096",
             "--seed", "0", "--verbose", "False"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.proc.returncode}")
            try:
                if httpx.get(self.url + "/models", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError("llama_cpp.server did not come up within 180 s")

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaServer]:
    s = LlamaServer()
    yield s
    s.stop()


def test_non_streaming_and_streaming(server: LlamaServer) -> None:
    gen = OpenAIGenerator(server.url, "qwen", timeout=120)
    whole = gen.generate(MESSAGES, max_tokens=80, temperature=0.0, stop=["\n"])
    pieces: list[str] = []
    streamed = gen.generate(MESSAGES, max_tokens=80, temperature=0.0, stop=["\n"], on_token=pieces.append)
    print(f"\nremote answer: {whole!r}\nstreamed in {len(pieces)} pieces: {streamed!r}")
    assert "Noorwegen" in whole and "Noorwegen" in streamed
    assert streamed == "".join(pieces) and len(pieces) > 5


def test_same_answers_as_in_process_at_temperature_zero() -> None:
    """A fresh server and a fresh in-process model, the same question twice each: the same texts in the
    same order. (The second answer may differ from the first in both places: the repeated prompt is served
    from the KV cache, and one-token batches round differently from a whole-prompt batch.)"""
    from service.models.generators import LlamaCppGenerator

    fresh = LlamaServer()
    try:
        gen = OpenAIGenerator(fresh.url, "qwen", timeout=120)
        remote = [gen.generate(MESSAGES, max_tokens=40, temperature=0.0) for _ in range(2)]
    finally:
        fresh.stop()
    llm = LlamaCppGenerator(GGUF, n_threads=1)
    local = [llm.generate(MESSAGES, max_tokens=40, temperature=0.0) for _ in range(2)]
    print(f"\nin process: {local}\nremote:     {remote}")
    assert remote == local and all(remote)


def test_a_slow_server_is_a_timeout_and_not_retried(server: LlamaServer) -> None:
    gen = OpenAIGenerator(server.url, "qwen", timeout=0.05, backoff=0.0)
    t = time.perf_counter()
    with pytest.raises(GeneratorTimeout, match=r"antwoordde niet binnen 0\.05 s"):
        gen.generate(LONG, max_tokens=200)
    assert time.perf_counter() - t < 2.0
    assert OpenAIGenerator(server.url, "qwen", timeout=120).generate(MESSAGES, max_tokens=5)  # still serving


def test_a_server_that_is_down_is_a_generator_error_after_retries() -> None:
    port = _free_port()
    slept: list[float] = []
    gen = OpenAIGenerator(f"http://127.0.0.1:{port}/v1", "qwen", timeout=5, sleep=slept.append)
    with pytest.raises(GeneratorError, match="onbereikbaar") as info:
        gen.generate(MESSAGES)
    assert not isinstance(info.value, GeneratorTimeout) and slept == [0.5, 1.0]


# -- through our API -------------------------------------------------------------------------------------

class RemoteQA(FakeQA):
    """FakeQA's search and documents, but every answer straight from the remote generator."""

    def __init__(self, gen: OpenAIGenerator):
        super().__init__()
        self.gen = gen

    def ask(self, question, history=None, mode=None, k=None):
        return Answer(self.gen.generate(LONG, max_tokens=300), False, (), {}, "generate", question)

    def ask_stream(self, question, history=None, mode=None, k=None) -> Iterator[StreamEvent]:
        events: queue.Queue = queue.Queue()

        def run() -> None:
            try:
                events.put(("done", self.gen.generate(LONG, max_tokens=400, on_token=lambda p: events.put(("t", p)))))
            except Exception as e:  # handed to the consumer below
                events.put(("error", e))

        threading.Thread(target=run, daemon=True).start()
        yield StreamEvent("sources", {"sources": []})
        while True:
            kind, value = events.get(timeout=300)
            if kind == "t":
                yield StreamEvent("token", {"text": value})
            elif kind == "done":
                yield StreamEvent("done", {"answer": value})
                return
            else:
                raise value


def _api(gen: OpenAIGenerator):
    return running_server(create_app(lambda: RemoteQA(gen), fake_settings()))


def test_our_api_says_502_when_the_server_is_down_and_504_when_it_is_slow(server: LlamaServer) -> None:
    down = OpenAIGenerator(f"http://127.0.0.1:{_free_port()}/v1", "qwen", timeout=5, backoff=0.01)
    with _api(down) as base:
        r = httpx.post(base + "/v1/ask", json={"question": "Wie coördineerde de C-130?"}, timeout=30)
        assert r.status_code == 502 and r.json()["error_type"] == "generator"
        assert "taalmodelserver" in r.json()["error"] and "onbereikbaar" in r.json()["error"]
    slow = OpenAIGenerator(server.url, "qwen", timeout=0.05)
    with _api(slow) as base:
        r = httpx.post(base + "/v1/ask", json={"question": "Wie coördineerde de C-130?"}, timeout=30)
        assert r.status_code == 504 and r.json()["error_type"] == "generator_timeout"
        print(f"\n502: {down.base_url} down; 504: {r.json()['error']}")


def test_server_killed_mid_stream_ends_the_stream_with_an_error_event() -> None:
    victim = LlamaServer()
    try:
        with _api(OpenAIGenerator(victim.url, "qwen", timeout=30)) as base:
            events: list[tuple[str, dict]] = []
            t0 = time.perf_counter()
            with httpx.stream("POST", base + "/v1/ask/stream", json={"question": "Vertel over Mali."},
                              timeout=60) as r:
                assert r.status_code == 200
                name = None
                for line in r.iter_lines():
                    if line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:"):
                        events.append((name, json.loads(line[5:])))
                        if sum(e == "token" for e, _ in events) == 3:
                            victim.kill()
                            killed = time.perf_counter()
            ended = time.perf_counter()
    finally:
        victim.stop()
    names = [e for e, _ in events]
    print(f"\nkilled after {killed - t0:.1f} s and {names.count('token')} tokens; stream ended "
          f"{ended - killed:.2f} s later with {names[-1]!r}: {events[-1][1]}")
    assert names[0] == "sources" and names.count("token") >= 3 and "done" not in names
    assert names[-1] == "error" and events[-1][1]["status"] == 502
    assert "brak het antwoord midden in af" in events[-1][1]["error"]
    assert ended - killed < 5.0
