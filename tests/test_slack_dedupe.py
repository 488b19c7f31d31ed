"""SeenEvents: a delivery is claimed once per key, across instances, until its keys expire."""

from __future__ import annotations

from service.slack.dedupe import SeenEvents


def test_first_claim_wins_and_any_shared_key_blocks(tmp_path):
    seen = SeenEvents(tmp_path / "s.sqlite3")
    assert seen.claim("event:Ev1", "msg:C1:1.0") is True
    assert seen.claim("event:Ev1", "msg:C1:1.0") is False  # a retry
    assert seen.claim("event:Ev2", "msg:C1:1.0") is False  # the same message as another event type
    assert seen.claim("event:Ev3", "msg:C1:2.0") is True


def test_keys_expire_after_the_ttl(tmp_path):
    seen = SeenEvents(tmp_path / "s.sqlite3", ttl_s=60)
    assert seen.claim("event:Ev1", now=1000.0) is True
    assert seen.claim("event:Ev1", now=1059.0) is False
    assert seen.claim("event:Ev1", now=1061.0) is True


def test_a_second_process_sees_the_same_claims(tmp_path):
    assert SeenEvents(tmp_path / "s.sqlite3").claim("event:Ev1") is True
    assert SeenEvents(tmp_path / "s.sqlite3").claim("event:Ev1") is False


def test_empty_keys_are_ignored(tmp_path):
    seen = SeenEvents(tmp_path / "s.sqlite3")
    assert seen.claim("", "event:Ev9") is True and seen.claim("event:Ev9", "") is False
