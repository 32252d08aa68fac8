"""The ledger's schema: its version (`PRAGMA user_version`) and the named migrations that build it. A ledger
newer than SCHEMA_VERSION is refused (`Ledger` says to upgrade); an older one is migrated on open, in one
transaction."""

from __future__ import annotations

SCHEMA_VERSION = 3

# Named, ordered migrations: index i brings the schema from version i to i+1.
MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "initial layout",
        """
        CREATE TABLE IF NOT EXISTS files (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            root TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            fingerprint TEXT,
            seen_scan INTEGER NOT NULL DEFAULT 0,
            added_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX IF NOT EXISTS files_fingerprint ON files(fingerprint);
        CREATE INDEX IF NOT EXISTS files_root ON files(root);
        CREATE TABLE IF NOT EXISTS content (
            fingerprint TEXT PRIMARY KEY,
            metadata TEXT NOT NULL,
            metadata_version TEXT NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE IF NOT EXISTS stages (
            fingerprint TEXT NOT NULL,
            stage TEXT NOT NULL,
            version TEXT NOT NULL,
            point_id TEXT,
            updated_at REAL NOT NULL,
            PRIMARY KEY (fingerprint, stage, version)
        );
        CREATE TABLE IF NOT EXISTS failures (
            path TEXT NOT NULL,
            stage TEXT NOT NULL,
            reason TEXT NOT NULL,
            detail TEXT,
            attempts INTEGER NOT NULL DEFAULT 1,
            size INTEGER,
            mtime_ns INTEGER,
            first_at REAL NOT NULL,
            last_at REAL NOT NULL,
            PRIMARY KEY (path, stage)
        );
        CREATE TABLE IF NOT EXISTS runs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            pid INTEGER NOT NULL,
            started_at REAL NOT NULL,
            finished_at REAL,
            status TEXT NOT NULL,
            args TEXT,
            summary TEXT
        );
        """,
    ),
    (
        "analyses: per-content results of the analysis stages (quality, duplicate signature, keywords, caption)",
        """
        CREATE TABLE IF NOT EXISTS analyses (
            fingerprint TEXT NOT NULL,
            kind TEXT NOT NULL,
            version TEXT NOT NULL,
            data TEXT NOT NULL,
            updated_at REAL NOT NULL,
            PRIMARY KEY (fingerprint, kind)
        );
        """,
    ),
    (
        "sidecars: the XMP sidecar read per file path (its name, size, mtime and fields); content metadata "
        "becomes the embedded part only, so content read with a sidecar merged in is read again",
        """
        CREATE TABLE IF NOT EXISTS sidecars (
            path TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            fields TEXT NOT NULL,
            updated_at REAL NOT NULL
        );
        UPDATE content SET metadata_version = '' WHERE metadata LIKE '%"sidecar_file"%'
        """,
    ),
)

assert len(MIGRATIONS) == SCHEMA_VERSION, "one migration per schema version"
