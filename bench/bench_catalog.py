"""Benchmark catalog reading and writing at scale.

    .venv/bin/python bench/bench_catalog.py [--photos 100000] [--keywords 3] [--json]

Builds an N-photo catalog (LrC 11 layout, from the schema dump in ../shared/data via the test fixture builder,
rows added with executemany) in a temp dir, then measures:
- read: every photo through catalog.reader (lock check, verified copy, version gate, photos with captions and
  keywords). Target < 10 s for 100k.
- write: keywords (3 per photo by default, 8-word vocabulary under "Pixel Detective") + caption for every photo,
  plan + apply (backup, one transaction, integrity_check, checkpoint). Target < 60 s for 100k.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catalog.reader import open_catalog  # noqa: E402
from catalog.write import PhotoChange, apply, plan  # noqa: E402
from tests.catalog.write.bigcat import big_changes, make_big_catalog  # noqa: E402

SHARED = (ROOT / ".." / "shared" / "data").resolve()
TARGET_READ_S = 10.0
TARGET_WRITE_S = 60.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=100_000)
    ap.add_argument("--keywords", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    scale = args.photos / 100_000
    with tempfile.TemporaryDirectory(prefix="pd-bench-cat-") as tmp:
        t = time.perf_counter()
        path = make_big_catalog(SHARED, Path(tmp) / "cat", args.photos)
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        with open_catalog(path) as cat:
            photos = cat.photos()
        read_s = time.perf_counter() - t
        big = [p.path for p in photos if "/big/" in p.path]
        changes = [
            PhotoChange(path=c["path"], keywords=tuple(c["keywords"]), caption=c["caption"])
            for c in big_changes(big, args.keywords)
        ]
        t = time.perf_counter()
        the_plan = plan(path, changes)
        plan_s = time.perf_counter() - t
        t = time.perf_counter()
        report = apply(path, the_plan)
        apply_s = time.perf_counter() - t
        size_mb = path.stat().st_size / 1e6
    write_s = plan_s + apply_s
    result = {
        "photos": args.photos,
        "photos_read": len(photos),
        "catalog_mb": round(size_mb, 1),
        "build_s": round(build_s, 2),
        "read_s": round(read_s, 2),
        "read_target_s": TARGET_READ_S * scale,
        "read_ratio_to_target": round(read_s / (TARGET_READ_S * scale), 3),
        "plan_s": round(plan_s, 2),
        "apply_s": round(apply_s, 2),
        "write_s": round(write_s, 2),
        "write_target_s": TARGET_WRITE_S * scale,
        "write_ratio_to_target": round(write_s / (TARGET_WRITE_S * scale), 3),
        "links_created": report.links_created,
        "fields_changed": report.fields_changed,
        "keywords_created": report.keywords_created,
        "integrity": report.integrity,
        "machine": f"{platform.machine()} {platform.python_version()}",
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.photos} photos, catalog {size_mb:.0f} MB (built in {build_s:.1f} s)")
        print(
            f"read  all photos:         {read_s:6.2f} s  (target {TARGET_READ_S * scale:.1f} s, ratio {result['read_ratio_to_target']})"
        )
        print(f"write kw+caption (plan {plan_s:.2f} + apply {apply_s:.2f}): {write_s:6.2f} s  "
              f"(target {TARGET_WRITE_S * scale:.1f} s, ratio {result['write_ratio_to_target']})")  # fmt: skip
        print(
            f"  {report.links_created} links, {report.fields_changed} captions, integrity {report.integrity}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
