"""Waiting on an EngineHost's events in the API tests."""

from __future__ import annotations

import threading

from bridge.host import EngineHost


def announced(host: EngineHost, jobs: int = 1) -> threading.Event:
    """Set once the host has told its listeners a job finished (`Job.finished` is set just before that):
    subscribed after the collector, so the collector has seen the event when this is set."""
    done, seen = threading.Event(), []

    def on(e) -> None:
        if e.kind == "job_finished":
            seen.append(e)
            if len(seen) >= jobs:
                done.set()

    host.subscribe(on)
    return done
