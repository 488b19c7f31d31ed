"""scripts/bench_load.py's report: Retry-After values as a summary (p50, p95, max), not one entry per value."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_load.py"


def _bench_load():
    spec = importlib.util.spec_from_file_location("bench_load", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_report_summarises_retry_after(capsys) -> None:
    bench = _bench_load()
    tally = bench.Tally(retry_after_s=[float(v) for v in range(1, 101)], retry_after_missing=2,
                        turned_away_ms=[10.0, 20.0, 30.0])
    tally.statuses["/v1/ask"]["429"] = 102
    bench.report(tally, bench.parse_args(["--seconds", "90"]))
    line = next(x for x in capsys.readouterr().out.splitlines() if "turned away" in x)
    assert line.endswith("Retry-After p50 50 s, p95 95 s, max 100 s (n=100), none given: 2")
    assert "37 s" not in line  # no list of every value


def test_a_single_retry_after_is_printed_as_such(capsys) -> None:
    bench = _bench_load()
    bench.report(bench.Tally(retry_after_s=[7.0], turned_away_ms=[12.0]), bench.parse_args([]))
    assert "Retry-After 7 s (n=1)" in capsys.readouterr().out
