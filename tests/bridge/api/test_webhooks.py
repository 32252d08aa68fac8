"""Webhooks posted to a real HTTP server on 127.0.0.1 by real job runs: signed, retried, never blocking."""

from __future__ import annotations

import json
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bridge.api.webhooks import SIGNATURE_HEADER, WebhookDispatcher, verify_signature
from bridge.host import EngineHost
from bridge.settings import Webhook
from tests.bridge.api.hostevents import announced
from tests.bridge.conftest import make_photos


class Receiver:
    """An http.server in a thread; answers `fail_first` requests with 503, then 200."""

    def __init__(self, fail_first: int = 0) -> None:
        self.posts: list[tuple[dict[str, str], bytes, float]] = []
        self.fail_left = fail_first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.posts.append((dict(self.headers), body, time.monotonic()))
                code = 200
                if outer.fail_left > 0:
                    outer.fail_left -= 1
                    code = 503
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict]:
        return [json.loads(b) for _, b, _ in self.posts]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_run_finished_is_posted_signed_after_a_real_run(settings, tmp_path, receiver):
    folder = tmp_path / "p"
    make_photos(folder, 6)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 nope")
    hook = Webhook(url=receiver.url, events=["run_finished"], secret="s3cret")
    with EngineHost(settings.with_overrides(webhooks=[hook.model_dump()])) as host:
        hooks = WebhookDispatcher(host, backoff_s=0.05)  # hooks from the settings
        seen = announced(host)
        job = host.submit([folder])
        assert seen.wait(120)
        assert hooks.flush(30)
        hooks.close()
    assert len(receiver.posts) == 1
    headers, body, _ = receiver.posts[0]
    assert verify_signature("s3cret", body, headers[SIGNATURE_HEADER])
    assert not verify_signature("other", body, headers[SIGNATURE_HEADER])
    assert headers["X-Pixel-Detective-Event"] == "run_finished"
    event = json.loads(body)
    assert event["event"] == "run_finished" and event["job"]["job"] == job.id
    assert event["job"]["status"] == "completed"
    assert event["summary"]["embedded"] == 6 and event["summary"]["failed"] == 1
    assert event["delivery"] == headers["X-Pixel-Detective-Delivery"]


def test_a_failed_run_needs_attention_and_failures_are_retried_with_backoff(settings, tmp_path):
    receiver = Receiver(fail_first=2)  # the receiver is down for the first two tries
    folder = tmp_path / "p"
    make_photos(folder, 2)
    try:
        # a damaged rules file: the job really fails when it loads its rules
        bad_rules = tmp_path / "rules.toml"
        bad_rules.write_text("[[rule]\nthis is not toml")
        with EngineHost(settings.with_overrides(rules_file=bad_rules)) as host:
            hooks = WebhookDispatcher(
                host, [Webhook(url=receiver.url, events=["needs_attention"])], backoff_s=0.2
            )
            seen = announced(host)
            job = host.submit([folder])
            assert seen.wait(120)
            assert job.status == "failed"
            assert hooks.flush(30)
            hooks.close()
    finally:
        receiver.close()
    assert len(receiver.posts) == 3  # 503, 503, 200: the same delivery three times
    deliveries = {h["X-Pixel-Detective-Delivery"] for h, _, _ in receiver.posts}
    assert len(deliveries) == 1
    times = [t for _, _, t in receiver.posts]
    assert times[1] - times[0] >= 0.2 and times[2] - times[1] >= 0.4  # doubling back-off
    event = receiver.events()[0]
    assert event["event"] == "needs_attention" and event["reason"] == "failed"
    assert "rules.toml" in event["detail"], event["detail"]
    assert SIGNATURE_HEADER not in receiver.posts[0][0]  # no secret, no signature
    [d] = list(hooks.history)
    assert d.ok and d.attempts == 3


def test_stalled_and_disk_nearly_full_are_sent_once(settings, tmp_path, receiver):
    folder = tmp_path / "p"
    make_photos(folder, 160, size=(64, 48))
    total = shutil.disk_usage(settings.data_dir.parent).total
    with EngineHost(settings.with_overrides(batch_size=8)) as host:
        hooks = WebhookDispatcher(
            host,
            [Webhook(url=receiver.url, events=["needs_attention"])],
            check_every_s=3600,  # checks run only when the test calls them
            disk_nearly_full_bytes=total + 1,  # any free space is "nearly full"
        )
        seen = announced(host)
        started = threading.Event()
        host.subscribe(lambda e: started.set() if e.kind == "progress" else None)
        job = host.submit([folder])
        assert started.wait(120)
        running = job.status == "running"
        hooks.check(now=time.time() + 3600)  # an hour without progress, seen from the future
        hooks.check(now=time.time() + 7200)  # the same episode: not sent again
        assert seen.wait(180)
        assert hooks.flush(30)
        hooks.close()
    reasons = [e["reason"] for e in receiver.events()]
    assert reasons.count("disk_nearly_full") == 1
    if running:  # on a very fast machine the job may be done before the check
        assert reasons.count("stalled") == 1
        stalled = next(e for e in receiver.events() if e["reason"] == "stalled")
        assert stalled["job"]["job"] == job.id and "no progress" in stalled["detail"]


def test_an_unreachable_hook_never_blocks_the_engine(settings, tmp_path, receiver):
    folder = tmp_path / "p"
    make_photos(folder, 3)
    dead = Webhook(url="http://127.0.0.1:9/nothing-listens-here", events=["run_finished"])
    live = Webhook(url=receiver.url, events=["run_finished"])
    with EngineHost(settings) as host:
        hooks = WebhookDispatcher(host, [dead, live], retries=3, backoff_s=0.5)
        seen = announced(host)
        t0 = time.monotonic()
        job = host.submit([folder])
        assert seen.wait(120)
        finished_in = time.monotonic() - t0
        assert hooks.flush(30)
        hooks.close()
    bad = [d for d in hooks.history if d.url == dead.url]
    assert len(bad) == 1 and not bad[0].ok and bad[0].attempts == 4 and bad[0].error
    assert len(receiver.posts) == 1  # the live hook still got its post, after the dead one's back-off
    assert finished_in < 60 and job.status == "completed"
