"""The caption stage is resumable on its own: kill -9 in the middle of captioning, run again: every photo is
captioned exactly once more than needed at most one batch, and nothing else is redone."""

from __future__ import annotations

import os
import signal
import time

import pytest

from bridge.engine import Engine
from bridge.models.blip import import_caption_model
from tests.blip_factory import make_tiny_blip
from tests.bridge.conftest import make_photos
from tests.reliability.ledger_peek import stage_count

pytestmark = pytest.mark.reliability
N = 96


def kill9_after_captions(proc, ledger_path, n: int) -> None:
    """kill -9 the indexing process group once the ledger has recorded `n` captions."""
    deadline = time.monotonic() + 240
    while stage_count(ledger_path, "caption") < n:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "captioning made no progress"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.slow  # CI time: the default run keeps test_crash_resume.py's kill -9 and resume; `scripts/test.sh -m slow` runs this
def test_kill9_during_captions_then_resume(cli, settings, tmp_path):
    folder = tmp_path / "c"
    make_photos(folder, N, size=(64, 48))
    import_caption_model(make_tiny_blip(tmp_path / "blip"), "tiny-blip", settings.models_dir)
    base = ("index", str(folder), "--model", settings.model, "--workers", "2")
    first = cli(*base, "--json")  # embeddings, scores, keywords: done before captions are asked for
    assert first.returncode == 0, first.stderr
    args = (*base, "--captions", "--caption-model", "tiny-blip")
    kill9_after_captions(cli(*args, wait=False), settings.ledger_path, 16)
    at_kill = stage_count(settings.ledger_path, "caption")
    assert at_kill < N
    done = cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    s = settings.with_overrides(captions=True, caption_model="tiny-blip")
    with Engine.open(s) as engine:
        last = engine.ledger.runs(1)[0]["summary"]
        assert last["captioned"] == N - at_kill  # only what the ledger had not recorded
        assert (last["embedded"], last["analyzed"]) == (0, 0)
        version = engine.captioner().model_id
        assert len(engine.ledger.done_fingerprints("caption", version)) == N
        texts = [p.get("ai_caption") for _, p, _ in engine.store().scroll()]
        assert len(texts) == N and all(t and t.strip() for t in texts)


@pytest.mark.slow  # CI time: the default run keeps test_crash_resume.py's kill -9 and resume; `scripts/test.sh -m slow` runs this
def test_kill9_during_captions_in_the_shared_pass_then_resume(cli, settings, tmp_path):
    """Captions on from the first run: they come in the same pass as the embedding. A kill -9 there loses at
    most the caption batches in flight; the next run embeds and captions exactly what the ledger lacks."""
    folder = tmp_path / "c"
    make_photos(folder, N, size=(64, 48))
    import_caption_model(make_tiny_blip(tmp_path / "blip"), "tiny-blip", settings.models_dir)
    args = ("index", str(folder), "--model", settings.model, "--workers", "2", "--batch-size", "8")
    args = (*args, "--captions", "--caption-model", "tiny-blip")
    kill9_after_captions(cli(*args, wait=False), settings.ledger_path, 8)
    captioned, embedded = (
        stage_count(settings.ledger_path, "caption"),
        stage_count(settings.ledger_path, "embed"),
    )
    assert captioned < N
    done = cli(*args, "--json")
    assert done.returncode == 0, done.stderr
    s = settings.with_overrides(captions=True, caption_model="tiny-blip")
    with Engine.open(s) as engine:
        last = engine.ledger.runs(1)[0]["summary"]
        assert last["captioned"] == N - captioned  # only what the ledger had not recorded
        assert last["embedded"] == N - embedded
        version = engine.captioner().model_id
        assert len(engine.ledger.done_fingerprints("caption", version)) == N
        texts = [p.get("ai_caption") for _, p, _ in engine.store().scroll()]
        assert len(texts) == N and all(t and t.strip() for t in texts)
