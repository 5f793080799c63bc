"""Can third-party RPMs be installed on a target made of these repositories?

A libsolv transaction test: the RPMs' headers (read with createrepo_c, every file included)
join the pool as the ``@commandline`` repository, one job installs them all into an empty
system with dnf's solver settings (:mod:`elforge.repo.closure`), the target's filelists are
read only when a file requirement needs them, and problems are worded the way dnf words
them ("Problem 1: conflicting requests / - nothing provides libfoo.so.1()(64bit) needed by
bar-1.0-1.x86_64 from @commandline").
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import createrepo_c as cr
import solv

from elforge.errors import FormatError
from elforge.repo.closure import dnf_solver, filelists_findings, installonly_jobs
from elforge.repo.pool import RepoSpec, finish_pool, load_pool, solvable_label
from elforge.report.model import Finding, ReportDocument, Severity

SCHEMA = "elforge.repo-install-check/1"
CMDLINE = "@commandline"


@dataclass
class InstallCheckResult:
    rpms: list[str]
    against: list[str]
    arch: str
    installable: bool = True
    problems: list[list[str]] = field(default_factory=list)  # per problem: its lines
    transaction: list[str] = field(default_factory=list)  # what would be installed
    filelists_errors: list[str] = field(default_factory=list)  # needed but unreadable

    def explain(self) -> str:
        """The problems as dnf prints them."""
        lines = ["Error: "]
        for i, problem in enumerate(self.problems, 1):
            head, *rules = problem
            prefix = " Problem" if len(self.problems) == 1 else f" Problem {i}"
            lines.append(f"{prefix}: {head}")
            lines.extend(f"  - {r}" for r in rules)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "rpms": self.rpms,
            "against": self.against,
            "arch": self.arch,
            "installable": self.installable,
            "problems": [{"summary": p[0], "details": p[1:]} for p in self.problems],
            "transaction": self.transaction,
            "filelists_errors": self.filelists_errors,
            "explanation": self.explain() if self.problems else "",
        }

    def to_document(self) -> ReportDocument:
        findings = [
            Finding(
                Severity.BAD,
                "install.problem",
                ", ".join(self.rpms),
                "; ".join(p[1:] or p[:1]),
                layer="closure",
            )
            for p in self.problems
        ]
        findings += filelists_findings(self.filelists_errors, "install.filelists-unreadable")
        return ReportDocument(
            schema=SCHEMA,
            title="Install check",
            data=self.to_json(),
            findings=findings,
            summary=[
                ("packages", ", ".join(self.rpms)),
                ("against", ", ".join(self.against)),
                ("installable", "yes" if self.installable else "no"),
                ("would install", len(self.transaction)),
                *([("dnf would say", self.explain())] if self.problems else []),
            ],
        )


def _commandline_xml(rpms: Sequence[Path]) -> tuple[str, str]:
    """primary.xml and filelists.xml of the RPMs (dnf reads every file of a local RPM)."""
    primary, files = [], []
    for rpm in rpms:
        try:
            pkg = cr.package_from_rpm(str(rpm), cr.SHA256, rpm.name, None, 0, 0)
        except (cr.CreaterepoCError, OSError) as exc:
            raise FormatError(f"cannot read RPM header: {exc}", subject=rpm) from None
        primary.append(cr.xml_dump_primary(pkg))
        files.append(cr.xml_dump_filelists(pkg))
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    return (
        head + '<metadata xmlns="http://linux.duke.edu/metadata/common" '
        f'xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="{len(primary)}">\n'
        + "".join(primary)
        + "</metadata>\n",
        head + '<filelists xmlns="http://linux.duke.edu/metadata/filelists" '
        f'packages="{len(files)}">\n' + "".join(files) + "</filelists>\n",
    )


def _add_commandline(pool: solv.Pool, rpms: Sequence[Path]) -> solv.Repo:
    cmdline = pool.add_repo(CMDLINE)
    with tempfile.TemporaryDirectory() as tmp:
        for text, flags in zip(
            _commandline_xml(rpms), (0, solv.Repo.REPO_EXTEND_SOLVABLES), strict=True
        ):
            path = Path(tmp) / "md.xml"
            path.write_text(text, encoding="utf-8")
            handle = solv.xfopen(str(path))
            cmdline.add_rpmmd(handle, None, flags)
            handle.close()
    return cmdline


def _problem_lines(problem: Any) -> list[str]:
    lines = [str(problem)]
    seen: set[str] = set()
    raw: list[str] = []
    for rule in problem.findallproblemrules():
        for info in rule.allinfos():
            if info.type == solv.Solver.SOLVER_RULE_JOB:
                continue
            text = info.problemstr()
            raw.append(text)
            src = info.solvable
            if src is not None and src.repo is not None and src.repo.name == CMDLINE:
                text += f" from {CMDLINE}"
            if text not in seen:
                seen.add(text)
                lines.append(text)
    if raw and lines[0] in raw:  # dnf heads a single-cause problem this way
        lines[0] = "conflicting requests"
    return lines


def install_check(
    rpms: Sequence[Path],
    against: Sequence[RepoSpec],
    *,
    arch: str = "x86_64",
    cache_dir: Path | None = None,
) -> InstallCheckResult:
    """Install ``rpms`` together into an empty system built from ``against``."""
    loaded = load_pool(against, arch=arch, cache_dir=cache_dir)
    pool = loaded.pool
    cmdline = _add_commandline(pool, rpms)
    finish_pool(loaded)
    jobs = [
        pool.Job(solv.Job.SOLVER_INSTALL | solv.Job.SOLVER_SOLVABLE, s.id)
        for s in cmdline.solvables_iter()
    ]
    solver = dnf_solver(pool)
    problems = solver.solve(jobs + installonly_jobs(pool))
    result = InstallCheckResult(
        rpms=[str(r) for r in rpms],
        against=[loaded.sources[r.id].name for r in loaded.checked],
        arch=arch,
        filelists_errors=loaded.filelists_errors,
    )
    if problems:
        result.installable = False
        result.problems = [_problem_lines(p) for p in problems]
    else:
        trans = solver.transaction()
        result.transaction = sorted(str(solvable_label(s)) for s in trans.newsolvables())
    return result
