"""Answer latency over HTTP, as a client sees it: POST /v1/ask and POST /v1/ask/stream against a running
service, one client, questions of a QA file (follow-ups with their history).

For /v1/ask: total time p50/p95. For /v1/ask/stream: time to the first answer text (the first 'token'
event), total time, and whether the streamed text equals the final answer of the 'done' event (what
streams is what stays). Prints the figures; `--json` prints them as one object.

    .venv/bin/python scripts/bench_answers.py --serve --mode extractive     # starts and stops its own server
    .venv/bin/python scripts/bench_answers.py --mode generate --n 20 --base-url http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.metrics import percentile  # noqa: E402

DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


def _post(base: str, path: str, body: dict, timeout: float):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    return urllib.request.urlopen(req, timeout=timeout)


def ask(base: str, body: dict, timeout: float) -> float:
    t0 = time.perf_counter()
    with _post(base, "/v1/ask", body, timeout) as r:
        json.loads(r.read())
    return (time.perf_counter() - t0) * 1000


def ask_stream(base: str, body: dict, timeout: float) -> dict:
    """Time to the first 'token' event, total time, and streamed text vs the 'done' answer."""
    t0, first, event, pieces, done = time.perf_counter(), None, None, [], {}
    with _post(base, "/v1/ask/stream", body, timeout) as r:
        for raw in r:
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                if event == "token":
                    first = first or (time.perf_counter() - t0) * 1000
                    pieces.append(data["text"])
                elif event == "done":
                    done = data
    return {"first_ms": first, "total_ms": (time.perf_counter() - t0) * 1000,
            "same": "".join(pieces) == done.get("answer"), "refused": bool(done.get("refused"))}


def run(base: str, mode: str, n: int, qa: Path, timeout: float) -> dict:
    items = [json.loads(line) for line in qa.open(encoding="utf-8") if line.strip()]
    body = lambda it: {"question": it["question"], "history": it.get("history") or [], "mode": mode}  # noqa: E731
    ask(base, body(items[0]), timeout)  # warm-up: loads the language model on its first question
    asks, streams = [], []
    for i in range(n):  # the stream asks another question than the ask before it: no prompt cache reuse
        asks.append(ask(base, body(items[i % len(items)]), timeout))
        streams.append(ask_stream(base, body(items[(i + len(items) // 2) % len(items)]), timeout))
    return {"mode": mode, "runs": n, "refused": sum(s["refused"] for s in streams),
            "ask_p50_ms": percentile(asks, 50), "ask_p95_ms": percentile(asks, 95),
            "stream_first_text_p50_ms": percentile([s["first_ms"] for s in streams], 50),
            "stream_first_text_p95_ms": percentile([s["first_ms"] for s in streams], 95),
            "stream_total_p50_ms": percentile([s["total_ms"] for s in streams], 50),
            "streamed_equals_final": sum(s["same"] for s in streams)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-url", default="http://127.0.0.1:8000")
    ap.add_argument("--mode", choices=("extractive", "generate"), default="extractive")
    ap.add_argument("--n", type=int, default=30, help="questions timed (each asked once per endpoint)")
    ap.add_argument("--qa", type=Path, default=DEV, help="QA file whose questions are asked")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--serve", action="store_true", help="start `vraagbaak serve` on a free loopback port")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    proc = None
    if a.serve:
        from eval.clients import start_local_server

        proc, a.base_url = start_local_server()
    try:
        r = run(a.base_url.rstrip("/"), a.mode, a.n, a.qa, a.timeout)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
    if a.json:
        print(json.dumps(r))
        return 0
    print(f"answers over HTTP ({r['mode']}, {a.base_url}, 1 client): {r['runs']} questions, {r['refused']} refused")
    print(f"  /v1/ask           p50 {r['ask_p50_ms']} ms, p95 {r['ask_p95_ms']} ms")
    print(f"  /v1/ask/stream    first answer text p50 {r['stream_first_text_p50_ms']} ms, "
          f"p95 {r['stream_first_text_p95_ms']} ms; total p50 {r['stream_total_p50_ms']} ms")
    print(f"  streamed text equals the final answer: {r['streamed_equals_final']} of {r['runs']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
