"""Run a QA set against a client (with the resumable cache) and turn the results into metrics.

`collect` is the only impure step: it asks the client (search for retrieval items, ask for every
item) or takes the cached record. `score_item` turns one item and its record into a row of checks,
`summarize` turns rows into metrics, `aggregate` does that overall and per question type. The
metric definitions are in eval/README.md. Does not write reports and does not judge bars.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from eval import metrics as m
from eval.cache import ResultCache, item_key
from eval.clients import Client, Unreachable
from eval.qa import retrieval_items
from service.errors import VraagbaakError

RETRIEVAL_METRICS = ("hit@1", "hit@3", "hit@5", "hit@10", "mrr", "ndcg@10", "all_evidence@10")
ANSWER_METRICS = ("key_fact_recall", "citation_validity", "cited_evidence", "cited_marker_evidence",
                  "supported_sentences", "refusal_accuracy", "false_refusal_rate", "dutch_share",
                  "pass_rate", "error_rate")
STAGES = ("retrieve", "generate", "total", "search")
LATENCY_METRICS = tuple(f"{s}_{p}_ms" for s in STAGES for p in ("p50", "p95")) + (
    "prompt_tokens_p50", "prompt_tokens_p95")
QUALITY_METRICS = RETRIEVAL_METRICS + ANSWER_METRICS
LOWER_IS_BETTER = frozenset({"false_refusal_rate", "error_rate", *LATENCY_METRICS})
EMPTY_ANSWER = {"answer": "", "refused": False, "citations": [], "timings_ms": {}}


def fetch(item: dict, client: Client, k: int, mode: str | None, retrieve: bool) -> dict:
    """Search (when the item's retrieval is scored) and ask; a per-request service error is recorded."""
    record: dict = {"hits": None, "search_ms": None, "answer": None, "ask_ms": None, "error": None}
    try:
        if retrieve:
            t0 = time.perf_counter()
            hits = client.search(item["question"], k)
            record["search_ms"] = round(1000 * (time.perf_counter() - t0), 1)
            record["hits"] = [{key: h.get(key) for key in ("chunk_id", "doc_id", "title", "page", "score",
                                                          "text")} for h in hits]
        t0 = time.perf_counter()
        record["answer"] = client.ask(item["question"], item.get("history") or [], mode)
        record["ask_ms"] = round(1000 * (time.perf_counter() - t0), 1)
    except Unreachable:
        raise
    except VraagbaakError as e:
        record["error"] = str(e)
    return record


def collect(items: list[dict], client: Client, cache: ResultCache, k: int, mode: str | None,
            progress: Callable[[Iterable], Iterable] = iter) -> tuple[list[dict], int]:
    """One record per item (cached ones reused; successes appended to the cache) and the number fetched."""
    scored = {it["id"] for it in retrieval_items(items)}
    records, fetched = [], 0
    for item in progress(items):
        key = item_key(item)
        record = cache.get(key)
        if record is None or (item["id"] in scored and record.get("hits") is None):
            record = fetch(item, client, k, mode, retrieve=item["id"] in scored)
            fetched += 1
            if not record["error"]:
                cache.put(key, item["id"], record)
        records.append(record)
    return records, fetched


def _retrieval(item: dict, record: dict, scored: bool) -> dict | None:
    if not scored:
        return None
    texts = [h.get("text") or "" for h in record.get("hits") or []]
    return m.retrieval_row(texts, item["evidence"])


def _citation_rows(citations: list[dict], evidence: list[str]) -> list[dict]:
    return [{"n": c.get("n"), "doc_id": c.get("doc_id"), "title": c.get("title"), "page": c.get("page"),
             "quote": c.get("quote") or "",
             "holds_evidence": any(m.holds(c.get("text", ""), q) for q in evidence)} for c in citations]


def _checks(item: dict, answer: dict) -> dict:
    text, cits = answer.get("answer") or "", answer.get("citations") or []
    refused = bool(answer.get("refused"))
    unanswerable, spoken = item["type"] == "unanswerable", not refused
    ev = [] if unanswerable else item["evidence"]
    return {
        "refused": refused,
        "correct_refusal": refused if unanswerable else None,
        "false_refusal": None if unanswerable else refused,
        "key_fact_recall": None if unanswerable else m.key_fact_recall(
            "" if refused else text, item["key_facts"]),
        "citation_valid": m.citations_valid(text, cits) if spoken else None,
        "cited_evidence": m.cited_evidence(cits, ev) if ev else None,
        "cited_marker_evidence": m.cited_evidence(cits, ev, m.markers(text)) if ev else None,
        "supported_share": m.supported_share(text, cits) if spoken else None,
        "dutch": m.is_dutch(text) if spoken else None,
    }


def _passed(item: dict, checks: dict, error: str | None) -> bool:
    if error:
        return False
    if item["type"] == "unanswerable":
        return bool(checks["refused"])
    return (not checks["refused"] and checks["citation_valid"] is not False
            and checks["cited_evidence"] is not False
            and (checks["key_fact_recall"] is None or checks["key_fact_recall"] >= 0.5))


def score_item(item: dict, record: dict, scored: bool) -> dict:
    """One row: the item, what came back, each check, the timings, and an overall pass mark."""
    answer = record.get("answer") or EMPTY_ANSWER
    checks = _checks(item, answer)
    timings = dict(answer.get("timings_ms") or {})
    return {
        "id": item["id"], "type": item["type"], "question": item["question"],
        "history": item.get("history") or [], "expected": item.get("answer", ""),
        "answer": answer.get("answer") or "", "mode": answer.get("mode"), "error": record.get("error"),
        "citations": _citation_rows(answer.get("citations") or [], item["evidence"]),
        "retrieval": _retrieval(item, record, scored), **checks,
        "timings_ms": {**{s: timings.get(s) for s in ("retrieve", "generate", "total")},
                       "search": record.get("search_ms"), "ask": record.get("ask_ms")},
        "prompt_tokens": answer.get("prompt_tokens"),
        "passed": _passed(item, checks, record.get("error")),
    }


def score(items: list[dict], records: list[dict]) -> list[dict]:
    scored = {it["id"] for it in retrieval_items(items)}
    return [score_item(it, rec, it["id"] in scored) for it, rec in zip(items, records, strict=True)]


def _retrieval_metrics(rows: list[dict]) -> dict:
    ret = [r["retrieval"] for r in rows if r["retrieval"] is not None]
    out = {f"hit@{k}": m.mean(r[f"hit@{k}"] for r in ret) for k in (1, 3, 5, 10)}
    out.update({"mrr": m.mean(r["rr"] for r in ret), "ndcg@10": m.mean(r["ndcg10"] for r in ret),
                "all_evidence@10": m.mean(r["all_evidence10"] for r in ret)})
    return out


def _latency_metrics(rows: list[dict]) -> dict:
    out = {}
    for stage in STAGES:
        values = [r["timings_ms"].get(stage) for r in rows]
        out[f"{stage}_p50_ms"], out[f"{stage}_p95_ms"] = m.percentile(values, 50), m.percentile(values, 95)
    tokens = [r["prompt_tokens"] for r in rows]
    out["prompt_tokens_p50"], out["prompt_tokens_p95"] = m.percentile(tokens, 50), m.percentile(tokens, 95)
    return out


def summarize(rows: list[dict]) -> dict:
    """All metrics over `rows` (None where no row qualifies), plus the counts they rest on."""
    out = {"n": len(rows), "n_retrieval": sum(r["retrieval"] is not None for r in rows)}
    out.update(_retrieval_metrics(rows))
    out.update({
        "key_fact_recall": m.mean(r["key_fact_recall"] for r in rows),
        "citation_validity": m.mean(r["citation_valid"] for r in rows),
        "cited_evidence": m.mean(r["cited_evidence"] for r in rows),
        "cited_marker_evidence": m.mean(r["cited_marker_evidence"] for r in rows),
        "supported_sentences": m.mean(r["supported_share"] for r in rows),
        "refusal_accuracy": m.mean(r["correct_refusal"] for r in rows),
        "false_refusal_rate": m.mean(r["false_refusal"] for r in rows),
        "dutch_share": m.mean(r["dutch"] for r in rows),
        "pass_rate": m.mean(r["passed"] for r in rows),
        "error_rate": m.mean(r["error"] is not None for r in rows),
    })
    out.update(_latency_metrics(rows))
    return out


def aggregate(rows: list[dict]) -> dict:
    """{"overall": metrics, "by_type": {type: metrics}} with types in order of first appearance."""
    types = list(dict.fromkeys(r["type"] for r in rows))
    return {"overall": summarize(rows), "by_type": {t: summarize([r for r in rows if r["type"] == t])
                                                    for t in types}}
