"""The tray app's engine child hosts the local API for CLI commands beside it (issue 16): `RemoteHost`
without a window publishes the endpoint, a client searches and indexes through it, and closing the host
withdraws it."""

from __future__ import annotations

import pytest

from bridge.api import endpoint
from bridge.api.client import connect
from desktop.engine_process import RemoteHost
from tests.bridge.conftest import make_photos

pytestmark = pytest.mark.timeout(240)


def test_engine_child_serves_cli_clients(settings, tmp_path):
    photos = make_photos(tmp_path / "photos", 3)
    host = RemoteHost(settings, with_service=False)
    try:
        found = endpoint.read(settings.data_dir)
        assert found is not None and host.clients_url == found.url and found.purpose == "the tray app"
        client = connect(settings.data_dir)
        assert client is not None
        with client:
            assert client.info["model"] == settings.model
            job = client.submit([str(tmp_path / "photos")], None)["job"]["job"]
            assert host.wait_idle(120)
            assert host.job(job) is not None and host.job(job).status == "completed"
            hits = client.search(query=None, like=str(photos[0]), limit=3)["results"]
            assert hits and hits[0]["path"] == str(photos[0])
    finally:
        host.close()
    assert not endpoint.path(settings.data_dir).exists()
