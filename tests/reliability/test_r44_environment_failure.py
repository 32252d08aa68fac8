"""R44: the environment fails (worker pool cannot start, log not writable): a run-level error with a non-zero
exit and a message; no file is marked failed for it; once the cause is fixed the next run indexes everything.
"""

from __future__ import annotations

import shutil
import threading

import pytest

from bridge.indexing import worker
from bridge.indexing.decodepool import DecodePool
from bridge.indexing.jobqueue import JobQueue
from bridge.records import RunFailure
from bridge.state.ledger import Ledger
from tests.bridge.conftest import make_photos

pytestmark = pytest.mark.reliability
N = 12  # more than two jobs: the pool is used (one or two run inline)


def _failures_and_embedded(settings) -> tuple[int, int]:
    led = Ledger(settings.ledger_path, readonly=True)
    try:
        return len(led.failures()), len(led.done_fingerprints("embed", settings.model))
    finally:
        led.close()


def test_unwritable_decoder_log_fails_the_run_not_the_files(cli, settings, tmp_path):
    folder = tmp_path / "photos"
    make_photos(folder, N)
    log = settings.data_dir / "logs" / "decoders.log"
    log.mkdir(parents=True)  # the log path is a folder: no worker could redirect its stderr there
    args = ("index", str(folder), "--model", settings.model, "--workers", "2", "--batch-size", "4")
    broken = cli(*args)
    assert broken.returncode == 1, broken.stderr
    assert "indexing failed" in broken.stderr and "decoders.log" in broken.stderr
    assert "Traceback" not in broken.stderr and "completed" not in broken.stderr
    assert _failures_and_embedded(settings) == (0, 0)  # nobody blamed, nothing half-done
    led = Ledger(settings.ledger_path, readonly=True)
    assert led.runs(1)[0]["status"] == "failed"
    led.close()

    shutil.rmtree(log)  # the cause is fixed
    fixed = cli(*args, "--json")
    assert fixed.returncode == 0, fixed.stderr
    assert _failures_and_embedded(settings) == (0, N)  # nothing was skipped as "known bad"


def test_workers_that_cannot_initialise_are_a_run_failure(tmp_path):
    """The parent could open the log but the workers cannot (it changed in between, another user, a
    sandbox): their initializer reports it through every job instead of dying, and the pool raises
    RunFailure instead of isolating files and calling them decoder crashes. Real worker processes."""
    photos = make_photos(tmp_path / "p", 4)
    jobs = [
        worker.Job(
            path=str(p), fingerprint=f"fp{i}", want_metadata=True, want_pixels=False, size=p.stat().st_size
        )
        for i, p in enumerate(photos)
    ]
    bad_log = tmp_path / "log-is-a-folder"
    bad_log.mkdir()
    pool = DecodePool(2, str(bad_log), threading.Event(), depth=4)
    with pytest.raises(RunFailure, match="cannot write the decoder log"):
        list(pool._pool_results(JobQueue(jobs)))  # past the parent's own log check, straight to the workers
    with pytest.raises(RunFailure, match="decode workers' log"):
        list(pool.results(jobs))  # the parent's check says it first, in words

    good = DecodePool(2, str(tmp_path / "decoders.log"), threading.Event(), depth=4)
    results = list(good.results(jobs))
    assert len(results) == 4 and not any(r.failures for r in results)


def test_model_weights_broken_between_runs_fail_the_run_not_the_files(cli, settings, tmp_path):
    """The model's weights file is damaged (a half-synced copy, a bad disk): the model cannot load when the
    first batch needs it. That is the run's failure with a message; no photo is marked failed, and once the
    file is restored the next run embeds every photo."""
    folder = tmp_path / "photos"
    make_photos(folder, N)
    weights = sorted(p for p in settings.models_dir.rglob("*") if p.is_file() and p.stat().st_size > 10_000)
    assert weights, list(settings.models_dir.rglob("*"))
    kept = {p: p.read_bytes() for p in weights}
    for p in weights:
        p.write_bytes(p.read_bytes()[:4096])  # truncated in place
    args = ("index", str(folder), "--model", settings.model, "--workers", "2", "--batch-size", "4")
    broken = cli(*args)
    assert broken.returncode != 0, broken.stderr
    assert "Traceback" not in broken.stderr and "internal error" not in broken.stderr, broken.stderr
    assert "completed" not in broken.stderr
    assert _failures_and_embedded(settings) == (0, 0)
    for p, data in kept.items():
        p.write_bytes(data)
    fixed = cli(*args, "--json")
    assert fixed.returncode == 0, fixed.stderr
    assert _failures_and_embedded(settings) == (0, N)
