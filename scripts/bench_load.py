"""Load benchmark for a running Vraagbaak API: N concurrent clients for D seconds, mixing /v1/search
and /v1/ask, on a loopback address only.

Each client keeps one request in flight. A share of the clients (--ask-share, default half) only
asks, keeping generation busy; the others only search, so the search latency is measured while
generation is busy rather than starved by clients waiting for answers.

Prints the count per endpoint and status, and the /v1/search latency (p50/p95) overall and while at
least one /v1/ask of this run was in flight ("generation busy"). Expected of a healthy server: no 5xx,
no transport errors, and every /v1/ask answered, refused (`refused: true`) or turned away with 429.
Exit code 0 when that holds, 1 otherwise.

Every request is a new text (a request number is appended) unless --repeat-queries is given, so the
server's query-vector cache cannot flatter the figures: each search embeds its query.

Asks are a mix: --extractive-share of them (default half) ask in mode "extractive" (no language model),
the rest in mode "generate". The bars of issue 16 are checked and printed: 0 5xx, nothing unfinished,
/v1/search p95 <= 100 ms while a generation runs, and each generate ask either answered with p95 <= 30 s
or turned away at once (429 within 1 s, p95) with a Retry-After.

Bounded by design: it refuses non-loopback URLs, stops starting requests after --duration, gives
requests in flight --grace seconds more and then cancels them. A client that gets 429 waits
Retry-After (capped at --max-backoff) before its next request. With --serve it starts `vraagbaak serve`
itself on a free 127.0.0.1 port (settings from the environment), prints its resident memory at the start
and the end of the load, and stops it; otherwise it uses the server at --base-url (give --pid for RSS).

    .venv/bin/python scripts/bench_load.py --serve --clients 8 --seconds 300
    .venv/bin/python scripts/bench_load.py --base-url http://127.0.0.1:8765 --duration 20
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

QUESTIONS = [
    "Wanneer werd het C-130 detachement in Mali ingezet?",
    "Wie voerde de eindevaluatie van MINUSMA uit?",
    "Waarom levert Nederland geen vaste bijdrage meer aan PAWA?",
    "Hoe lang bleven West-Afrikaanse VN-eenheden in hun gebied in Mali?",
    "Welke lessen trok IOB voor toekomstige missies?",
    "Wat is de hoofdstad van Australië?",  # not in the reports: expect a refusal
]


@dataclass
class Tally:
    statuses: dict[str, Counter] = field(
        default_factory=lambda: {"/v1/ask": Counter(), "/v1/search": Counter()})
    refused: int = 0
    search_ms: list[float] = field(default_factory=list)
    search_busy_ms: list[float] = field(default_factory=list)
    ask_ms: list[float] = field(default_factory=list)
    ask_ms_by_mode: dict[str, list[float]] = field(default_factory=lambda: {"generate": [], "extractive": []})
    turned_away_ms: list[float] = field(default_factory=list)
    retry_after_s: list[float] = field(default_factory=list)  # Retry-After of each 429 that had one
    retry_after_missing: int = 0
    asks_in_flight: int = 0
    unfinished: int = 0  # cancelled after the grace period
    sent: int = 0
    received: int = 0


def require_loopback(base_url: str) -> None:
    host = urlparse(base_url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as e:
        raise SystemExit(f"bench_load: cannot resolve {host!r}: {e}") from e
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise SystemExit(f"bench_load: refusing {base_url}: loopback only (127.0.0.1, ::1, localhost)")


def load_questions(path: str | None) -> list[str]:
    """Questions from a JSONL file with a "question" field (e.g. the eval set), or the built-in list."""
    if not path:
        return QUESTIONS
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


async def one_request(client: httpx.AsyncClient, tally: Tally, endpoint: str, question: str, k: int,
                      mode: str = "generate") -> float:
    """Send one request, record it; returns the seconds to wait before the next one (429 back-off).
    'Generation busy' counts generate asks only: an extractive ask runs no language model."""
    body = {"question": question, "mode": mode} if endpoint == "/v1/ask" else {"query": question, "k": k}
    generating = endpoint == "/v1/ask" and mode == "generate"
    busy = tally.asks_in_flight > 0
    tally.asks_in_flight += int(generating)
    tally.sent += 1
    start = time.perf_counter()
    try:
        response = await client.post(endpoint, json=body)
    except httpx.HTTPError as e:
        tally.statuses[endpoint][f"error:{type(e).__name__}"] += 1
        return 0.5
    finally:
        tally.asks_in_flight -= int(generating)
    tally.received += 1
    ms = (time.perf_counter() - start) * 1000
    tally.statuses[endpoint][str(response.status_code)] += 1
    if response.status_code == 429:
        retry_after = response.headers.get("Retry-After", "")
        tally.turned_away_ms.append(ms)
        if retry_after.isdigit():
            tally.retry_after_s.append(float(retry_after))
        else:
            tally.retry_after_missing += 1
        return float(retry_after) if retry_after.isdigit() else 1.0
    if endpoint == "/v1/search" and response.status_code == 200:
        tally.search_ms.append(ms)
        if busy or tally.asks_in_flight > 0:
            tally.search_busy_ms.append(ms)
    elif response.status_code == 200:
        tally.ask_ms.append(ms)
        tally.ask_ms_by_mode[mode].append(ms)
        tally.refused += bool(response.json().get("refused"))
    return 0.0


def roles(clients: int, ask_share: float) -> list[str]:
    """The endpoint of each client: round(clients * ask_share) askers (at least one of each kind when
    0 < ask_share < 1), the rest searchers."""
    askers = round(clients * ask_share)
    if 0 < ask_share < 1 and clients > 1:
        askers = min(max(askers, 1), clients - 1)
    return ["/v1/ask"] * askers + ["/v1/search"] * (clients - askers)


async def client_loop(client: httpx.AsyncClient, tally: Tally, args: argparse.Namespace, endpoint: str,
                      seed: int, questions: list[str], end: float) -> None:
    rng = random.Random(seed)
    n = 0
    while time.monotonic() < end:
        n += 1
        question = rng.choice(questions)
        if not args.repeat_queries:
            question = f"{question} (verzoek {seed}-{n})"  # a new text: the query-vector cache misses
        mode = "extractive" if rng.random() < args.extractive_share else "generate"
        backoff = await one_request(client, tally, endpoint, question, args.k, mode)
        wait = min(backoff, args.max_backoff) + args.pause
        if wait:
            await asyncio.sleep(min(wait, max(0.0, end - time.monotonic())))


async def run(args: argparse.Namespace) -> Tally:
    tally, questions = Tally(), load_questions(args.questions)
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    limits = httpx.Limits(max_connections=args.clients)
    async with httpx.AsyncClient(base_url=args.base_url, headers=headers, limits=limits,
                                 timeout=args.duration + args.grace) as client:
        end = time.monotonic() + args.duration
        tasks = [asyncio.create_task(client_loop(client, tally, args, endpoint, seed, questions, end))
                 for seed, endpoint in enumerate(roles(args.clients, args.ask_share))]
        done, pending = await asyncio.wait(tasks, timeout=args.duration + args.grace)
        for task in pending:  # still waiting for an answer after the grace period
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            task.result()
        tally.unfinished = len(pending)
    return tally


def percentiles(values: list[float], unit: str = "ms", with_max: bool = False) -> str:
    if len(values) < 2:
        return f"{values[0]:.0f} {unit} (n=1)" if values else "n=0"
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    top = f", max {max(values):.0f} {unit}" if with_max else ""
    return f"p50 {cuts[49]:.0f} {unit}, p95 {cuts[94]:.0f} {unit}{top} (n={len(values)})"


def p95(values: list[float]) -> float | None:
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def report(tally: Tally, args: argparse.Namespace) -> bool:
    askers = roles(args.clients, args.ask_share).count("/v1/ask")
    print(f"bench_load: {args.clients} clients ({askers} asking, {args.extractive_share:.0%} of asks extractive; "
          f"{args.clients - askers} searching), {args.duration:.0f} s, {args.base_url}")
    for endpoint, counts in tally.statuses.items():
        shown = ", ".join(f"{status}: {n}" for status, n in sorted(counts.items()))
        print(f"  {endpoint:<11} {sum(counts.values()):>6} requests  {shown}")
    print(f"  requests sent {tally.sent}, answered {tally.received}, unfinished {tally.unfinished}")
    print(f"  /v1/ask refusals (200, refused=true): {tally.refused}")
    print(f"  /v1/ask latency (200): {percentiles(tally.ask_ms)}")
    for mode, values in tally.ask_ms_by_mode.items():
        print(f"    {mode}: {percentiles(values)}")
    missing = f", none given: {tally.retry_after_missing}" if tally.retry_after_missing else ""
    print(f"  /v1/ask turned away (429): {percentiles(tally.turned_away_ms)}; "
          f"Retry-After {percentiles(tally.retry_after_s, 's', with_max=True)}{missing}")
    print(f"  /v1/search latency, all: {percentiles(tally.search_ms)}")
    print(f"  /v1/search latency while generation busy: {percentiles(tally.search_busy_ms)}")
    allowed = {"200", "429"}
    bad = {f"{e} {s}": n for e, c in tally.statuses.items() for s, n in c.items() if s not in allowed}
    if tally.unfinished:
        bad["unfinished after --grace"] = tally.unfinished
    bars = {
        "0 5xx and no transport errors": not bad,
        "nothing lost or unfinished": tally.sent == tally.received and not tally.unfinished,
        "search p95 <= 100 ms while generating": (p95(tally.search_busy_ms) or 0) <= 100,
        "generate ask p95 <= 30 s": (p95(tally.ask_ms_by_mode["generate"]) or 0) <= 30_000,
        "429 at once (p95 <= 1 s)": (p95(tally.turned_away_ms) or 0) <= 1000,
    }
    for name, ok in bars.items():
        print(f"  bar: {name}: {'holds' if ok else 'FAILS'}")
    print("verdict: OK (no 5xx; every request got an answer, a refusal or a 429)" if not bad
          else f"verdict: PROBLEM {bad}")
    return all(bars.values())


def rss_mb(pid: int | None) -> str:
    if not pid:
        return "n/a"
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return f"{int(line.split()[1]) / 1024:,.0f} MB"
    except OSError:
        pass
    return "n/a"


def start_server(ready_timeout: float = 600.0) -> tuple[subprocess.Popen, str]:
    """`vraagbaak serve` on a free 127.0.0.1 port, once /readyz says 200 (models loaded)."""
    from eval.clients import Unreachable, start_local_server

    try:
        return start_local_server(ready_timeout=ready_timeout)
    except Unreachable as e:
        raise SystemExit(f"bench_load: {e}") from e


def warm_up(base_url: str, api_key: str | None) -> None:
    """One generate ask before the clock starts: loads the language model, measures a first generation."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    r = httpx.post(base_url + "/v1/ask", json={"question": QUESTIONS[0], "mode": "generate"}, headers=headers,
                   timeout=600)
    print(f"warm-up ask: HTTP {r.status_code}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base-url", default="http://127.0.0.1:8000")
    p.add_argument("--clients", type=int, default=8, help="concurrent clients (1..64)")
    p.add_argument("--duration", "--seconds", type=float, default=120.0,
                   help="seconds to start new requests (1..3600)")
    p.add_argument("--extractive-share", type=float, default=0.5, help="fraction of asks in extractive mode")
    p.add_argument("--serve", action="store_true", help="start `vraagbaak serve` on a free loopback port")
    p.add_argument("--pid", type=int, help="the server's process id, for its resident memory")
    p.add_argument("--grace", type=float, default=60.0, help="extra seconds for requests in flight")
    p.add_argument("--ask-share", type=float, default=0.5, help="fraction of clients that call /v1/ask")
    p.add_argument("--k", type=int, default=10, help="k for /v1/search")
    p.add_argument("--max-backoff", type=float, default=2.0, help="cap on the Retry-After wait after a 429")
    p.add_argument("--pause", type=float, default=0.0, help="seconds each client waits between requests")
    p.add_argument("--repeat-queries", action="store_true",
                   help="reuse the question texts as they are (the server's query cache then answers repeats)")
    p.add_argument("--questions", help="JSONL with a 'question' field (default: built-in Dutch questions)")
    p.add_argument("--api-key", default=os.environ.get("VRAAGBAAK_API_KEY"),
                   help="bearer key; default $VRAAGBAAK_API_KEY")
    args = p.parse_args(argv)
    if not (1 <= args.clients <= 64 and 1 <= args.duration <= 3600 and 0 <= args.grace <= 600
            and 0 <= args.ask_share <= 1):
        p.error("--clients must be 1..64, --duration 1..3600 s, --grace 0..600 s, --ask-share 0..1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    proc = None
    if args.serve:
        proc, args.base_url = start_server()
        args.pid = proc.pid
    try:
        require_loopback(args.base_url)
        warm_up(args.base_url, args.api_key)
        print(f"server RSS at start: {rss_mb(args.pid)}", flush=True)
        tally = asyncio.run(run(args))
        print(f"server RSS at end:   {rss_mb(args.pid)}")
        return 0 if report(tally, args) else 1
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    sys.exit(main())
