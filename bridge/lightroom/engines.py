"""The plugin's engine choice (`engines`, `engine.use`): browse the local network for engines that advertise
their API, check an API key against one over TLS pinned to its advertised fingerprint, and store the choice
(`remote_url`, `remote_api_key`, `remote_tls_fingerprint`) in the settings file with the writer
`pixel-detective remote use` and `config` use.

Every refusal is a `ProtocolError` with a fixed sentence (it may name the engine as the plugin or the network
named it); the key itself is never in a reply or the log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bridge.discovery import RemoteEngine, browse
from bridge.files.settings_file import read_settings_file, write_settings_file
from bridge.lightroom import protocol as p
from bridge.lightroom.protocol import ProtocolError
from bridge.pinned import EngineCheck, check_key
from bridge.settings import default_config_file

log = logging.getLogger(__name__)

LOCAL = "this computer"
REMOTE_KEYS = ("remote_url", "remote_api_key", "remote_tls_fingerprint")

# EngineCheck kinds → (error code, sentence); {who} is the engine as the user knows it.
_REFUSALS: dict[str, tuple[str, str]] = {
    "no_tls": (
        "refused",
        "{who} offers no TLS certificate to pin, so an API key would cross the network in the clear: "
        "it was not used.",
    ),
    "unreachable": (
        "unreachable",
        "{who} did not answer. Is it running with its API on the network, and is this computer on the same "
        "network?",
    ),
    "fingerprint": (
        "refused",
        "{who} presented another TLS certificate than the one it advertised, so the key was not sent and "
        "nothing was changed. Someone may be in between: compare the fingerprint shown by "
        "`pixel-detective remote list` with the one on that computer.",
    ),
    "wrong_key": (
        "refused",
        "{who} refused the API key. Check it, or create one on that computer with "
        "`pixel-detective keys create --scope read --name laptop`.",
    ),
    "throttled": (
        "refused",
        "{who} refuses keys from this computer for a while after too many wrong ones: wait a minute and try "
        "again.",
    ),
    "not_an_engine": (
        "unreachable",
        "{who} answered, but not as a Pixel Detective engine: check its address.",
    ),
}


def refusal(kind: str, who: str) -> tuple[str, str]:
    """The bridge error code and the sentence for an `EngineCheck` kind (also what `pixel-detective remote use`
    says): `who` is the engine as the user knows it."""
    code, sentence = _REFUSALS[kind]
    return code, sentence.format(who=_shown(who))


def _shown(text: str) -> str:
    """A name from the network or the plugin, as a sentence may quote it (one line, bounded)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= 80 else flat[:79] + "…"


class Engines:
    """What the handlers of `engines` and `engine.use` do. `interfaces` restricts zeroconf (tests: loopback);
    `config_file` says where the settings file is (the one `pixel-detective` reads)."""

    def __init__(
        self,
        *,
        interfaces: Sequence[str] | None = None,
        config_file: Callable[[], Path] = default_config_file,
        check: Callable[[str, str, str], None] = check_key,
    ) -> None:
        self.interfaces = interfaces
        self.config_file = config_file
        self.check = check
        self._seen: dict[str, RemoteEngine] = {}  # the last browse, by name
        self._lock = threading.Lock()  # one settings write at a time

    # -- what is in use ------------------------------------------------------------------------------
    def current_url(self) -> str | None:
        """The remote engine's URL the settings file names, or None (this computer, or an unreadable file:
        the tray app would not start on one either)."""
        try:
            url = read_settings_file(self.config_file()).get("remote_url")
        except ValueError:
            return None
        return url if isinstance(url, str) and url else None

    def using(self, url: str | None = None) -> str:
        """ "this computer", or the remote engine: its name from the last browse when known, else its URL."""
        url = self.current_url() if url is None else url
        if not url:
            return LOCAL
        named = next((e for e in self._seen.values() if e.url == url), None)
        return f"{_shown(named.display_name)} at {url}" if named else url

    # -- requests ------------------------------------------------------------------------------------
    def engines(self, body: p.Engines) -> dict[str, Any]:
        found = browse(body.seconds, interfaces=self.interfaces)
        self._seen = {e.name: e for e in found}
        url = self.current_url()
        return {
            "engines": [
                {
                    "name": e.name,
                    "display_name": e.display_name,
                    "addresses": list(e.addresses),
                    "port": e.port,
                    "url": e.url,
                    "tls_fingerprint": e.tls_fingerprint,
                    "version": e.version,
                    "in_use": url is not None and e.url == url,
                }
                for e in found
            ],
            "using": self.using(url),
        }

    def use(self, body: p.EngineUse, re: str) -> dict[str, Any]:
        if body.local:
            self._store(None, re)
            return {"using": LOCAL, "url": None}
        assert body.api_key is not None  # the body's validator wants one with `name` or `url`
        if body.name is not None:
            engine = self._find(body.name, body.seconds, re)
            url, fingerprint, who = engine.url, engine.tls_fingerprint, _shown(engine.display_name)
        else:
            assert body.url is not None and body.tls_fingerprint is not None
            url, fingerprint, who = body.url, body.tls_fingerprint, _shown(body.url)
        try:
            self.check(url, fingerprint, body.api_key)
        except EngineCheck as e:
            code, sentence = refusal(e.kind, who)
            log.info("engine.use: %s refused (%s)", url, e.kind)
            raise ProtocolError(code, sentence, re) from None
        self._store((url, body.api_key, fingerprint), re)
        log.info("engine.use: remote engine %s stored in the settings file", url)
        return {"using": self.using(url), "url": url}

    def _find(self, name: str, seconds: float, re: str) -> RemoteEngine:
        def match(engines: Sequence[RemoteEngine]) -> RemoteEngine | None:
            return next((e for e in engines if name in (e.name, e.display_name)), None)

        engine = match(list(self._seen.values()))
        if engine is None:
            found = browse(seconds, interfaces=self.interfaces)
            self._seen = {e.name: e for e in found}
            engine = match(found)
        if engine is None:
            raise ProtocolError(
                "not_found",
                f"No engine named {_shown(name)!r} answered on the local network within {seconds:g} s. Is it "
                "running with its API on the network? Find engines again to see which ones answer.",
                re,
            )
        return engine

    def _store(self, remote: tuple[str, str, str] | None, re: str) -> None:
        """Write the choice (None: this computer) into the settings file, keeping everything else in it."""
        path = self.config_file()
        with self._lock:
            try:
                data = read_settings_file(path)
            except ValueError:
                raise ProtocolError(
                    "internal",
                    f"The settings file {path} cannot be read, so nothing was changed: "
                    "`pixel-detective config validate` says why.",
                    re,
                ) from None
            if remote is None:
                if not any(k in data for k in REMOTE_KEYS):
                    return
                for k in REMOTE_KEYS:
                    data.pop(k, None)
            else:
                url, key, fingerprint = remote
                data.update(remote_url=url, remote_api_key=key, remote_tls_fingerprint=fingerprint)
            write_settings_file(path, data)
