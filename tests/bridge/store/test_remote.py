"""qdrant-client specifics: connection and auth failures name the server, the collection is created with
cosine distance and the payload indexes, another model's collection is refused, local data persists."""

from __future__ import annotations

import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from qdrant_client import models

from bridge.store import PAYLOAD_FIELDS, Point, StoreError, open_store
from bridge.store.options import ServerOptions
from bridge.store.remote import RemoteStore

DIM = 8


def test_unreachable_server_names_the_url():
    with pytest.raises(StoreError, match=r"cannot reach the Qdrant server at http://127\.0\.0\.1:1"):
        open_store(
            "qdrant", collection="c", dim=DIM, url="http://127.0.0.1:1", options=ServerOptions(retries=0)
        )


class _Refuse(BaseHTTPRequestHandler):
    def _deny(self) -> None:
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": {"error": "Unauthorized"}}')

    do_GET = do_PUT = do_POST = _deny

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.filterwarnings("ignore")  # qdrant-client warns about API keys over http and the version check
def test_refused_api_key_is_explained():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(StoreError, match=f"Qdrant server at {url} refused the API key"):
            open_store("qdrant", collection="c", dim=DIM, url=url, api_key="wrong")
    finally:
        server.shutdown()


def test_needs_a_url_or_path():
    with pytest.raises(StoreError, match="qdrant_url"):
        open_store("qdrant", collection="c", dim=DIM)


def test_local_data_persists_and_other_dims_are_refused(tmp_path: Path):
    s = open_store("qdrant", collection="c", dim=DIM, path=tmp_path)
    s.upsert([Point(str(uuid.uuid4()), np.eye(DIM, dtype=np.float32)[i], {"rating": i}) for i in range(5)])
    s.close()
    s = open_store("qdrant", collection="c", dim=DIM, path=tmp_path)
    assert s.count() == 5
    s.close()
    with pytest.raises(StoreError, match=r"holds 8-dimensional .* not 16-dimensional"):
        open_store("qdrant", collection="c", dim=16, path=tmp_path)


def test_memory_mode():
    s = open_store("qdrant", collection="c", dim=DIM, url=":memory:")
    s.upsert([Point(str(uuid.uuid4()), np.ones(DIM), {})])
    assert s.count() == 1 and s.optimize() is False
    s.flush()
    s.close()


class FakeClient:
    """Stands in for a server: records collection and index creation."""

    def __init__(self, existing_schema: dict | None = None) -> None:
        self.created: list = []
        self.indexed: dict[str, object] = {}
        self.schema = existing_schema

    def collection_exists(self, name: str) -> bool:
        return self.schema is not None

    def create_collection(self, name: str, vectors_config: models.VectorParams, **layout: object) -> None:
        self.created.append((name, vectors_config))
        self.layout = layout
        self.schema = {}

    def get_collection(self, name: str) -> SimpleNamespace:
        vectors = self.created[0][1] if self.created else models.VectorParams(size=DIM, distance="Cosine")
        return SimpleNamespace(
            config=SimpleNamespace(params=SimpleNamespace(vectors=vectors)), payload_schema=self.schema
        )

    def create_payload_index(self, name: str, field: str, schema: object, wait: bool) -> None:
        assert wait
        self.indexed[field] = schema

    def close(self) -> None:
        pass


def test_server_collection_gets_cosine_and_payload_indexes():
    fake = FakeClient()
    RemoteStore(fake, "http://server:6333", "pd_v1_x", DIM)._prepare()  # type: ignore[arg-type]
    ((name, params),) = fake.created
    assert name == "pd_v1_x" and params.size == DIM and params.distance == models.Distance.COSINE
    assert set(fake.indexed) == set(PAYLOAD_FIELDS)
    camera = fake.indexed["camera"]
    assert isinstance(camera, models.TextIndexParams)
    assert camera.tokenizer == models.TokenizerType.WORD and camera.lowercase
    assert fake.indexed["rating"] == models.PayloadSchemaType.INTEGER
    assert fake.indexed["captured_ts"] == models.PayloadSchemaType.FLOAT
    assert fake.indexed["keywords_lc"] == models.PayloadSchemaType.KEYWORD


def test_existing_indexes_are_not_recreated():
    fake = FakeClient(existing_schema={"rating": object(), "camera": object()})
    RemoteStore(fake, "http://server:6333", "pd_v1_x", DIM)._prepare()  # type: ignore[arg-type]
    assert not fake.created
    assert set(fake.indexed) == set(PAYLOAD_FIELDS) - {"rating", "camera"}


def test_a_new_server_collection_gets_the_layout_from_the_options():
    fake = FakeClient()
    opts = ServerOptions(shard_number=6, replication_factor=2, write_consistency_factor=1)
    RemoteStore(fake, "http://server:6333", "pd_v1_x", DIM, opts)._prepare()  # type: ignore[arg-type]
    assert fake.layout == {"shard_number": 6, "replication_factor": 2, "write_consistency_factor": 1}


def test_an_existing_collection_keeps_its_layout():
    fake = FakeClient(existing_schema={})
    RemoteStore(fake, "http://server:6333", "pd_v1_x", DIM, ServerOptions(shard_number=6))._prepare()  # type: ignore[arg-type]
    assert not fake.created  # nothing re-created: Qdrant cannot reshard a collection in place


def test_local_mode_ignores_the_layout(tmp_path: Path):
    """qdrant-client's local mode has no shards or replicas; the options must not make it fail."""
    opts = ServerOptions(shard_number=3, replication_factor=2, parallel=4)
    with RemoteStore.open(collection="c", dim=DIM, path=tmp_path, options=opts) as s:
        s.upsert([Point(str(uuid.uuid4()), np.ones(DIM), {}) for _ in range(600)])  # 3 batches, sequential
        assert s.count() == 600
