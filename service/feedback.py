"""Feedback on answers (👍/👎) in one SQLite file, and its export as eval QA items.

A row keeps everything needed to turn a real question into an eval item later: the question, the
chat history, the answer, its citations, the mode, whether it was a refusal, when it was answered
and when it was rated. The store also keeps the answers it showed in Slack (`keep_answer`), so a
button click carries only an id and still finds the question and answer it rates.

SQLite in WAL mode (readers never wait for the writer), schema created when the store opens, one
connection guarded by a lock (calls are short; both the event loop and worker threads use it).
Deliberately not here: HTTP, Slack, or deciding which feedback is right.

    >>> store = FeedbackStore(Path(":memory:"))
    >>> store.add(Feedback("down", "Wie?", "Dat staat niet in de rapporten.", refused=True))
    1
    >>> qa_item(store.rows("down")[0])["question"]
    'Wie?'
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

RATINGS = ("up", "down")
ANSWER_TTL_S = 90 * 24 * 3600  # answers shown in Slack stay rateable (and shareable) this long
_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    question TEXT NOT NULL,
    history TEXT NOT NULL DEFAULT '[]',
    answer TEXT NOT NULL,
    citations TEXT NOT NULL DEFAULT '[]',
    mode TEXT,
    refused INTEGER NOT NULL DEFAULT 0,
    answered_at TEXT,
    source TEXT NOT NULL,
    user TEXT,
    answer_id TEXT,
    comment TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS feedback_one_per_user ON feedback (answer_id, user);
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    question TEXT NOT NULL,
    history TEXT NOT NULL,
    answer TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Feedback:
    rating: Literal["up", "down"]
    question: str
    answer: str
    citations: list[dict] = field(default_factory=list)
    mode: str | None = None
    refused: bool = False
    history: list[dict] = field(default_factory=list)  # [{"role": "user"|"assistant", "content": str}]
    source: str = "web"  # web | slack
    user: str | None = None
    answer_id: str | None = None  # Slack: one rating per user and answer (a later click replaces it)
    answered_at: str | None = None
    comment: str | None = None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class FeedbackStore:
    """Feedback rows and kept answers in the SQLite file `path` (created with its folder)."""

    def __init__(self, path: Path):
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def add(self, fb: Feedback) -> int:
        """Store one rating; returns its row id. Raises ValueError naming a bad rating."""
        if fb.rating not in RATINGS:
            raise ValueError(f"rating must be 'up' or 'down', not {fb.rating!r}")
        values = (now_iso(), fb.rating, fb.question, _json(fb.history), fb.answer, _json(fb.citations),
                  fb.mode, int(fb.refused), fb.answered_at, fb.source, fb.user, fb.answer_id, fb.comment)
        with self._lock:
            row = self._db.execute(
                "INSERT INTO feedback (created_at, rating, question, history, answer, citations, mode, refused,"
                " answered_at, source, user, answer_id, comment) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (answer_id, user) DO UPDATE SET rating = excluded.rating,"
                " created_at = excluded.created_at RETURNING id", values).fetchone()
        return int(row[0])

    def rows(self, rating: str | None = None) -> list[dict[str, Any]]:
        """Feedback rows, oldest first (`rating` 'up'/'down' filters), JSON columns decoded."""
        sql, args = "SELECT * FROM feedback", ()
        if rating is not None:
            sql, args = sql + " WHERE rating = ?", (rating,)
        with self._lock:
            found = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [{**dict(r), "history": json.loads(r["history"]), "citations": json.loads(r["citations"]),
                 "refused": bool(r["refused"])} for r in found]

    def keep_answer(self, question: str, history: list[dict], answer: dict[str, Any]) -> str:
        """Remember an answer shown in Slack; returns the id its buttons carry."""
        answer_id = uuid.uuid4().hex
        created = time.time()
        with self._lock:
            self._db.execute("DELETE FROM answers WHERE created < ?", (created - ANSWER_TTL_S,))
            self._db.execute("INSERT INTO answers VALUES (?,?,?,?,?)",
                             (answer_id, created, question, _json(history), _json(answer)))
        return answer_id

    def answer(self, answer_id: str) -> dict[str, Any] | None:
        """{"question", "history", "answer" (Answer.to_dict()), "answered_at"} or None when unknown."""
        with self._lock:
            row = self._db.execute("SELECT * FROM answers WHERE id = ?", (answer_id,)).fetchone()
        if row is None:
            return None
        answered_at = datetime.fromtimestamp(row["created"], UTC).isoformat(timespec="seconds")
        return {"question": row["question"], "history": json.loads(row["history"]),
                "answer": json.loads(row["answer"]), "answered_at": answered_at}

    def journal_mode(self) -> str:
        with self._lock:
            return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def qa_item(row: dict[str, Any]) -> dict[str, Any]:
    """One feedback row as an item of the eval QA format (eval/README.md).

    The reference answer, evidence and key facts are unknown until someone reviews the item, so they
    stay empty; what the system said and how it was rated rides along under `feedback`.
    """
    history = row["history"]
    return {
        "id": f"fb{row['id']:05d}",
        "question": row["question"],
        "type": "followup" if history else "feedback",
        "answer": "",
        "doc": sorted({c["doc_id"] for c in row["citations"] if c.get("doc_id")}),
        "evidence": [],
        "key_facts": [],
        "history": history,
        "feedback": {"rating": row["rating"], "system_answer": row["answer"], "refused": row["refused"],
                     "mode": row["mode"], "citations": [_short_citation(c) for c in row["citations"]],
                     "source": row["source"], "rated_at": row["created_at"], "answered_at": row["answered_at"],
                     "comment": row["comment"]},
    }


def export_qa(store: FeedbackStore, out: Path, rating: str | None = "down") -> int:
    """Write rated questions as QA lines to `out` (one item per distinct question and history, the
    latest rating wins); returns the number of lines written."""
    latest: dict[str, dict] = {}
    for row in store.rows(rating):
        latest[_json([row["question"].strip(), row["history"]])] = row
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = _lines(qa_item(row) for row in sorted(latest.values(), key=lambda r: r["id"]))
    out.write_text("".join(lines), encoding="utf-8")
    return len(lines)


def _lines(items: Iterable[dict]) -> list[str]:
    return [json.dumps(item, ensure_ascii=False) + "\n" for item in items]


def _short_citation(c: dict) -> dict:
    return {k: c.get(k) for k in ("n", "doc_id", "title", "page", "section", "quote")}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
