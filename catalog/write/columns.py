"""Column gate for writes: every table and column a write touches must be there, declared as Lightroom declares it.

Why the declared type matters: SQLite converts a value to the column's affinity on write. Lightroom declares most
columns without a type (values keep the storage class we give them) and ids/links as INTEGER. A catalog whose
`Adobe_variablesTable.value` were declared TEXT would store the id counter as text, which Lightroom no longer
opens (docs/lightroom.md); a `rating` declared INTEGER would turn 4.0 into 4. So a write is refused, naming each
column, unless the catalog matches WRITE_COLUMNS exactly on the columns touched. Checked by `plan` (on the copy,
so a dry run says so) and by the write session (on the original, inside the transaction, before the backup).

WRITE_COLUMNS was taken from the real LR5 catalog and the 0700003, 1100000 and LrC 14 schema dumps, where these
columns are declared identically (tests/catalog/test_generations.py re-derives it). Lightroom 3 lacks
`AgLibraryKeyword.keywordType`, so it is read but not written.
"""

from __future__ import annotations

from collections.abc import Callable

# table → column → declared type ('' = none), for every column apply / remove_ours read or write.
WRITE_COLUMNS: dict[str, dict[str, str]] = {
    "Adobe_variablesTable": {"id_local": "INTEGER", "name": "", "value": ""},
    "Adobe_images": {
        "id_local": "INTEGER", "rating": "", "pick": "", "colorLabels": "", "touchTime": "", "touchCount": "",
    },
    "AgLibraryKeyword": {
        "id_local": "INTEGER", "id_global": "", "dateCreated": "", "genealogy": "", "imageCountCache": "",
        "includeOnExport": "INTEGER", "includeParents": "INTEGER", "includeSynonyms": "INTEGER",
        "keywordType": "", "lastApplied": "", "lc_name": "", "name": "", "parent": "INTEGER",
    },
    "AgLibraryKeywordImage": {"id_local": "INTEGER", "image": "INTEGER", "tag": "INTEGER"},
    "AgLibraryKeywordSynonym": {"keyword": "INTEGER"},
    "AgLibraryIPTC": {"id_local": "INTEGER", "image": "INTEGER", "caption": ""},
}  # fmt: skip


def _shown(declared: str) -> str:
    return declared or "no type"


def write_problems(table_info: Callable[[str], dict[str, str]]) -> list[str]:
    """What keeps a write out: 'no table T', 'T.c missing', 'T.c declared TEXT (Lightroom: no type)'."""
    out: list[str] = []
    for table, wanted in WRITE_COLUMNS.items():
        have = {k: v.upper() for k, v in table_info(table).items()}
        if not have:
            out.append(f"no table {table}")
            continue
        for col, declared in wanted.items():
            if col not in have:
                out.append(f"{table}.{col} missing")
            elif have[col] != declared:
                out.append(f"{table}.{col} declared {_shown(have[col])} (Lightroom: {_shown(declared)})")
    return out


def refusal_reason(catalog_name: str, version: str, problems: list[str]) -> str:
    shown = "; ".join(problems[:8]) + (f" and {len(problems) - 8} more" if len(problems) > 8 else "")
    return (
        f"refusing to write {catalog_name} (version {version}): the write needs tables and columns this catalog "
        f"does not have as Lightroom Classic has them ({shown}); nothing was written."
    )
