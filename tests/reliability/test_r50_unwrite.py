"""R50: `catalog unwrite` after the user added keywords of their own under our parent removes exactly what we wrote.

A real (fixture-built, LrC 11 layout) catalog is written through the CLI from a changes file; then the user, as
Lightroom would, adds a keyword under "Pixel Detective", a child under one of our keywords, applies one of ours to
another photo and re-rates a photo we rated. `unwrite` must take back our rows only, keep theirs, and say why."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bridge.cli.app import app
from tests.catalog.fixtures import Built, build_catalog
from tests.catalog.write.helpers import connect, integrity

pytestmark = [pytest.mark.reliability, pytest.mark.shared_data]


@pytest.fixture
def cat(shared_data: Path, tmp_path: Path) -> Built:
    return build_catalog(shared_data, tmp_path / "c", "1100000")


class User:
    """Lightroom-style edits straight into the catalog: ids from Adobe_entityIDCounter, kept REAL."""

    def __init__(self, path: Path) -> None:
        self.conn = connect(path)

    def next_id(self) -> int:
        (value,) = self.conn.execute(
            "SELECT value FROM Adobe_variablesTable WHERE name = 'Adobe_entityIDCounter'"
        ).fetchone()
        self.conn.execute(
            "UPDATE Adobe_variablesTable SET value = CAST(? AS REAL) WHERE name = 'Adobe_entityIDCounter'",
            (float(value) + 1,),
        )
        return int(value)

    def keyword(self, name: str, parent: int) -> int:
        kid = self.next_id()
        self.conn.execute(
            "INSERT INTO AgLibraryKeyword (id_local, id_global, dateCreated, genealogy, name, lc_name, parent)"
            " VALUES (?, ?, 7.6e8, '', ?, ?, ?)",
            (kid, str(uuid.uuid4()).upper(), name, name.lower(), parent),
        )
        return kid

    def link(self, image: int, tag: int) -> int:
        lid = self.next_id()
        self.conn.execute(
            "INSERT INTO AgLibraryKeywordImage (id_local, image, tag) VALUES (?, ?, ?)", (lid, image, tag)
        )
        return lid


def keyword_id(conn: sqlite3.Connection, path: str) -> int:
    node = int(
        conn.execute(
            "SELECT value FROM Adobe_variablesTable WHERE name='AgLibraryKeyword_rootTagID'"
        ).fetchone()[0]
    )
    for part in path.split("|"):
        node = conn.execute(
            "SELECT id_local FROM AgLibraryKeyword WHERE parent = ? AND name = ?", (node, part)
        ).fetchone()[0]
    return node


def rows(conn: sqlite3.Connection) -> tuple[set[int], set[tuple[int, int, int]]]:
    keywords = {r[0] for r in conn.execute("SELECT id_local FROM AgLibraryKeyword")}
    links = {tuple(r) for r in conn.execute("SELECT id_local, image, tag FROM AgLibraryKeywordImage")}
    return keywords, links  # type: ignore[return-value]


def test_unwrite_removes_exactly_ours_and_keeps_the_users(cat: Built, tmp_path: Path) -> None:
    ids, runner = cat.ids, CliRunner()
    sunset, grandma, vc = ids["p_sunset"], ids["p_grandma"], ids["p_vc"]
    changes = tmp_path / "changes.json"
    changes.write_text(json.dumps([
        {"id": sunset, "keywords": ["Animals|Dog", "Animals|Cat"], "rating": 4, "label": "Blue"},
        {"id": grandma, "keywords": ["Animals|Dog", "Beach", "Sunset"], "caption": "AI caption", "rating": 2},
    ]))  # fmt: skip
    conn = connect(cat.path)
    kw0, links0 = rows(conn)
    conn.close()

    out = runner.invoke(app, ["catalog", "write", str(cat.path), "--changes", str(changes)])
    assert out.exit_code == 0, out.output
    conn = connect(cat.path)
    kw1, links1 = rows(conn)
    ours_kw, ours_links = kw1 - kw0, links1 - links0
    assert len(ours_kw) == 5 and len(ours_links) == 5  # Pixel Detective, Animals, Dog, Cat, Beach; 5 links
    dog, cat_kw = (
        keyword_id(conn, "Pixel Detective|Animals|Dog"),
        keyword_id(conn, "Pixel Detective|Animals|Cat"),
    )
    parent = keyword_id(conn, "Pixel Detective")
    conn.close()

    user = User(cat.path)
    mine = user.keyword("Mine", parent)  # the user's own keyword under our parent …
    mine_link = user.link(vc, mine)
    puppy = user.keyword("Puppy", dog)  # … a child under one of ours …
    cat_link = user.link(vc, cat_kw)  # … one of ours applied to another photo …
    lisbon_link = user.link(grandma, ids["kw_lisbon"])
    user.conn.execute("UPDATE Adobe_images SET rating = 5.0 WHERE id_local = ?", (grandma,))  # … a re-rating
    user.conn.close()

    out = runner.invoke(app, ["catalog", "unwrite", str(cat.path), "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    conn = connect(cat.path)
    kw2, links2 = rows(conn)
    # exactly ours removed: every removed row is one we created, none of the user's
    assert (kw1 | {mine, puppy}) - kw2 <= ours_kw and links1 - links2 == ours_links
    assert {mine, puppy, *kw0} <= kw2
    assert {mine_link, cat_link, lisbon_link} <= {lk[0] for lk in links2} and links0 <= links2
    assert kw2 & ours_kw == {
        parent,
        keyword_id(conn, "Pixel Detective|Animals"),
        dog,
        cat_kw,
    }  # in use by the user
    assert (report["keywords_removed"], report["links_removed"]) == (1, 5)
    assert report["removed_keywords"] == ["Pixel Detective|Beach"]
    reasons = {k["what"]: k["reason"] for k in report["kept"]}
    assert reasons["keyword Pixel Detective|Animals|Cat"] == "you applied it to 1 photo(s)"
    assert "Puppy" in reasons["keyword Pixel Detective|Animals|Dog"]
    assert "Mine" in reasons["keyword Pixel Detective"]
    assert reasons[f"rating of photo {grandma}"].startswith("changed since our write")
    # fields: ours set back exactly (same value and storage class), the user's re-rating kept
    assert conn.execute(
        "SELECT rating, typeof(rating), colorLabels FROM Adobe_images WHERE id_local = ?", (sunset,)
    ).fetchone() == (5.0, "real", "Red")
    assert conn.execute("SELECT rating FROM Adobe_images WHERE id_local = ?", (grandma,)).fetchone() == (5.0,)
    assert conn.execute("SELECT caption FROM AgLibraryIPTC WHERE image = ?", (grandma,)).fetchone() == (None,)
    conn.close()
    assert integrity(cat.path) == "ok"

    # the readable report, and a second unwrite once the user is done with our keywords
    user = User(cat.path)
    user.conn.execute("DELETE FROM AgLibraryKeywordImage WHERE id_local = ?", (cat_link,))
    user.conn.execute("DELETE FROM AgLibraryKeyword WHERE id_local = ?", (puppy,))
    user.conn.close()
    out = runner.invoke(app, ["catalog", "unwrite", str(cat.path)])
    assert out.exit_code == 0, out.output
    text = " ".join(out.stdout.split())
    assert (
        "removed 3 keyword(s), 0 keyword link(s)" in text and "Pixel Detective: it still holds Mine" in text
    )
    assert "Traceback" not in text and "RemoveReport(" not in text
    conn = connect(cat.path)
    kw3, _ = rows(conn)
    assert kw3 == kw0 | {parent, mine}  # only our parent remains, because the user's "Mine" lives in it
    conn.close()
