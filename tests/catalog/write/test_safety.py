"""Refusals (R10 locked, R14 unknown version), the CLI's exit codes, and R13: kill -9 inside a direct write."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge.cli.app import app
from catalog.errors import CatalogLocked, UnsupportedCatalog
from catalog.write import PhotoChange, apply, load_changes, plan, remove_ours
from tests.catalog.conftest import holding_lock
from tests.catalog.fixtures import build_catalog
from tests.catalog.write.bigcat import big_changes, make_big_catalog
from tests.catalog.write.helpers import connect, digest, integrity


@pytest.fixture
def built(shared_data: Path, tmp_path: Path):
    return build_catalog(shared_data, tmp_path / "c", "1100000")


def _change(built) -> list[PhotoChange]:
    return [PhotoChange(id=built.ids["p_grandma"], keywords=("Dog",), rating=2)]


def test_refuses_while_lightroom_has_it_open(built) -> None:
    p = plan(built.path, _change(built))
    before = digest(built.path)
    with holding_lock(built.path, "exclusive"), pytest.raises(CatalogLocked, match="Lightroom"):
        apply(built.path, p)
    lock = built.path.with_name(built.path.name + ".lock")
    lock.write_text(f"/Applications/Lightroom\n{os.getpid()}\n")
    with pytest.raises(CatalogLocked):
        apply(built.path, p)
    with pytest.raises(CatalogLocked):
        plan(built.path, _change(built))
    lock.unlink()
    assert digest(built.path) == before
    assert not (built.path.parent / "Pixel Detective Backups").exists()  # refused before any backup


def test_refuses_unknown_version(built) -> None:
    p = plan(built.path, _change(built))
    conn = connect(built.path)
    conn.execute("UPDATE Adobe_variablesTable SET value = '0200000' WHERE name = 'Adobe_DBVersion'")
    conn.close()
    before = digest(built.path)
    with pytest.raises(UnsupportedCatalog, match="0200000"):
        apply(built.path, p)
    with pytest.raises(UnsupportedCatalog):
        plan(built.path, _change(built))
    assert digest(built.path) == before


def test_cli(built, tmp_path: Path) -> None:
    changes = tmp_path / "changes.json"
    changes.write_text(json.dumps({
        "options": {"keyword_parent": "Pixel Detective"},
        "rules": ["quality >= 0.8 -> rating 4"],
        "photos": [{"id": built.ids["p_grandma"], "keywords": ["Animals|Dog"], "caption": "x", "scores": {"quality": 0.9}},
                   {"path": "/nowhere.jpg", "keywords": ["Y"]}],
    }))  # fmt: skip
    photos, opts = load_changes(changes)
    assert len(photos) == 2 and opts.rules[0].to == 4
    runner = CliRunner()
    before = digest(built.path)
    dry = runner.invoke(
        app, ["catalog", "write", str(built.path), "--changes", str(changes), "--dry-run", "--json"]
    )
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output)["unmatched"] == ["/nowhere.jpg"]
    assert digest(built.path) == before  # dry run writes nothing
    res = runner.invoke(
        app, ["catalog", "write", str(built.path), "--changes", str(changes), "--what", "keywords", "--json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)["report"]
    assert out["links_created"] == 1 and out["fields_changed"] == 0 and out["integrity"] == "ok"
    with holding_lock(built.path, "exclusive"):
        res = runner.invoke(app, ["catalog", "write", str(built.path), "--changes", str(changes)])
    assert res.exit_code == 75 and "Lightroom has this catalog open" in res.output
    res = runner.invoke(
        app, ["catalog", "write", str(built.path), "--changes", str(tmp_path / "missing.json")]
    )
    assert res.exit_code == 1
    res = runner.invoke(app, ["catalog", "unwrite", str(built.path), "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["links_removed"] == 1


_APPLY = """
import json, sys
from catalog.write import WritePlan
mod = sys.modules["catalog.write.apply"]  # the package attribute `apply` is the function

