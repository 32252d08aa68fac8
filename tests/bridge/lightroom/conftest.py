"""Service fixtures: a bridge dir per test, short timeouts, an indexed host, the plugin simulator."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bridge.api.keys import KeyStore, Scope
from bridge.api.limits import FailureLimiter
from bridge.api.server import ApiServer, ApiSettings
from bridge.host import EngineHost
from bridge.lightroom import Service, Timeouts
from bridge.settings import Settings
from tests.bridge.conftest import make_photos, settings, tiny_models_dir  # noqa: F401  (shared fixtures)
from tests.bridge.lightroom.plugin_sim import PluginSim
from tests.model_factory import TINY_MODEL_ID

# Short enough that heartbeat/reconnect tests take seconds, long enough for a loaded CI machine.
FAST = Timeouts(
    ack=2.0, ping_after=0.5, dead_after=2.0, poll=0.05, port_poll=0.05, backoff_min=0.05, backoff_max=0.3
)


@pytest.fixture
def bridge_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "bridge-dir"
    monkeypatch.setenv("PIXEL_DETECTIVE_BRIDGE_DIR", str(d))  # never the user's ~/.pixel-detective
    return d


@pytest.fixture(scope="session")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 photos shared by the session's tests: read them, never write next to them."""
    folder = tmp_path_factory.mktemp("service-photos") / "photos"
    make_photos(folder, 12)
    return folder


@pytest.fixture(scope="session")
def indexed_template(tmp_path_factory: pytest.TempPathFactory, tiny_models_dir: Path, photos: Path) -> Path:  # noqa: F811
    """`photos` indexed once; each test gets a copy (an index run costs seconds, a copy milliseconds)."""
    data = tmp_path_factory.mktemp("service-index") / "data"
    shutil.copytree(tiny_models_dir, data / "models")
    with EngineHost(Settings(data_dir=data, model=TINY_MODEL_ID, workers=2, batch_size=8)) as h:
        job = h.submit([photos])
        assert job.finished.wait(120) and job.status == "completed", job.error
    return data


@pytest.fixture
def host(settings) -> Iterator[EngineHost]:  # noqa: F811
    with EngineHost(settings) as h:
        yield h


@pytest.fixture
def indexed(settings, indexed_template: Path) -> Iterator[EngineHost]:  # noqa: F811
    for item in indexed_template.iterdir():
        if item.name in ("models", "owner.lock"):
            continue
        dst = settings.data_dir / item.name
        if item.is_dir():
            shutil.copytree(item, dst)
        else:
            shutil.copy2(item, dst)
    with EngineHost(settings) as h:
        yield h


@pytest.fixture
def service(settings, indexed: EngineHost, bridge_dir: Path) -> Iterator[Service]:  # noqa: F811
    svc = Service(settings, indexed, directory=bridge_dir, timeouts=FAST).start()
    yield svc
    svc.stop()


@pytest.fixture
def sim(service: Service, bridge_dir: Path) -> Iterator[PluginSim]:
    with PluginSim(bridge_dir) as s:
        assert s.wait_connected(20), service.status()
        assert service.wait_connected(10)
        yield s


@contextmanager
def tls_api(host: EngineHost, scope: Scope) -> Iterator[tuple[ApiServer, str]]:
    """A "GPU box": `host`'s REST API on 127.0.0.1 over TLS (self-signed, pinned by clients), and a key of
    `scope` it issued: (server, key)."""
    key = KeyStore(host.settings.data_dir).create("laptop", scope)[1]
    server = ApiServer(
        host,
        ApiSettings(listen="127.0.0.1", port=0, tls=True, advertise=False, webhooks=False, metrics=False),
        local_token=lambda: None,
        limiter=FailureLimiter(limit=10_000),  # the refusal tests fail on purpose
    ).start()
    try:
        yield server, key
    finally:
        server.stop()
