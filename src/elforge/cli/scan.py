"""``elforge scan``: leftover reference branding in specs, sources and built RPMs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from elforge.cli.common import FormatOption, OutputOption, emit
from elforge.patching.branding import load_rules, scan_document, scan_paths
from elforge.report.render import OutputFormat


def scan(
    paths: Annotated[
        list[Path], typer.Argument(help="Package trees, folders of trees, RPMs or RPM folders.")
    ],
    patterns: Annotated[
        Path | None,
        typer.Option("--patterns", help="YAML patterns (and allow-list); default: built-in."),
    ] = None,
    allow: Annotated[
        Path | None, typer.Option("--allow", help="YAML allow-list added to the patterns'.")
    ] = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Find reference branding; list the packages that still need a patch config.
    Exit 0 when nothing unallowed is found, 4 when something is, 1 on errors."""
    rules = load_rules(patterns, allow)
    result = scan_paths(paths, rules)
    emit(scan_document(result), fmt, output)
    if result.errors:
        raise typer.Exit(1)
    raise typer.Exit(4 if result.needing_config else 0)
