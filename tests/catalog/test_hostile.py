"""Hostile files and arguments for the catalog library and its CLIs (R47, R48, R49): real SQLite catalogs, real
FIFOs, no mocks. Each case must end promptly with a named reason; pytest-timeout turns a hang into a failure."""

from __future__ import annotations

import os
import re
import sqlite3
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge.cli.app import app as pd_app
from catalog.budget import time_budget
from catalog.errors import CatalogError, CatalogTooSlow, HostileCatalog
from catalog.fsutil import FileTooLarge, NotRegularFile, read_regular
from catalog.keywords import MAX_DEPTH
from catalog.lock import check_lock
from catalog.lrschema import LIGHTROOM_TRIGGERS, foreign_objects, sql_digest
from catalog.reader import open_catalog
from catalog.write import PhotoChange, plan
from catalog.xmp import XmpUpdate, read_sidecar, write_sidecar
from catalog.xmp import plan as xmp_plan
from tests.catalog.conftest import holding_lock
from tests.catalog.fixtures import SCHEMAS, Built, schema_sql
from tests.catalog.write.helpers import connect

pytestmark = pytest.mark.timeout(60)
UPDATE = XmpUpdate(keywords=("dog",))


# --- what Lightroom creates ---------------------------------------------------------------------------------------


def test_trigger_allowlist_is_exactly_what_lightroom_creates(shared_data: Path, lr5_catalog: Path) -> None:
    seen: dict[str, str] = {}
    for version in SCHEMAS:
        conn = sqlite3.connect(":memory:")
        conn.executescript(schema_sql(shared_data, version))
        seen |= {
            n: sql_digest(s)
            for n, s in conn.execute("SELECT name, sql FROM sqlite_master WHERE type='trigger'")
        }
        assert foreign_objects(conn) == []
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE type='view'").fetchone() == (0,)
        conn.close()
    conn = connect(lr5_catalog)
    lr5 = {
        n: sql_digest(s) for n, s in conn.execute("SELECT name, sql FROM sqlite_master WHERE type='trigger'")
    }
    assert foreign_objects(conn) == [] and len(lr5) == 18
    conn.close()
    assert seen | lr5 == LIGHTROOM_TRIGGERS


def test_a_lightroom_trigger_name_with_another_body_is_foreign(modern: Built) -> None:
    conn = connect(modern.path)
    name = "trigger_AgDNGProxyInfo_fileDeleted"
    conn.execute(f"DROP TRIGGER {name}")
    conn.execute(
        f"CREATE TRIGGER {name} AFTER INSERT ON AgLibraryKeywordImage BEGIN UPDATE Adobe_images SET rating = 1; END"
    )
    conn.execute("CREATE VIEW extra AS SELECT 1")
    assert foreign_objects(conn) == ["view extra", f"trigger {name} on AgLibraryKeywordImage"]
    conn.close()
    with pytest.raises(HostileCatalog, match=f"view extra, trigger {name}"):
        plan(modern.path, [PhotoChange(id=modern.ids["p_grandma"], keywords=("Dog",))])


# --- time budget and views ----------------------------------------------------------------------------------------

_LOOP = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT i FROM r"


def test_time_budget_stops_a_statement_that_never_ends() -> None:
    conn = sqlite3.connect(":memory:")
    started = time.monotonic()
    with (
        pytest.raises(CatalogTooSlow, match="took longer than 0.3 s.*hostile"),
        time_budget(conn, 0.3, "reading"),
    ):
        conn.execute(f"SELECT count(*) FROM ({_LOOP})").fetchone()
    assert time.monotonic() - started < 5
    assert conn.execute("SELECT 1").fetchone() == (1,)  # handler removed: the connection works again


def test_a_table_replaced_by_a_recursive_view_is_refused_fast(lr5_catalog: Path) -> None:
    conn = connect(lr5_catalog)
    conn.execute("DROP TABLE AgLibraryKeywordSynonym")
    conn.execute(
        f"CREATE VIEW AgLibraryKeywordSynonym AS SELECT i AS keyword, 'x' AS name, i AS id_local FROM ({_LOOP})"
    )
    conn.close()
    started = time.monotonic()
    with pytest.raises(HostileCatalog, match="AgLibraryKeywordSynonym is a view"), open_catalog(lr5_catalog):
        pass
    assert time.monotonic() - started < 10


def test_a_keyword_chain_deeper_than_lightroom_nests_is_refused(modern: Built) -> None:
    conn = connect(modern.path)
    (counter,) = conn.execute(
        "SELECT value FROM Adobe_variablesTable WHERE name='Adobe_entityIDCounter'"
    ).fetchone()
    parent, first = modern.ids["kw_nature"], int(counter)
    rows = []
    for kid in range(first, first + MAX_DEPTH + 5):
        rows.append((kid, f"UUID-{kid}", f"k{kid}", f"k{kid}", parent))
        parent = kid
    conn.executemany(
        "INSERT INTO AgLibraryKeyword (id_local, id_global, name, lc_name, parent) VALUES (?,?,?,?,?)", rows
    )
    conn.close()
    with pytest.raises(HostileCatalog, match="deeper than"), open_catalog(modern.path) as cat:
        cat.keyword_tree()


# --- special files ------------------------------------------------------------------------------------------------


def test_fifo_and_oversized_files_are_never_read(tmp_path: Path) -> None:
    fifo = tmp_path / "IMG_1.xmp"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFile, match="FIFO"):
        read_sidecar(fifo)
    big = tmp_path / "big.xmp"
    big.write_bytes(b"x" * 2048)
    with pytest.raises(FileTooLarge):
        read_regular(big, 1024)


