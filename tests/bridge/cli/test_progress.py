"""Progress for every phase that takes more than a second, with one rate: the keyword vocabulary's
embedding (a new model) and `duplicates` report progress; the bar's rate is the summary's definition;
`status` speaks in words."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from bridge.cli.progress import MAIN_PHASE, RichProgress, eta_words
from bridge.engine import Engine
from bridge.indexing.summary import Progress, rate_words, throughput
from bridge.search.duplicates import find_in_index
from tests.bridge.conftest import make_photos

VOCABULARY = "embedding the keyword vocabulary"


class Recorder(Progress):
    def __init__(self) -> None:
        self.events: list[tuple[str, str, int | None]] = []

    def phase(self, name: str, total: int | None = None) -> None:
        self.events.append(("phase", name, total))

    def advance(self, done: int = 0, failed: int = 0) -> None:
        self.events.append(("advance", "", done + failed))

    def phases(self) -> list[str]:
        return [name for kind, name, _ in self.events if kind == "phase"]

    def done_in(self, phase: str) -> int:
        current, n = "", 0
        for kind, name, count in self.events:
            if kind == "phase":
                current = name
            elif current == phase:
                n += count or 0
        return n


def test_vocabulary_duplicates_rate_and_status(settings, tmp_path):
    """One indexed folder serves every check (indexing is the slow part)."""
    photos = make_photos(tmp_path / "photos", 6)
    # A part of the vocabulary (a few hundred prompts): the whole one takes ~10-20 s to embed on this machine.
    settings = settings.model_copy(update={"keywords_allow": ["Subjects|Animals"]})
    rec, bar = Recorder(), RichProgress(enabled=False)

    class Both(Progress):
        def phase(self, name: str, total: int | None = None) -> None:
            rec.phase(name, total)
            bar.phase(name, total)

        def advance(self, done: int = 0, failed: int = 0) -> None:
            rec.advance(done, failed)
            bar.advance(done, failed)

    with Engine.open(settings) as engine, bar:
        summary = engine.indexer(progress=Both()).run([str(tmp_path / "photos")])
        assigner = engine.keyword_assigner()
        assert assigner is not None
        prompts = assigner.prompt_count
    # A new model: its vocabulary is embedded as a phase of its own, counted prompt by prompt, before the
    # photos (it used to happen inside the first batch, at "0/459 0%").
    phases = rec.phases()
    assert phases.index(VOCABULARY) < phases.index(MAIN_PHASE)
    assert (VOCABULARY, prompts) in [(n, t) for k, n, t in rec.events if k == "phase"]
    assert rec.done_in(VOCABULARY) == prompts
    # One rate: the bar counts the photos the summary counts, and both divide by the run's wall time.
    assert bar.indexed == summary.indexed == len(photos)
    d = summary.as_dict()
    assert d["files_per_second"] == round(throughput(summary.indexed, summary.wall_seconds) or 0, 2)
    assert rate_words(d["files_per_second"]).endswith(" photos/s")

    # The vocabulary is cached now: a second run on new photos shows no vocabulary phase.
    make_photos(tmp_path / "more", 2, seed=5)
    rec2 = Recorder()
    with Engine.open(settings) as engine:
        engine.indexer(progress=rec2).run([str(tmp_path / "more")])
        # duplicates: reading the index, then one kNN comparison per analysed photo
        rec3 = Recorder()
        find_in_index(engine, progress=rec3)
    assert VOCABULARY not in rec2.phases()
    assert rec3.phases()[:2] == ["reading the index", "comparing photos"]
    assert ("phase", "comparing photos", 8) in rec3.events and rec3.done_in("comparing photos") == 8

    # status, in words
    env = {**os.environ, "PIXEL_DETECTIVE_DATA_DIR": str(settings.data_dir)}
    r = subprocess.run(
        [sys.executable, "-m", "bridge", "status"],
        env={**env, "PIXEL_DETECTIVE_MODEL": settings.model},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert "Photos indexed:" in text and " 8" in text
    assert re.search(rf"^Model: +{re.escape(settings.model)} \(ready\)$", text, re.M), text
    assert "Searchable by content:" in text and "8 of 8" in text
    assert "Last run:" in text and "photos/s" in text
    for key in ("with_metadata", "contents", "files_per_second", "embed ", "dupsig"):
        assert key not in text, key


def test_eta_is_the_phase_pace():
    assert eta_words(90, 10, 5.0) == "ETA 0:00:45"
    assert eta_words(10, 0, 5.0) == ""
