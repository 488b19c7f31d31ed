"""The eval report: one dict, written as report.json, report.md and a self-contained report.html.

`build_report` assembles configuration, metrics (overall and per type), the gate's bars, baseline
deltas and verdict, and the per-question rows. `write_reports` writes the three files. The HTML
(with embedded plots) lives in eval/report_html.py. Does not run the service or compute metrics.
"""

from __future__ import annotations

import json
from pathlib import Path

from eval.harness import ANSWER_METRICS, LATENCY_METRICS, QUALITY_METRICS, RETRIEVAL_METRICS

FORMAT = "vraagbaak-eval/1"
MARK = {True: "✓", False: "✗", None: "–"}


def build_report(config: dict, rows: list[dict], aggregated: dict, bars: list[dict],
                 baseline: dict | None, verdict: dict, gated: tuple[str, ...]) -> dict:
    return {"format": FORMAT, "config": config, "metrics": aggregated["overall"],
            "by_type": aggregated["by_type"], "gated": list(gated), "bars": bars, "baseline": baseline,
            "verdict": verdict, "rows": rows}


def fmt(name: str, value) -> str:
    """A metric value for people: shares with three decimals, milliseconds and tokens as integers."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return MARK[value]
    if name.endswith("_ms") or name.startswith("prompt_tokens") or name in ("n", "n_retrieval"):
        return f"{value:.0f}"
    return f"{value:.3f}"


def fmt_delta(name: str, delta: dict | None) -> str:
    if not delta or delta["delta"] is None:
        return ""
    sign = "+" if delta["delta"] >= 0 else ""
    value = f"{delta['delta']:.0f}" if name in LATENCY_METRICS else f"{delta['delta']:.3f}"
    return f"{sign}{value}" + (" REGRESSIE" if delta["regressed"] else "")


def check_marks(row: dict) -> dict[str, str]:
    """Per-question marks shown in the md and HTML tables."""
    kf, retrieval = row["key_fact_recall"], row["retrieval"]
    rank = "–" if retrieval is None else str(retrieval["rank"] or "niet")
    return {"geslaagd": MARK[row["passed"]],
            "weigering juist": MARK[row["refused"] == (row["type"] == "unanswerable")],
            "kernfeiten": "–" if kf is None else f"{kf:.2f}",
            "markers geldig": MARK[row["citation_valid"]],
            "bron bevat bewijs": MARK[row["cited_evidence"]],
            "zinnen gesteund": "–" if row["supported_share"] is None else f"{row['supported_share']:.2f}",
            "Nederlands": MARK[row["dutch"]],
            "rang bewijs": rank}


def _md_table(header: list[str], body: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in row) + " |"
                    for row in body]


def _md_verdict(report: dict) -> list[str]:
    v = report["verdict"]
    lines = [f"**Oordeel: {'GESLAAGD' if v['passed'] else 'GEZAKT'}**", ""]
    lines += [f"- balk niet gehaald: `{b['metric']}` = {fmt(b['metric'], b['value'])} "
              f"(eis {b['op']} {b['bar']})" for b in report["bars"] if not b["ok"]]
    lines += [f"- regressie: `{name}` {fmt_delta(name, report['baseline']['deltas'][name])}"
              for name in v["regressions"]]
    return lines


def _md_metrics(report: dict) -> list[str]:
    compared = report["baseline"] is not None
    deltas = (report["baseline"] or {}).get("deltas", {})
    body = []
    for name in QUALITY_METRICS + LATENCY_METRICS:
        d = deltas.get(name)
        base = [fmt(name, d["baseline"]) if d else "", fmt_delta(name, d)]
        body.append([name, fmt(name, report["metrics"].get(name)), *(base if compared else []),
                     "ja" if name in report["gated"] else ""])
    return _md_table(["metriek", "waarde", *(["baseline", "delta"] if compared else []), "poort"], body)


def _md_by_type(report: dict) -> list[str]:
    types = list(report["by_type"])
    header = ["metriek", "alle", *types]
    body = [[name, fmt(name, report["metrics"].get(name)), *(fmt(name, report["by_type"][t].get(name))
                                                               for t in types)]
            for name in ("n", "n_retrieval", *RETRIEVAL_METRICS, *ANSWER_METRICS, "total_p50_ms")]
    return _md_table(header, body)


def _md_rows(report: dict) -> list[str]:
    keys = list(check_marks(report["rows"][0])) if report["rows"] else []
    body = [[r["id"], r["type"], *check_marks(r).values(), (r["error"] or "")[:80]] for r in report["rows"]]
    return _md_table(["id", "type", *keys, "fout"], body)


def markdown(report: dict) -> str:
    c = report["config"]
    lines = [f"# Vraagbaak eval: {c['qa_file']}", "",
             f"{c['items']} vragen, doel `{c['target']}`, modus `{c['mode'] or 'standaard'}`, k={c['k']}, "
             f"configuratie `{c['config_key']}`", ""]
    lines += _md_verdict(report) + ["", "## Samenvatting", ""] + _md_metrics(report)
    lines += ["", "## Per vraagtype", ""] + _md_by_type(report)
    lines += ["", "## Per vraag", ""] + _md_rows(report)
    return "\n".join(lines) + "\n"


def write_reports(report: dict, out: Path) -> dict[str, Path]:
    """report.json, report.md and report.html in `out`; returns their paths."""
    from eval.report_html import html

    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "md": out / "report.md", "html": out / "report.html"}
    paths["json"].write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    paths["md"].write_text(markdown(report), encoding="utf-8")
    paths["html"].write_text(html(report), encoding="utf-8")
    return paths
