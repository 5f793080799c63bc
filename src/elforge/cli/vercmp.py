"""``elforge vercmp``: rpmvercmp / EVR comparison, one pair or a batch file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from elforge.errors import FormatError
from elforge.rpm.vercmp import compare_labels


def _compare(a: str, b: str) -> int:
    """EVR comparison when either side carries an epoch or a release, else plain rpmvercmp."""
    return compare_labels(a, b)


def vercmp(
    a: Annotated[str | None, typer.Argument(help="First [epoch:]version[-release].")] = None,
    b: Annotated[str | None, typer.Argument(help="Second [epoch:]version[-release].")] = None,
    batch: Annotated[
        Path | None,
        typer.Option("--batch", help="Tab-separated pairs, one per line ('-' for stdin)."),
    ] = None,
) -> None:
    """Compare versions as rpm does: print -1, 0 or 1."""
    if batch is None:
        if a is None or b is None:
            raise typer.BadParameter("give two versions, or --batch FILE")
        typer.echo(str(_compare(a, b)))
        return
    stream = sys.stdin if str(batch) == "-" else batch.open(encoding="utf-8")
    out = []
    write = sys.stdout.write
    with stream:
        for lineno, line in enumerate(stream, 1):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            left, sep, right = line.partition("\t")
            if not sep:
                raise FormatError(
                    f"line {lineno}: expected two tab-separated versions", subject=batch
                )
            out.append(("-1", "0", "1")[_compare(left, right) + 1])
            if len(out) >= 8192:
                write("\n".join(out) + "\n")
                out.clear()
    if out:
        write("\n".join(out) + "\n")
