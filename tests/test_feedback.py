"""The feedback store (SQLite, WAL, schema on open) and its export in the eval QA format."""

from __future__ import annotations

import json
import sqlite3

import pytest

from eval.qa import load_qa
from service.feedback import Feedback, FeedbackStore, export_qa, qa_item

CITATION = {"n": 1, "chunk_id": "c130#0", "doc_id": "c130-beleidsreactie", "title": "Beleidsreactie C-130",
            "section": "Inleiding", "page": 1, "text": "…", "quote": "Het detachement werd ingezet.", "score": 0.9}


def down(question: str, **kw) -> Feedback:
    return Feedback("down", question, "Dat staat niet in de rapporten.", [CITATION], "generate", True, **kw)


def test_store_creates_its_file_schema_and_wal_on_open(tmp_path):
    path = tmp_path / "var" / "feedback.sqlite3"
    store = FeedbackStore(path)
    assert path.is_file() and store.journal_mode() == "wal"
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"feedback", "answers"} <= tables


def test_rows_keep_question_answer_citations_mode_and_timestamps(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    history = [{"role": "user", "content": "Wat is MINUSMA?"}, {"role": "assistant", "content": "Een VN-missie."}]
    row_id = store.add(down("Wie was de commandant?", history=history, answered_at="2026-11-30T01:00:00+00:00"))
    [row] = store.rows()
    assert row["id"] == row_id and row["rating"] == "down" and row["question"] == "Wie was de commandant?"
    assert row["citations"] == [CITATION] and row["history"] == history
    assert (row["mode"], row["refused"], row["source"]) == ("generate", True, "web")
    assert row["answered_at"] == "2026-11-30T01:00:00+00:00" and row["created_at"].startswith("20")


def test_bad_rating_is_refused(tmp_path):
    with pytest.raises(ValueError, match="'meh'"):
        FeedbackStore(tmp_path / "f.sqlite3").add(Feedback("meh", "q", "a"))  # type: ignore[arg-type]


def test_a_second_click_by_the_same_user_replaces_the_rating(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    up = Feedback("up", "q", "a", source="slack", user="U1", answer_id="abc")
    first = store.add(up)
    second = store.add(Feedback("down", "q", "a", source="slack", user="U1", answer_id="abc"))
    store.add(Feedback("up", "q", "a", source="slack", user="U2", answer_id="abc"))
    assert first == second
    assert [(r["user"], r["rating"]) for r in store.rows()] == [("U1", "down"), ("U2", "up")]


def test_kept_answers_survive_reopening(tmp_path):
    answer = {"answer": "Van november 2021 tot mei 2022 [1].", "refused": False, "citations": [CITATION]}
    answer_id = FeedbackStore(tmp_path / "f.sqlite3").keep_answer("Hoe lang?", [], answer)
    kept = FeedbackStore(tmp_path / "f.sqlite3").answer(answer_id)
    assert kept["question"] == "Hoe lang?" and kept["answer"] == answer and kept["history"] == []
    assert FeedbackStore(tmp_path / "f.sqlite3").answer("unknown") is None


def test_export_writes_valid_qa_lines_for_thumbs_down(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    store.add(down("Wie was de commandant?"))
    store.add(Feedback("up", "Hoe lang duurde de inzet?", "Zes maanden [1].", [CITATION], "extractive"))
    store.add(down("En waarom?", history=[{"role": "user", "content": "Wat is UNIFIL?"}]))
    store.add(down("Wie was de commandant? "))  # the same question again: one item, the latest row
    out = tmp_path / "out" / "feedback.jsonl"
    assert export_qa(store, out) == 2
    items = load_qa(out)  # the eval harness's own reader accepts the file
    assert [(i["id"], i["question"], i["type"]) for i in items] == [
        ("fb00003", "En waarom?", "followup"), ("fb00004", "Wie was de commandant? ", "feedback")]
    assert items[0]["history"] == [{"role": "user", "content": "Wat is UNIFIL?"}]
    assert items[1]["doc"] == ["c130-beleidsreactie"] and items[1]["key_facts"] == []
    assert items[1]["feedback"]["rating"] == "down" and items[1]["feedback"]["refused"] is True
    assert all(json.loads(line) for line in out.read_text(encoding="utf-8").splitlines())
    assert export_qa(store, tmp_path / "all.jsonl", rating=None) == 3


def test_qa_item_carries_what_the_system_said():
    row = {"id": 7, "question": "Wie?", "history": [], "rating": "up", "answer": "Kolonel X [1].",
           "refused": False, "mode": "generate", "citations": [CITATION], "source": "slack",
           "created_at": "2026-11-30T02:00:00+00:00", "answered_at": None, "comment": None}
    item = qa_item(row)
    assert item["id"] == "fb00007" and item["answer"] == "" and item["evidence"] == []
    assert item["feedback"]["system_answer"] == "Kolonel X [1]."
    assert item["feedback"]["citations"] == [{"n": 1, "doc_id": "c130-beleidsreactie", "title": "Beleidsreactie C-130",
                                              "page": 1, "section": "Inleiding",
                                              "quote": "Het detachement werd ingezet."}]


def test_cli_exports_thumbs_down_as_qa_lines(tmp_path, monkeypatch, capsys):
    from service.cli import main

    db = tmp_path / "var" / "feedback.sqlite3"
    monkeypatch.setenv("VRAAGBAAK_FEEDBACK_DB", str(db))
    assert main(["feedback", "export", "--out", str(tmp_path / "fb.jsonl")]) == 2  # nothing stored yet
    store = FeedbackStore(db)
    store.add(down("Wie was de commandant?"))
    store.add(Feedback("up", "Hoe lang?", "Zes maanden [1]."))
    assert main(["feedback", "export", "--out", str(tmp_path / "fb.jsonl")]) == 0
    assert capsys.readouterr().out.strip().endswith(f"feedback: 1 vragen (down) -> {tmp_path / 'fb.jsonl'}")
    assert [i["question"] for i in load_qa(tmp_path / "fb.jsonl")] == ["Wie was de commandant?"]
