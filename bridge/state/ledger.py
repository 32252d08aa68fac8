"""The state ledger: one SQLite file (WAL) that is the single source of indexing progress.

It records every file (path, size, mtime, fingerprint), what is known about each content fingerprint
(normalized metadata), which stages are done for which model, failures with reasons and attempt counts,
and runs with their summaries. The vector store is derived from it: a crash redoes at most one batch.

Writers use `BEGIN IMMEDIATE` (a deferred transaction that is upgraded after another process committed
fails at once with "database is locked", ignoring the busy timeout); readers never block writers (WAL).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from bridge.files.datadir import create_private, secure_file
from bridge.files.paths import db_text_factory, to_db
from bridge.records import FILE_STAGES, ScannedFile, Stage
from bridge.state.migrations import MIGRATIONS, SCHEMA_VERSION
from bridge.state.rows import AnalysisResult, FailedFile, FailureRow, FileRow, Removed, SidecarRow, StageDone

__all__ = [
    "SCHEMA_VERSION",
    "AnalysisResult",
    "FailedFile",
    "FailureRow",
    "FileRow",
    "Ledger",
    "LedgerError",
    "Removed",
    "SidecarRow",
    "StageDone",
]

# A file that succeeded now loses these failures (a metadata or caption failure stays: it is its own stage).
CLEARED_BY_SUCCESS = (Stage.DECODE, Stage.EMBED, Stage.SCAN, Stage.QUALITY, Stage.DUPSIG)

BUSY_TIMEOUT_S = 60.0


class LedgerError(Exception):
    """A ledger problem a user can act on (message says what to do)."""


class Ledger:
    """One connection per Ledger object; use one per thread/process."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly:
            if not self.path.exists():
                raise LedgerError(f"no index at {self.path.parent}: run `pixel-detective index FOLDER` first")
            conn = sqlite3.connect(
                f"{self.path.as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
            )
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # 0600 from the first byte (SQLite gives -wal/-shm the main file's mode); looser old files are
            # tightened: the ledger lists every photo's path and metadata.
            create_private(self.path)
            for suffix in ("-wal", "-shm", "-journal"):
                secure_file(Path(f"{self.path}{suffix}"))
            # The engine may be opened in one thread and driven from another (tray app, watcher); writes
            # are serialized by `_lock`, so sharing the connection across threads is safe.
            conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=BUSY_TIMEOUT_S, check_same_thread=False
            )
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        # Paths that are not valid UTF-8 are bound in their storage form (`to_db`); reads decode them (R43).
        conn.text_factory = db_text_factory
        self.db = sqlite_utils.Database(conn)
        self.readonly = readonly
        self._lock = threading.RLock()
        if not readonly:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(
                "PRAGMA synchronous = NORMAL"
            )  # durable across process crashes; WAL keeps it consistent
            self._migrate()
        else:
            self._check_version(self.schema_version())

    # -- transactions -------------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One explicit write transaction (BEGIN IMMEDIATE). Nested use joins the outer transaction."""
        conn = self.db.conn
        with self._lock:
            if conn.in_transaction:
                yield conn
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                raise LedgerError(f"the ledger {self.path} is busy or unwritable: {e}") from e
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")

    def close(self) -> None:
        self.db.conn.close()

    # -- schema -------------------------------------------------------------------------------------
    def schema_version(self) -> int:
        return int(self.db.conn.execute("PRAGMA user_version").fetchone()[0])

    def _check_version(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"this index ({self.path}) was written by a newer Pixel Detective (ledger schema {version}, "
                f"this version reads up to {SCHEMA_VERSION}). Upgrade pixel-detective, or point --data-dir "
                "at another folder to start a separate index."
            )

    def _migrate(self) -> None:
        with self.write() as conn:
            version = self.schema_version()
            self._check_version(version)
            for _name, sql in MIGRATIONS[version:]:
                for statement in filter(str.strip, sql.split(";")):
                    conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- files --------------------------------------------------------------------------------------
    def files_under(self, root: str) -> dict[str, FileRow]:
        rows = self.db.conn.execute(
            "SELECT id, path, root, size, mtime_ns, fingerprint, seen_scan FROM files WHERE " + _UNDER,
            _under_args(root),
        )
        return {r[1]: FileRow(*r) for r in rows}

    def file_by_path(self, path: str) -> FileRow | None:
        r = self.db.conn.execute(
            "SELECT id, path, root, size, mtime_ns, fingerprint, seen_scan FROM files WHERE path = ?",
            (to_db(path),),
        ).fetchone()
        return FileRow(*r) if r else None

    def fingerprints_for(self, paths: Iterable[str]) -> dict[str, str]:
        """{path: fingerprint} of the given paths that are in the ledger (batched lookups)."""
        out: dict[str, str] = {}
        for chunk in _chunks([to_db(p) for p in paths], 500):
            q = ",".join("?" * len(chunk))
            for path, fp in self.db.conn.execute(
                f"SELECT path, fingerprint FROM files WHERE path IN ({q}) AND fingerprint IS NOT NULL", chunk
            ):
                out[path] = fp
        return out

    def paths_for(self, fingerprints: Iterable[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        fps = list(fingerprints)
        for chunk in _chunks(fps, 500):
            q = ",".join("?" * len(chunk))
            for fp, path in self.db.conn.execute(
                f"SELECT fingerprint, path FROM files WHERE fingerprint IN ({q}) ORDER BY path", chunk
            ):
                out.setdefault(fp, []).append(path)
        return out

    def record_scanned(self, files: Sequence[ScannedFile], scan_id: int) -> None:
        """Insert or update scanned files; unchanged rows only get their mark (seen_scan) refreshed."""
        now = time.time()
        with self.write() as conn:
            conn.executemany(
                "INSERT INTO files (path, root, size, mtime_ns, fingerprint, seen_scan, added_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET "
                "root = excluded.root, seen_scan = excluded.seen_scan, "
                "size = excluded.size, mtime_ns = excluded.mtime_ns, "
                "fingerprint = COALESCE(excluded.fingerprint, files.fingerprint), "
                "updated_at = CASE WHEN files.size != excluded.size OR files.mtime_ns != excluded.mtime_ns "
                "THEN excluded.updated_at ELSE files.updated_at END",
                [
                    (to_db(f.path), to_db(f.root), f.size, f.mtime_ns, f.fingerprint, scan_id, now, now)
                    for f in files
                ],
            )

    def mark_seen(self, paths: Sequence[str], scan_id: int) -> None:
        with self.write() as conn:
            for chunk in _chunks([to_db(p) for p in paths], 500):
                q = ",".join("?" * len(chunk))
                conn.execute(f"UPDATE files SET seen_scan = ? WHERE path IN ({q})", [scan_id, *chunk])

    def sweep(self, root: str, scan_id: int) -> list[Removed]:
        """Delete rows under `root` not seen by scan `scan_id` (mark and sweep)."""
        where = f"({_UNDER}) AND seen_scan != ?"
        args = (*_under_args(root), scan_id)
        with self.write() as conn:
            gone = conn.execute(f"SELECT path, fingerprint FROM files WHERE {where}", args).fetchall()
            conn.execute(f"DELETE FROM files WHERE {where}", args)
            conn.executemany("DELETE FROM failures WHERE path = ?", [(to_db(p),) for p, _ in gone])
            conn.executemany("DELETE FROM sidecars WHERE path = ?", [(to_db(p),) for p, _ in gone])
        return [Removed(p, fp) for p, fp in gone]

    def remove_paths(self, paths: Sequence[str]) -> list[Removed]:
        with self.write() as conn:
            gone = []
            for p in paths:
                r = conn.execute("SELECT fingerprint FROM files WHERE path = ?", (to_db(p),)).fetchone()
                if r is not None:
                    gone.append(Removed(p, r[0]))
                conn.execute("DELETE FROM files WHERE path = ?", (to_db(p),))
                conn.execute("DELETE FROM failures WHERE path = ?", (to_db(p),))
                conn.execute("DELETE FROM sidecars WHERE path = ?", (to_db(p),))
        return gone

    def orphaned(self, fingerprints: Iterable[str | None]) -> list[str]:
        """Of these fingerprints, the ones no file row refers to any more."""
        fps = sorted({fp for fp in fingerprints if fp})
        live = set(self.paths_for(fps))
        return [fp for fp in fps if fp not in live]

    def stale_content(self, model_id: str | None) -> list[str]:
        """Fingerprints with metadata, or with a vector of `model_id`, that no file refers to any more."""
        rows = self.db.conn.execute(
            "SELECT fingerprint FROM content WHERE fingerprint NOT IN (SELECT fingerprint FROM files "
            "WHERE fingerprint IS NOT NULL) UNION SELECT fingerprint FROM stages WHERE version = ? AND "
            "fingerprint NOT IN (SELECT fingerprint FROM files WHERE fingerprint IS NOT NULL) "
            "UNION SELECT fingerprint FROM analyses WHERE "
            "fingerprint NOT IN (SELECT fingerprint FROM files WHERE fingerprint IS NOT NULL)",
            (model_id or "",),
        )
        return [r[0] for r in rows]

    def forget_content(self, fingerprints: Sequence[str], *, embed_version: str | None) -> None:
        """Drop metadata and stage rows of gone content (embed rows only for `embed_version`)."""
        with self.write() as conn:
            for fp in fingerprints:
                conn.execute("DELETE FROM content WHERE fingerprint = ?", (fp,))
                conn.execute("DELETE FROM analyses WHERE fingerprint = ?", (fp,))
                conn.execute(
                    "DELETE FROM stages WHERE fingerprint = ? AND (stage != ? OR version = ?)",
                    (fp, Stage.EMBED, embed_version or ""),
                )

    # -- sidecars (per path) ------------------------------------------------------------------------
    def sidecar_stamps_under(self, root: str) -> dict[str, tuple[str, int, int]]:
        """{photo path: (sidecar name, size, mtime_ns)} of the sidecars read for files under `root`."""
        rows = self.db.conn.execute(
            "SELECT path, name, size, mtime_ns FROM sidecars WHERE " + _UNDER, _under_args(root)
        )
        return {path: (name, size, mtime) for path, name, size, mtime in rows}

    def sidecars_for(self, paths: Iterable[str]) -> dict[str, SidecarRow]:
        """{photo path: its sidecar row} of the given paths that have one."""
        out: dict[str, SidecarRow] = {}
        for chunk in _chunks([to_db(p) for p in paths], 500):
            q = ",".join("?" * len(chunk))
            for path, name, size, mtime, fields in self.db.conn.execute(
                f"SELECT path, name, size, mtime_ns, fields FROM sidecars WHERE path IN ({q})", chunk
            ):
                out[path] = SidecarRow(path, name, size, mtime, json.loads(fields))
        return out

    def record_sidecars(self, read: Sequence[SidecarRow], gone: Sequence[str] = ()) -> None:
        """Sidecars read (inserted or replaced) and photos whose sidecar went, in one transaction. Called
        after the payloads that show them were written (store first)."""
        now = time.time()
        with self.write() as conn:
            conn.executemany(
                "INSERT INTO sidecars (path, name, size, mtime_ns, fields, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(path) DO UPDATE SET name = excluded.name, size = excluded.size, "
                "mtime_ns = excluded.mtime_ns, fields = excluded.fields, updated_at = excluded.updated_at",
                [
                    (
                        to_db(r.path),
                        to_db(r.name),
                        r.size,
                        r.mtime_ns,
                        json.dumps(r.fields, sort_keys=True),
                        now,
                    )
                    for r in read
                ],
            )
            conn.executemany("DELETE FROM sidecars WHERE path = ?", [(to_db(p),) for p in gone])

    # -- stages and content -------------------------------------------------------------------------
    def done_fingerprints(self, stage: str, version: str) -> set[str]:
        rows = self.db.conn.execute(
            "SELECT fingerprint FROM stages WHERE stage = ? AND version = ?", (stage, version)
        )
        return {r[0] for r in rows}

    def stage_points(self, stage: str, version: str) -> dict[str, str]:
        rows = self.db.conn.execute(
            "SELECT fingerprint, point_id FROM stages WHERE stage = ? AND version = ?", (stage, version)
        )
        return {fp: pid for fp, pid in rows}

    def clear_stage(self, stage: str, version: str) -> int:
        with self.write() as conn:
            return conn.execute(
                "DELETE FROM stages WHERE stage = ? AND version = ?", (stage, version)
            ).rowcount

    def clear_stage_for(self, stage: str, version: str, fingerprints: Iterable[str]) -> int:
        """Forget `stage@version` for these contents only (their vectors were lost): the next run redoes
        exactly them. Returns the rows removed."""
        n = 0
        with self.write() as conn:
            for chunk in _chunks(list(fingerprints), 500):
                q = ",".join("?" * len(chunk))
                n += conn.execute(
                    f"DELETE FROM stages WHERE stage = ? AND version = ? AND fingerprint IN ({q})",
                    (stage, version, *chunk),
                ).rowcount
        return n

    def stage_count(self, stage: str, version: str) -> int:
        """Contents with `stage@version` done: cheap enough for every open (the store check)."""
        row = self.db.conn.execute(
            "SELECT count(*) FROM stages WHERE stage = ? AND version = ?", (stage, version)
        ).fetchone()
        return int(row[0])

    def content_versions(self) -> dict[str, str]:
        return {fp: v for fp, v in self.db.conn.execute("SELECT fingerprint, metadata_version FROM content")}

    def metadata_for(self, fingerprints: Iterable[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(fingerprints), 500):
            q = ",".join("?" * len(chunk))
            for fp, meta in self.db.conn.execute(
                f"SELECT fingerprint, metadata FROM content WHERE fingerprint IN ({q})", chunk
            ):
                out[fp] = json.loads(meta)
        return out

    def commit_batch(
        self,
        *,
        metadata: Sequence[tuple[str, dict[str, Any]]] = (),
        metadata_version: str = "",
        stages: Sequence[StageDone] = (),
        failures: Sequence[FailedFile] = (),
        cleared_failures: Sequence[str] = (),
        analyses: Sequence[AnalysisResult] = (),
    ) -> None:
        """Record one processed batch in ONE transaction (called after the vectors were upserted).

        metadata: (fingerprint, normalized metadata) read with extractor `metadata_version`;
        cleared_failures: paths that succeeded now (their file-level failures go).
        """
        now = time.time()
        with self.write() as conn:
            conn.executemany(
                "INSERT INTO content (fingerprint, metadata, metadata_version, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(fingerprint) DO UPDATE SET metadata = excluded.metadata, "
                "metadata_version = excluded.metadata_version, updated_at = excluded.updated_at",
                [(fp, json.dumps(m, sort_keys=True), metadata_version, now) for fp, m in metadata],
            )
            conn.executemany(
                "INSERT INTO stages (fingerprint, stage, version, point_id, updated_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(fingerprint, stage, version) DO UPDATE SET point_id = excluded.point_id, "
                "updated_at = excluded.updated_at",
                [(s.fingerprint, s.stage, s.version, s.point_id, now) for s in stages],
            )
            if analyses:
                conn.executemany(
                    "INSERT INTO analyses (fingerprint, kind, version, data, updated_at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(fingerprint, kind) DO UPDATE SET version = excluded.version, "
                    "data = excluded.data, updated_at = excluded.updated_at",
                    [
                        (a.fingerprint, a.kind, a.version, json.dumps(a.data, sort_keys=True), now)
                        for a in analyses
                    ],
                )
                # One result per kind is kept: older versions' stage rows go, so "done" means current.
                conn.executemany(
                    "DELETE FROM stages WHERE fingerprint = ? AND stage = ? AND version != ?",
                    [(a.fingerprint, a.kind, a.version) for a in analyses],
                )
                conn.executemany(
                    "INSERT INTO stages (fingerprint, stage, version, point_id, updated_at) "
                    "VALUES (?, ?, ?, NULL, ?) ON CONFLICT(fingerprint, stage, version) DO UPDATE SET "
                    "updated_at = excluded.updated_at",
                    [(a.fingerprint, a.kind, a.version, now) for a in analyses],
                )
            conn.executemany(
                f"DELETE FROM failures WHERE path = ? AND stage IN ({','.join('?' * len(CLEARED_BY_SUCCESS))})",
                [(to_db(p), *CLEARED_BY_SUCCESS) for p in cleared_failures],
            )
            conn.executemany(
                "INSERT INTO failures (path, stage, reason, detail, attempts, size, mtime_ns, first_at, last_at) "
                "VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?) ON CONFLICT(path, stage) DO UPDATE SET "
                "reason = excluded.reason, detail = excluded.detail, attempts = failures.attempts + 1, "
                "size = excluded.size, mtime_ns = excluded.mtime_ns, last_at = excluded.last_at",
                [
                    (
                        to_db(x.failure.path),
                        x.failure.stage,
                        str(x.failure.reason),
                        to_db(x.failure.detail),
                        x.size,
                        x.mtime_ns,
                        now,
                        now,
                    )
                    for x in failures
                ],
            )

    # -- analyses -----------------------------------------------------------------------------------
    def analyses_for(
        self, fingerprints: Iterable[str], kinds: Sequence[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """{fingerprint: {kind: data}} of the stored analysis results (any version)."""
        out: dict[str, dict[str, Any]] = {}
        extra = ""
        kargs: tuple[str, ...] = ()
        if kinds:
            extra = f" AND kind IN ({','.join('?' * len(kinds))})"
            kargs = tuple(kinds)
        for chunk in _chunks(list(fingerprints), 500):
            q = ",".join("?" * len(chunk))
            for fp, kind, data in self.db.conn.execute(
                f"SELECT fingerprint, kind, data FROM analyses WHERE fingerprint IN ({q}){extra}",
                (*chunk, *kargs),
            ):
                out.setdefault(fp, {})[kind] = json.loads(data)
        return out

    def iter_analyses(self, kind: str) -> Iterator[tuple[str, str, Any]]:
        """(fingerprint, version, data) of every live content's `kind` result, in fingerprint order."""
        rows = self.db.conn.execute(
            "SELECT fingerprint, version, data FROM analyses WHERE kind = ? AND fingerprint IN "
            "(SELECT fingerprint FROM files) ORDER BY fingerprint",
            (kind,),
        )
        for fp, version, data in rows:
            yield fp, version, json.loads(data)

    def path_index(self) -> dict[str, list[str]]:
        """Every live content fingerprint with its paths (sorted)."""
        out: dict[str, list[str]] = {}
        for fp, path in self.db.conn.execute(
            "SELECT fingerprint, path FROM files WHERE fingerprint IS NOT NULL ORDER BY path"
        ):
            out.setdefault(fp, []).append(path)
        return out

    # -- failures -----------------------------------------------------------------------------------
    def failures(self, *, stage: str | None = None) -> list[FailureRow]:
        sql = "SELECT path, stage, reason, detail, attempts, size, mtime_ns, last_at FROM failures"
        args: tuple[Any, ...] = ()
        if stage:
            sql += " WHERE stage = ?"
            args = (stage,)
        return [
            FailureRow(path, Stage(stage), *rest)
            for path, stage, *rest in self.db.conn.execute(sql + " ORDER BY reason, path", args)
        ]

    def failures_by_path(self) -> dict[str, FailureRow]:
        return {f.path: f for f in self.failures() if f.stage in FILE_STAGES}

    # -- runs ---------------------------------------------------------------------------------------
    def start_run(self, kind: str, args: dict[str, Any], pid: int) -> int:
        with self.write() as conn:
            # A run still marked "running" belongs to a process that died: the ledger already holds its work.
            conn.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
            cur = conn.execute(
                "INSERT INTO runs (kind, pid, started_at, status, args) VALUES (?, ?, ?, 'running', ?)",
                (kind, pid, time.time(), json.dumps(args, default=str)),
            )
            return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        with self.write() as conn:
            conn.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                (time.time(), status, json.dumps(summary, default=str), run_id),
            )

    def runs(self, limit: int = 10) -> list[dict[str, Any]]:
        rows = self.db.conn.execute(
            "SELECT id, kind, pid, started_at, finished_at, status, args, summary FROM runs "
            "ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        keys = ("id", "kind", "pid", "started_at", "finished_at", "status", "args", "summary")
        out = []
        for r in rows:
            d = dict(zip(keys, r, strict=True))
            d["args"] = json.loads(d["args"] or "{}")
            d["summary"] = json.loads(d["summary"] or "{}")
            out.append(d)
        return out

    # -- counts -------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        q = self.db.conn.execute
        return {
            "files": q("SELECT count(*) FROM files").fetchone()[0],
            "contents": q("SELECT count(DISTINCT fingerprint) FROM files").fetchone()[0],
            "with_metadata": q("SELECT count(*) FROM content").fetchone()[0],
            "failed": q("SELECT count(DISTINCT path) FROM failures").fetchone()[0],
        }

    def stage_counts(self) -> dict[tuple[str, str], int]:
        rows = self.db.conn.execute("SELECT stage, version, count(*) FROM stages GROUP BY stage, version")
        return {(s, v): n for s, v, n in rows}

    def integrity_ok(self) -> bool:
        return self.db.conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"


# "path is root or lies under it" as a range on the unique path index (no full-table scan per root).
_UNDER = "(path = ? OR (path >= ? AND path < ?))"


def _under_args(root: str) -> tuple[str, str, str]:
    sep = "\\" if "\\" in root and "/" not in root else "/"
    root = to_db(root)  # character-wise, so the storage form of root + sep starts with that of root
    prefix = root.rstrip(sep) + sep
    return root, prefix, prefix[:-1] + chr(ord(sep) + 1)


def _chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
