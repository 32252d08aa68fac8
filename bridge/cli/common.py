"""Shared CLI pieces: exit codes, settings from the global options, error reporting. The progress display
lives in `bridge.cli.progress` (`RichProgress`, re-exported here)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from bridge.cli.exits import Exit
from bridge.files.paths import ERRORS as ESCAPE_ERRORS
from bridge.files.paths import shown
from bridge.models.registry import ModelError
from bridge.records import RunFailure
from bridge.settings import Settings, load_settings
from bridge.state.ledger import LedgerError
from bridge.state.owner import OwnerBusy

if TYPE_CHECKING:
    from bridge.api.client import LocalClient


def _escape_unencodable_output() -> None:
    """File names that are not valid UTF-8 (R43) are shown as `caf\\xe9.jpg` wherever a command prints
    them, instead of a UnicodeEncodeError: one codec error handler on both streams covers every message."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with suppress(ValueError, OSError):  # a stream that cannot change: leave it as it is
                reconfigure(errors=ESCAPE_ERRORS)


_escape_unencodable_output()


class _Console(Console):
    """Text reaches the screen in its shown form before Rich measures it, so tables stay aligned around
    names with raw bytes (the stream handler alone would print 4 characters where Rich counted 1)."""

    def render_str(self, text: str, **kwargs: Any) -> Any:
        return super().render_str(shown(text), **kwargs)


console = _Console(stderr=True, soft_wrap=True)  # no hard wraps: messages stay greppable
out = _Console(soft_wrap=True)


_data_dir: Path | None = None


def settings_from(ctx: typer.Context, **overrides: Any) -> Settings:
    base: dict[str, Any] = dict(ctx.obj or {})
    base.update({k: v for k, v in overrides.items() if v is not None})
    global _data_dir
    settings = load_settings(**base)
    _data_dir = settings.data_dir  # this command's index, for the busy message (_busy_hint)
    return settings


def fail(message: str, code: Exit = Exit.ERROR) -> typer.Exit:
    console.print(f"[bold red]error:[/] {shown(message)}", highlight=False)
    return typer.Exit(int(code))


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the errors users can act on into one clear line and a stable exit code."""
    from bridge.api.client import ClientError
    from bridge.files.diskspace import DiskFullError
    from bridge.store import StoreError

    try:
        yield
    except OwnerBusy as e:
        raise fail(f"{e}{_busy_hint()}", Exit.BUSY) from None
    except ClientError as e:  # the running owner refused or stopped answering (see owner_client)
        raise fail(str(e), Exit.BUSY if e.status in (409, 423) else Exit.ERROR) from None
    except (LedgerError, ModelError, StoreError, DiskFullError) as e:
        raise fail(str(e)) from None
    except RunFailure as e:  # the environment failed the run (workers, disk): no file was blamed for it
        raise fail(f"indexing failed: {e}") from None


_NO_ENDPOINT = (  # an owner with an endpoint would have run the command (owner_client)
    " It runs no commands for others (the tray app and `serve` do, once they have started)."
)


_ENDPOINT_ELSEWHERE = (  # an owner that serves clients, and a command it does not run for others
    " It runs `search`, `index`, `duplicates` and `export-db` for other commands; this one needs the index "
    "to itself."
)


def _busy_hint() -> str:
    """Why this command could not simply run in the owner: it takes no commands, or not this one."""
    from bridge.api import endpoint

    if _data_dir is None:  # outside a command (settings_from not called): the general wording
        return _NO_ENDPOINT
    return _ENDPOINT_ELSEWHERE if endpoint.read(_data_dir) is not None else _NO_ENDPOINT


def owner_client(settings: Settings) -> LocalClient | None:
    """The running owner of this data dir (the tray app, `serve`), when it takes commands beside it: the
    command then runs in that process (`bridge/api/routes/local.py`) instead of exiting 75. None: no owner,
    or one that left a stale endpoint file; the command opens the engine itself as before."""
    from bridge.api.client import connect

    return connect(settings.data_dir)


def needs_own_engine(client: LocalClient, what: str) -> typer.Exit:
    """A command (or an option) that a running owner cannot run for us: exit 75 naming it."""
    client.close()
    return fail(
        f"{what} needs the index to itself, and {client.owner} is using it. Stop it (quit the tray app, "
        "Ctrl-C `serve`) and run the command again.",
        Exit.BUSY,
    )


def emit_json(data: Any) -> None:
    """JSON on stdout. Names that are not valid UTF-8 appear in their shown form (`caf\\xe9.jpg`): a lone
    surrogate is not valid JSON text for most parsers."""
    out.print_json(json.dumps(_shown_strings(data), default=str))


def _shown_strings(value: Any) -> Any:
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, dict):
        return {_shown_strings(k): _shown_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_shown_strings(v) for v in value]
    return value


@contextmanager
def graceful_stop() -> Iterator[threading.Event]:
    """First Ctrl-C: finish the current batch and stop cleanly. Second Ctrl-C: stop at once."""
    stop = threading.Event()

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        console.print("\n[yellow]stopping after the current batch… (Ctrl-C again to abort)[/]")

    old_int = signal.signal(signal.SIGINT, handler)
    old_term = signal.signal(signal.SIGTERM, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


from bridge.cli.progress import RichProgress as RichProgress  # noqa: E402  (re-exported for index_cmd)
