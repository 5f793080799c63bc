"""For RPM targets checked against a repository: can the RPMs be installed there at all?

The ELF check says whether the binaries would run; libsolv's install check (the ``repo``
engine's :func:`elforge.repo.installcheck.install_check`) says whether the packages' own
dependencies can be met from the repository, worded as dnf words it.
"""

from __future__ import annotations

from pathlib import Path

from elforge.errors import ElforgeError
from elforge.report.model import Finding, Severity
from elforge.rpm.header import read_header


def is_repository(path: Path) -> bool:
    return path.is_dir() and (path / "repodata" / "repomd.xml").is_file()


def rpm_arch(rpms: list[Path]) -> str:
    """The architecture to solve for: the first RPM that is not noarch, else x86_64."""
    for rpm in rpms:
        try:
            arch = read_header(rpm).nevra.arch
        except ElforgeError:
            continue
        if arch != "noarch":
            return arch
    return "x86_64"


def install_check_findings(rpms: list[Path], repo: Path) -> tuple[bool, list[Finding], dict]:
    """(installable, findings, JSON) of installing ``rpms`` together on ``repo``."""
    from elforge.repo.installcheck import install_check

    try:
        result = install_check(rpms, [repo], arch=rpm_arch(rpms))
    except ElforgeError as exc:
        finding = Finding(Severity.VERIFY, "appcheck.install-check-failed", str(repo),
                          f"the install check could not run: {exc}")  # fmt: skip
        return True, [finding], {"repository": str(repo), "error": str(exc)}
    findings = []
    if not result.installable:
        for lines in result.problems:
            findings.append(
                Finding(Severity.BAD, "appcheck.not-installable", str(repo),
                        " / ".join(line.strip() for line in lines), layer="appcheck")
            )  # fmt: skip
    doc = {"repository": str(repo), **result.to_json()}
    return result.installable, findings, doc
