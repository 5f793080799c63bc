"""A short report about a profile just written (``profile create``/``import-auditwheel``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from elforge.compat.profile import Profile
from elforge.report.model import Finding, ReportDocument, Severity, Table

SCHEMA = "elforge.profile-summary/1"


def build_summary(profile: Profile, path: Path, problems: list[tuple[str, str]]) -> ReportDocument:
    data: dict[str, Any] = {
        "profile": str(path),
        "name": profile.name,
        "kind": profile.kind,
        "source": profile.source,
        "arches": list(profile.arches),
        "libraries": len(profile.libraries),
        "symbols": profile.symbol_count(),
        "highest": profile.highest,
        "isa_level": profile.isa_level,
        "loaders": list(profile.loaders),
        "problems": [{"file": f, "problem": p} for f, p in problems],
    }
    findings = [Finding(Severity.VERIFY, "profile.unreadable", f, p) for f, p in problems]
    summary: list[tuple[str, Any]] = [
        ("profile", f"{path} ({profile.kind})"),
        ("libraries", len(profile.policy.libraries) if profile.policy else len(profile.libraries)),
        ("symbols", profile.symbol_count()),
        ("architectures", ", ".join(profile.arches) or "-"),
        ("highest", ", ".join(f"{k}_{v}" for k, v in sorted(profile.highest.items())) or "-"),
        ("ISA baseline", f"x86-64-v{profile.isa_level}" if profile.isa_level else "-"),
        ("loaders", ", ".join(profile.loaders) or "-"),
    ]
    tables = []
    if profile.policy is not None:
        t = Table("Allowed libraries", ["library"])
        t.rows = [[x] for x in sorted(profile.policy.libraries)]
        tables.append(t)
    return ReportDocument(SCHEMA, f"profile {profile.name}", data, findings=findings,
                          summary=summary, tables=tables)  # fmt: skip
