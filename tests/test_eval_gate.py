"""The gate: bars are floors (ceilings for lower-is-better metrics), regressions only on gated metrics."""

import json
from pathlib import Path

import pytest

from eval.gate import GATED, check_bars, compare, load_baseline, parse_bars, verdict
from service.errors import VraagbaakError


def test_parse_bars():
    assert parse_bars(["hit@5=0.8", "key_fact_recall = 0.6"]) == {"hit@5": 0.8, "key_fact_recall": 0.6}
    latency = "total_p50_ms=900"  # latency never gates
    for bad, message in [("hit@7=0.5", "onbekende metriek"), ("mrr", "metriek=waarde"),
                         ("mrr=hoog", "geen getal"), (latency, "onbekende metriek")]:
        with pytest.raises(VraagbaakError, match=message):
            parse_bars([bad])


def test_check_bars_floor_and_ceiling():
    metrics = {"mrr": 0.5, "false_refusal_rate": 0.3, "refusal_accuracy": None}
    results = check_bars(metrics, {"mrr": 0.5, "false_refusal_rate": 0.2, "refusal_accuracy": 0.0})
    assert [(r["metric"], r["op"], r["ok"]) for r in results] == [
        ("mrr", ">=", True), ("false_refusal_rate", "<=", False), ("refusal_accuracy", ">=", False)]


def test_compare_flags_only_gated_metrics_beyond_tolerance():
    base = {"mrr": 0.60, "hit@5": 0.80, "hit@1": 0.9, "false_refusal_rate": 0.10, "total_p50_ms": 100.0,
            "citation_validity": 1.0}
    now = {"mrr": 0.59, "hit@5": 0.70, "hit@1": 0.1, "false_refusal_rate": 0.20, "total_p50_ms": 900.0,
           "citation_validity": None}
    d = compare(now, base)
    assert not d["mrr"]["regressed"] and d["mrr"]["delta"] == -0.01  # within 0.02
    assert d["hit@5"]["regressed"] and d["false_refusal_rate"]["regressed"]  # lower is better: up is worse
    assert not d["hit@1"]["regressed"] and not d["hit@1"]["gated"]  # reported, not gated
    assert not d["total_p50_ms"]["regressed"] and d["total_p50_ms"]["delta"] == 800.0
    assert d["citation_validity"]["regressed"]  # measured before, not now
    assert compare(now, base, {"hit@5": 0.2})["hit@5"]["regressed"] is False
    assert verdict([], d) == {"passed": False, "failed_bars": [],
                              "regressions": ["hit@5", "citation_validity", "false_refusal_rate"]}


def test_gated_list_is_explicit():
    assert GATED == ("hit@5", "mrr", "citation_validity", "cited_evidence", "key_fact_recall",
                     "refusal_accuracy", "false_refusal_rate")


def test_load_baseline(tmp_path: Path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"metrics": {"mrr": 0.5}, "tolerance": 0.1}))
    metrics, tol = load_baseline(path)
    assert metrics == {"mrr": 0.5} and tol["mrr"] == 0.1 and set(tol) == set(GATED)
    path.write_text("[1, 2]")
    with pytest.raises(VraagbaakError, match="mist een object 'metrics'"):
        load_baseline(path)
    path.write_text("{")
    with pytest.raises(VraagbaakError, match="geen geldige JSON"):
        load_baseline(path)
