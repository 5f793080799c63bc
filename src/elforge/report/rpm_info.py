"""Report documents for ``elforge rpm info`` and ``elforge rpm extract``.

``elforge.rpm-info/1``::

    {"schema": "elforge.rpm-info/1",
     "packages": [RpmHeader.to_json(), ...],          # one per readable file, in order
     "errors": [{"file": "...", "error": "..."}]}     # one per file that could not be read

``elforge.rpm-extract/1``::

    {"schema": "elforge.rpm-extract/1", "rpm": "...", "dest": "...",
     "members": [{"path", "mode", "size", "type", "linkto"}], "files": n, "bytes": n}
"""

from __future__ import annotations

import stat
from collections.abc import Sequence
from pathlib import Path

from elforge.report.model import Finding, ReportDocument, Severity, Table
from elforge.rpm.header import DEPENDENCY_TAGS, RpmHeader
from elforge.rpm.payload import Member

RPM_INFO_SCHEMA = "elforge.rpm-info/1"
RPM_EXTRACT_SCHEMA = "elforge.rpm-extract/1"


def rpm_info_document(
    headers: Sequence[RpmHeader], errors: Sequence[tuple[Path, str]]
) -> ReportDocument:
    """One document for the headers read and the files that could not be read."""
    overview = Table(
        "Packages",
        ["file", "NEVRA", "license", "compressor", "signed by", "files", "requires", "provides"],
    )
    for h in headers:
        overview.rows.append(
            [
                h.path.name,
                str(h.nevra),
                h.license,
                h.payload_compressor or "none",
                h.signature_key_id or "unsigned",
                len(h.files),
                len(h.requires),
                len(h.provides),
            ]
        )
    tables = [overview]
    if len(headers) == 1:  # one package: show its dependencies and files as well
        h = headers[0]
        deps = Table("Dependencies", ["kind", "dependency", "pre"])
        for kind in DEPENDENCY_TAGS:
            for d in getattr(h, kind):
                deps.rows.append([kind, str(d), "pre" if d.pre else ""])
        files = Table("Files", ["mode", "size", "path", "link target", "attributes"])
        for f in h.files:
            attrs = ",".join(a for a, on in (("ghost", f.is_ghost), ("config", f.is_config)) if on)
            files.rows.append([stat.filemode(f.mode), f.size, f.path, f.linkto or "", attrs])
        tables += [deps, files]
    # one result per file: JUnit shows a passing case per package read, a failure per file not
    findings = [
        Finding(Severity.OK, "rpm.header-read", str(h.nevra), "header read",
                layer="package", location=str(h.path))
        for h in headers
    ] + [
        Finding(Severity.BAD, "rpm.unreadable", str(path), problem, layer="package",
                remedy="check that the file is a complete RPM package", location=str(path))
        for path, problem in errors
    ]  # fmt: skip
    summary: list[tuple[str, object]] = [("packages", len(headers))]
    if errors:
        summary.append(("unreadable", len(errors)))
    if len(headers) == 1:
        h = headers[0]
        summary += [
            ("NEVRA", str(h.nevra)),
            ("summary", h.summary),
            ("source RPM", h.sourcerpm or "(this is a source RPM)"),
            ("vendor", h.vendor or ""),
            ("build host", h.buildhost or ""),
        ]
    return ReportDocument(
        schema=RPM_INFO_SCHEMA,
        title="RPM headers",
        data={
            "packages": [h.to_json() for h in headers],
            "errors": [{"file": str(p), "error": e} for p, e in errors],
        },
        findings=findings,
        summary=summary,
        tables=tables,
    )


def _member_type(m: Member) -> str:
    return "dir" if m.is_dir else "symlink" if m.is_link else "file"


def rpm_extract_document(rpm: Path, dest: Path, members: Sequence[Member]) -> ReportDocument:
    files = [m for m in members if m.is_reg]
    total = sum(m.size for m in files)
    table = Table("Extracted", ["mode", "size", "path", "link target"])
    for m in members:
        table.rows.append([stat.filemode(m.mode), m.size, m.path, m.linkto or ""])
    return ReportDocument(
        schema=RPM_EXTRACT_SCHEMA,
        title=f"Extracted {rpm.name}",
        data={
            "rpm": str(rpm),
            "dest": str(dest),
            "members": [
                {
                    "path": m.path,
                    "mode": m.mode,
                    "size": m.size,
                    "type": _member_type(m),
                    "linkto": m.linkto,
                }
                for m in members
            ],
            "files": len(files),
            "bytes": total,
        },
        summary=[
            ("members", len(members)),
            ("files", len(files)),
            ("bytes", total),
            ("into", str(dest)),
        ],
        tables=[table],
    )
