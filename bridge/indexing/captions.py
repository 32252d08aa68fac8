"""Captions in the same pass as the embedding: the caption model consumes the photos' caption inputs (made from
the shared bitmap by whichever decoder took the file) in large batches, in its own thread, while the run's
thread embeds and commits the next batches. On a GPU the two models overlap; the caption batch is sized from
free device memory (`Captioner.batch_size`).

The run's thread stays the only writer: finished caption batches wait here until it collects and commits them
(`ready()`), each in one ledger transaction, so a kill loses at most the batches in flight, and the next run's
caption pass (`passes.caption_pass`) captions exactly those photos again. Only photos whose vector is already
committed are handed over, so a caption's payload update always finds its point.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
from collections.abc import Sequence

import numpy as np

from bridge.indexing.context import RunContext
from bridge.indexing.summary import Tally
from bridge.indexing.upkeep import set_analysis_payloads
from bridge.models.blip import Captioner
from bridge.records import Stage
from bridge.state.rows import AnalysisResult

_DONE = None
CAPTION_NICENESS = 10  # on a CPU, captions run at this niceness so the machine stays usable


class CaptionLane:
    def __init__(self, captioner: Captioner, *, depth_batches: int = 2) -> None:
        self.captioner = captioner
        self.size = max(1, int(captioner.batch_size or 8))
        # photos waiting for the model: bounded, so a slow caption model slows the run instead of filling memory
        self._in: queue.Queue[tuple[str, np.ndarray] | None] = queue.Queue(maxsize=self.size * depth_batches)
        self._done: list[tuple[list[str], list[str]]] = []
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="captions", daemon=True)
        self._thread.start()

    def submit(self, fingerprint: str, image: np.ndarray) -> None:
        """Queue one photo's caption input (blocks while the model is a full queue behind)."""
        self._raise()
        while not self._stop.is_set():
            try:
                self._in.put((fingerprint, image), timeout=0.2)
                return
            except queue.Full:
                self._raise()

    def ready(self) -> list[tuple[list[str], list[str]]]:
        """Finished batches as (fingerprints, captions), to commit now; raises what the model raised."""
        self._raise()
        with self._lock:
            out, self._done = self._done, []
        return out

    def finish(self) -> list[tuple[list[str], list[str]]]:
        """Caption what is queued, then return every finished batch."""
        self._put_done()
        self._thread.join()
        return self.ready()

    def abandon(self) -> None:
        """Stop now: queued photos are not captioned (the next run's caption pass does them)."""
        self._stop.set()
        self._put_done()
        self._thread.join()

    def _put_done(self) -> None:
        while self._thread.is_alive():
            try:
                self._in.put(_DONE, timeout=0.2)
                return
            except queue.Full:
                continue

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        if self.captioner.device == "cpu" and sys.platform.startswith("linux"):
            # Linux niceness is per thread: only the caption model yields, so the machine stays usable and
            # the decode workers and embedding keep their share (captions cost ~25x an embedding on a CPU).
            os.nice(max(0, CAPTION_NICENESS - os.nice(0)))
        fps: list[str] = []
        images: list[np.ndarray] = []
        try:
            while True:
                item = self._in.get()
                if item is not _DONE:
                    fps.append(item[0])
                    images.append(item[1])
                if self._stop.is_set():
                    return
                if images and (len(images) >= self.size or item is _DONE):
                    self._caption(fps, images)
                    fps, images = [], []
                if item is _DONE:
                    return
        except BaseException as e:  # handed to the run's thread
            self._error = e

    def _caption(self, fps: list[str], images: Sequence[np.ndarray]) -> None:
        texts = self.captioner.caption(list(images))
        with self._lock:
            self._done.append((list(fps), list(texts)))


def commit_captions(
    ctx: RunContext,
    tally: Tally,
    fps: Sequence[str],
    texts: Sequence[str],
    embedded: set[str] | frozenset[str],
) -> None:
    """One batch of captions: payloads of content with a vector first (the store), then one ledger
    transaction. A kill between the two redoes the batch."""
    captioner = ctx.captioner
    assert captioner is not None
    rows = [
        AnalysisResult(fp, Stage.CAPTION, captioner.model_id, {"text": text})
        for fp, text in zip(fps, texts, strict=True)
    ]
    set_analysis_payloads(ctx, tally, rows, embedded)
    ctx.ledger.commit_batch(analyses=rows)
    tally.summary.captioned += len(rows)
    if ctx.on_caption_committed:
        ctx.on_caption_committed(len(rows))
