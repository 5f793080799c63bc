"""The ``elforge.import/1`` report: one entry per package, rendered any way."""

from __future__ import annotations

from collections import Counter

from elforge.report.model import Finding, ReportDocument, Severity, Table
from elforge.sources.model import ImportResult

SCHEMA = "elforge.import/1"


def import_report(results: list[ImportResult]) -> ReportDocument:
    counts = Counter(r.status for r in results)
    findings = []
    for r in results:
        subject = r.nvr or r.package
        if r.status == "failed":
            findings.append(
                Finding(
                    Severity.BAD,
                    "import.failed",
                    subject,
                    r.error or "failed",
                    remedy="fix the upstream or the configuration and import again",
                    layer="package",
                )
            )
        elif r.status == "imported":
            where = f"as {r.tag}" if r.tag else (r.note or "")
            msg = f"imported {r.nvr} {where} ({len(r.sources)} files)"
            findings.append(
                Finding(Severity.INFO, "import.imported", subject, msg, layer="package")
            )
        else:
            msg = r.note or f"unchanged since {r.tag}"
            findings.append(Finding(Severity.OK, "import.unchanged", subject, msg, layer="package"))
    table = Table(
        "imports",
        ["package", "branch", "status", "nvr", "tag", "upstream", "files"],
        [
            [r.package, r.branch, r.status, r.nvr or "", r.tag or "",
             (r.upstream_commit or r.srpm_sha256 or "")[:12], len(r.sources)]
            for r in results
        ],
    )  # fmt: skip
    return ReportDocument(
        schema=SCHEMA,
        title="Source import",
        data={
            "summary": {k: counts.get(k, 0) for k in ("imported", "unchanged", "failed")},
            "packages": [r.to_json() for r in results],
        },
        findings=findings,
        summary=[(k, counts.get(k, 0)) for k in ("imported", "unchanged", "failed")],
        tables=[table],
    )
