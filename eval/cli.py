"""`vraagbaak eval QA.jsonl`: run a QA set, write report.json/md/html, and gate on bars and a baseline.

    vraagbaak eval ../shared/eval/dev.jsonl --out var/eval --fail-under hit@5=0.8 key_fact_recall=0.6
    vraagbaak eval dev.jsonl --base-url http://127.0.0.1:8000 --baseline var/eval-main/report.json

In-process by default (the pipeline is loaded with temperature 0 and fixed seeds), or over HTTP
with --base-url. Exit codes: 0 passed, 1 a bar or a gated metric regressed, 2 bad input (raised as
VraagbaakError and printed as one line by the caller). Also runnable as `python -m eval.cli QA.jsonl`.
Does not compute metrics itself: eval.harness does, eval.gate judges, eval.report writes.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from eval.cache import ResultCache, config_key
from eval.clients import Client, HttpClient, InProcessClient
from eval.gate import DEFAULT_TOLERANCE, GATED, check_bars, compare, load_baseline, parse_bars, verdict
from eval.harness import aggregate, collect, score
from eval.qa import load_qa
from eval.report import build_report, fmt, write_reports
from service.config import Settings
from service.errors import VraagbaakError
from service.qa.protocol import MODES

SEED = 0
HEADLINE = ("hit@5", "mrr", "key_fact_recall", "cited_evidence", "citation_validity", "refusal_accuracy",
            "false_refusal_rate", "total_p50_ms")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("qa", type=Path, help="QA-bestand in het formaat van dev.jsonl")
    p.add_argument("--base-url", help="draaiende server, bijv. http://127.0.0.1:8000 (standaard in-process)")
    p.add_argument("--mode", choices=MODES, help="antwoordmodus; standaard die van de service")
    p.add_argument("--out", type=Path, default=Path("var/eval"),
                   help="map voor rapporten en cache (standaard var/eval)")
    p.add_argument("--baseline", type=Path,
                   help="eerder report.json (of {metrics, tolerance}) om mee te vergelijken")
    p.add_argument("--fail-under", nargs="+", action="extend", default=[], metavar="METRIEK=WAARDE",
                   help="eis per metriek; exitcode 1 als die niet gehaald wordt")
    p.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                   help=f"toegestane achteruitgang t.o.v. de baseline (standaard {DEFAULT_TOLERANCE})")
    p.add_argument("-k", type=int, default=10, help="aantal passages bij het zoeken (standaard 10)")
    p.add_argument("--timeout", type=float, default=180.0, help="time-out per HTTP-verzoek in seconden")
    p.add_argument("--fresh", action="store_true", help="negeer de cache en vraag alles opnieuw")
    p.add_argument("-q", "--quiet", action="store_true", help="geen voortgangsbalk")


def add_eval_parser(subparsers) -> argparse.ArgumentParser:
    """Register `eval` on the `vraagbaak` subcommands."""
    p = subparsers.add_parser("eval", help="meet retrieval- en antwoordkwaliteit op een QA-bestand")
    add_arguments(p)
    p.set_defaults(func=cmd_eval)
    return p


def deterministic(settings: Settings) -> Settings:
    """Settings with temperature 0 (and a fixed seed when unset), for the settings that exist."""
    fields = type(settings).model_fields
    updates: dict = {"temperature": 0.0} if "temperature" in fields else {}
    if "seed" in fields and getattr(settings, "seed", None) is None:
        updates["seed"] = SEED
    return settings.model_copy(update=updates) if updates else settings


def seed_rngs(seed: int = SEED) -> None:
    """Seed Python's, NumPy's and (when loaded) torch's random number generators."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def make_client(args: argparse.Namespace, settings: Settings) -> Client:
    if args.base_url:
        return HttpClient(args.base_url, timeout=args.timeout, api_key=getattr(settings, "api_key", None))
    from service.qa.pipeline import load_pipeline

    service = load_pipeline(deterministic(settings))
    seed_rngs()  # after loading: model initialisation may have drawn random numbers
    return InProcessClient(service)


def read_inputs(args: argparse.Namespace) -> tuple[list[dict], dict[str, float], tuple[dict, dict] | None]:
    """QA items, bars and baseline, checked before any model is loaded or server contacted."""
    if not 1 <= args.k <= 100:
        raise VraagbaakError(f"-k moet tussen 1 en 100 liggen, niet {args.k}")
    baseline = load_baseline(args.baseline) if args.baseline else None
    return load_qa(args.qa), parse_bars(args.fail_under), baseline


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    items, bars, baseline = read_inputs(args)
    return evaluate(args, items, make_client(args, settings), bars, baseline)


def _progress(quiet: bool, total: int):
    from tqdm import tqdm

    return lambda it: tqdm(it, total=total, desc="eval", unit="vraag", file=sys.stderr, disable=quiet)


def evaluate(args: argparse.Namespace, items: list[dict], client: Client, bars: dict[str, float],
             baseline: tuple[dict, dict] | None) -> int:
    """Collect (resuming from the cache), score, judge and write the reports; returns the exit code."""
    info = client.info()
    key = config_key(args.mode, client.target, info, args.k)
    cache_path = args.out / "cache.jsonl"
    if args.fresh and cache_path.exists():
        cache_path.unlink()
    cache = ResultCache(cache_path, key)
    records, fetched = collect(items, client, cache, args.k, args.mode, _progress(args.quiet, len(items)))
    rows = score(items, records)
    agg = aggregate(rows)
    bar_results = check_bars(agg["overall"], bars)
    deltas = compare(agg["overall"], baseline[0], baseline[1], args.tolerance) if baseline else {}
    decision = verdict(bar_results, deltas)
    config = {"qa_file": str(args.qa), "items": len(items), "target": client.target, "mode": args.mode,
              "k": args.k, "config_key": key, "seed": SEED, "tolerance": args.tolerance, "info": info}
    base = {"file": str(args.baseline), "deltas": deltas} if baseline else None
    report = build_report(config, rows, agg, bar_results, base, decision, GATED)
    paths = write_reports(report, args.out)
    _print_summary(report, fetched, paths["html"])
    return 0 if decision["passed"] else 1


def _print_summary(report: dict, fetched: int, html: Path) -> None:
    m, v, n = report["metrics"], report["verdict"], report["config"]["items"]
    print(f"eval: {n} vragen ({fetched} gevraagd, {n - fetched} uit cache) -> {html}")
    print("  " + ", ".join(f"{name} {fmt(name, m.get(name))}" for name in HEADLINE))
    if v["passed"]:
        print("  oordeel: geslaagd")
    else:
        failed = [f"{b['metric']} {fmt(b['metric'], b['value'])} (eis {b['op']} {b['bar']})"
                  for b in report["bars"] if not b["ok"]]
        failed += [f"{name} (regressie)" for name in v["regressions"]]
        print(f"  oordeel: gezakt: {', '.join(failed)}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vraagbaak eval", description="Meet Vraagbaak op een QA-bestand.")
    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None, client: Client | None = None) -> int:
    """`python -m eval.cli QA.jsonl ...`; `client` lets tests run against a fake service."""
    args = build_parser().parse_args(argv)
    try:
        if client is None:
            return cmd_eval(args, Settings())
        items, bars, baseline = read_inputs(args)
        return evaluate(args, items, client, bars, baseline)
    except VraagbaakError as e:
        print(f"vraagbaak: fout: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
