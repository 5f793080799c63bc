"""What every command shares: output options, rendering to a file or the terminal, progress."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgressBar

from elforge.progress import NO_PROGRESS, Progress
from elforge.report.model import ReportDocument
from elforge.report.render import OutputFormat, render


@dataclass
class GlobalOptions:
    quiet: bool = False
    verbose: bool = False
    debug: bool = False


OPTIONS = GlobalOptions()
# soft_wrap: an error line must stay one line, however long the path in it
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="Report format: text, json, sarif, junit or html."),
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write the report to FILE instead of standard output."),
]
MaxRatioOption = Annotated[
    int,
    typer.Option(
        "--max-ratio",
        min=0,
        help="Decompression-bomb cap: most uncompressed bytes per compressed byte, past 64 MiB "
        "(0: no ratio cap).",
    ),
]
KeyringOption = Annotated[
    Path | None,
    typer.Option(
        "--keyring",
        help="Also check RPM signatures against the keys in this file (armored); digests "
        "are always checked.",
    ),
]

ReferenceKeyOption = Annotated[
    Path | None,
    typer.Option("--reference-key", help="Key file: REFERENCE's repomd.xml.asc must verify."),
]
CandidateKeyOption = Annotated[
    Path | None,
    typer.Option("--candidate-key", help="Key file: CANDIDATE's repomd.xml.asc must verify."),
]
RepoKeyOption = Annotated[
    Path | None,
    typer.Option("--key", help="Key file: every repository's repomd.xml.asc must verify."),
]


def emit(doc: ReportDocument, fmt: OutputFormat, output: Path | None) -> None:
    """Render ``doc`` and write it to ``output`` or standard output."""
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(render(doc, fmt), encoding="utf-8")
        if not OPTIONS.quiet:
            stderr.print(f"wrote {fmt.value} report to {output}", markup=False)
        return
    color = fmt is OutputFormat.text and sys.stdout.isatty()
    sys.stdout.write(render(doc, fmt, color=color))
    sys.stdout.flush()


def info(message: str) -> None:
    """A status line on standard error, unless --quiet."""
    if not OPTIONS.quiet:
        stderr.print(message, markup=False)


def verbose(message: str) -> None:
    if OPTIONS.verbose and not OPTIONS.quiet:
        stderr.print(message, markup=False, style="dim")


def progress_bar(description_column: str, *, transient: bool) -> RichProgressBar:
    """The house progress bar: description, bar, done/total, elapsed, ETA and a note."""
    return RichProgressBar(
        TextColumn(description_column),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[note]}"),
        console=stderr,
        transient=transient,
    )


class RichProgress:
    """A Rich progress bar on standard error; silent under --quiet or when not a terminal."""

    def __init__(self) -> None:
        self._bar: RichProgressBar | None = None
        self._task: int | None = None

    def start(self, description: str, total: int | None) -> None:
        self.finish()
        self._bar = progress_bar("[progress.description]{task.description}", transient=True)
        self._bar.start()
        self._task = self._bar.add_task(description, total=total, note="")

    def advance(self, amount: int = 1, *, note: str = "") -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=amount, note=note)  # type: ignore[arg-type]

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            self._task = None


def progress() -> Progress:
    """The progress reporter commands hand to domain code."""
    if OPTIONS.quiet or not stderr.is_terminal:
        return NO_PROGRESS
    return RichProgress()
