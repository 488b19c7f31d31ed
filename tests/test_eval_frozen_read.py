"""eval/frozen_read.py: aggregate figures per frozen set and pooled, never an item."""

import json

from eval import frozen_read


def _rows():
    return [{"id": "a", "type": "factoid", "refused": False, "key_fact_recall": 1.0, "rank": 1},
            {"id": "b", "type": "paraphrase", "refused": True, "key_fact_recall": 0.0, "rank": 2},
            {"id": "c", "type": "followup", "refused": False, "key_fact_recall": 0.5},
            {"id": "d", "type": "unanswerable", "refused": True, "correct_refusal": True},
            {"id": "e", "type": "unanswerable", "refused": False, "correct_refusal": False}]


def test_counts_and_pool_give_rates_over_all_items_with_standard_errors():
    one = frozen_read.counts(_rows())
    assert one == {"answerable": 3, "unanswerable": 2, "facts_n": 3, "facts_sum": 1.5, "followup_n": 1,
                   "followup_sum": 0.5, "refused": 1, "false": 1, "ranked": 2, "rr_sum": 1.5}
    two = frozen_read.counts(_rows()[:1] + _rows()[3:4])  # 1 answerable (answered), 1 unanswerable (refused)
    p = frozen_read.pool([one, two])
    assert p["key_facts"] == round(2.5 / 4, 3)
    assert (p["followups"], p["first"]) == (0.5, round(2.0 / 3, 3))
    assert p["refused"] == (round(2 / 3, 3), round((2 / 3 * 1 / 3 / 3) ** 0.5, 3))
    assert p["false"] == (0.25, round((0.25 * 0.75 / 4) ** 0.5, 3))
    assert p["mrr"] == round(2.5 / 3, 3)
    assert (p["one_unanswerable"], p["one_answerable"]) == (1.0, 1.0)  # the smaller set has one of each


def test_unanswerable_questions_are_counted_by_form():
    rows = _rows() + [{"id": "f", "type": "unanswerable", "refused": True, "correct_refusal": True}]
    c = frozen_read.counts(rows, {"d": "follow-up", "e": "follow-up", "f": "English"})
    assert (c["follow-up_n"], c["follow-up_refused"], c["English_n"], c["English_refused"]) == (2, 1, 1, 1)
    assert (c["first_n"], c["first_refused"]) == (0, 0)
    p = frozen_read.pool([c, c])
    assert (p["follow-up_n"], p["follow-up_refused"], p["English_refused"]) == (4, 2, 2)
    assert frozen_read.by_form(p) == "; refused by form: follow-ups 2/4, English 2/2, first 0/0"
    assert frozen_read.by_form(frozen_read.counts(rows)) == ""  # no forms given: no counts


def test_forms_are_read_from_the_file(tmp_path):
    qa = tmp_path / "f.jsonl"
    qa.write_text("\n".join(json.dumps(x) for x in [
        {"id": "a", "question": "En hoeveel kostte dat?", "history": [{"role": "user", "content": "Wat?"}]},
        {"id": "b", "question": "How many Dutch soldiers served with UNIFIL in Lebanon in 1982?"},
        {"id": "c", "question": "Hoeveel Nederlandse militairen dienden in 1982 bij UNIFIL in Libanon?"}]) + "\n",
        "utf-8")
    assert frozen_read.forms(qa) == {"a": "follow-up", "b": "English", "c": "first"}


def test_main_prints_only_aggregates(tmp_path, monkeypatch, capsys):
    scorer = tmp_path / "score.py"
    summary = {"key_fact_recall": 0.5, "answer_words_p50": 40, "answer_words_p95": 70, "cited_evidence": 0.8,
               "correct_refusal": 0.5, "false_refusal": 0.333, "hit@1": 0.5, "hit@5": 1.0, "mrr": 0.75}
    scorer.write_text(
        "import json, sys\n"
        "out = sys.argv[sys.argv.index('--out') + 1]\n"
        "print('SECRET QUESTION TEXT', file=sys.stderr); print('SECRET ROW')\n"
        f"json.dump({{'summary': {summary!r}, 'rows': {_rows()!r}}}, open(out, 'w'))\n", "utf-8")
    qa = tmp_path / "frozenX.jsonl"
    qa.write_text(json.dumps({"id": "a", "question": "SECRET QUESTION TEXT"}) + "\n", "utf-8")
    monkeypatch.setattr(frozen_read, "SCORER", scorer)

    assert frozen_read.main([str(qa), "--base", "http://127.0.0.1:9"]) == 0

    out = capsys.readouterr()
    assert "SECRET" not in out.out + out.err
    assert "frozenX: key facts 0.5 (follow-ups 0.5, first questions 0.5) at 40/70 words" in out.out
    assert ("pooled (3 answerable, 2 unanswerable): key facts 0.5 (follow-ups 0.5, first questions 0.5), "
            "unanswerable refused 0.5 ± 0.354") in out.out
    assert out.out.count("; refused by form: follow-ups 0/0, English 0/0, first 0/0") == 2  # d, e: not in the file
