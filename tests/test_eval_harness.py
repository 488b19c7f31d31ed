"""The eval harness end to end against a scripted fake QAService: metrics by hand, the gate, the cache,
the HTTP client (same numbers over a mock transport) and the reports.

The QA file has six items: two factoid/numeric with evidence retrieved at rank 2 and 1, an
unanswerable that is refused and one that is not, a follow-up, and an answerable item that is
refused while its evidence was not retrieved. Expected values are worked out in the comments.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import httpx
import pytest

from eval import cli
from eval.clients import HttpClient, InProcessClient, ServiceError
from eval.harness import aggregate, collect, score
from eval.qa import load_qa
from service.errors import GeneratorError
from service.types import REFUSAL, Answer, Citation, Hit

E1 = "De Nederlandse ambassade in Bamako onderhield namens het kabinet het contact met de VN-missie in Mali."
E2 = "Zij bleven soms twee tot drie jaar in het gebied in plaats van zes maanden, en kenden de taal."
E5 = "De mariniers leverden een eenheid van ongeveer honderdvijftig militairen voor de HUMINT-taak."
A = "Het Chinook-detachement stond in Gao en vloog vooral transportvluchten voor de missie."
B = "De begroting voor de bijdrage werd in 2015 door de Tweede Kamer goedgekeurd na een lang debat."
C = "Over de opleiding van de Malinese strijdkrachten door de Europese trainingsmissie EUTM."
R = "Over de commandant van het detachement zeggen de documenten niets."

ITEMS = [
    {"id": "q1", "type": "factoid", "question": "Via wie liep het contact met de VN-missie?",
     "answer": "Via de ambassade in Bamako.", "doc": "a.txt", "key_facts": ["ambassade", "Bamako"],
     "evidence": ["De Nederlandse ambassade in Bamako onderhield namens het kabinet het contact"]},
    {"id": "q2", "type": "numeric", "question": "Hoe lang bleven de eenheden?",
     "answer": "Twee tot drie jaar.", "doc": "b.txt", "key_facts": ["twee tot drie jaar", "zes maanden"],
     "evidence": ["soms twee tot drie jaar in het gebied in plaats van zes maanden"]},
    {"id": "q3", "type": "unanswerable", "question": "Wat was het salaris van de commandant?", "answer": "",
     "doc": [], "evidence": [], "key_facts": []},
    {"id": "q4", "type": "unanswerable", "question": "Wie was de commandant van het detachement?",
     "answer": "", "doc": [], "evidence": [], "key_facts": []},
    {"id": "q5", "type": "followup", "question": "En hoeveel mariniers waren dat?", "answer": "Ongeveer 150.",
     "doc": "c.txt", "key_facts": ["honderdvijftig", "HUMINT"],
     "evidence": ["een eenheid van ongeveer honderdvijftig militairen voor de HUMINT-taak"],
     "history": [{"role": "user", "content": "Wat deden de mariniers?"},
                 {"role": "assistant", "content": "Ze verzamelden inlichtingen."}]},
    {"id": "q6", "type": "explanatory", "question": "Waarom eindigde de inzet?",
     "answer": "Mandaat niet verlengd.", "doc": "d.txt", "key_facts": ["Veiligheidsraad", "mandaat"],
     "evidence": ["het mandaat van MINUSMA niet verlengde op verzoek van Mali"]},
]
HITS = {"q1": [A, E1, B], "q2": [E2, C, B], "q6": [A, B, C]}
ANSWERS = {  # id -> (answer text, refused, cited passages)
    "q1": ("Het contact liep via de ambassade in Bamako [1].", False, [E1]),
    "q2": ("Soms 2 tot 3 jaar in plaats van zes maanden [1]. Daardoor kenden zij de taal beter [2].",
           False, [E2]),
    "q3": (REFUSAL, True, []),
    "q4": ("De commandant was kolonel Jansen [1].", False, [R]),
    "q5": ("Ongeveer 150 mariniers voor HUMINT [1].", False, [E5]),
    "q6": (REFUSAL, True, []),
}


def _hit(text: str, i: int) -> Hit:
    return Hit(f"c{len(text)}", "doc.txt", "Rapport", "", i + 1, text, 0, len(text), 1.0 / (i + 1), ("bm25",))


class FakeService:
    """Scripted QAService; `weak` reverses the ranking and drops every citation (a worse configuration)."""

    def __init__(self, weak: bool = False, fail: set[str] = frozenset(), interrupt_at: str | None = None):
        self.weak, self.fail, self.interrupt_at = weak, fail, interrupt_at
        self.by_question = {it["question"]: it["id"] for it in ITEMS}
        self.search_calls, self.ask_calls = 0, 0

    def search(self, query: str, k: int = 10, filters: dict | None = None) -> list[Hit]:
        self.search_calls += 1
        texts = HITS[self.by_question[query]]
        return [_hit(t, i) for i, t in enumerate(texts[::-1] if self.weak else texts)][:k]

    def ask(self, question, history=None, mode=None, k=None) -> Answer:
        qid = self.by_question[question]
        if qid == self.interrupt_at:
            raise KeyboardInterrupt
        self.ask_calls += 1
        if qid in self.fail:
            raise GeneratorError("generator viel om")
        text, refused, passages = ANSWERS[qid]
        i = int(qid[1:])
        cits = () if self.weak else tuple(Citation(n, f"c{n}", "doc.txt", "Rapport", "", 3, p, p[:40], 0.5)
                                          for n, p in enumerate(passages, 1))
        timings = {"retrieve": 10.0 * i, "generate": 100.0 * i, "total": 110.0 * i}
        return Answer(text, refused, cits, timings, mode or "extractive", question,
                      None if refused else 100 * i)

    def info(self) -> dict:
        return {"index": {"corpus_checksum": "abc"}, "generator": "weak" if self.weak else "fake",
                "uptime_s": 1}


@pytest.fixture
def qa_file(tmp_path: Path) -> Path:
    path = tmp_path / "qa.jsonl"
    path.write_text("\n".join(json.dumps(it, ensure_ascii=False) for it in ITEMS) + "\n", encoding="utf-8")
    return path


def run(qa: Path, out: Path, service: FakeService, *extra: str) -> int:
    return cli.main([str(qa), "--out", str(out), "-q", *extra], client=InProcessClient(service))


def report_of(out: Path) -> dict:
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_metrics_by_hand(qa_file: Path, tmp_path: Path):
    assert run(qa_file, tmp_path / "out", FakeService()) == 0
    m = report_of(tmp_path / "out")["metrics"]
    # retrieval rows: q1 (rank 2), q2 (rank 1), q6 (miss); not q3/q4 (unanswerable) nor q5 (follow-up)
    assert (m["n"], m["n_retrieval"], m["hit@1"], m["hit@3"], m["hit@10"]) == (6, 3, 0.3333, 0.6667, 0.6667)
    assert m["mrr"] == 0.5 and m["all_evidence@10"] == 0.6667
    assert m["ndcg@10"] == pytest.approx((1 / 1.585 + 1 + 0) / 3, abs=1e-3)
    # q1, q2 (digits) complete; q5 half: '150' is not 'honderdvijftig' for the scorer (number words up to
    # honderd only), 'HUMINT' is there; q6 refused
    assert m["key_fact_recall"] == 0.625
    assert m["citation_validity"] == 0.75  # q2 cites [2] which does not exist
    assert m["cited_evidence"] == 0.75 and m["cited_marker_evidence"] == 0.75  # q6 cites nothing
    assert m["supported_sentences"] == 0.625  # q1 1, q2 1/2, q4 0 (1 of 3 words), q5 1
    assert (m["refusal_accuracy"], m["false_refusal_rate"]) == (0.5, 0.25)
    assert (m["dutch_share"], m["pass_rate"], m["error_rate"]) == (1.0, 0.5, 0.0)
    assert (m["retrieve_p50_ms"], m["retrieve_p95_ms"], m["total_p95_ms"]) == (30.0, 60.0, 660.0)
    assert m["prompt_tokens_p50"] == 200.0  # of 100, 200, 400, 500 (refusals have none)


def test_metrics_per_type(qa_file: Path):
    items = load_qa(qa_file)
    service = FakeService()
    rows = score(items, collect(items, InProcessClient(service), _NoCache(), 10, None)[0])
    by_type = aggregate(rows)["by_type"]
    assert list(by_type) == ["factoid", "numeric", "unanswerable", "followup", "explanatory"]
    assert by_type["unanswerable"]["refusal_accuracy"] == 0.5 and by_type["unanswerable"]["hit@5"] is None
    assert by_type["numeric"]["citation_validity"] == 0.0 and by_type["numeric"]["mrr"] == 1.0
    assert by_type["followup"]["n_retrieval"] == 0 and by_type["followup"]["key_fact_recall"] == 0.5
    assert service.search_calls == 3 and service.ask_calls == 6


class _NoCache:
    def get(self, key):
        return None

    def put(self, key, item_id, record):
        pass


def test_gate_catches_a_weakened_configuration(qa_file: Path, tmp_path: Path, capsys):
    good, weak = tmp_path / "good", tmp_path / "weak"
    assert run(qa_file, good, FakeService()) == 0
    baseline = good / "report.json"
    assert run(qa_file, tmp_path / "again", FakeService(), "--baseline", str(baseline)) == 0
    assert run(qa_file, weak, FakeService(weak=True), "--baseline", str(baseline)) == 1
    report = report_of(weak)
    assert set(report["verdict"]["regressions"]) == {"mrr", "citation_validity", "cited_evidence"}
    assert report["baseline"]["deltas"]["mrr"]["delta"] == pytest.approx(0.2778 - 0.5, abs=1e-3)
    assert "REGRESSIE" in (weak / "report.md").read_text()
    assert 'class="regressed"' in (weak / "report.html").read_text()
    assert "gezakt" in capsys.readouterr().out


@pytest.mark.parametrize("bars, good_exit, weak_exit", [
    (["mrr=0.5", "citation_validity=0.7"], 0, 1),
    (["false_refusal_rate=0.25"], 0, 0),  # a ceiling: 0.25 <= 0.25
    (["citation_validity=0.9"], 1, 1),
])
def test_fail_under(qa_file: Path, tmp_path: Path, bars, good_exit, weak_exit):
    assert run(qa_file, tmp_path / "g", FakeService(), "--fail-under", *bars) == good_exit
    assert run(qa_file, tmp_path / "w", FakeService(weak=True), "--fail-under", *bars) == weak_exit


def test_small_baseline_file_with_tolerance(qa_file: Path, tmp_path: Path):
    base = tmp_path / "base.json"
    base.write_text(json.dumps({"metrics": {"mrr": 0.6, "hit@5": 0.68}, "tolerance": {"mrr": 0.15}}))
    assert run(qa_file, tmp_path / "a", FakeService(), "--baseline", str(base)) == 0  # 0.5 >= 0.6 - 0.15
    base.write_text(json.dumps({"metrics": {"mrr": 0.6}, "tolerance": 0.05}))
    assert run(qa_file, tmp_path / "b", FakeService(), "--baseline", str(base)) == 1


@pytest.mark.parametrize("args, message", [
    (["missing.jsonl"], "QA-bestand niet gevonden"),
    (["{qa}", "--fail-under", "accuracy=0.5"], "onbekende metriek in --fail-under: 'accuracy'"),
    (["{qa}", "--fail-under", "mrr"], "metriek=waarde"),
    (["{qa}", "--baseline", "nope.json"], "baseline niet gevonden"),
    (["{bad}"], "bad.jsonl:2: geen geldige JSON"),
    (["{qa}", "--base-url", "http://127.0.0.1:9"], "server niet bereikbaar"),
    (["{qa}", "-k", "0"], "-k moet tussen 1 en 100 liggen"),
])
def test_bad_input_is_one_line_and_exit_2(qa_file: Path, tmp_path: Path, capsys, args, message):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(ITEMS[0]) + "\n{kapot\n", encoding="utf-8")
    argv = [a.format(qa=qa_file, bad=bad) for a in args] + ["--out", str(tmp_path / "o"), "-q"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("vraagbaak: fout: ") and message in err and err.count("\n") == 1


def test_rerun_is_served_from_cache(qa_file: Path, tmp_path: Path, capsys):
    out, first, second = tmp_path / "out", FakeService(), FakeService()
    assert run(qa_file, out, first) == 0
    assert (first.search_calls, first.ask_calls) == (3, 6)
    assert run(qa_file, out, second) == 0
    assert (second.search_calls, second.ask_calls) == (0, 0)
    assert "0 gevraagd, 6 uit cache" in capsys.readouterr().out.splitlines()[-3]
    assert report_of(out)["metrics"]["mrr"] == 0.5
    other = FakeService(weak=True)  # another configuration (info differs) does not reuse those answers
    run(qa_file, out, other)
    assert other.ask_calls == 6


def test_crash_resumes_where_it_stopped(qa_file: Path, tmp_path: Path):
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run(qa_file, out, FakeService(interrupt_at="q4"))
    with (out / "cache.jsonl").open("a") as f:
        f.write('{"config": "torn')  # a half-written line from the crash
    resumed = FakeService()
    assert run(qa_file, out, resumed) == 0
    assert resumed.ask_calls == 3 and resumed.search_calls == 1  # q4, q5, q6; only q6 is searched
    assert report_of(out)["metrics"]["mrr"] == 0.5


def test_service_errors_are_recorded_and_retried(qa_file: Path, tmp_path: Path):
    out = tmp_path / "out"
    assert run(qa_file, out, FakeService(fail={"q1"})) == 0
    report = report_of(out)
    row = next(r for r in report["rows"] if r["id"] == "q1")
    assert row["error"] == "generator viel om" and not row["passed"] and row["key_fact_recall"] == 0.0
    assert report["metrics"]["error_rate"] == pytest.approx(1 / 6, abs=1e-4)
    retry = FakeService()
    run(qa_file, out, retry)
    assert retry.ask_calls == 1 and report_of(out)["metrics"]["error_rate"] == 0.0


def test_in_process_path_loads_the_pipeline(qa_file: Path, tmp_path: Path, monkeypatch):
    service, seen = FakeService(), {}

    def load_pipeline(settings):
        seen["settings"] = settings
        return service

    monkeypatch.setitem(sys.modules, "service.qa.pipeline", types.SimpleNamespace(load_pipeline=load_pipeline))
    assert cli.main([str(qa_file), "--out", str(tmp_path / "o"), "-q", "--mode", "extractive"]) == 0
    assert seen["settings"] is not None and service.ask_calls == 6
    assert report_of(tmp_path / "o")["config"]["mode"] == "extractive"


def _mock_server(service: FakeService) -> httpx.MockTransport:
    """The /v1 contract over the fake service, as `vraagbaak serve` exposes it."""
    local = InProcessClient(service)

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/info":
            return httpx.Response(200, json=service.info())
        if request.method == "GET":  # no /readyz here: the client treats that as ready
            return httpx.Response(404, json={"error": "niet gevonden", "error_type": "not_found"})
        body = json.loads(request.content)
        if request.url.path == "/v1/search":
            hits = local.search(body["query"], body["k"])
            return httpx.Response(200, json={"hits": hits, "timings_ms": {}})
        return httpx.Response(200, json=local.ask(body["question"], body["history"], body.get("mode")))

    return httpx.MockTransport(handle)


def test_http_client_gives_the_same_metrics(qa_file: Path, tmp_path: Path):
    assert run(qa_file, tmp_path / "local", FakeService()) == 0
    client = HttpClient("http://vraagbaak.test", transport=_mock_server(FakeService()))
    assert cli.main([str(qa_file), "--out", str(tmp_path / "http"), "-q"], client=client) == 0
    local, remote = report_of(tmp_path / "local"), report_of(tmp_path / "http")
    quality = {k: v for k, v in local["metrics"].items() if "_p" not in k}
    assert {k: remote["metrics"][k] for k in quality} == quality
    assert remote["config"]["target"] == "http://vraagbaak.test"


def test_reports_contain_table_rows_and_embedded_plots(qa_file: Path, tmp_path: Path):
    out = tmp_path / "out"
    run(qa_file, out, FakeService())
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count('<img src="data:image/png;base64,') == 2
    assert all(f'id="q-{it["id"]}"' in html for it in ITEMS)
    assert html.count('<tr class="row pass"') == 3 and html.count('<tr class="row fail"') == 3
    assert "Ongeveer 150 mariniers voor HUMINT [1]." in html and "✓ bewijs" in html
    assert "<script" not in html and 'src="http' not in html and "<link" not in html  # self-contained
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "**Oordeel: GESLAAGD**" in md and "| q2 | numeric | ✗ |" in md


DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"


class Oracle:
    """Returns each item's evidence as hits and its reference answer, cited, as the answer."""

    def __init__(self, items: list[dict]):
        self.items = {it["question"]: it for it in items}

    def search(self, query, k=10, filters=None):
        return [_hit(e, i) for i, e in enumerate(self.items[query]["evidence"])]

    def ask(self, question, history=None, mode=None, k=None):
        it = self.items[question]
        if it["type"] == "unanswerable":
            return Answer(REFUSAL, True)
        cits = tuple(Citation(i + 1, f"c{i}", "d", "t", "", 1, e, e, 1.0)
                     for i, e in enumerate(it["evidence"]))
        return Answer(it["answer"].rstrip(".") + " " + "".join(f"[{c.n}]" for c in cits) + ".", False, cits)

    def info(self):
        return {}


