"""Prometheus metrics of the local service: `GET /metrics` (text exposition format).

`MetricsCollector(host)` subscribes to the `EngineHost`'s events and owns a dedicated `CollectorRegistry` (never
the process-global one, so several hosts in one process — tests, the tray app and a service — never collide):

- counters and histograms are fed by events: a finished job's `RunSummary` adds its files seen / indexed /
  failed-by-reason and observes each phase's seconds; progress events set the throughput and the time of the
  last progress (what the "run stalled" alert watches);
- gauges that describe the present (queue depths, the host's liveness, the data dir's free space, the vector
  store's size, GPU memory) are read when Prometheus scrapes, by a custom collector; the expensive ones (store
  size: a count and a walk of the store folder) are cached for `slow_every_s`;
- `observe_search(seconds, kind)` is called by the API around each search.

GPU series are exported only where they are real: memory from `torch.cuda` when torch is already loaded in this
process *and* has initialised CUDA (a scrape never creates a CUDA context, ~300 MB of GPU memory), utilisation
from NVML when `pynvml` is installed. On a CPU-only machine there are no `pixel_detective_gpu_*` series at all.

The router serves the collector found on `app.state.metrics` (`attach(app, host)` puts it there).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bridge import __version__

if TYPE_CHECKING:
    from bridge.host import EngineHost, HostEvent

log = logging.getLogger(__name__)

router = APIRouter()

PREFIX = "pixel_detective"
# Per-stage seconds of one run: from a few ms (a small incremental run) to hours (a first full index).
STAGE_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, float("inf"))
SEARCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, float("inf"))
THROUGHPUT_WINDOW_S = 10.0  # progress events kept per phase (the gauge itself is the run's rate)


class MetricsCollector:
    """The service's metrics, fed by one host's events. `close()` unsubscribes."""

    def __init__(self, host: EngineHost, *, slow_every_s: float = 30.0) -> None:
        self.host = host
        self.registry = CollectorRegistry()
        r = self.registry
        self.files_seen = Counter(f"{PREFIX}_files_seen", "Files found by finished index runs.", registry=r)
        self.files_indexed = Counter(
            f"{PREFIX}_files_indexed", "Files embedded (new or changed) by finished index runs.", registry=r
        )
        self.files_failed = Counter(
            f"{PREFIX}_files_failed", "Files that failed, by named reason.", ["reason"], registry=r
        )
        self.runs = Counter(f"{PREFIX}_runs", "Finished index jobs, by final status.", ["status"], registry=r)
        self.stage_seconds = Histogram(
            f"{PREFIX}_stage_seconds",
            "Seconds one run spent in each stage (RunSummary.phase_seconds: scan, decode, embed, store, ...).",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.run_seconds = Histogram(
            f"{PREFIX}_run_seconds", "Wall seconds of finished index runs.", buckets=STAGE_BUCKETS, registry=r
        )
        self.search_seconds = Histogram(
            f"{PREFIX}_search_seconds",
            "Search latency as the API measured it, by kind (text, like, ...).",
            ["kind"],
            buckets=SEARCH_BUCKETS,
            registry=r,
        )
        self.throughput = Gauge(
            f"{PREFIX}_throughput_files_per_second",
            f"Files per second of the running job over the last {THROUGHPUT_WINDOW_S:.0f} s (0 when idle).",
            registry=r,
        )
        self.last_progress = Gauge(
            f"{PREFIX}_last_progress_timestamp_seconds",
            "Unix time of the running job's last progress (phase change or files done).",
            registry=r,
        )
        self.job_done = Gauge(
            f"{PREFIX}_job_files_done", "Files done in the running job's phase.", registry=r
        )
        self.job_total = Gauge(
            f"{PREFIX}_job_files_total", "Files the running job's phase will handle (0: unknown).", registry=r
        )
        info = Gauge(f"{PREFIX}_build_info", "Version of this service.", ["version"], registry=r)
        info.labels(version=__version__).set(1)
        self._live = _LiveCollector(self, slow_every_s)
        r.register(self._live)
        self._window: deque[tuple[float, int]] = deque()
        self._phase = ""
        self._lock = threading.Lock()
        self._unsubscribe = host.subscribe(self.on_event)

    # -- events (on the host's worker thread: quick, never raises into the engine) -------------------
    def on_event(self, event: HostEvent) -> None:
        if event.kind in ("job_started", "phase", "progress"):
            self._on_progress(event.kind, event.data)
        elif event.kind == "job_finished":
            self._on_finished(event.data)

    def _on_progress(self, kind: str, data: dict[str, Any]) -> None:
        now = time.monotonic()
        done = int(data.get("done") or 0)
        with self._lock:
            if kind != "progress" or data.get("phase") != self._phase:
                self._phase = str(data.get("phase") or "")
                self._window.clear()
            self._window.append((now, done))
            while len(self._window) > 2 and now - self._window[0][0] > THROUGHPUT_WINDOW_S:
                self._window.popleft()
        # The run's one rate (`bridge.indexing.summary.throughput`, the job's "rate"): the number the CLI's
        # bar and summary, `status` and the desktop show for the same run.
        rate = float(data.get("rate") or 0.0)
        self.throughput.set(max(0.0, rate))
        self.last_progress.set(time.time())
        self.job_done.set(done)
        self.job_total.set(int(data.get("total") or 0))

    def _on_finished(self, data: dict[str, Any]) -> None:
        self.runs.labels(status=str(data.get("status") or "unknown")).inc()
        self._live.invalidate()  # the store changed: the next scrape counts it again
        with self._lock:
            self._window.clear()
            self._phase = ""
        self.throughput.set(0)
        self.job_done.set(0)
        self.job_total.set(0)
        summary = data.get("summary") or {}
        self.files_seen.inc(int(summary.get("files_seen") or 0))
        self.files_indexed.inc(int(summary.get("embedded") or 0))
        for reason, n in (summary.get("failures_by_reason") or {}).items():
            self.files_failed.labels(reason=str(reason)).inc(int(n))
        for stage, seconds in (summary.get("phase_seconds") or {}).items():
            self.stage_seconds.labels(stage=str(stage)).observe(float(seconds))
        if summary.get("wall_seconds"):
            self.run_seconds.observe(float(summary["wall_seconds"]))

    # -- API hooks -----------------------------------------------------------------------------------
    def observe_search(self, seconds: float, kind: str = "text") -> None:
        self.search_seconds.labels(kind=kind).observe(seconds)

    @contextlib.contextmanager
    def time_search(self, kind: str = "text") -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.observe_search(time.perf_counter() - t, kind)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def close(self) -> None:
        self._unsubscribe()


class _LiveCollector(Collector):
    """Gauges read at scrape time: queue depths, liveness, disk, store size, GPU."""

    def __init__(self, owner: MetricsCollector, slow_every_s: float) -> None:
        self.owner = owner
        self.slow_every_s = slow_every_s
        self._slow: tuple[float, dict[str, float]] | None = None
        self._slow_lock = threading.Lock()

    def invalidate(self) -> None:
        with self._slow_lock:
            self._slow = None

    def describe(self) -> Iterable[Any]:
        return []  # read live; registering must not run a scrape

    def collect(self) -> Iterable[Any]:
        host = self.owner.host
        states = {"queued": 0, "running": 0}
        for job in host.jobs():
            if job.status in states:
                states[job.status] += 1
        jobs = GaugeMetricFamily(f"{PREFIX}_jobs", "Index jobs by state (queue depth).", labels=["state"])
        for state, n in states.items():
            jobs.add_metric([state], n)
        yield jobs
        alive = host.state not in ("closed",)
        yield GaugeMetricFamily(
            f"{PREFIX}_host_up", "1 while the engine host's worker runs.", value=int(alive)
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_host_error",
            "1 when the last job failed (the host state is error).",
            value=int(host.state == "error"),
        )
        if alive:  # absent once the host is closed: `absent()` / staleness alerts fire
            yield GaugeMetricFamily(
                f"{PREFIX}_heartbeat_timestamp_seconds",
                "Unix time a live engine host answered this scrape.",
                value=time.time(),
            )
        yield from self._disk(host.settings.data_dir, host.settings.min_free_mb)
        yield from self._store()
        yield from _gpu()

    def _disk(self, data_dir: Path, min_free_mb: int) -> Iterator[Any]:
        try:
            usage = shutil.disk_usage(data_dir)
        except OSError:
            return
        yield GaugeMetricFamily(
            f"{PREFIX}_data_dir_free_bytes", "Free bytes on the data dir's disk.", value=usage.free
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_data_dir_size_bytes", "Size of the data dir's disk.", value=usage.total
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_data_dir_min_free_bytes",
            "Free space a run keeps (settings.min_free_mb); below it runs stop.",
            value=min_free_mb * 1024 * 1024,
        )

    def _store(self) -> Iterator[Any]:
        with self._slow_lock:
            now = time.monotonic()
            if self._slow is None or now - self._slow[0] > self.slow_every_s:
                self._slow = (now, _store_stats(self.owner.host))
            stats = self._slow[1]
        if "points" in stats:
            yield GaugeMetricFamily(
                f"{PREFIX}_store_points", "Points (photos) in the vector store.", value=stats["points"]
            )
        if "bytes" in stats:
            yield GaugeMetricFamily(
                f"{PREFIX}_store_bytes", "Bytes on disk of the embedded vector store.", value=stats["bytes"]
            )
        if "ledger_bytes" in stats:
            yield GaugeMetricFamily(
                f"{PREFIX}_ledger_bytes", "Bytes on disk of the ledger database.", value=stats["ledger_bytes"]
            )


def _store_stats(host: EngineHost) -> dict[str, float]:
    out: dict[str, float] = {}
    engine = host.engine
    if engine.embedder is not None:
        try:
            out["points"] = engine.store().count()
        except Exception as e:  # a scrape must answer even when the store does not
            log.debug("store count failed: %s", e)
    if host.settings.store == "edge":
        out["bytes"] = _tree_bytes(host.settings.store_dir)
    with contextlib.suppress(OSError):
        out["ledger_bytes"] = os.stat(host.settings.ledger_path).st_size
    return out


def _tree_bytes(root: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
    return total


def _gpu() -> Iterator[Any]:
    """Real GPU figures or none (see the module docstring)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        with contextlib.suppress(Exception):
            if torch.cuda.is_available() and torch.cuda.is_initialized():
                alloc = GaugeMetricFamily(
                    f"{PREFIX}_gpu_memory_allocated_bytes",
                    "Tensor memory this process holds.",
                    labels=["device"],
                )
                reserved = GaugeMetricFamily(
                    f"{PREFIX}_gpu_memory_reserved_bytes",
                    "Memory torch's caching allocator holds.",
                    labels=["device"],
                )
                free = GaugeMetricFamily(
                    f"{PREFIX}_gpu_memory_free_bytes", "Free device memory.", labels=["device"]
                )
                total = GaugeMetricFamily(
                    f"{PREFIX}_gpu_memory_total_bytes", "Device memory.", labels=["device"]
                )
                for i in range(torch.cuda.device_count()):
                    d = str(i)
                    alloc.add_metric([d], torch.cuda.memory_allocated(i))
                    reserved.add_metric([d], torch.cuda.memory_reserved(i))
                    f, t = torch.cuda.mem_get_info(i)
                    free.add_metric([d], f)
                    total.add_metric([d], t)
                yield from (alloc, reserved, free, total)
    try:
        import pynvml  # type: ignore[import-not-found]  # optional: nvidia-ml-py
    except ImportError:
        return
    try:
        pynvml.nvmlInit()
    except Exception:  # no driver: no figures
        return
    try:
        util = GaugeMetricFamily(
            f"{PREFIX}_gpu_utilization_ratio",
            "GPU busy fraction over NVML's last sample period.",
            labels=["device"],
        )
        used = GaugeMetricFamily(
            f"{PREFIX}_gpu_memory_used_bytes", "Device memory used (all processes, NVML).", labels=["device"]
        )
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            util.add_metric([str(i)], pynvml.nvmlDeviceGetUtilizationRates(h).gpu / 100.0)
            used.add_metric([str(i)], pynvml.nvmlDeviceGetMemoryInfo(h).used)
        yield util
        yield used
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()


def attach(app: FastAPI, host: EngineHost) -> MetricsCollector:
    """Create the host's collector and put it on `app.state.metrics` (the router serves it)."""
    collector = MetricsCollector(host)
    app.state.metrics = collector
    return collector


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    collector: MetricsCollector | None = getattr(request.app.state, "metrics", None)
    if collector is None:
        return Response(
            "no metrics collector attached to this app\n", status_code=503, media_type="text/plain"
        )
    return Response(collector.exposition(), media_type=CONTENT_TYPE_LATEST)
