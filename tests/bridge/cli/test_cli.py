"""The CLI as users and scripts use it: help everywhere, documented commands, JSON output, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from bridge.cli.app import app
from tests.bridge.conftest import make_photos

ROOT = Path(__file__).resolve().parents[3]


def all_commands() -> list[list[str]]:
    root = get_command(app)
    out = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        out.append([name])
        for sub in getattr(cmd, "commands", {}):
            out.append([name, sub])
    return out


@pytest.mark.parametrize("words", all_commands(), ids=lambda w: " ".join(w))
def test_every_command_has_help_and_is_in_the_readme(words):
    result = CliRunner().invoke(app, [*words, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    readme = (ROOT / "README.md").read_text()
    assert f"pixel-detective {' '.join(words)}" in readme, f"README does not mention `{' '.join(words)}`"


def pd(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIXEL_DETECTIVE_DATA_DIR": str(data_dir)}
    r = subprocess.run(
        [sys.executable, "-m", "bridge", *args], env=env, capture_output=True, text=True, timeout=300
    )
    if check:
        assert r.returncode == 0, r.stderr
    return r


def test_index_search_status_export_import_through_the_cli(settings, tmp_path):
    folder = tmp_path / "photos"
    photos = make_photos(folder, 12)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    model = ["--model", settings.model]
    summary_file = tmp_path / "summary.json"
    r = pd(
        settings.data_dir,
        "index",
        "--folder",
        str(folder),
        *model,
        "--save-summary",
        str(summary_file),
        "--json",
    )
    summary = json.loads(r.stdout)
    assert summary["embedded"] == 12 and summary["failed"] == 1
    assert json.loads(summary_file.read_text())["embedded"] == 12
    hits = json.loads(
        pd(settings.data_dir, "search", "--like", str(photos[3]), *model, "--json", "-n", "3").stdout
    )
    assert hits["results"][0]["path"] == str(photos[3])
    status = json.loads(pd(settings.data_dir, "status", "--json").stdout)
    assert status["files"] == 13 and status["failed"] == 1
    fails = json.loads(pd(settings.data_dir, "failures", "--json").stdout)
    assert sorted((Path(f["path"]).name, f["stage"], f["reason"]) for f in fails) == [
        ("broken.jpg", "decode", "truncated"),
        ("broken.jpg", "metadata", "metadata_error"),
    ]
    archive = tmp_path / "index.tar.gz"
    pd(settings.data_dir, "export-db", str(archive))
    other = tmp_path / "restored"
    other.mkdir()
    (other / "models").symlink_to(settings.models_dir)
    pd(other, "import-db", str(archive))
    again = json.loads(pd(other, "search", "--like", str(photos[3]), *model, "--json", "-n", "3").stdout)
    assert again["results"] == hits["results"]
    refused = pd(other, "import-db", str(archive), check=False)
    assert refused.returncode == 1 and "already holds an index" in refused.stderr


def test_damaged_export_is_refused(settings, tmp_path):
    folder = tmp_path / "photos"
    make_photos(folder, 3)
    model = ["--model", settings.model]
    pd(settings.data_dir, "index", str(folder), *model)
    archive = tmp_path / "index.tar.gz"
    pd(settings.data_dir, "export-db", str(archive))
    import tarfile

    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(bad, "w:gz") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read()
            if m.name.endswith("vectors.npy"):
                data = data[:-4] + b"\0\0\0\1"
            import io

            dst.addfile(m, io.BytesIO(data))
    r = pd(tmp_path / "fresh", "import-db", str(bad), check=False)
    assert r.returncode == 1 and "damaged" in r.stderr


def test_no_weights_says_what_is_missing_and_exits_4(data_dir, tmp_path):
    folder = tmp_path / "photos"
    make_photos(folder, 3)
    r = pd(data_dir, "index", str(folder), check=False)
    assert r.returncode == 4
    assert "no weights for ViT-B-32/laion2b_s34b_b79k" in r.stderr and "models import" in r.stderr
    status = json.loads(pd(data_dir, "status", "--json").stdout)
    assert status["with_metadata"] == 3


def test_bad_where_is_a_usage_error(settings):
    r = pd(settings.data_dir, "search", "x", "--where", "flavour=red", check=False)
    assert r.returncode == 2 and "flavour" in r.stderr


def test_doctor_reports_every_check_and_fails_on_missing_weights(data_dir, settings):
    r = pd(data_dir, "doctor", "--json", check=False)
    report = json.loads(r.stdout)
    checks = {c["check"]: c for c in report["checks"]}
    assert r.returncode == 1 and not report["ok"]
    assert not checks["model weights"]["ok"] and "models import" in checks["model weights"]["detail"]
    assert checks["qdrant_edge"]["detail"] == "0.9.0" and checks["torch"]["detail"].startswith("2.14.1")
    ok = pd(data_dir, "--data-dir", str(data_dir), "doctor", "--json", check=False)
    assert ok.returncode == 1  # same data dir through the flag


def test_unknown_device_is_refused_before_any_work(settings, tmp_path):
    make_photos(tmp_path / "p", 2)
    r = pd(
        settings.data_dir,
        "index",
        str(tmp_path / "p"),
        "--model",
        settings.model,
        "--device",
        "cuda:7",
        check=False,
    )
    assert r.returncode == 1 and "cuda:7" in r.stderr
    assert json.loads(pd(settings.data_dir, "status", "--json").stdout)["files"] == 0


def test_index_catalog_indexes_referenced_files_and_reports_missing(settings, shared_data, tmp_path):
    import sqlite3

    from tests.catalog.fixtures import build_catalog

    built = build_catalog(shared_data, tmp_path / "cat", version="1100000")
    lib = tmp_path / "lib"
    con = sqlite3.connect(built.path)
    con.execute(
        "UPDATE AgLibraryRootFolder SET absolutePath = ? WHERE absolutePath NOT LIKE 'C:%'", (f"{lib}/",)
    )
    con.commit()
    con.close()
    (src,) = make_photos(tmp_path / "src", 1)
    target = lib / "2024" / "Lisbon trip" / "IMG_0001.CR3"  # a JPEG under a RAW name: decoded by content
    target.parent.mkdir(parents=True)
    target.write_bytes(src.read_bytes())
    r = pd(settings.data_dir, "index", "--catalog", str(built.path), "--model", settings.model, "--json")
    summary = json.loads(r.stdout)
    assert summary["files_seen"] == 1 and summary["embedded"] == 1
    assert any("1 of 2 photos" in n and "not on disk" in n for n in summary["notes"])


def test_models_list_shows_which_weights_are_here(settings):
    rows = {r["model"]: r for r in json.loads(pd(settings.data_dir, "models", "list", "--json").stdout)}
    assert (
        rows["ViT-B-32/laion2b_s34b_b79k"]["weights"] == "missing"
        and rows["ViT-B-32/laion2b_s34b_b79k"]["default"]
    )
    assert rows[settings.model]["weights"] == "imported" and rows[settings.model]["dim"] == 64
    assert {r["tier"] for r in rows.values()} >= {"default", "stronger", "smaller", "custom"}
