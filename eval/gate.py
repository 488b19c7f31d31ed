"""The quality gate: `--fail-under` bars and `--baseline` regressions, judged on the overall metrics.

A bar `metric=value` is a floor for higher-is-better metrics and a ceiling for lower-is-better ones
(false_refusal_rate, error_rate). A regression is a GATED metric worse than the baseline by more than
its tolerance (default 0.02). Latency and prompt size are compared and shown, never gated.
Does not compute metrics and does not print; the CLI turns the verdict into an exit code.
"""

from __future__ import annotations

import json
from pathlib import Path

from eval.harness import LATENCY_METRICS, LOWER_IS_BETTER, QUALITY_METRICS
from service.errors import VraagbaakError

GATED = ("hit@5", "mrr", "citation_validity", "cited_evidence", "key_fact_recall", "refusal_accuracy",
         "false_refusal_rate")
DEFAULT_TOLERANCE = 0.02


def parse_bars(specs: list[str]) -> dict[str, float]:
    """'hit@5=0.8' strings -> {metric: value}; unknown metrics and bad numbers raise VraagbaakError."""
    bars = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        name = name.strip()
        if not sep:
            raise VraagbaakError(f"--fail-under verwacht metriek=waarde, niet {spec!r}")
        if name not in QUALITY_METRICS:
            raise VraagbaakError(f"onbekende metriek in --fail-under: {name!r} "
                                 f"(kies uit: {', '.join(QUALITY_METRICS)})")
        try:
            bars[name] = float(value)
        except ValueError as e:
            raise VraagbaakError(f"--fail-under {name}: {value!r} is geen getal") from e
    return bars


def check_bars(metrics: dict, bars: dict[str, float]) -> list[dict]:
    """One verdict per bar; an unmeasured metric (None) does not meet its bar."""
    out = []
    for name, bar in bars.items():
        value = metrics.get(name)
        ceiling = name in LOWER_IS_BETTER
        ok = value is not None and (value <= bar if ceiling else value >= bar)
        out.append({"metric": name, "bar": bar, "op": "<=" if ceiling else ">=", "value": value, "ok": ok})
    return out


def load_baseline(path: Path) -> tuple[dict, dict]:
    """(metrics, tolerance per metric) from a previous report.json or a {"metrics", "tolerance"} file."""
    if not path.is_file():
        raise VraagbaakError(f"baseline niet gevonden: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise VraagbaakError(f"baseline is geen geldige JSON: {path}") from e
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise VraagbaakError(f"baseline mist een object 'metrics': {path}")
    tol = data.get("tolerance", {})
    if isinstance(tol, int | float):
        tol = dict.fromkeys(GATED, float(tol))
    if not isinstance(tol, dict):
        raise VraagbaakError(f"baseline: 'tolerance' moet een getal of object zijn: {path}")
    return data["metrics"], {k: float(v) for k, v in tol.items()}


def _regressed(name: str, current: float | None, base: float, tol: float) -> bool:
    if current is None:
        return True
    return current > base + tol if name in LOWER_IS_BETTER else current < base - tol


def compare(current: dict, baseline: dict, tolerance: dict | None = None,
            default: float = DEFAULT_TOLERANCE) -> dict[str, dict]:
    """Delta per metric measured in the baseline; `regressed` only for GATED metrics."""
    tolerance = tolerance or {}
    out = {}
    for name in QUALITY_METRICS + LATENCY_METRICS:
        base = baseline.get(name)
        if not isinstance(base, int | float):
            continue
        value = current.get(name)
        tol = tolerance.get(name, default)
        gated = name in GATED
        out[name] = {"baseline": base, "current": value, "gated": gated, "tolerance": tol if gated else None,
                     "delta": None if value is None else round(value - base, 4),
                     "regressed": gated and _regressed(name, value, base, tol)}
    return out


def verdict(bars: list[dict], deltas: dict[str, dict]) -> dict:
    """The gate's decision: failed bars and regressed metrics (both empty means it passes)."""
    failed = [b["metric"] for b in bars if not b["ok"]]
    regressed = [name for name, d in deltas.items() if d["regressed"]]
    return {"passed": not failed and not regressed, "failed_bars": failed, "regressions": regressed}
