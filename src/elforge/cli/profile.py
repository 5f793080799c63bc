"""``elforge profile``: make, compare and import distribution ABI profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from elforge.cli.common import FormatOption, KeyringOption, OutputOption, emit, info, progress
from elforge.compat.auditwheel import import_policy
from elforge.compat.create import create_profile
from elforge.compat.profdiff import build_report, diff_profiles
from elforge.compat.profile import load, save
from elforge.compat.summary import build_summary
from elforge.report.render import OutputFormat

app = typer.Typer(help="Distribution ABI profiles: create, diff, import-auditwheel.",
                  no_args_is_help=True)  # fmt: skip

ProfileOut = Annotated[
    Path, typer.Option("--output", "-o", help="Write the profile (gzip JSON) to this file.")
]
ReportOption = Annotated[
    Path | None, typer.Option("--report", help="Write the summary report to FILE.")
]


@app.command("create")
def create(
    src: Annotated[Path, typer.Argument(help="Directory of RPMs, repository or installed root.")],
    output: ProfileOut,
    name: Annotated[
        str | None, typer.Option("--name", help="Profile name (default: SRC's).")
    ] = None,
    keyring: KeyringOption = None,
    fmt: FormatOption = OutputFormat.text,
    report: ReportOption = None,
) -> None:
    """Profile every shared library of SRC: SONAME, package, versions, symbol@version.
    RPM digests (and with --keyring signatures) are checked before a member is read."""
    profile, problems = create_profile(src, name=name, progress=progress(), keyring=keyring)
    save(profile, output)
    info(f"wrote profile {profile.name} ({len(profile.libraries)} libraries) to {output}")
    emit(build_summary(profile, output, problems), fmt, report)


@app.command("diff")
def diff(
    a: Annotated[Path, typer.Argument(help="Reference profile.")],
    b: Annotated[Path, typer.Argument(help="Candidate profile: must be a superset of A.")],
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Is B's ABI a superset of A's? Lists what B lacks. Exit 0 superset, 8 not."""
    d = diff_profiles(load(a), load(b))
    emit(build_report(d), fmt, output)
    if not d.superset:
        raise typer.Exit(8)


@app.command("import-auditwheel")
def import_auditwheel(
    policy_file: Annotated[Path, typer.Argument(help="auditwheel policy file (policy.json).")],
    policy: Annotated[str, typer.Option("--policy", help="Policy name, e.g. manylinux_2_17.")],
    output: ProfileOut,
    fmt: FormatOption = OutputFormat.text,
    report: ReportOption = None,
) -> None:
    """Turn one auditwheel policy into a version-level profile."""
    profile = import_policy(policy_file, policy)
    save(profile, output)
    info(f"wrote version profile {profile.name} to {output}")
    emit(build_summary(profile, output, []), fmt, report)
