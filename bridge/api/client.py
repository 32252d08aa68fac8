"""The client side of `bridge/api/endpoint.py`: a `pixel-detective` command that finds the index owned by a
running tray app or `serve` asks that process to do its work over the owner's local API (httpx).

`connect(data_dir)` returns a `LocalClient` when an owner publishes an endpoint that answers with its token,
else None (no owner, an owner that died and left its file, an owner of an older version without an endpoint).
Every failure reaches the caller as `ClientError` with a sentence for the user and the HTTP status (0: the
owner stopped answering).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx

from bridge.api import endpoint
from bridge.indexing.summary import Progress

CONNECT_TIMEOUT_S = 2.0
CALL_TIMEOUT_S = 600.0  # a search over a large index, an export of a large one


class ClientError(Exception):
    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class LocalClient:
    def __init__(self, found: endpoint.Endpoint) -> None:
        self.endpoint = found
        self.http = httpx.Client(
            base_url=f"{found.url}/api/v1/local",
            headers={"Authorization": f"Bearer {found.token}"},
            timeout=httpx.Timeout(CALL_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
            trust_env=False,  # never through a proxy from the environment: this is 127.0.0.1
        )
        self.info: dict[str, Any] = {}

    @property
    def owner(self) -> str:
        """Who serves this command, for the user: `the tray app (pid 123)`."""
        purpose = self.endpoint.purpose or "pixel-detective"
        return f"{purpose} (pid {self.endpoint.pid})"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> LocalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- calls -----------------------------------------------------------------------------------------
    def _call(self, method: str, url: str, **kw: Any) -> Any:
        try:
            r = self.http.request(method, url, **kw)
        except httpx.HTTPError:
            raise ClientError(f"{self.owner} stopped answering; run the command again") from None
        if r.status_code >= 400:
            self._raise_for(r)
        return r.json()

    @staticmethod
    def _raise_for(r: httpx.Response) -> None:
        try:
            message = str(r.json().get("error") or r.reason_phrase)
        except ValueError:
            message = r.reason_phrase
        raise ClientError(message, r.status_code)

    def fetch_info(self) -> dict[str, Any]:
        self.info = self._call("GET", "/info")
        return self.info

    def search(self, **params: Any) -> dict[str, Any]:
        return dict(self._call("POST", "/search", json=params))

    def duplicates(self, kinds: list[str], vectors: bool, progress: Progress | None = None) -> dict[str, Any]:
        """The owner's duplicate groups; with `progress`, its phases and counts arrive as it works."""
        body = {"kinds": kinds, "vectors": vectors}
        if progress is None:
            return dict(self._call("POST", "/duplicates", json=body))
        try:
            with self.http.stream("POST", "/duplicates", json={**body, "stream": True}) as r:
                if r.status_code >= 400:
                    r.read()
                    self._raise_for(r)
                for line in r.iter_lines():
                    item = json.loads(line) if line.strip() else {}
                    if "phase" in item:
                        progress.phase(str(item["phase"]), item.get("total"))
                    elif "done" in item:
                        progress.advance(done=int(item["done"]))
                    elif "result" in item:
                        return dict(item["result"])
                    elif "error" in item:
                        raise ClientError(str(item["error"]), 500)
        except httpx.HTTPError:
            raise ClientError(f"{self.owner} stopped answering; run the command again") from None
        except ValueError:
            raise ClientError(f"{self.owner} sent a reply this version does not understand") from None
        raise ClientError(f"{self.owner} stopped before it finished; run the command again")

    def cull(self, **body: Any) -> dict[str, Any]:
        return dict(self._call("POST", "/cull", json=body))

    def send_to_lightroom(
        self, photos: list[dict[str, Any]], collections: dict[str, list[str]]
    ) -> dict[str, Any]:
        """The owner's plug-in link pushes these to the open Lightroom (`routes/local_cull.py`)."""
        return dict(
            self._call("POST", "/lightroom/cull", json={"photos": photos, "collections": collections})
        )

    def submit(self, roots: list[str], captions: bool | None) -> dict[str, Any]:
        return dict(self._call("POST", "/index", json={"roots": roots, "captions": captions}))

    def cancel(self, job_id: str) -> bool:
        try:
            r = self.http.post(f"{self.endpoint.url}/api/v1/jobs/{job_id}/cancel", timeout=10)
        except httpx.HTTPError:
            return False
        return r.status_code == 200 and bool(r.json().get("done"))

    def export(self, file: Path, with_weights: bool = False) -> dict[str, Any]:
        body = {"file": str(file), "with_weights": with_weights}
        return dict(self._call("POST", "/export", json=body)["manifest"])

    def events(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """The owner's server-sent events as (kind, data), from `hello` on; ends when the owner stops."""
        try:
            with self.http.stream(
                "GET",
                f"{self.endpoint.url}/api/v1/events",
                timeout=httpx.Timeout(None, connect=CONNECT_TIMEOUT_S),
            ) as r:
                if r.status_code != 200:
                    raise ClientError(f"{self.owner} refused to show its progress", r.status_code)
                yield from parse_events(r.iter_lines())
        except httpx.HTTPError:
            raise ClientError(
                f"{self.owner} stopped answering; its job may still run (see `status`)"
            ) from None


def parse_events(lines: Iterable[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Server-sent events (`routes/jobs.py` `/events`) as (kind, data); comments and foreign data skipped."""
    kind, data = "", ""
    for line in lines:
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif not line and kind:
            try:
                parsed = json.loads(data or "{}")
            except ValueError:
                parsed = None  # not one of ours: skipped
            if isinstance(parsed, dict):
                yield kind, parsed
            kind, data = "", ""


def connect(data_dir: Path) -> LocalClient | None:
    """The running owner's client, or None when no owner answers at a published endpoint with its token."""
    found = endpoint.read(data_dir)
    if found is None:
        return None
    client = LocalClient(found)
    try:
        client.fetch_info()
    except ClientError:
        client.close()
        return None  # stale (a port reused by someone else, a token from an earlier run) or going away
    return client
