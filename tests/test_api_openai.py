"""POST /v1/chat/completions with the official `openai` client, unchanged, against a real uvicorn
server: non-streaming and streaming, history, the "Bronnen:" list and the extra `citations` field."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from test_api_fakes import FakeQA, fake_settings, running_server

from service.api.app import create_app
from service.api.openai import strip_sources
from service.errors import GeneratorError

QUESTION = "Wanneer werd het C-130 detachement ingezet?"
QUOTE = "Het C-130 detachement werd ingezet van november 2021 tot en met mei 2022."
SOURCES = "\n\nBronnen:\n[1] Beleidsreactie C-130 (fragment), p. 1"
ASK = [{"role": "user", "content": QUESTION}]


@pytest.fixture
def fake() -> FakeQA:
    return FakeQA()


@pytest.fixture
def client(fake: FakeQA) -> Iterator[openai.OpenAI]:
    app = create_app(lambda: fake, fake_settings(api_key="sk-test"))
    with running_server(app) as base:
        assert app.state.runtime.holder.wait(5)
        yield openai.OpenAI(base_url=f"{base}/v1", api_key="sk-test", max_retries=0, timeout=10)


CONVERSATION = [
    {"role": "system", "content": "Je bent een behulpzame assistent."},
    {"role": "user", "content": "Wat evalueerde IOB?"},
    {"role": "assistant", "content": "De bijdrage aan MINUSMA [1]." + SOURCES},
    {"role": "user", "content": QUESTION},
]


def test_non_streaming_completion(client: openai.OpenAI, fake: FakeQA) -> None:
    completion = client.chat.completions.create(model="vraagbaak", messages=CONVERSATION)
    assert completion.model == "vraagbaak" and completion.object == "chat.completion"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert choice.message.content == f"{QUOTE} [1]{SOURCES}"
    extra = completion.model_extra or {}
    assert extra["refused"] is False
    cited = [(c["n"], c["doc_id"], c["quote"]) for c in extra["citations"]]
    assert cited == [(1, "c130-beleidsreactie", QUOTE)]
    name, (question, history, _mode, _k) = fake.calls[0]
    assert (name, question) == ("ask", QUESTION)
    assert [(t.role, t.content) for t in history] == [("user", "Wat evalueerde IOB?"),
                                                      ("assistant", "De bijdrage aan MINUSMA [1].")]


def test_streaming_completion_matches_the_non_streaming_one(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="vraagbaak", messages=CONVERSATION, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == f"{QUOTE} [1]{SOURCES}"
    assert chunks[0].choices[0].delta.role == "assistant"
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert (last.model_extra or {})["citations"][0]["title"] == "Beleidsreactie C-130 (fragment)"
    assert len({c.id for c in chunks}) == 1


def test_a_refusal_streams_its_text_without_sources(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Wat is de beste pizzeria?"}], stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.startswith("Dat staat niet in de rapporten") and "Bronnen:" not in text
    assert (chunks[-1].model_extra or {})["refused"] is True


def test_models_lists_vraagbaak(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["vraagbaak"]


def test_errors_reach_the_client(client: openai.OpenAI, fake: FakeQA) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as bad:
        client.chat.completions.create(model="vraagbaak", messages=[{"role": "assistant", "content": "Hoi"}])
    assert "laatste bericht" in bad.value.body  # the client keeps our `error` sentence as its body
    fake.fail = GeneratorError("llama-server gaf 500")
    with pytest.raises(openai.APIStatusError) as failed:
        client.chat.completions.create(model="vraagbaak", messages=ASK)
    assert failed.value.status_code == 502
    with pytest.raises(openai.APIError, match="llama-server gaf 500"):
        list(client.chat.completions.create(model="vraagbaak", messages=ASK, stream=True))
    unauthorized = openai.OpenAI(base_url=client.base_url, api_key="fout", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        unauthorized.chat.completions.create(model="vraagbaak", messages=ASK)


def test_strip_sources_keeps_only_the_answer() -> None:
    assert strip_sources("Antwoord [1]." + SOURCES) == "Antwoord [1]."
    assert strip_sources("Geen bronnen.") == "Geen bronnen."
