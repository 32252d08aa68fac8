"""`duplicates` beside a running owner shows progress: the owner's local route streams its phases and counts
as NDJSON, and the client hands them to the command's progress bar; the groups are those of the plain reply."""

from __future__ import annotations

from bridge.api.client import ClientError, connect
from bridge.api.server import ClientEndpoint
from bridge.indexing.summary import Progress


class Recorded(Progress):
    def __init__(self) -> None:
        self.phases: list[tuple[str, int | None]] = []
        self.done = 0

    def phase(self, name: str, total: int | None = None) -> None:
        self.phases.append((name, total))

    def advance(self, done: int = 0, failed: int = 0) -> None:
        self.done += done


def test_duplicates_for_a_client_stream_their_progress(api_env) -> None:
    owner = ClientEndpoint(api_env.host, "the test owner")
    try:
        client = connect(api_env.settings.data_dir)
        assert client is not None
        with client:
            seen = Recorded()
            streamed = client.duplicates(["exact", "near", "burst"], True, seen)
            plain = client.duplicates(["exact", "near", "burst"], True)
            try:
                client.duplicates(["sideways"], True, Recorded())
                raise AssertionError("an unknown kind was accepted")
            except ClientError as e:
                assert e.status == 422 and "kinds" in str(e)
    finally:
        owner.close()
    assert streamed == plain
    assert any(g["kind"] == "exact" and len(g["paths"]) == 2 for g in streamed["groups"])
    names = [name for name, _ in seen.phases]
    compared = dict(seen.phases)[
        "comparing photos"
    ]  # one lookup per analysed content (other tests add photos)
    assert names[0] == "reading the index" and compared is not None and compared >= 12
    assert seen.done >= compared  # every lookup counted (plus the hashing of candidate copies)
