"""Result tables for the terminal and for scripts, in one place so every command prints rows the same way.

A `Column` is either *kept* (rank, score, a file path: always printed whole, never cut or folded) or
*shrinkable* (camera, caption, keywords: cut with "…" to what the width leaves). Three renderings:

* stdout is not a terminal (piped, redirected): tab-separated values, one header line, one line per row;
  tabs and line breaks inside a value become spaces, so `cut -f3` always gives the path;
* a terminal wide enough for the kept columns at full length plus some room for the rest: a table;
* a narrower terminal (80 columns with long paths): each row on two lines, the kept values on the first
  (the path whole, the terminal wraps it if it is longer than a line) and the others, cut to the width,
  indented on the second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bridge.files.paths import shown

MIN_SHRINK = 12  # room a shrinkable column needs before a table is worth it (else: two-line rows)


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    keep: bool = False  # printed whole at any width
    justify: str = "left"


def is_terminal(console: Console) -> bool:
    """True when the console writes to an interactive terminal (never true for a pipe or a file)."""
    isatty = getattr(console.file, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def tsv_value(value: str) -> str:
    return " ".join(str(value).replace("\t", " ").splitlines()) if value else ""


def render(console: Console, columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> None:
    """Print `rows` (plain strings, no markup) for a terminal or, when piped, as tab-separated values.
    Names that are not valid UTF-8 appear in their shown form (`caf\\xe9.jpg`)."""
    rows = [[shown(str(v)) for v in row] for row in rows]
    if not is_terminal(console):
        lines = ["\t".join(c.name for c in columns)]
        lines += ["\t".join(tsv_value(v) for v in row) for row in rows]
        console.file.write("\n".join(lines) + "\n")
        console.file.flush()
        return
    kept = [i for i, c in enumerate(columns) if c.keep]
    others = [i for i, c in enumerate(columns) if not c.keep]
    widths = {i: max([cell_len(columns[i].name), *(cell_len(r[i]) for r in rows)]) for i in kept}
    # a rich table: 1 space of padding each side and a border line between and around columns
    needed = sum(widths.values()) + 3 * len(columns) + 1 + MIN_SHRINK * len(others)
    if needed <= console.width:
        _table(console, columns, rows, widths)
    else:
        _two_lines(console, columns, rows, kept, others)


def _table(
    console: Console, columns: Sequence[Column], rows: Sequence[Sequence[str]], widths: dict[int, int]
) -> None:
    """Every column gets a fixed width (Rich would otherwise squeeze the kept ones too): the kept columns
    their longest value, the others share what is left, each at most its longest value."""
    room = console.width - sum(widths.values()) - 3 * len(columns) - 1
    others = [i for i, c in enumerate(columns) if not c.keep]
    want = {i: max([cell_len(columns[i].name), *(cell_len(r[i]) for r in rows)]) for i in others}
    fixed = dict(widths)
    for n, i in enumerate(sorted(others, key=lambda i: want[i])):  # narrow ones first, the rest to the wide
        fixed[i] = max(1, min(want[i], room // (len(others) - n)))
        room -= fixed[i]
    table = Table(show_header=True, header_style="bold")
    for i, c in enumerate(columns):
        table.add_column(c.name, no_wrap=True, overflow="ellipsis", width=fixed[i], justify=c.justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*(escape(v) for v in row))
    console.print(table, highlight=False, crop=False)


def _two_lines(
    console: Console,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    kept: list[int],
    others: list[int],
) -> None:
    width = max(20, console.width)
    for row in rows:
        console.print("  ".join(escape(row[i]) for i in kept), highlight=False, soft_wrap=True)
        rest = " · ".join(row[i] for i in others if row[i])
        if rest:
            line = "    " + rest
            if cell_len(line) > width:
                line = set_cell_size(line, width - 1) + "…"
            console.print(f"[dim]{escape(line)}[/]", highlight=False, soft_wrap=True)
