"""The CLI: one summary line on success, one error line and a non-zero exit on bad input."""

from pathlib import Path

import pytest

from service.cli import main


@pytest.fixture(autouse=True)
def fake_env(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("VRAAGBAAK_EMBEDDER", "fake")
    monkeypatch.setenv("VRAAGBAAK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("VRAAGBAAK_CHUNK_TOKENS", "60")
    monkeypatch.setenv("VRAAGBAAK_CHUNK_OVERLAP", "15")


def test_index_prints_summary(corpus_dir: Path, tmp_path: Path, capsys):
    out = tmp_path / "idx"
    assert main(["index", "--corpus", str(corpus_dir), "--out", str(out), "-q"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("index: 3 documenten, ") and " chunks, " in line and str(out) in line
    assert main(["index", "--corpus", str(corpus_dir), "--out", str(out), "-q"]) == 0
    assert "ongewijzigd" in capsys.readouterr().out


def test_index_counts_the_sentence_questions_or_says_they_are_missing(corpus_dir: Path, tmp_path: Path,
                                                                      monkeypatch, capsys):
    import json

    from index.sentences import sentence_key, split_sentences

    questions = tmp_path / "q"
    questions.mkdir()
    monkeypatch.setenv("VRAAGBAAK_QUESTIONS_DIR", str(questions))
    assert main(["index", "--corpus", str(corpus_dir), "--out", str(tmp_path / "a"), "-q"]) == 0
    assert ", 0 zinsvragen, " in capsys.readouterr().out
    text = json.loads((tmp_path / "a" / "chunks.jsonl").read_text("utf-8").splitlines()[0])["text"]
    s, e = next((s, e) for s, e in split_sentences(text) if e - s > 40)
    (questions / "written-1.jsonl").write_text(json.dumps(
        {"key": sentence_key(text[s:e]), "kind": "nl", "question": "Een vraag bij die zin?"}) + "\n", "utf-8")
    assert main(["index", "--corpus", str(corpus_dir), "--out", str(tmp_path / "a"), "-q"]) == 0
    assert ", 1 zinsvragen, " in capsys.readouterr().out  # a new question file: rebuilt
    monkeypatch.setenv("VRAAGBAAK_QUESTIONS_DIR", str(tmp_path / "nope"))
    assert main(["index", "--corpus", str(corpus_dir), "--out", str(tmp_path / "b"), "-q"]) == 0
    assert f"geen zinsvragen: map {tmp_path / 'nope'} ontbreekt" in capsys.readouterr().out


@pytest.mark.parametrize("make, expect", [
    (lambda d: d / "nope", "bestaat niet"),
    (lambda d: (d / "empty").mkdir() or d / "empty", "geen .txt"),
    (lambda d: ((d / "bin").mkdir(), (d / "bin" / "x.txt").write_bytes(bytes(range(256)) * 8))[0] or d / "bin",
     "binair"),
])
def test_bad_corpus_is_one_line_and_exit_2(tmp_path: Path, capsys, make, expect):
    folder = make(tmp_path)
    assert main(["index", "--corpus", str(folder), "--out", str(tmp_path / "idx"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expect in err and "Traceback" not in err


def test_index_of_other_embedder_is_one_line_error(corpus_dir: Path, tmp_path: Path, monkeypatch, capsys):
    out = tmp_path / "idx"
    assert main(["index", "--corpus", str(corpus_dir), "--out", str(out), "-q"]) == 0
    monkeypatch.setenv("VRAAGBAAK_EMBEDDER", str(tmp_path))  # a folder that is no model
    assert main(["index", "--corpus", str(corpus_dir), "--out", str(out), "-q"]) == 2
    assert "geen sentence-transformers-model" in capsys.readouterr().err
