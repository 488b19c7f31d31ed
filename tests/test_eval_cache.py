"""The result cache: keyed by configuration and question, appended line by line, torn lines ignored."""

from pathlib import Path

from eval.cache import ResultCache, config_key, item_key


def test_config_key_ignores_volatile_info_but_not_the_index():
    info = {"index": {"corpus_checksum": "abc", "embedder": {"fingerprint": "e5"}}, "uptime_s": 3}
    same = {"uptime_s": 999, "index": {"embedder": {"fingerprint": "e5"}, "corpus_checksum": "abc"}}
    assert config_key("generate", "in-process", info, 10) == config_key("generate", "in-process", same, 10)
    other_index = {"index": {"corpus_checksum": "xyz", "embedder": {"fingerprint": "e5"}}}
    keys = {config_key("generate", "in-process", info, 10), config_key("extractive", "in-process", info, 10),
            config_key("generate", "http://x", info, 10), config_key("generate", "in-process", info, 5),
            config_key("generate", "in-process", other_index, 10)}
    assert len(keys) == 5


def test_item_key_includes_history():
    q = {"question": "En daarna?"}
    assert item_key(q) == item_key({**q, "history": []})
    assert item_key(q) != item_key({**q, "history": [{"role": "user", "content": "Wat eerst?"}]})


def test_round_trip_torn_line_and_other_configs(tmp_path: Path):
    path = tmp_path / "cache.jsonl"
    cache = ResultCache(path, "cfg1")
    cache.put("k1", "q1", {"answer": {"answer": "één"}})
    ResultCache(path, "cfg2").put("k1", "q1", {"answer": {"answer": "twee"}})
    with path.open("a", encoding="utf-8") as f:
        f.write('{"config": "cfg1", "item": "k2"')  # torn by a crash
    again = ResultCache(path, "cfg1")
    assert len(again) == 1 and again.get("k1") == {"answer": {"answer": "één"}} and again.get("k2") is None
    again.put("k2", "q2", {"answer": {"answer": "drie"}})  # starts on a fresh line after the torn one
    assert len(ResultCache(path, "cfg1")) == 2
