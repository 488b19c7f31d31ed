"""Read QA files in the dev.jsonl format (id, question, answer, doc, evidence, type, key_facts, history)."""

from __future__ import annotations

import json
from pathlib import Path

from service.errors import VraagbaakError

REQUIRED = ("id", "question", "type")


def load_qa(path: Path) -> list[dict]:
    """Items of a QA file; raises VraagbaakError naming the line of a malformed item."""
    if not path.is_file():
        raise VraagbaakError(f"QA-bestand niet gevonden: {path}")
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as e:
            raise VraagbaakError(f"{path}:{n}: geen geldige JSON ({e.msg})") from e
        missing = [k for k in REQUIRED if k not in item]
        if missing:
            raise VraagbaakError(f"{path}:{n}: veld(en) ontbreken: {', '.join(missing)}")
        item.setdefault("evidence", [])
        item.setdefault("key_facts", [])
        item.setdefault("history", [])
        items.append(item)
    if not items:
        raise VraagbaakError(f"QA-bestand is leeg: {path}")
    return items


def retrieval_items(items: list[dict]) -> list[dict]:
    """Items whose retrieval is scored: answerable, with evidence, not follow-ups."""
    return [it for it in items if it["evidence"] and it["type"] not in ("followup", "unanswerable")]
