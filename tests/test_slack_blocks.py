"""Block Kit rendering: escaping, defused mentions, Slack's limits, the fallback text."""

from __future__ import annotations

import json

import pytest

from service.slack.blocks import (
    MAX_BLOCKS,
    SECTION_LIMIT,
    WORD_JOINER,
    answer_blocks,
    fallback_text,
    safe,
    split_text,
)

WJ = WORD_JOINER
CITATION = {"n": 1, "doc_id": "unifil", "title": "UNIFIL <rapport> & bijlage", "page": 4, "section": "2.1 Inzet",
            "quote": "Meld dit aan @channel en <!here> of <@U123>.", "text": "…"}


@pytest.mark.parametrize(("raw", "shown"), [
    ("A & B", "A &amp; B"),
    ("<script>", "&lt;script&gt;"),
    ("@channel kijk", f"@{WJ}channel kijk"),
    ("@here en @everyone", f"@{WJ}here en @{WJ}everyone"),
    ("<!channel>", "&lt;!channel&gt;"),
    ("<@U024BE7LH>", f"&lt;@{WJ}U024BE7LH&gt;"),
    ("<!subteam^S012>", "&lt;!subteam^S012&gt;"),
    ("mail info@defensie.nl", f"mail info@{WJ}defensie.nl"),
    ("5 @ 10 euro", "5 @ 10 euro"),
])
def test_text_is_escaped_and_mentions_defused(raw, shown):
    assert safe(raw) == shown


def test_answer_then_sources_then_feedback_buttons():
    answer = {"answer": "UNIFIL is een VN-missie in Libanon [1].", "refused": False, "citations": [CITATION]}
    blocks = answer_blocks(answer, "id1")
    assert [b["type"] for b in blocks] == ["section", "section", "context", "actions"]
    assert blocks[1]["text"]["text"] == "*Bronnen*"
    assert blocks[2]["elements"][0]["text"] == (
        f"*[1]* UNIFIL &lt;rapport&gt; &amp; bijlage, p. 4 · 2.1 Inzet\n"
        f"_“Meld dit aan @{WJ}channel en &lt;!here&gt; of &lt;@{WJ}U123&gt;.”_")
    assert [e["value"] for e in blocks[3]["elements"]] == ["id1", "id1"]
    assert "<!here>" not in json.dumps(blocks) and "<@U123>" not in json.dumps(blocks)


def test_refusal_is_said_plainly_without_sources():
    refusal = {"answer": "Dat staat niet in de rapporten die ik kan raadplegen. De meest verwante passages komen "
                         "uit: Eindevaluatie MINUSMA.", "refused": True, "citations": []}
    blocks = answer_blocks(refusal, "id2")
    assert [b["type"] for b in blocks] == ["section", "actions"]
    assert blocks[0]["text"]["text"].startswith("Dat staat niet in de rapporten")
    assert "Eindevaluatie MINUSMA" in fallback_text(refusal) and "Bronnen" not in fallback_text(refusal)


def test_long_answers_split_into_sections_of_at_most_3000_characters():
    text = " ".join(f"Zin nummer {i} over de inzet in Mali [1]." for i in range(400))  # ~17,000 characters
    blocks = answer_blocks({"answer": text, "citations": [CITATION]})
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"][:-1]
    assert len(sections) >= 6 and all(len(s) <= SECTION_LIMIT for s in sections)
    assert " ".join(sections) == text  # cut at spaces, nothing lost


def test_block_count_stays_within_50_with_many_sources():
    many = [{**CITATION, "n": n} for n in range(1, 80)]
    blocks = answer_blocks({"answer": "Veel bronnen.", "citations": many}, "id3", share=True)
    assert len(blocks) == MAX_BLOCKS
    assert blocks[-2]["elements"][0]["text"].startswith("… en nog ")
    shown = sum(1 for b in blocks if b["type"] == "context" and b["elements"][0]["text"].startswith("*["))
    assert blocks[-2]["elements"][0]["text"] == f"… en nog {79 - shown} bronnen"
    assert blocks[-1]["type"] == "actions" and len(blocks[-1]["elements"]) == 3


def test_long_quotes_are_shortened():
    long_quote = {**CITATION, "quote": "woord " * 200}
    text = answer_blocks({"answer": "x", "citations": [long_quote]})[2]["elements"][0]["text"]
    assert len(text) < 400 and text.endswith("…”_")


def test_fallback_text_lists_sources_and_is_bounded():
    answer = {"answer": "Een antwoord @here [1].", "citations": [CITATION]}
    assert fallback_text(answer) == (f"Een antwoord @{WJ}here [1].\n\n"
                                     "Bronnen: [1] UNIFIL &lt;rapport&gt; &amp; bijlage, p. 4 · 2.1 Inzet")
    assert len(fallback_text({"answer": "a" * 10_000})) == 3000


def test_split_text_prefers_sentence_ends():
    assert split_text("Eerste zin. Tweede zin.", limit=15) == ["Eerste zin.", "Tweede zin."]
    assert split_text("", limit=10) == []
