"""``elforge appcheck``: will these binaries, RPMs or wheels run on that system?"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from elforge.cli.common import FormatOption, KeyringOption, OutputOption, emit, info, progress
from elforge.compat.appcheck import build_report, run_appcheck
from elforge.compat.create import create_profile
from elforge.compat.profile import Profile, load
from elforge.compat.repocheck import is_repository
from elforge.report.render import OutputFormat
from elforge.rpm.verify import verify_rpms


def _against(path: Path, keyring: Path | None) -> Profile:
    """A profile file, or a repository / directory of RPMs / installed root profiled now."""
    if path.is_dir():
        info(f"profiling {path} (save it with 'elforge profile create' to reuse it)")
        profile, _problems = create_profile(path, progress=progress(), keyring=keyring)
        return profile
    return load(path)


def appcheck(
    targets: Annotated[
        list[Path], typer.Argument(help="ELF files, directories, RPMs or wheels to check.")
    ],
    against: Annotated[
        list[Path],
        typer.Option(
            "--against",
            "-a",
            help="Profile, repository, directory of RPMs or installed root; repeat "
            "oldest first to get the oldest that works.",
        ),
    ],
    keyring: KeyringOption = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Check that every needed library, version and symbol is there. Exit 0 compatible, 8 not.
    RPM digests (and with --keyring signatures) are checked before a member is read."""
    verify_rpms(targets, keyring)
    profiles = []
    repositories: dict[str, Path] = {}  # RPM targets also get libsolv's install check there
    for path in against:
        profile = _against(path, keyring)
        if is_repository(path):
            repositories[profile.name] = path
        profiles.append(profile)
    bar = progress()
    bar.start(f"checking {len(targets)} targets", len(profiles))
    try:
        verdict = run_appcheck(targets, profiles, repositories=repositories,
                               advance=lambda label: bar.advance(note=label))  # fmt: skip
    finally:
        bar.finish()
    emit(build_report(verdict), fmt, output)
    if verdict.target_errors:
        raise typer.Exit(1)
    if not verdict.compatible:
        raise typer.Exit(8)
