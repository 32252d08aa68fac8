"""Commands run as clients of the process that owns the index (the tray app, `serve`): the work happens
there (`bridge/api/routes/local.py`), the results come back as the same records the local path makes
(`Result`, `DupGroup`, `RunSummary`), and the command prints them with its own rendering functions, so a
command prints the same and exits with the same code whether it opened the engine or a running owner did.

`index` streams the owner's progress events into the same progress bar; the first Ctrl-C cancels the job
there (it stops after its current batch, as a local run does), a second one leaves at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import queue
import threading
from pathlib import Path
from typing import Any

from bridge.api.client import ClientError, LocalClient
from bridge.cli.common import RichProgress, console, graceful_stop, shown
from bridge.indexing.summary import RunSummary
from bridge.search.query import Result


def absolute(paths: list[str]) -> list[str]:
    """The owner has its own working folder: relative paths are made absolute here (URLs stay as given)."""
    from bridge.files.objects import is_url

    return [p if is_url(p) else os.path.abspath(p) for p in paths]


def search(client: LocalClient, **params: Any) -> tuple[list[Result], list[str]]:
    if params.get("like") is not None:
        params["like"] = absolute([params["like"]])[0]
    reply = client.search(**params)
    results = [Result(r["rank"], float(r["score"]), r["path"], list(r["paths"]), r["fingerprint"], dict(r["fields"]))
               for r in reply["results"]]  # fmt: skip
    return results, list(reply.get("notices") or [])


def duplicates(
    client: LocalClient, kinds: tuple[Any, ...], vectors: bool, progress: Any = None
) -> tuple[list[Any], list[str]]:
    from bridge.analyses.duplicates import DupGroup, DupKind

    reply = client.duplicates([str(k) for k in kinds], vectors, progress)
    groups = [DupGroup(kind=DupKind(g["kind"]), fingerprints=tuple(g["fingerprints"]), paths=tuple(g["paths"]),
                       detail=dict(g["detail"])) for g in reply["groups"]]  # fmt: skip
    return groups, list(reply["notes"])


def cull(client: LocalClient, **body: Any) -> Any:
    """`cull` in the owner: its report as the `CullReport` the command prints from."""
    from bridge.analyses.culling import CullResult
    from bridge.search.cull import CullReport

    if body.get("folder") is not None:
        body["folder"] = os.path.abspath(body["folder"])
    reply = client.cull(**body)
    return CullReport([CullResult.from_dict(r) for r in reply["photos"]], list(reply.get("notes") or []))


def export(client: LocalClient, file: Path, with_weights: bool = False) -> dict[str, Any]:
    return client.export(Path(os.path.abspath(file)), with_weights)


@dataclasses.dataclass
class Outcome:
    summary: RunSummary | None  # None: the job was cancelled before it started
    degraded: bool  # a stage was skipped (weights, caption model, vocabulary missing): exit 4 as locally


def index(client: LocalClient, roots: list[str], *, captions: bool | None, show_progress: bool) -> Outcome:
    """Queue `roots` in the owner, show its progress until the job ends, and return its summary."""
    events: queue.Queue[tuple[str, dict[str, Any]] | BaseException] = queue.Queue()
    ready = threading.Event()

    def listen() -> None:
        try:
            for kind, data in client.events():
                events.put((kind, data))
                if kind == "hello":
                    ready.set()
        except BaseException as e:  # handed to the main thread, which reports it
            events.put(e)
        finally:
            ready.set()
            events.put(ClientError(f"{client.owner} stopped answering; its job may still run (see `status`)"))

    threading.Thread(target=listen, name="pd-client-events", daemon=True).start()
    ready.wait(10)  # listening before the job exists: none of its events can be missed
    reply = client.submit(absolute(roots), captions)
    info = reply
    job_id = reply["job"]["job"]
    if info.get("weights_problem"):
        console.print(f"[bold yellow]warning:[/] {info['weights_problem']}", highlight=False)
        console.print(
            "[yellow]continuing without embeddings: metadata is still recorded for every file; "
            "run the same command again once the weights are there.[/]"
        )
    for notice in info.get("notices") or []:
        console.print(f"[bold yellow]warning:[/] {notice}", highlight=False)
    console.print(f"indexing in {shown(client.owner)}", highlight=False)
    if reply.get("busy"):
        console.print(f"queued behind {len(reply['busy'])} job(s) of the running service", highlight=False)
    cancelled = started = False
    finished: dict[str, Any] | None = None
    done = failed = 0
    with graceful_stop() as stop, RichProgress(enabled=show_progress) as progress:
        while finished is None:
            if stop.is_set() and not cancelled:
                cancelled = True
                if client.cancel(job_id) and not started:
                    # still waiting in the owner's queue (perhaps held by a pause there): it is dropped when
                    # the queue reaches it, and never runs; nothing to wait for
                    finished = {"job": job_id, "status": "cancelled", "summary": None}
                    break
            try:
                item = events.get(timeout=0.2)
            except queue.Empty:
                continue
            if isinstance(item, BaseException):
                raise item
            kind, data = item
            if data.get("job") != job_id:
                continue
            if kind == "job_started":
                started = True
            elif kind == "phase":
                progress.phase(str(data.get("phase") or ""), data.get("total"))
                done = failed = 0
            elif kind == "progress":
                # the owner's counts are the phase's totals (done includes failed); the bar takes steps
                new_done, new_failed = int(data.get("done") or 0), int(data.get("failed") or 0)
                step_failed = max(0, new_failed - failed)
                step_done = max(0, new_done - done - step_failed)
                if progress.task is not None and (step_done or step_failed):
                    progress.advance(step_done, step_failed)
                done, failed = new_done, new_failed
            elif kind == "job_finished":
                finished = data
    if finished.get("status") == "failed":
        raise ClientError(f"indexing failed: {finished.get('error') or 'see the running service'}")
    summary = None
    if finished.get("summary"):
        names = {f.name for f in dataclasses.fields(RunSummary)}
        summary = RunSummary(**{k: v for k, v in finished["summary"].items() if k in names})
        if finished.get("status") == "cancelled":
            summary.status = "stopped"  # what a local run stopped by Ctrl-C says
    with contextlib.suppress(ClientError):
        info = client.fetch_info()  # problems found while the job ran (a caption model asked for and missing)
    degraded = bool(
        info.get("weights_problem") or info.get("caption_problem") or info.get("keywords_problem")
    )
    return Outcome(summary, degraded)
