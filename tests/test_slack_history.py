"""Slack text to questions, and a thread to chat history."""

from __future__ import annotations

import pytest

from service.slack.blocks import WORD_JOINER
from service.slack.history import question_text, thread_turns


@pytest.mark.parametrize(("text", "question"), [
    ("<@UBOT> Wat deed Nederland in Mali?", "Wat deed Nederland in Mali?"),
    ("<@UBOT|vraagbaak>   Hoe lang?  ", "Hoe lang?"),
    ("Vraag van <@U42> over <https://example.org/x|het rapport> &amp; meer", "Vraag van @U42 over het rapport & meer"),
    ("<!here> wat staat er in <https://example.org>?", "@here wat staat er in https://example.org?"),
    ("<!subteam^S1|@defensie> weet jij dit?", "@defensie weet jij dit?"),
    ("<@UBOT>", ""),
])
def test_question_text(text, question):
    assert question_text(text, "UBOT") == question


def test_thread_turns_in_order_bounded_without_other_bots():
    messages = [
        {"user": "U1", "ts": "1.0", "text": "<@UBOT> Wie leidde MINUSMA?"},
        {"user": "UBOT", "bot_id": "BBOT", "ts": "2.0",
         "text": f"Een Deense generaal [1] &amp; staf.\n\nBronnen: [1] IOB-evaluatie, p. 3 @{WORD_JOINER}here"},
        {"bot_id": "BOTHER", "ts": "2.5", "text": "herinnering"},
        {"user": "UBOT", "bot_id": "BBOT", "ts": "2.7",
         "text": "Het taalmodel gaf een fout. Probeer het later opnieuw. (referentie: slack-0123456789ab)"},
        {"user": "U2", "ts": "3.0", "text": ""},
        {"user": "U1", "ts": "4.0", "text": "<@UBOT> En daarna?"},  # the current message
        {"user": "U1", "ts": "5.0", "text": "later"},
    ]
    assert thread_turns(messages, "4.0", "UBOT", "BBOT") == [
        {"role": "user", "content": "Wie leidde MINUSMA?"},
        {"role": "assistant", "content": "Een Deense generaal [1] & staf."},
    ]
    many = [{"user": "U1", "ts": f"{i}.0", "text": f"vraag {i}"} for i in range(1, 30)]
    turns = thread_turns(many, "30.0", "UBOT", "BBOT", max_turns=10)
    assert [t["content"] for t in turns] == [f"vraag {i}" for i in range(20, 30)]
