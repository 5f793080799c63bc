"""``elforge rpm``: read RPM headers and extract payloads safely."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from elforge.cli.common import (
    FormatOption,
    KeyringOption,
    MaxRatioOption,
    OutputOption,
    emit,
    info,
    progress,
)
from elforge.errors import ElforgeError
from elforge.progress import tracked
from elforge.report.render import OutputFormat

if TYPE_CHECKING:
    from elforge.rpm.header import RpmHeader
    from elforge.rpm.payload import Member

# The format modules (createrepo_c, zstandard) are imported when a command runs, not when
# the CLI starts: every other command (vercmp --batch above all) pays for start-up.

app = typer.Typer(
    help="Read RPM headers and extract payloads.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.command("info")
def info_cmd(
    files: Annotated[list[Path], typer.Argument(help="RPM files to read.")],
    keyring: KeyringOption = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Show RPM headers: label, dependencies, files, changelog, signer, compressor.

    Each package's header and payload digests are checked (and with --keyring its
    signature): an RPM changed after it was built or signed is an error. The JSON form has
    schema elforge.rpm-info/1. Unreadable files are reported and the others still read; the
    exit code is then 1.
    """
    from elforge.report.rpm_info import rpm_info_document
    from elforge.rpm.header import read_header
    from elforge.rpm.verify import verify_rpm

    headers: list[RpmHeader] = []
    errors: list[tuple[Path, str]] = []
    for path in tracked(files, progress(), "reading headers"):
        try:
            header = read_header(path, digest=True)
            verify_rpm(path, keyring)
            headers.append(header)
        except ElforgeError as exc:
            errors.append((path, exc.problem))
    emit(rpm_info_document(headers, errors), fmt, output)
    for path, problem in errors:
        info(f"error: {path}: {problem}")
    if errors:
        raise typer.Exit(1)


@app.command("extract")
def extract_cmd(
    rpm: Annotated[Path, typer.Argument(help="The RPM whose payload to extract.")],
    dest: Annotated[Path, typer.Argument(help="Target directory (created if missing).")],
    elf_only: Annotated[
        bool, typer.Option("--elf-only", help="Only ELF files (and their directories).")
    ] = False,
    member: Annotated[
        list[str] | None,
        typer.Option("--member", "-m", help="Only members matching this glob (repeatable)."),
    ] = None,
    max_total: Annotated[
        int,
        typer.Option("--max-total", min=1, help="Most bytes the payload may expand to."),
    ] = 4 << 30,
    max_ratio: MaxRatioOption = 200,
    keyring: KeyringOption = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Extract the payload into DEST, refusing anything that would escape it.

    Paths are relative to DEST (rpm's ./ prefix removed); --member globs match them with or
    without a leading '/'. Setuid/setgid bits are dropped. A payload that expands past
    --max-total or --max-ratio (a decompression bomb) is refused before its data is written.
    JSON schema: elforge.rpm-extract/1.
    """
    from elforge.report.rpm_info import rpm_extract_document
    from elforge.rpm.payload import Limits, extract, is_elf
    from elforge.rpm.verify import verify_rpm

    verify_rpm(rpm, keyring)  # digests (and signature) before a byte is written

    patterns = [p.lstrip("/") for p in member or []]

    def chosen(m: Member) -> bool:
        return any(fnmatch.fnmatchcase(m.path, p) for p in patterns)

    members = extract(
        rpm,
        dest,
        select=chosen if patterns else None,
        select_content=is_elf if elf_only else None,
        limits=Limits(max_total=max_total, max_ratio=max_ratio),
        progress=progress(),
    )
    emit(rpm_extract_document(rpm, dest, members), fmt, output)
