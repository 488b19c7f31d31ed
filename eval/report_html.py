"""report.html: one self-contained page (inline CSS, plots as base64 PNGs, no scripts, no external files).

Sections: verdict, summary metrics with baseline deltas (regressions in red), the two plots, metrics
per question type, and a per-question table with the answer, its citations and quotes, and marks.
Every value from the QA file or the service is HTML-escaped. Does not compute metrics.
"""

from __future__ import annotations

from html import escape

from eval import plots
from eval.harness import ANSWER_METRICS, LATENCY_METRICS, QUALITY_METRICS, RETRIEVAL_METRICS
from eval.report import check_marks, fmt, fmt_delta

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;font-size:14px}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 6px;vertical-align:top}
th{background:#f3f3f3;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:4px 10px;border-radius:4px;color:#fff;font-weight:bold}
.ok{background:#2e7d32}.bad{background:#c62828}tr.regressed td{background:#fde0e0}
tr.pass td:first-child{border-left:4px solid #2e7d32}tr.fail td:first-child{border-left:4px solid #c62828}
.questions td{font-size:13px}.questions td.q{max-width:300px}.questions td.answer{max-width:360px}
.questions td.cites{max-width:380px}
.quote{color:#555;font-style:italic}.hist{color:#666;font-size:12px}.marks{max-width:260px}
.chip{display:inline-block;margin:1px;padding:0 5px;border-radius:3px;font-size:11px;white-space:nowrap}
.chip.good{background:#dcefdc}.chip.bad{background:#f8d4d4}.chip.na{background:#eee;color:#777}
img{max-width:100%;border:1px solid #eee}.err{color:#c62828}
.side{display:flex;gap:24px;align-items:flex-start}
"""


def _verdict(report: dict) -> str:
    v = report["verdict"]
    badge = ('<span class="badge ok">GESLAAGD</span>' if v["passed"]
             else '<span class="badge bad">GEZAKT</span>')
    items = [f"<li>balk niet gehaald: <code>{escape(b['metric'])}</code> = {fmt(b['metric'], b['value'])} "
             f"(eis {escape(b['op'])} {b['bar']})</li>" for b in report["bars"] if not b["ok"]]
    deltas = (report["baseline"] or {}).get("deltas", {})
    items += [f"<li>regressie: <code>{escape(n)}</code> {escape(fmt_delta(n, deltas[n]))}</li>"
              for n in v["regressions"]]
    return f"<p>{badge}</p>" + (f"<ul>{''.join(items)}</ul>" if items else "")


def _summary(report: dict) -> str:
    """Quality and latency side by side, so the plots and the question table start high on the page."""
    return (f"<div class=side>{_metric_table(report, QUALITY_METRICS)}"
            f"{_metric_table(report, LATENCY_METRICS)}</div>")


def _metric_table(report: dict, names: tuple[str, ...]) -> str:
    """Metric, value, (baseline and delta when compared), and whether it gates."""
    compared = report["baseline"] is not None
    deltas = (report["baseline"] or {}).get("deltas", {})
    head = ["metriek", "waarde", *(["baseline", "delta"] if compared else []), "poort"]
    rows = []
    for name in names:
        d = deltas.get(name)
        cls = ' class="regressed"' if d and d["regressed"] else ""
        base = (f"<td class=num>{fmt(name, d['baseline']) if d else ''}</td>"
                f"<td class=num>{escape(fmt_delta(name, d))}</td>") if compared else ""
        rows.append(f"<tr{cls}><td>{escape(name)}</td>"
                    f"<td class=num>{fmt(name, report['metrics'].get(name))}</td>{base}"
                    f"<td>{'ja' if name in report['gated'] else ''}</td></tr>")
    return "<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + "".join(rows) + "</table>"


def _by_type(report: dict) -> str:
    types = list(report["by_type"])
    head = "".join(f"<th>{escape(t)}</th>" for t in ["alle", *types])
    rows = []
    for name in ("n", "n_retrieval", *RETRIEVAL_METRICS, *ANSWER_METRICS, "total_p50_ms", "total_p95_ms"):
        cells = [report["metrics"].get(name), *(report["by_type"][t].get(name) for t in types)]
        tds = "".join(f"<td class=num>{fmt(name, c)}</td>" for c in cells)
        rows.append(f"<tr><td>{escape(name)}</td>{tds}</tr>")
    return f"<table><tr><th>metriek</th>{head}</tr>{''.join(rows)}</table>"


def _citations(row: dict) -> str:
    items = []
    for c in row["citations"]:
        page = f", p. {c['page']}" if c.get("page") is not None else ""
        mark = " ✓ bewijs" if c["holds_evidence"] else ""
        title = escape(str(c.get("title") or c.get("doc_id") or ""))
        items.append(f"<li>[{c['n']}] <b>{title}</b>{page}{mark}"
                     f"<br><span class=quote>“{escape(c['quote'])}”</span></li>")
    return f"<ol>{''.join(items)}</ol>" if items else "–"


def _question_row(row: dict) -> str:
    history = "".join(f"<div class=hist>{escape(t['role'])}: {escape(t['content'])}</div>"
                      for t in row["history"])
    error = f"<div class=err>fout: {escape(row['error'])}</div>" if row["error"] else ""
    refused = " <i>(geweigerd)</i>" if row["refused"] else ""
    marks = "".join(f"<span class='chip {_chip_class(v)}'>{escape(k)} {escape(v)}</span>"
                    for k, v in check_marks(row).items())
    expected = f"<div class=hist>verwacht: {escape(row['expected'])}</div>" if row["expected"] else ""
    return (f'<tr class="row {"pass" if row["passed"] else "fail"}" id="q-{escape(row["id"])}">'
            f"<td>{escape(row['id'])}</td><td>{escape(row['type'])}</td>"
            f"<td class=q>{history}{escape(row['question'])}{expected}</td>"
            f"<td class=answer>{escape(row['answer'])}{refused}{error}</td>"
            f"<td class=cites>{_citations(row)}</td><td class=marks>{marks}</td></tr>")


def _chip_class(mark: str) -> str:
    """Green for a pass (✓, a share >= 0.5 or a rank), red for a fail, grey when not applicable."""
    if mark in ("–", ""):
        return "na"
    if mark in ("✗", "niet"):
        return "bad"
    try:
        return "good" if mark == "✓" or float(mark) >= 0.5 else "bad"
    except ValueError:
        return "na"


def _questions(report: dict) -> str:
    columns = ("id", "type", "vraag", "antwoord", "bronnen en citaten", "oordeel")
    head = "<tr>" + "".join(f"<th>{h}</th>" for h in columns) + "</tr>"
    return f"<table class=questions>{head}{''.join(_question_row(r) for r in report['rows'])}</table>"


def _plots(report: dict) -> str:
    by_type = plots.data_uri(plots.metrics_by_type(report["by_type"], report["metrics"]))
    latency = plots.data_uri(plots.latency_histogram(report["rows"]))
    return (f'<h2>Grafieken</h2><img src="{by_type}" alt="metrieken per vraagtype">'
            f'<img src="{latency}" alt="latentie per stap">')


def html(report: dict) -> str:
    c = report["config"]
    title = f"Vraagbaak eval: {c['qa_file']}"
    intro = (f"{c['items']} vragen, doel <code>{escape(c['target'])}</code>, modus "
             f"<code>{escape(c['mode'] or 'standaard')}</code>, k={c['k']}, configuratie "
             f"<code>{escape(c['config_key'])}</code>")
    body = (f"<h1>{escape(title)}</h1><p>{intro}</p>{_verdict(report)}<h2>Samenvatting</h2>{_summary(report)}"
            f"{_plots(report)}<h2>Per vraag</h2>{_questions(report)}<h2>Per vraagtype</h2>{_by_type(report)}")
    return (f'<!DOCTYPE html><html lang="nl"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{CSS}</style></head><body>{body}</body></html>\n")
