"""The Plug-in Manager's engine part (PluginInfoProvider.lua + EngineSection.lua) under real Lua 5.1: the
section builds, and its buttons send `engines` / `engine.use` frames to a hand-written service and show what
comes back (or the refusal's sentence) in a dialog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.lrplugin.conftest import Client, start_bridge, write_token
from tests.lrplugin.harness import Harness

URL = "https://192.168.1.20:8765"
FP = ":".join(["AB"] * 32)
ENGINES = [
    {"name": "gpu-box", "display_name": "GPU box", "addresses": ["192.168.1.20"], "port": 8765, "url": URL,
     "tls_fingerprint": FP, "version": "0.9.0", "in_use": False},
    {"name": "attic", "display_name": "attic", "addresses": ["192.168.1.30"], "port": 8765,
     "url": "http://192.168.1.30:8765", "tls_fingerprint": "", "version": "", "in_use": False},
]  # fmt: skip


def _walk(node: Any) -> list[Any]:
    """Every view table in a section (the stand-in LrView builds plain tables with `kind`)."""
    out = [node]
    i = 1
    while node[i] is not None:
        out += _walk(node[i])
        i += 1
    return out


class Section:
    def __init__(self, h: Harness) -> None:
        self.h = h
        self.props = h.import_("LrBinding").makePropertyTable(h.lua.table())
        provider = h.require("PluginInfoProvider")
        f = h.import_("LrView").osFactory()
        self.sections = provider.sectionsForTopOfDialog(f, self.props)
        self.views = _walk(self.sections[2])

    def button(self, title: str) -> Any:
        found = [v for v in self.views if v.kind == "push_button" and v.title == title]
        assert len(found) == 1, title
        return found[0]

    def click(self, title: str) -> None:
        self.button(title).action()

    def messages(self) -> list[dict[str, Any]]:
        return [s for s in self.h.shown() if s["kind"] == "message"]


@pytest.fixture
def connected(harness: Harness, home: Path) -> Client:
    token = write_token(home)
    c = Client(harness, start_bridge(harness))
    c.hello(token)
    harness.run_until(lambda: harness.require("Bridge").isConnected(), what="connected")
    return c


def _answer(c: Client, request: dict[str, Any], type_: str, body: dict[str, Any]) -> None:
    c.send(type_, body, re=request["id"])


def test_the_section_builds_and_shows_the_engine_in_use(harness: Harness, connected: Client) -> None:
    s = Section(harness)
    assert s.sections[1].title == "Pixel Detective bridge"
    assert s.sections[2].title == "Pixel Detective engine"
    kinds = {v.kind for v in s.views}
    assert {"push_button", "password_field", "static_text", "row"} <= kinds
    assert [v.value.bind for v in s.views if v.kind == "password_field"] == ["apiKey"]
    for title in ("Find engines…", "Use this engine", "Use this computer"):
        s.button(title)
    status = connected.expect()  # the section asks what is in use
    assert status["type"] == "status"
    _answer(connected, status, "status.result", {"engine": "GPU box at " + URL})
    harness.run_until(lambda: s.props.engine == "GPU box at " + URL, what="engine shown")
    assert harness.errors() == []


def test_find_pick_and_use_an_engine_then_go_back_to_this_computer(
    harness: Harness, connected: Client
) -> None:
    s = Section(harness)
    _answer(connected, connected.expect(), "status.result", {"engine": "this computer"})

    def choose_gpu_box(args: Any) -> str:
        menus = [v for v in _walk(args.contents) if v.kind == "popup_menu"]
        titles = [menus[0]["items"][i].title for i in (1, 2)]
        assert titles == [
            f"GPU box at {URL}, version 0.9.0",
            "attic at http://192.168.1.30:8765 (no TLS: cannot be used)",
        ]
        args.contents.bind_to_object.name = "gpu-box"
        return "ok"

    harness.answer_dialogs(choose_gpu_box)
    s.click("Find engines…")
    req = connected.expect()
    assert (req["type"], req["body"]) == ("engines", {"seconds": 3})
    _answer(connected, req, "engines.result", {"engines": ENGINES, "using": "this computer"})
    harness.run_until(lambda: s.props.chosen == "gpu-box", what="engine chosen")
    assert s.props.chosenLabel.startswith("GPU box at " + URL)

    s.props.apiKey = "  pd_abc_secret  "
    s.click("Use this engine")
    req = connected.expect()
    assert (req["type"], req["body"]) == ("engine.use", {"name": "gpu-box", "api_key": "pd_abc_secret"})
    _answer(connected, req, "engine.use.result", {"using": "GPU box at " + URL, "url": URL})
    harness.run_until(lambda: s.messages(), what="a dialog")
    said = s.messages()[-1]
    assert said["message"].startswith(f"The tray app will use GPU box at {URL}; restart it if it is running.")
    assert "pixel-detective serve" in said["message"]
    assert "Once restarted it serves Lightroom from that engine" in said["message"]
    assert s.props.engine == "GPU box at " + URL and s.props.apiKey == ""  # the key is not kept in the dialog

    s.click("Use this computer")
    req = connected.expect()
    assert (req["type"], req["body"]) == ("engine.use", {"local": True})
    _answer(connected, req, "engine.use.result", {"using": "this computer", "url": None})
    harness.run_until(lambda: len(s.messages()) == 2, what="a second dialog")
    assert s.messages()[-1]["message"] == "The tray app will use this computer; restart it if it is running."
    assert s.props.engine == "this computer"
    assert harness.errors() == []


def test_refusals_and_missing_input_are_said_in_words(harness: Harness, connected: Client) -> None:
    s = Section(harness)
    _answer(connected, connected.expect(), "status.result", {"engine": "this computer"})
    s.click("Use this engine")  # nothing chosen: nothing sent
    assert s.messages()[-1]["message"] == 'First click "Find engines…" and choose an engine.'
    s.props.chosen = "gpu-box"
    s.click("Use this engine")  # no key
    assert "Paste the API key" in s.messages()[-1]["message"]

    s.props.apiKey = "pd_wrong"
    s.click("Use this engine")
    req = connected.expect()
    assert req["type"] == "engine.use"
    refusal = "GPU box refused the API key. Check it, or create one on that computer."
    connected.send("error", {"code": "refused", "message": refusal}, re=req["id"])
    harness.run_until(lambda: len(s.messages()) == 3, what="the refusal")
    said = s.messages()[-1]
    assert (said["message"], said["extra"]) == (refusal, "warning")
    assert s.props.engine == "this computer"

    harness.answer_dialogs("cancel")
    s.click("Find engines…")
    _answer(connected, connected.expect(), "engines.result", {"engines": [], "using": "this computer"})
    harness.run_until(lambda: len(s.messages()) == 4, what="nothing found")
    assert s.messages()[-1]["message"].startswith("No engine answered on the local network within 3 seconds.")
    assert harness.errors() == []


def test_not_connected_says_so_and_sends_nothing(harness: Harness) -> None:
    start_bridge(harness)
    s = Section(harness)
    assert s.props.engine.startswith("unknown (the Pixel Detective service is not connected)")
    s.click("Find engines…")
    harness.run_until(lambda: s.messages(), what="a dialog")
    assert "not connected" in s.messages()[-1]["message"]
    assert harness.errors() == []
