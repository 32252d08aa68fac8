"""One indexed data dir and one running REST API for the API tests (session-wide: indexing is the slow part) (uvicorn on 127.0.0.1, a free port), with a
key of each scope and a known local token; tests talk to it over real HTTP with httpx."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bridge.api.keys import KeyStore, Scope
from bridge.api.limits import FailureLimiter
from bridge.api.server import ApiServer, ApiSettings
from bridge.host import EngineHost
from bridge.settings import Settings
from tests.bridge.conftest import make_photos
from tests.model_factory import TINY_MODEL_ID


@dataclass
class Api:
    root: Path
    settings: Settings
    host: EngineHost
    server: ApiServer
    keys: dict[str, str]  # scope → full key
    token: str  # the local token (admin on loopback)
    photos: list[Path]

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, scope: str | None = None, **kw: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[scope]}"} if scope else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kw)  # type: ignore[arg-type]


def make_settings(root: Path, models: Path) -> Settings:
    data = root / "data"
    shutil.copytree(models, data / "models")
    return Settings(data_dir=data, model=TINY_MODEL_ID, workers=2, batch_size=8)


@pytest.fixture(scope="session")
def api_env(tmp_path_factory: pytest.TempPathFactory, tiny_models_dir: Path) -> Iterator[Api]:
    root = tmp_path_factory.mktemp("api")
    settings = make_settings(root, tiny_models_dir)
    photos = make_photos(root / "photos", 12)
    shutil.copy(photos[0], root / "photos" / "copy_of_0.jpg")  # an exact duplicate
    host = EngineHost(settings)
    try:
        host.submit([str(root / "photos")])
        assert host.wait_idle(180)
        store = KeyStore(settings.data_dir)
        keys = {s.value: store.create(f"test {s.value}", s)[1] for s in Scope}
        token = secrets.token_hex(32)
        server = ApiServer(
            host,
            ApiSettings(port=0),
            local_token=lambda: token,
            limiter=FailureLimiter(limit=10_000),  # the auth matrix fails on purpose, many times
        ).start()
        try:
            yield Api(root, settings, host, server, keys, token, photos)
        finally:
            server.stop()
    finally:
        host.close()
