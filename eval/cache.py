"""A resumable cache of service results, one JSON line per question, keyed by question and configuration.

The configuration key hashes what changes answers: the mode, the target ("in-process" or the base
URL), the retrieval depth k and the service's `info()` (index manifest, embedder, generator) with
volatile fields (uptime, counters) removed. Lines are appended and fsynced one at a time, so a run
that crashes keeps everything it finished; a torn last line is ignored. Errors are never cached.
Does not decide what to ask or how to score it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

VOLATILE = frozenset({"uptime", "uptime_s", "started", "started_at", "now", "time", "requests", "queue",
                      "queued", "busy", "in_flight", "ready", "status", "generation_pending", "pending"})


def stable_info(info: object) -> object:
    """`info` without volatile keys (at any depth), for hashing."""
    if isinstance(info, dict):
        return {k: stable_info(v) for k, v in sorted(info.items()) if k not in VOLATILE}
    if isinstance(info, list):
        return [stable_info(v) for v in info]
    return info


def _digest(value: object) -> str:
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def config_key(mode: str | None, target: str, info: dict, k: int) -> str:
    """Hash of everything that changes the service's results for the same question."""
    return _digest({"mode": mode or "default", "target": target, "k": k, "info": stable_info(info)})


def item_key(item: dict) -> str:
    """Hash of what is sent for one QA item: the question and its chat history."""
    return _digest({"question": item["question"], "history": item.get("history") or []})


class ResultCache:
    """Results of one configuration, read from and appended to a JSONL file."""

    def __init__(self, path: Path, config: str):
        self.path, self.config = path, config
        self._records: dict[str, dict] = {}
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line torn by a crash
                if isinstance(entry, dict) and entry.get("config") == config:
                    self._records[entry["item"]] = entry["record"]

    def __len__(self) -> int:
        return len(self._records)

    def get(self, key: str) -> dict | None:
        return self._records.get(key)

    def put(self, key: str, item_id: str, record: dict) -> None:
        self._records[key] = record
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"config": self.config, "item": key, "id": item_id, "record": record},
                          ensure_ascii=False)
        with self.path.open("a", encoding="utf-8") as f:
            if f.tell() and not self._ends_with_newline():
                f.write("\n")  # start clean after a torn line
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"
