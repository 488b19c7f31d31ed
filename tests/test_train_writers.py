"""The writers' batches of round 7 (train/sample_for_writers.py --passages) and the calibration files."""

import json

from train import calibrate, sample_for_writers


def test_passages_pool_marks_the_sentence_in_its_chunk_and_skips_sentences_it_lacks(tmp_path, monkeypatch):
    chunks = [{"chunk_id": "c1", "text": "Eerst de context. De missie eindigde in 2023. Daarna iets anders."},
              {"chunk_id": "c2", "text": "Een andere tekst zonder de zin."}]
    (tmp_path / "chunks.jsonl").write_text("".join(json.dumps(c) + "\n" for c in chunks), "utf-8")
    rows = [{"sid": "a", "sentence": "De missie eindigde in 2023.", "chunk_id": "c1", "doc_id": "d", "kind": "nl",
             "question": "Wanneer eindigde de missie?"},
            {"sid": "b", "sentence": "Deze zin staat nergens.", "chunk_id": "c2", "doc_id": "d", "kind": "nl",
             "question": "Wat staat nergens?"},
            {"sid": "c", "sentence": "Eerst de context.", "chunk_id": "c1", "doc_id": "d", "kind": "para",
             "question": "Wat komt eerst?"}]
    monkeypatch.setattr(sample_for_writers, "_first_dutch", lambda: rows)

    batches = sample_for_writers.passages_pool(2, 10, tmp_path)

    lines = [line for batch in batches for line in batch]
    assert [line["sid"] for line in lines] == ["a", "c"]  # "b" is not in its chunk: left out
    assert lines[0]["passage"] == "Eerst de context. ⟦De missie eindigde in 2023.⟧ Daarna iets anders."
    assert "question" not in lines[0]  # the earlier question is not shown to the writer
    assert [len(b) for b in batches] == [1, 1]


def test_probe9_and_probe10_are_studied_but_not_calibrated_on():
    names = [p.name for p in calibrate.TUNING]
    assert names[0] == "dev.jsonl" and "probe8.jsonl" in names and "probe9.jsonl" not in names
    assert "probe10.jsonl" not in names
