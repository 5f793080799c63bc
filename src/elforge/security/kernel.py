"""Candidate upstream fix commits for a kernel CVE, ranked, with the evidence for each.

Sources:

- the kernel CNA's ``vulns`` repository: ``cve/published/<year>/CVE-….json`` is a CVE JSON 5
  record whose ``containers.cna.affected`` holds two lists.  The ``git`` one pairs each
  vulnerable range's introducing commit (``version``) with its fixing commit
  (``lessThan``), one per stable branch; the ``semver`` one gives, in the same order, the
  first fixed release of each branch (``version`` with ``lessThanOrEqual: "5.10.*"``), the
  last entry (``versionType: original_commit_for_fix``, ``lessThanOrEqual: "*"``) being
  mainline.  A ``.sha1`` file beside the JSON lists the mainline fix commit(s).  The
  record's ``title`` is the fix commit's subject line.
- a package changelog (``rpm -q --changelog`` output or a spec's ``%changelog``): RHEL
  kernel lines end with ``{CVE-…}`` and start with the upstream subject, e.g.
  ``- netfilter: nf_tables: reject … (Florian Westphal) [RHEL-1234] {CVE-2024-1086}``.

Ranking: mainline fix 50, the stable fix of the branch matching ``--base`` (the rebuild's
kernel series) +30, any stable backport 20; a changelog line carrying the CVE whose
subject matches the record's title +40, a commit hash in that line matching the candidate
+60. Commits only the changelog names (``commit <sha>``) enter with their line's score.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elforge.errors import FormatError
from elforge.jsonfile import read_json
from elforge.report.model import Finding, ReportDocument, Severity, Table

SCHEMA = "elforge.kernel-candidates/1"
_SHA = re.compile(r"\b[0-9a-f]{12,40}\b")
_CVE_BRACES = re.compile(r"\{(CVE-\d{4}-\d{4,}(?:\s*,\s*CVE-\d{4}-\d{4,})*)\}")


@dataclass
class Candidate:
    commit: str
    branch: str  # "mainline" or the stable series ("6.1") or "changelog"
    fixed_in: str | None  # first release with the fix
    introduced_by: str | None
    score: int = 0
    evidence: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "branch": self.branch,
            "fixed_in": self.fixed_in,
            "introduced_by": self.introduced_by,
            "score": self.score,
            "evidence": self.evidence,
        }


@dataclass
class KernelCve:
    cve: str
    title: str | None
    candidates: list[Candidate]
    record: Path | None


def find_record(vulns: Path, cve: str) -> Path | None:
    year = cve.split("-")[1] if cve.count("-") >= 2 else ""
    for sub in ("published", "rejected"):
        path = vulns / "cve" / sub / year / f"{cve}.json"
        if path.is_file():
            return path
    hits = list(vulns.rglob(f"{cve}.json"))
    return hits[0] if hits else None


def _series(version: str) -> str:
    return ".".join(version.split(".")[:2])


def read_vulns_record(path: Path) -> tuple[str | None, list[Candidate]]:
    """(title, candidates) from one CVE JSON 5 record of the vulns repository."""
    doc = read_json(path)
    try:
        cna = doc["containers"]["cna"]
    except (KeyError, TypeError):
        raise FormatError("missing field 'containers.cna'", subject=path) from None
    git_ranges: list[tuple[str, str]] = []
    fixed_versions: list[tuple[str, bool]] = []  # (version, is_mainline)
    for affected in cna.get("affected") or []:
        for v in affected.get("versions") or []:
            vtype = v.get("versionType")
            if vtype == "git" and v.get("lessThan"):
                git_ranges.append((str(v.get("version")), str(v["lessThan"])))
            elif v.get("status") == "unaffected" and v.get("lessThanOrEqual"):
                fixed_versions.append((str(v["version"]), vtype == "original_commit_for_fix"))
    candidates: list[Candidate] = []
    for i, (intro, fix) in enumerate(git_ranges):
        fixed_in, mainline = fixed_versions[i] if i < len(fixed_versions) else (None, False)
        if i == len(git_ranges) - 1 and len(fixed_versions) == len(git_ranges):
            mainline = mainline or fixed_versions[-1][1]
        branch = "mainline" if mainline else (_series(fixed_in) if fixed_in else "stable")
        candidates.append(Candidate(fix, branch, fixed_in, None if set(intro) <= {"0"} else intro))
    sha1 = path.with_suffix(".sha1")
    if sha1.is_file():
        for line in sha1.read_text(encoding="utf-8").split():
            for c in candidates:
                if c.commit == line.strip():
                    c.branch = "mainline"
            if line.strip() and all(c.commit != line.strip() for c in candidates):
                candidates.append(Candidate(line.strip(), "mainline", None, None))
    return cna.get("title"), candidates


@dataclass(frozen=True)
class ChangelogHit:
    line: str
    lineno: int
    subject: str
    commits: tuple[str, ...]


def changelog_hits(text: str, cve: str) -> list[ChangelogHit]:
    """Changelog lines whose ``{CVE-…}`` names ``cve``."""
    hits = []
    for lineno, line in enumerate(text.splitlines(), 1):
        m = _CVE_BRACES.search(line)
        if not m or cve not in [c.strip() for c in m.group(1).split(",")]:
            continue
        body = line.strip().lstrip("-* ").strip()
        subject = re.split(r"\s+\(|\s+\[|\s+\{", body, maxsplit=1)[0].strip()
        hits.append(ChangelogHit(line.strip(), lineno, subject, tuple(_SHA.findall(line))))
    return hits


def changelog_from_header(entries: Iterable[Any]) -> str:
    """``rpm -q --changelog`` text from a header's changelog entries (author, time, text)."""
    out = []
    for e in entries:
        day = datetime.fromtimestamp(e.time, tz=UTC).strftime("%a %b %d %Y")
        out.append(f"* {day} {e.author}\n{e.text}\n")
    return "\n".join(out)


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s.strip().lower().rstrip("."))


