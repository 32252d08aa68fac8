"""The Lua plugin and the Python service declare the bridge protocol in one table each (Bridge.lua's
REQUESTS/DISPATCH, bridge/lightroom/protocol.py's MESSAGES): the two must list the same messages."""

from __future__ import annotations

from typing import Any

from bridge.lightroom.protocol import BOTH, MESSAGES, TO_PLUGIN, TO_SERVICE, requests
from tests.lrplugin.harness import Harness


def _lua_table(t: Any) -> dict[str, Any]:
    return {str(k): v for k, v in t.items()}


def test_the_plugins_requests_are_the_services_and_expect_the_same_replies(harness: Harness) -> None:
    bridge = harness.require("Bridge")
    lua_requests = {k: sorted(_lua_table(v).values()) for k, v in _lua_table(bridge.REQUESTS).items()}
    assert set(lua_requests) == set(requests(TO_SERVICE))
    for name, replies in lua_requests.items():
        m = MESSAGES[name]
        expected = sorted({r for r in (m.accepted, m.done) if r} or {m.reply})
        assert replies == expected, name


def test_every_message_the_service_sends_is_dispatched_and_nothing_else(harness: Harness) -> None:
    bridge = harness.require("Bridge")
    dispatched = set(_lua_table(bridge.DISPATCH))
    to_plugin = {t for t, m in MESSAGES.items() if m.direction in (TO_PLUGIN, BOTH)}
    assert dispatched == to_plugin, (dispatched - to_plugin, to_plugin - dispatched)
