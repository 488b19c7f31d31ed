"""In-process answer latency: the whole pipeline (retrieval, evidence, refusal, answer) over dev questions.

--mode extractive (default, n=60) or --mode generate (n=10, the real language model). Every run goes
through `ask_stream`, so the time to the first 'token' event is measured as well as the total time
to 'done'. Prints p50/p95 total latency, time-to-first-token p50/p95 (generate mode), the prompt size
in model tokens (Answer.prompt_tokens) p50/max, and how many answers were refusals. Follow-up items
are asked with their history. The model is loaded before timing starts; one client, no HTTP.

    .venv/bin/python scripts/bench_answers.py
    .venv/bin/python scripts/bench_answers.py --mode generate --n 6 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from eval.metrics import percentile
from eval.qa import load_qa
from service.config import Settings
from service.qa.pipeline import Pipeline, load_pipeline

DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"
DEFAULT_N = {"extractive": 60, "generate": 10}


def timed_ask(pipeline: Pipeline, item: dict, mode: str) -> dict:
    """One question through ask_stream: total ms, ms to the first token, prompt tokens, refused."""
    t0 = time.perf_counter()
    first = None
    done: dict = {}
    pipeline.retriever.clear_query_cache()  # every timed question embeds its query, as a new one would
    for event in pipeline.ask_stream(item["question"], item.get("history") or [], mode):
        if event.event == "token" and first is None:
            first = (time.perf_counter() - t0) * 1000
        elif event.event == "done":
            done = event.data
    total = (time.perf_counter() - t0) * 1000
    return {"total_ms": total, "ttft_ms": first, "prompt_tokens": done.get("prompt_tokens"),
            "refused": bool(done.get("refused"))}


def run(mode: str, n: int, dev: Path, torch_threads: int | None = None) -> dict:
    items = load_qa(dev)
    pipeline = load_pipeline(Settings(), warm=(mode == "generate"))
    if torch_threads:
        import torch

        torch.set_num_threads(torch_threads)
    timed_ask(pipeline, items[0], mode)  # warm-up: first call fills caches (and the model's KV cache)
    rows = [timed_ask(pipeline, items[i % len(items)], mode) for i in range(n)]
    tokens = [r["prompt_tokens"] for r in rows if r["prompt_tokens"] is not None]
    torch = sys.modules.get("torch")
    return {"mode": mode, "runs": len(rows), "torch_threads": torch.get_num_threads() if torch else None,
            "refused": sum(r["refused"] for r in rows),
            "total_p50_ms": percentile([r["total_ms"] for r in rows], 50),
            "total_p95_ms": percentile([r["total_ms"] for r in rows], 95),
            "ttft_p50_ms": percentile([r["ttft_ms"] for r in rows], 50),
            "ttft_p95_ms": percentile([r["ttft_ms"] for r in rows], 95),
            "prompt_tokens_p50": percentile(tokens, 50), "prompt_tokens_max": max(tokens, default=None)}


def report(r: dict) -> str:
    lines = [f"answers ({r['mode']}, in-process, warm, 1 client, torch threads {r['torch_threads']}): "
             f"{r['runs']} runs, {r['refused']} refused",
             f"  total latency    p50 {r['total_p50_ms']} ms, p95 {r['total_p95_ms']} ms",
             f"  first token      p50 {r['ttft_p50_ms']} ms, p95 {r['ttft_p95_ms']} ms"]
    if r["prompt_tokens_max"] is not None:
        lines.append(f"  prompt tokens    p50 {r['prompt_tokens_p50']:.0f}, max {r['prompt_tokens_max']}")
    else:
        lines.append("  prompt tokens    n/a (no prompt in this mode)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=tuple(DEFAULT_N), default="extractive")
    ap.add_argument("--n", type=int, help="number of timed questions (default 60 extractive, 10 generate)")
    ap.add_argument("--dev", type=Path, default=DEV, help="QA file whose questions are asked")
    ap.add_argument("--torch-threads", type=int, help="set torch's thread count before timing (default: as loaded)")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = ap.parse_args(argv)
    n = args.n if args.n is not None else DEFAULT_N[args.mode]
    if n < 1:
        ap.error("--n must be at least 1")
    result = run(args.mode, n, args.dev, args.torch_threads)
    print(json.dumps(result) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
