"""`pixel-detective rules check|apply`: validate a rules file, re-apply rules to the whole index."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bridge.cli.common import fail, out, settings_from, user_errors
from bridge.cli.exits import Exit
from bridge.engine import Engine, load_rules

app = typer.Typer(help="Metadata rules (keywords and fields from paths and metadata).", no_args_is_help=True)


@app.command("check")
def check(file: Annotated[Path, typer.Argument(help="Rules file (.toml or .yaml)")]) -> None:
    """Parse a rules file and report its rules or the first problem."""
    from bridge.metadata.rules import RuleError
    from bridge.metadata.rules_file import load_rules as parse

    try:
        rules = parse(file)
    except (RuleError, OSError) as e:
        raise fail(str(e)) from None
    out.print(f"{file}: {len(rules)} rule(s), version {rules.version}")


@app.command("apply")
def apply(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Option("--rules", help="Rules file (default: settings rules_file).")
    ] = None,
) -> None:
    """Re-apply the rules to every indexed photo's payload, from stored metadata (no file is re-read)."""
    from bridge.metadata.rules import RuleError

    s = settings_from(ctx, rules_file=file)
    if s.rules_file is None:
        raise fail("no rules file: pass --rules FILE or set rules_file in settings", Exit.USAGE)
    with user_errors(), Engine.open(s, purpose="pixel-detective rules apply") as engine:
        if engine.embedder is None:
            raise fail(f"nothing to update yet: {engine.weights_problem}")
        try:
            n = engine.indexer(rules=load_rules(s)).reapply_rules()
        except RuleError as e:
            raise fail(str(e)) from None
    out.print(f"rules re-applied to {n} photo(s)")