def test_fifo_sidecar_read_write_and_dry_run_return_promptly(tmp_path: Path) -> None:
    photo = tmp_path / "IMG_1.CR2"  # a RAW: the format `xmp write` gives a sidecar
    photo.write_bytes(b"raw")
    os.mkfifo(tmp_path / "IMG_1.xmp")
    result = write_sidecar(photo, UPDATE)
    assert (result.status, result.reason) == ("failed", "not-a-regular-file")
    (planned,) = xmp_plan([photo], UPDATE)
    assert planned.reason == "not-a-regular-file" and "FIFO" in (planned.error or "")
    runner = CliRunner()
    for args in (
        ["read", str(photo)],
        ["write", str(photo), "-k", "dog"],
        ["write", str(photo), "-k", "dog", "--dry-run"],
    ):
        out = runner.invoke(pd_app, ["xmp", *args])
        assert out.exit_code == 1 and "not-a-regular-file" in out.stdout, (args, out.stdout)
    assert (tmp_path / "IMG_1.xmp").is_fifo()


def test_missing_photo_gets_no_sidecar(tmp_path: Path) -> None:
    photo = tmp_path / "gone.CR2"
    result = write_sidecar(photo, UPDATE)
    assert (result.status, result.reason) == ("failed", "photo-missing")
    out = CliRunner().invoke(pd_app, ["xmp", "write", str(photo), "-k", "dog"])
    assert out.exit_code == 1 and "photo-missing" in out.stdout
    out = CliRunner().invoke(pd_app, ["xmp", "write", str(tmp_path), "-k", "dog", "--dry-run"])
    assert out.exit_code == 1 and "not-a-regular-file" in out.stdout
    assert list(tmp_path.iterdir()) == []


def test_fifo_lock_file_counts_as_open_without_blocking(modern: Built) -> None:
    os.mkfifo(modern.path.with_name(modern.path.name + ".lock"))
    status = check_lock(modern.path, timeout=5)
    assert status.is_open and "no readable PID" in status.reason  # answered, not "did not finish"


def test_fifo_wal_is_refused(lr5_catalog: Path) -> None:
    os.mkfifo(lr5_catalog.with_name(lr5_catalog.name + "-wal"))
    with pytest.raises(CatalogError, match="FIFO"), open_catalog(lr5_catalog):
        pass


# --- every catalog/xmp command with wrong arguments: a message and an exit code, never a traceback ------------------


def _bad_catalogs(tmp_path: Path, modern: Built) -> dict[str, tuple[Path, int, str]]:
    d = tmp_path / "bad"
    d.mkdir()
    (d / "text.lrcat").write_text("not a catalog at all, just text")
    (d / "empty.lrcat").write_bytes(b"")
    os.mkfifo(d / "fifo.lrcat")
    conn = connect(modern.path)
    conn.execute("UPDATE Adobe_variablesTable SET value = '0200000' WHERE name = 'Adobe_DBVersion'")
    conn.close()
    return {
        "missing": (d / "nope.lrcat", 1, "not found"),
        "folder": (d, 1, "folder"),
        "not sqlite": (d / "text.lrcat", 1, "not a SQLite database"),
        "empty": (d / "empty.lrcat", 1, "empty"),
        "fifo": (d / "fifo.lrcat", 1, "FIFO"),
        "unknown version": (modern.path, 1, "0200000"),
    }


def _check(result, code: int, words: str) -> None:
    text = result.output
    assert result.exit_code == code, text
    assert result.exception is None or isinstance(result.exception, SystemExit), text  # no uncaught exception
    assert "Traceback" not in text
    assert re.search(words, " ".join(text.split()), re.I), text  # as one line, however Rich wrapped it


def test_every_command_with_hostile_catalogs(tmp_path: Path, modern: Built) -> None:
    runner = CliRunner()
    changes = tmp_path / "changes.json"
    changes.write_text('[{"id": 1, "keywords": ["Dog"]}]')
    for name, (path, code, words) in _bad_catalogs(tmp_path, modern).items():
        for args in (
            (["catalog", "info", str(path)]),
            (["catalog", "photos", str(path), "--json"]),
            (["catalog", "keywords", str(path)]),
            (["catalog", "write", str(path), "--changes", str(changes)]),
            (["catalog", "write", str(path), "--changes", str(changes), "--dry-run"]),
            (["catalog", "unwrite", str(path)]),
        ):
            if args[1] == "unwrite" and name == "unknown version":
                continue  # nothing recorded for it: there is nothing to refuse
            started = time.monotonic()
            _check(runner.invoke(pd_app, args), code, words)
            assert time.monotonic() - started < 20, (name, args)


def test_locked_catalog_and_bad_changes_files(tmp_path: Path, modern: Built) -> None:
    runner = CliRunner()
    changes = tmp_path / "changes.json"
    changes.write_text('[{"id": 1, "keywords": ["Dog"]}]')
    with holding_lock(modern.path, "exclusive"):
        for args in (
            (["catalog", "info", str(modern.path)]),
            (["catalog", "write", str(modern.path), "--changes", str(changes)]),
        ):
            _check(runner.invoke(pd_app, args), 75, "Lightroom has this catalog open")
    fifo = tmp_path / "changes.fifo"
    os.mkfifo(fifo)
    (tmp_path / "bad.json").write_text('{"photos": ["x"]}')
    for bad, words in (
        (fifo, "FIFO"),
        (tmp_path / "nope.json", "not found"),
        (tmp_path / "bad.json", "bad changes file"),
        (tmp_path, "folder"),
    ):
        _check(runner.invoke(pd_app, ["catalog", "write", str(modern.path), "--changes", str(bad)]), 1, words)
