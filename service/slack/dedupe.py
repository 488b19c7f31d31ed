"""Exactly-once for Slack deliveries: a store of seen keys (event ids, message ids) that expire.

Slack redelivers an event when it did not see a 200 within 3 seconds (`X-Slack-Retry-Num`, Socket
Mode `retry_attempt`), and one message can arrive as two events (`app_mention` and `message.im`).
A listener claims every key of a delivery at once; only the first claim of any of them wins. Keys
live in SQLite (the feedback file, its own table), so two worker processes and a restart agree.

    >>> seen = SeenEvents(Path(":memory:"))
    >>> seen.claim("event:Ev1", "msg:C1:1.0"), seen.claim("event:Ev2", "msg:C1:1.0")
    (True, False)
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

DEFAULT_TTL_S = 3600.0  # Slack retries after ~0 s, 1 min and 5 min; an hour is ample
_PRUNE_EVERY_S = 60.0


class SeenEvents:
    def __init__(self, path: Path, ttl_s: float = DEFAULT_TTL_S):
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS slack_seen (key TEXT PRIMARY KEY, seen REAL NOT NULL)")
        self._pruned = 0.0

    def claim(self, *keys: str, now: float | None = None) -> bool:
        """True when none of `keys` was seen within the TTL (and records them all); False otherwise."""
        now = time.time() if now is None else now
        keys = tuple(k for k in keys if k)
        if not keys:
            return True
        with self._lock:
            if now - self._pruned > _PRUNE_EVERY_S:
                self._db.execute("DELETE FROM slack_seen WHERE seen < ?", (now - self.ttl_s,))
                self._pruned = now
            self._db.execute("BEGIN IMMEDIATE")
            try:
                marks = ",".join("?" * len(keys))
                fresh = self._db.execute(f"SELECT 1 FROM slack_seen WHERE key IN ({marks}) AND seen >= ? LIMIT 1",
                                         (*keys, now - self.ttl_s)).fetchone() is None
                if fresh:
                    self._db.executemany("INSERT OR REPLACE INTO slack_seen VALUES (?, ?)", [(k, now) for k in keys])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return fresh

    def close(self) -> None:
        with self._lock:
            self._db.close()
