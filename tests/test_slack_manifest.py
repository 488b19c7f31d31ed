"""The Slack app manifest printed by `vraagbaak slack manifest`."""

from __future__ import annotations

import pytest

from service.slack.manifest import manifest


def test_http_manifest_points_every_url_at_the_public_host():
    m = manifest("https://vraagbaak.example.org/")
    assert m["settings"]["event_subscriptions"] == {"bot_events": ["app_mention", "message.im"],
                                                    "request_url": "https://vraagbaak.example.org/slack/events"}
    assert m["settings"]["interactivity"] == {"is_enabled": True,
                                              "request_url": "https://vraagbaak.example.org/slack/interactions"}
    [command] = m["features"]["slash_commands"]
    assert (command["command"], command["url"]) == ("/vraag", "https://vraagbaak.example.org/slack/commands")
    assert {"app_mentions:read", "chat:write", "commands", "reactions:write", "im:history",
            "channels:history"} <= set(m["oauth_config"]["scopes"]["bot"])
    assert m["settings"]["socket_mode_enabled"] is False


def test_socket_manifest_needs_no_url():
    m = manifest(None, socket=True)
    assert m["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in m["settings"]["event_subscriptions"]
    assert "url" not in m["features"]["slash_commands"][0]


def test_http_manifest_without_url_is_an_error():
    with pytest.raises(ValueError, match="public URL"):
        manifest(None)


def test_cli_prints_the_manifest_as_json(capsys):
    import json

    from service.cli import main

    assert main(["slack", "manifest", "--url", "https://vb.example.org", "--name", "Vraagbaak test"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == manifest("https://vb.example.org", "Vraagbaak test")
    assert main(["slack", "manifest"]) == 2
    assert "--url" in capsys.readouterr().err
