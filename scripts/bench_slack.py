"""Slack acknowledgement latency while the generator is busy, and exactly-once answers.

Serves the real HTTP app (`create_app`, Slack enabled, a fake QA service whose `ask` takes
`--delay` seconds, one generation slot) with uvicorn on 127.0.0.1, points its Slack client at a fake
Slack Web API on 127.0.0.1, and sends `--events` signed `app_mention` events, `--concurrency` at a
time; every `--retry-every`-th delivery repeats an earlier event with X-Slack-Retry-Num (as Slack
does when it did not see a 200 in time). Prints acknowledgement p50/p99/max (the time until Slack
would have its 200), the distinct events, and the answers posted (must be equal).

    .venv/bin/python scripts/bench_slack.py [--events 200] [--delay 0.05] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from slack_fakes import BOT_TOKEN, BOT_USER, SECRET, FakeQA, FakeSlackAPI, event_body, message, signed_headers  # noqa: E402
from test_api_fakes import running_server  # noqa: E402

from service.api.app import create_app  # noqa: E402

BAR_P99_MS = 300.0


def deliveries(n: int, retry_every: int) -> list[tuple[str, str, str | None]]:
    """(event_id, ts, retry number or None) for n deliveries; every retry_every-th repeats an earlier event."""
    out: list[tuple[str, str, str | None]] = []
    distinct = 0
    for i in range(n):
        if retry_every and i % retry_every == retry_every - 1 and distinct:
            j = distinct // 2 + 1  # an earlier event, redelivered
            out.append((f"Ev{j:04d}", f"{1000 + j}.000100", "1"))
        else:
            distinct += 1
            out.append((f"Ev{distinct:04d}", f"{1000 + distinct}.000100", None))
    return out


async def send_all(base_url: str, plan: list[tuple[str, str, str | None]], concurrency: int) -> list[float]:
    limit = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(client: httpx.AsyncClient, event_id: str, ts: str, retry: str | None) -> None:
        body = event_body(message(f"<@{BOT_USER}> Vraag {event_id}: hoe lang duurde de inzet?", ts), event_id)
        headers = signed_headers(body, **({"x-slack-retry-num": retry} if retry else {}))
        async with limit:
            start = time.perf_counter()
            response = await client.post("/slack/events", content=body, headers=headers)
            latencies.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        await asyncio.gather(*(one(client, *d) for d in plan))
    return latencies


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--delay", type=float, default=0.05, help="seconds per answer in the fake generator")
    ap.add_argument("--concurrency", type=int, default=8, help="deliveries in flight at once")
    ap.add_argument("--retry-every", type=int, default=5, help="every n-th delivery is a retry (0: none)")
    args = ap.parse_args()

    fake, qa = FakeSlackAPI(), FakeQA(delay=args.delay)
    plan = deliveries(args.events, args.retry_every)
    distinct = len({d[0] for d in plan})
    with tempfile.TemporaryDirectory() as tmp:
        settings = SimpleNamespace(api_key=None, cors_origins=[], max_concurrent_generations=1, max_queue=8,
                                   feedback_db=Path(tmp) / "feedback.sqlite3", slack_bot_token=BOT_TOKEN,
                                   slack_signing_secret=SECRET, slack_api_url=fake.base_url,
                                   slack_max_queue=args.events, slack_timeout_s=300.0)
        app = create_app(lambda: qa, settings)
        with running_server(app) as base_url:
            httpx.get(f"{base_url}/readyz", timeout=10)
            start = time.perf_counter()
            latencies = asyncio.run(send_all(base_url, plan, args.concurrency))
            sent_s = time.perf_counter() - start
            deadline = time.monotonic() + distinct * args.delay * 3 + 30
            while len(fake.to("chat.postMessage")) < distinct and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # a late duplicate would show up here
            answered_s = time.perf_counter() - start
    posts = fake.to("chat.postMessage")
    fake.close()
    quantiles = statistics.quantiles(latencies, n=100)
    p50, p99 = statistics.median(latencies), quantiles[98]
    threads = {p["thread_ts"] for p in posts}
    print(f"deliveries {len(plan)} ({len(plan) - distinct} retries), concurrency {args.concurrency}, "
          f"generator {args.delay * 1000:.0f} ms per answer, 1 slot")
    print(f"ack latency ms: p50 {p50:.1f}  p99 {p99:.1f}  max {max(latencies):.1f}  (all sent in {sent_s:.2f} s)")
    print(f"distinct events {distinct}, answers posted {len(posts)} in {len(threads)} threads "
          f"(all answered after {answered_s:.1f} s); questions asked {len(qa.calls)}")
    ok = p99 <= BAR_P99_MS and len(posts) == distinct == len(threads) == len(qa.calls)
    print("bar (p99 <= 300 ms, answers == distinct events):", "met" if ok else "NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