real = mod._current_fields
def announced(*a):  # first step after BEGIN IMMEDIATE + backup: tell the parent we are inside the transaction
    print("in-transaction", flush=True)
    return real(*a)
mod._current_fields = announced
plan = WritePlan.from_dict(json.load(open(sys.argv[2])))
print("go", flush=True)
mod.apply(sys.argv[1], plan)
print("done", flush=True)
"""


def test_kill_9_during_write_leaves_old_or_new(shared_data: Path, tmp_path: Path) -> None:
    """R13: 10 rounds, each on a fresh copy, a subprocess applying a large plan is SIGKILLed at a random moment."""
    base_dir = tmp_path / "base"
    base = make_big_catalog(shared_data, base_dir, 4000)
    with_kw = big_changes([f"/Volumes/Photos/big/IMG_{n:06d}.JPG" for n in range(4000)], keywords_per_photo=4)
    changes = [
        PhotoChange(path=c["path"], keywords=tuple(c["keywords"]), caption=c["caption"], rating=3)
        for c in with_kw
    ]
    p = plan(base, changes)
    old = digest(base)
    old_content = _content(base)
    # reference: the same plan applied without interruption on another copy
    ref = tmp_path / "ref"
    shutil.copytree(base_dir, ref)
    t0 = time.perf_counter()
    apply(
        ref / base.name, p.__class__.from_dict({**p.to_dict(), "catalog": str((ref / base.name).resolve())})
    )
    duration = time.perf_counter() - t0
    new = digest(ref / base.name)
    assert new != old
    outcomes = []
    rng = random.Random(1234)
    for round_ in range(10):
        work = tmp_path / f"r{round_}"
        shutil.copytree(base_dir, work)
        target = (work / base.name).resolve()
        plan_file = work / "plan.json"
        plan_file.write_text(json.dumps({**p.to_dict(), "catalog": str(target)}))
        proc = subprocess.Popen(
            [sys.executable, "-c", _APPLY, str(target), str(plan_file)], stdout=subprocess.PIPE, text=True,
            cwd=Path(__file__).resolve().parents[3],
        )  # fmt: skip
        assert proc.stdout is not None and proc.stdout.readline().strip() == "go"
        if (
            round_ % 2
        ):  # odd rounds: a random moment of the whole run (lock check, backup, write, commit, checks)
            time.sleep(rng.uniform(0.0, duration * 1.3))
        else:  # even rounds: a random moment inside the transaction
            assert proc.stdout.readline().strip() == "in-transaction"
            time.sleep(rng.uniform(0.0, duration * 0.6))
        proc.kill()
        proc.wait()
        assert integrity(target) == "ok"
        state = digest(target)
        assert state in (old, new), f"round {round_}: catalog is neither the old nor the new state"
        outcomes.append(("txn " if round_ % 2 == 0 else "any ") + ("new" if state == new else "old"))
        if state == new:
            backups = list((work / "Pixel Detective Backups").glob("*/" + base.name))
            assert backups and integrity(backups[0]) == "ok" and digest(backups[0]) == old
        sqlite3.connect(target).close()
        # R50 after a crash: the write record (saved "pending" before COMMIT) is resolved against the catalog,
        # and unwrite takes back exactly what reached it: all of it, or nothing
        remove_ours(target)
        assert _content(target) == old_content, f"round {round_}: unwrite after the crash left other content"
    print("R13 outcomes:", outcomes, f"apply took {duration:.2f}s")


def _content(path: Path) -> tuple[object, ...]:
    """What a write adds or changes, without the counter and touch columns (unwrite moves those on)."""
    conn = connect(path)
    try:
        return tuple(
            conn.execute(sql).fetchall()
            for sql in (
                "SELECT id_local, name, parent FROM AgLibraryKeyword ORDER BY 1",
                "SELECT id_local, image, tag FROM AgLibraryKeywordImage ORDER BY 1",
                "SELECT id_local, image, caption FROM AgLibraryIPTC ORDER BY 1",
                "SELECT id_local, rating, typeof(rating), pick, colorLabels FROM Adobe_images ORDER BY 1",
            )
        )
    finally:
        conn.close()