@pytest.mark.skipif(not DEV.is_file(), reason=f"{DEV} ontbreekt")
def test_reference_answers_score_perfectly_on_the_dev_set(tmp_path: Path):
    """The metrics agree with the QA file: reference answers hold every key fact (number words too)."""
    client = InProcessClient(Oracle(load_qa(DEV)))
    assert cli.main([str(DEV), "--out", str(tmp_path), "-q"], client=client) == 0
    m = report_of(tmp_path)["metrics"]
    perfect = ("hit@1", "mrr", "all_evidence@10", "key_fact_recall", "citation_validity", "cited_evidence",
               "cited_marker_evidence", "refusal_accuracy", "dutch_share", "pass_rate")
    assert {name: m[name] for name in perfect} == dict.fromkeys(perfect, 1.0)
    assert m["false_refusal_rate"] == 0.0 and m["n_retrieval"] == 24


def test_against_the_real_api_over_http(qa_file: Path, tmp_path: Path):
    """`--base-url` against service.api.app (uvicorn on loopback) serving the fake: the same metrics."""
    from test_api_fakes import fake_settings, running_server

    from service.api.app import create_app

    assert run(qa_file, tmp_path / "local", FakeService()) == 0
    service = FakeService()
    with running_server(create_app(lambda: service, fake_settings(api_key="geheim"))) as url:
        settings = types.SimpleNamespace(api_key="geheim")
        argv = [str(qa_file), "--base-url", url, "--out", str(tmp_path / "http"), "-q"]
        args = cli.build_parser().parse_args(argv)
        assert cli.cmd_eval(args, settings) == 0
    local, remote = report_of(tmp_path / "local"), report_of(tmp_path / "http")
    quality = {k: v for k, v in local["metrics"].items() if "_p" not in k}
    assert {k: remote["metrics"][k] for k in quality} == quality
    assert (service.search_calls, service.ask_calls) == (3, 6)
    assert remote["config"]["target"] == url and remote["config"]["info"]["generator"] == "fake"


def test_http_client_retries_busy_and_reports_errors():
    calls = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"error": "druk"})
        return httpx.Response(502, json={"error": "generator viel om", "error_type": "generator_error"})

    client = HttpClient("http://x.test", transport=httpx.MockTransport(handle))
    with pytest.raises(ServiceError, match="HTTP 502: generator viel om"):
        client.ask("Vraag?", [], None)
    assert calls == ["/v1/ask", "/v1/ask"]