def rank_candidates(
    cve: str, vulns: Path, *, changelog: str | None = None, base: str | None = None
) -> KernelCve:
    record = find_record(vulns, cve)
    title: str | None = None
    candidates: list[Candidate] = []
    if record is not None:
        title, candidates = read_vulns_record(record)
        for c in candidates:
            if c.branch == "mainline":
                c.score += 50
                c.evidence.append(f"{record.name}: mainline fix (original_commit_for_fix)")
            else:
                c.score += 20
                c.evidence.append(f"{record.name}: stable fix for {c.branch}, in {c.fixed_in}")
            if base and c.branch == _series(base):
                c.score += 30
                c.evidence.append(f"branch {c.branch} matches the rebuild's kernel series {base}")
    for hit in changelog_hits(changelog or "", cve):
        matched = False
        for c in candidates:
            if not c.commit:  # a changelog-only entry without a commit matches nothing
                continue
            if any(c.commit.startswith(h) or h.startswith(c.commit) for h in hit.commits):
                c.score += 60
                c.evidence.append(f"changelog line {hit.lineno} names the commit: {hit.line}")
                matched = True
            elif title and _norm(hit.subject) == _norm(title):
                c.score += 40
                c.evidence.append(
                    f"changelog line {hit.lineno} carries {cve} with the fix's subject: {hit.line}"
                )
                matched = True
        if not matched:
            for sha in hit.commits:
                candidates.append(
                    Candidate(
                        sha,
                        "changelog",
                        None,
                        None,
                        30,
                        [f"changelog line {hit.lineno}: {hit.line}"],
                    )
                )
            if not hit.commits:
                candidates.append(
                    Candidate(
                        "", "changelog", None, None, 10,
                        [f"changelog line {hit.lineno} carries {cve} (subject {hit.subject!r}), "
                         "no commit named"],
                    )
                )  # fmt: skip
    candidates.sort(key=lambda c: (-c.score, c.branch != "mainline", c.commit))
    return KernelCve(cve, title, candidates, record)


def kernel_document(result: KernelCve, *, vulns: str, changelog: str | None) -> ReportDocument:
    findings = []
    if result.record is None:
        findings.append(
            Finding(
                Severity.VERIFY,
                "security.kernel-no-record",
                result.cve,
                f"no record for {result.cve} in {vulns}",
                remedy="update the vulns repository checkout",
            )
        )
    if not result.candidates:
        findings.append(
            Finding(
                Severity.BAD,
                "security.kernel-no-candidate",
                result.cve,
                "no candidate fix commit found",
            )
        )
    data = {
        "cve": result.cve,
        "title": result.title,
        "vulns": vulns,
        "changelog": changelog,
        "record": str(result.record) if result.record else None,
        "candidates": [c.to_json() for c in result.candidates],
    }
    return ReportDocument(
        schema=SCHEMA,
        title=f"Kernel fix candidates for {result.cve}",
        data=data,
        findings=findings,
        summary=[
            ("CVE", result.cve),
            ("title", result.title),
            ("candidates", len(result.candidates)),
        ],
        tables=[
            Table(
                "Candidates",
                ["rank", "commit", "branch", "fixed in", "score", "evidence"],
                [
                    [i, c.commit[:12], c.branch, c.fixed_in, c.score, " | ".join(c.evidence)]
                    for i, c in enumerate(result.candidates, 1)
                ],
            )
        ],
    )
