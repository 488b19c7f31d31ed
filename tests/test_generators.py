"""Generators: the scripted fake, stop handling, an OpenAI-compatible server (a real local uvicorn
serving a fake), the factory's errors, and the transformers backend on a tiny random model."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

from service.errors import GeneratorError, GeneratorTimeout, VraagbaakError
from service.models.generators import (
    OpenAIGenerator,
    ScriptedGenerator,
    ScriptExhausted,
    TransformersGenerator,
    cut_at_stop,
    make_generator,
)
from service.models.generators.base import _emit_until_stop

MSGS = [{"role": "system", "content": "Antwoord kort."}, {"role": "user", "content": "Wie schreef het rapport?"}]


# ---------------------------------------------------------------- scripted fake and stop strings

def test_scripted_replies_in_order_records_calls_and_streams_words() -> None:
    gen = ScriptedGenerator(["Het rapport  is van de AIV [1]."])
    gen.enqueue("Tweede antwoord.")
    pieces: list[str] = []
    assert gen.generate(MSGS, on_token=pieces.append) == "Het rapport  is van de AIV [1]."
    assert pieces == ["Het ", "rapport  ", "is ", "van ", "de ", "AIV ", "[1]."]
    assert gen.generate(MSGS[1:]) == "Tweede antwoord."
    assert gen.calls == [MSGS, MSGS[1:]]
    assert gen.calls[0] is not MSGS  # a copy: later changes by the caller do not rewrite history


def test_scripted_empty_queue_and_enqueued_error() -> None:
    gen = ScriptedGenerator()
    with pytest.raises(ScriptExhausted, match="no reply left"):
        gen.generate(MSGS)
    assert not issubclass(ScriptExhausted, GeneratorError)  # no fallback may catch it
    gen.enqueue(GeneratorTimeout("te traag"))
    with pytest.raises(GeneratorTimeout, match="te traag"):
        gen.generate(MSGS)
    assert len(gen.calls) == 2


@pytest.mark.parametrize("text, stop, expected", [
    ("a b c", None, "a b c"),
    ("a b c", [], "a b c"),
    ("antwoord\n\nVraag: meer", ["\n\nVraag:"], "antwoord"),
    ("x END y STOP", ["STOP", "END"], "x "),  # the earliest match wins, whatever the list order
    ("", ["x"], ""),
])
def test_cut_at_stop(text: str, stop: list[str] | None, expected: str) -> None:
    assert cut_at_stop(text, stop) == expected


@pytest.mark.parametrize("pieces", [
    ["De missie ", "eindigde in 2010.", "\n\nBron", "nen: [1]"],
    ["De missie eindigde in 2010.\n", "\nBronnen: [1]"],  # stop string split over two pieces
    ["De ", "missie ", "eindigde ", "in ", "2010.\n\nBronnen: [1]"],
])
def test_streamed_text_never_includes_any_part_of_a_stop_string(pieces: list[str]) -> None:
    sent: list[str] = []
    assert _emit_until_stop(iter(pieces), ["\n\nBronnen:"], sent.append) == "De missie eindigde in 2010."
    assert "".join(sent) == "De missie eindigde in 2010."


def test_text_held_back_for_a_possible_stop_is_released_at_the_end() -> None:
    sent: list[str] = []
    assert _emit_until_stop(iter(["klaar\n", "\n"]), ["\n\nBronnen:"], sent.append) == "klaar\n\n"
    assert "".join(sent) == "klaar\n\n"


# ---------------------------------------------------------------- OpenAI-compatible server

def _fake_openai_app(seen: list[dict]) -> FastAPI:
    app = FastAPI()

    def chunk(piece: str) -> str:
        return "data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": piece}}]}) + "\n\n"

    async def events(reply: str, stall: bool):
        yield ": keep-alive comment\n\n"
        for i, piece in enumerate(re.findall(r"\S+\s*", reply)):
            if stall and i == 1:
                await asyncio.sleep(1.0)
            yield chunk(piece)
        yield "data: [DONE]\n\n"

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        seen.append({"auth": request.headers.get("authorization"), **body})
        model, reply = body["model"], "Echo: " + body["messages"][-1]["content"]
        if model == "boom":
            return JSONResponse({"error": {"message": "model\noverloaded", "type": "server"}}, status_code=500)
        if model == "slow":
            await asyncio.sleep(1.0)
        if model == "garbage":
            return PlainTextResponse("<html>not json</html>")
        if body.get("stream"):
            return StreamingResponse(events(reply, model == "stall"), media_type="text/event-stream")
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": reply},
                             "finish_reason": "stop"}]}

    return app


@pytest.fixture(scope="module")
def openai_server() -> Iterator[tuple[str, list[dict]]]:
    """A real uvicorn on 127.0.0.1 (random port) serving a fake /v1/chat/completions."""
    import uvicorn

    seen: list[dict] = []
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(_fake_openai_app(seen), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1", seen
    server.should_exit = True
    thread.join(5)


def test_openai_non_streaming(openai_server: tuple[str, list[dict]]) -> None:
    url, seen = openai_server
    gen = OpenAIGenerator(url + "/", "qwen", api_key="geheim")
    assert gen.generate(MSGS, max_tokens=50, stop=["\n\n"]) == "Echo: Wie schreef het rapport?"
    assert seen[-1] == {"auth": "Bearer geheim", "model": "qwen", "messages": MSGS, "max_tokens": 50,
                        "temperature": 0.0, "stream": False, "stop": ["\n\n"]}


def test_openai_streaming(openai_server: tuple[str, list[dict]]) -> None:
    url, seen = openai_server
    pieces: list[str] = []
    assert OpenAIGenerator(url, "qwen").generate(MSGS, on_token=pieces.append) == "Echo: Wie schreef het rapport?"
    assert pieces == ["Echo: ", "Wie ", "schreef ", "het ", "rapport?"]
    assert seen[-1]["stream"] is True and seen[-1]["auth"] is None and "stop" not in seen[-1]


def test_openai_http_error_is_one_line_generator_error(openai_server: tuple[str, list[dict]]) -> None:
    url, _ = openai_server
    with pytest.raises(GeneratorError) as info:
        OpenAIGenerator(url, "boom").generate(MSGS)
    assert not isinstance(info.value, GeneratorTimeout)
    assert str(info.value) == f"taalmodelserver {url} gaf HTTP 500: model overloaded"


@pytest.mark.parametrize("model, on_token", [("slow", None), ("stall", lambda piece: None)])
def test_openai_timeout(openai_server: tuple[str, list[dict]], model: str, on_token) -> None:
    url, _ = openai_server
    with pytest.raises(GeneratorTimeout, match=r"antwoordde niet binnen 0\.3 s"):
        OpenAIGenerator(url, model, timeout=0.3).generate(MSGS, on_token=on_token)


def test_openai_unreachable_server() -> None:
    with socket.socket() as s:  # a port that was free a moment ago and has no listener now
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(GeneratorError, match=rf"127\.0\.0\.1:{port}/v1 onbereikbaar \(ConnectError"):
        OpenAIGenerator(f"http://127.0.0.1:{port}/v1", "qwen", timeout=2).generate(MSGS)


def test_openai_unreadable_body(openai_server: tuple[str, list[dict]]) -> None:
    url, _ = openai_server
    with pytest.raises(GeneratorError, match="onleesbaar antwoord: <html>not json</html>"):
        OpenAIGenerator(url, "garbage").generate(MSGS)


def test_openai_callback_errors_are_not_disguised(openai_server: tuple[str, list[dict]]) -> None:
    url, _ = openai_server

    def client_gone(piece: str) -> None:
        raise ValueError("client disconnected")

    with pytest.raises(ValueError, match="client disconnected"):
        OpenAIGenerator(url, "qwen").generate(MSGS, on_token=client_gone)


# ---------------------------------------------------------------- factory

def test_factory_builds_scripted_and_openai(tmp_path: Path) -> None:
    assert isinstance(make_generator("scripted", None, tmp_path), ScriptedGenerator)
    gen = make_generator("openai", None, tmp_path, base_url="http://localhost:8080/v1", timeout=5)
    assert isinstance(gen, OpenAIGenerator)
    assert (gen.name, gen.model, gen.timeout) == ("openai:default", "default", 5)


@pytest.mark.parametrize("backend, model, kwargs, message", [
    ("gpt", None, {}, "onbekende generator-backend 'gpt'; kies uit llama-cpp, transformers, openai, scripted"),
    ("openai", "qwen", {}, "generator 'openai' heeft een base_url nodig"),
    ("llama-cpp", "llama-70b", {}, "onbekend model 'llama-70b'; kies uit qwen2.5-coder-1.5b"),
    ("llama-cpp", "/nope/model.gguf", {}, "GGUF-model niet gevonden: /nope/model.gguf"),
    ("transformers", None, {}, "generator 'transformers' heeft een model nodig"),
    ("transformers:/nope/folder", None, {}, "transformers-model niet gevonden: /nope/folder"),
])
def test_factory_errors_are_one_line(tmp_path: Path, backend: str, model: str | None, kwargs: dict,
                                     message: str) -> None:
    with pytest.raises(VraagbaakError, match=re.escape(message)) as info:
        make_generator(backend, model, tmp_path, **kwargs)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------- transformers, tiny random model

CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Qwen2 with random weights and a byte-level tokenizer (no merges), saved offline."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    folder = tmp_path_factory.mktemp("tiny-qwen2")
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    tok = Tokenizer(models.BPE({ch: i for i, ch in enumerate(sorted(alphabet))}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   additional_special_tokens=["<|im_start|>"])
    fast.chat_template = CHATML
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id)
    Qwen2ForCausalLM(cfg).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_gen(tiny_model: Path) -> TransformersGenerator:
    return TransformersGenerator(str(tiny_model))


def test_transformers_formats_messages_with_the_chat_template(tiny_gen: TransformersGenerator) -> None:
    assert tiny_gen.format_prompt(MSGS) == (
        "<|im_start|>system\nAntwoord kort.<|im_end|>\n"
        "<|im_start|>user\nWie schreef het rapport?<|im_end|>\n<|im_start|>assistant\n")
    assert tiny_gen.name.startswith("tiny-qwen2")


def test_transformers_greedy_stream_equals_plain(tiny_gen: TransformersGenerator) -> None:
    plain = tiny_gen.generate(MSGS, max_tokens=12)
    pieces: list[str] = []
    assert tiny_gen.generate(MSGS, max_tokens=12, on_token=pieces.append) == plain
    assert tiny_gen.generate(MSGS, max_tokens=12) == plain  # greedy: deterministic
    assert "".join(pieces) == plain and len(plain) > 0


def test_transformers_stop_string_cuts_reply(tiny_gen: TransformersGenerator) -> None:
    full = tiny_gen.generate(MSGS, max_tokens=12)
    stop = full[3:5]
    expected = full[: full.find(stop)]
    pieces: list[str] = []
    assert tiny_gen.generate(MSGS, max_tokens=12, stop=[stop]) == expected
    assert tiny_gen.generate(MSGS, max_tokens=12, stop=[stop], on_token=pieces.append) == expected
    assert "".join(pieces) == expected


def test_transformers_failing_callback_stops_generation_and_frees_the_model(
        tiny_gen: TransformersGenerator) -> None:
    def client_gone(piece: str) -> None:
        raise ConnectionResetError("client disconnected")

    with pytest.raises(ConnectionResetError):
        tiny_gen.generate(MSGS, max_tokens=200, on_token=client_gone)
    assert tiny_gen.generate(MSGS, max_tokens=4) == tiny_gen.generate(MSGS, max_tokens=4)


# ---------------------------------------------------------------- retries and broken streams

def _scripted_transport(replies: list) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering each request with the next reply: an httpx.Response, or an exception to raise."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        reply = replies[len(calls) - 1]
        if isinstance(reply, Exception):
            raise reply
        return reply

    return httpx.MockTransport(handler), calls


def _ok(text: str = "Bamako.") -> httpx.Response:
    return httpx.Response(200, json={"choices": [{"index": 0, "message": {"content": text}, "finish_reason": "stop"}]})


def _sse(*events: str) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"},
                          content="".join(f"data: {e}\n\n" for e in events).encode())


def _delta(piece: str, finish: str | None = None) -> str:
    return json.dumps({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": finish}]})


@pytest.mark.parametrize("replies, sleeps", [
    ([httpx.Response(503), httpx.Response(502), _ok()], [0.5, 1.0]),
    ([httpx.Response(429, headers={"retry-after": "3"}), _ok()], [3.0]),
    ([httpx.Response(503, headers={"retry-after": "3600"}), _ok()], [10.0]),  # capped
    ([httpx.ConnectError("refused"), _ok()], [0.5]),
])
def test_openai_retries_with_backoff(replies: list, sleeps: list[float]) -> None:
    transport, calls = _scripted_transport(replies)
    slept: list[float] = []
    gen = OpenAIGenerator("http://llm/v1", "qwen", transport=transport, sleep=slept.append)
    assert gen.generate(MSGS) == "Bamako."
    assert slept == sleeps and len(calls) == len(replies)


def test_openai_gives_up_after_the_retries() -> None:
    transport, calls = _scripted_transport([httpx.Response(503, text="vol")] * 3)
    slept: list[float] = []
    gen = OpenAIGenerator("http://llm/v1", "qwen", transport=transport, sleep=slept.append, retries=2)
    with pytest.raises(GeneratorError, match="gaf HTTP 503: vol") as info:
        gen.generate(MSGS)
    assert not isinstance(info.value, GeneratorTimeout)
    assert len(calls) == 3 and slept == [0.5, 1.0]


@pytest.mark.parametrize("error", [httpx.ReadTimeout("slow"), httpx.ConnectTimeout("slow")])
def test_openai_timeout_is_not_retried(error: Exception) -> None:
    transport, calls = _scripted_transport([error, _ok()])
    with pytest.raises(GeneratorTimeout, match="antwoordde niet binnen 7 s"):
        OpenAIGenerator("http://llm/v1", "qwen", timeout=7, transport=transport, sleep=lambda s: None).generate(MSGS)
    assert len(calls) == 1


def test_openai_stream_cut_off_midway_is_an_error_not_a_short_answer() -> None:
    transport, calls = _scripted_transport([_sse(_delta("De "), _delta("hoofdstad ")), _ok()])
    pieces: list[str] = []
    gen = OpenAIGenerator("http://llm/v1", "qwen", transport=transport, sleep=lambda s: None)
    with pytest.raises(GeneratorError, match="brak het antwoord midden in af"):
        gen.generate(MSGS, on_token=pieces.append)
    assert pieces == ["De ", "hoofdstad "] and len(calls) == 1  # text had arrived: no second try


@pytest.mark.parametrize("events", [(_delta("Bamako."), "[DONE]"), (_delta("Bamako.", "stop"),)])
def test_openai_stream_ends_with_done_or_a_finish_reason(events: tuple[str, ...]) -> None:
    transport, _ = _scripted_transport([_sse(*events)])
    gen = OpenAIGenerator("http://llm/v1", "qwen", transport=transport)
    assert gen.generate(MSGS, on_token=lambda piece: None) == "Bamako."
