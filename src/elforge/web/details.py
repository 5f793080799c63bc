"""One package's page: the store's record plus what its outcomes point at on disk.

The patch stage's actions and drift diagnostics (with the "did you mean" excerpt), the build
log, the diff of the imported against the patched tree, and the ABI and kABI findings of each
binary package pair, with C++ names demangled and links to the full reports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elforge.errors import ElforgeError
from elforge.rpm.header import read_header
from elforge.web import files
from elforge.web.demangle import demangle, mangled_in, readable
from elforge.web.queries import PackageRecord, StageView

MAX_RPMS = 200


@dataclass(frozen=True)
class ActionView:
    index: int
    action: str
    expected: str
    changed: int
    ok: bool
    category: str
    reason: str
    files: list[str]


@dataclass(frozen=True)
class DriftView:
    action_index: int
    action: str
    file: str
    kind: str
    problem: str
    did_you_mean: str


@dataclass(frozen=True)
class PatchView:
    status: str
    config: str | None
    actions: list[ActionView]
    diagnostics: list[DriftView]
    changelog: list[str]
    diff: files.TextExcerpt | None


@dataclass(frozen=True)
class FindingView:
    severity: str
    code: str
    subject: str
    readable_subject: str  # demangled when it is a C++ name
    message: str
    readable_message: str
    remedy: str
    location: str


@dataclass(frozen=True)
class PairView:
    name: str
    arch: str
    reference: str
    candidate: str
    verdict: str
    report: str | None  # workspace-relative path of the full ABI report
    findings: list[FindingView]
    kabi_verdict: str | None
    kabi_report: str | None
    kabi_findings: list[FindingView]


@dataclass(frozen=True)
class ChangelogView:
    author: str
    date: str
    text: str


@dataclass(frozen=True)
class RpmView:
    """A built RPM as its header describes it (summary and changelog are the packager's text)."""

    filename: str
    nevra: str
    sha256: str
    summary: str
    changelog: list[ChangelogView]
    error: str | None = None


@dataclass(frozen=True)
class PackageDetail:
    record: PackageRecord
    patch: PatchView | None
    pairs: list[PairView]
    missing_binaries: list[str]
    log: files.TextExcerpt | None
    log_path: str | None
    sbom: bool
    rpms: list[RpmView]


def _stage(record: PackageRecord, name: str) -> StageView | None:
    return next((v for v in record.latest if v.stage == name), None)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _patch_view(root: Path, record: PackageRecord) -> PatchView | None:
    patch = _stage(record, "patch")
    if patch is None:
        return None
    result = patch.output.get("result") or {}
    actions = [
        ActionView(
            index=int(a.get("index", i)),
            action=_text(a.get("action")),
            expected=_text(a.get("expected")),
            changed=int(a.get("changed") or 0),
            ok=bool(a.get("ok")),
            category=_text((a.get("reason") or {}).get("category")),
            reason=_text((a.get("reason") or {}).get("text")),
            files=[str(f) for f in a.get("files") or []],
        )
        for i, a in enumerate(result.get("actions") or [])
        if isinstance(a, dict)
    ]
    diagnostics = [
        DriftView(
            action_index=int(d.get("action_index") or 0),
            action=_text(d.get("action")),
            file=_text(d.get("file")),
            kind=_text(d.get("kind")),
            problem=_text(d.get("problem")),
            did_you_mean=_text(d.get("did_you_mean")),
        )
        for d in result.get("diagnostics") or []
        if isinstance(d, dict)
    ]
    imported = _stage(record, "import")
    diff = None
    if imported is not None and patch.status == "patched":
        diff = files.tree_diff(root, imported.output.get("tree"), patch.output.get("tree"))
    return PatchView(
        status=patch.status,
        config=_text(patch.output.get("config")) or None,
        actions=actions,
        diagnostics=diagnostics,
        changelog=[str(x) for x in result.get("changelog") or []],
        diff=diff,
    )


def _finding_views(found: list[files.ReportFinding], names: dict[str, str]) -> list[FindingView]:
    return [
        FindingView(
            severity=f.severity,
            code=f.code,
            subject=f.subject,
            readable_subject=readable(f.subject, names),
            message=f.message,
            readable_message=readable(f.message, names),
            remedy=f.remedy,
            location=f.location,
        )
        for f in found
    ]


def _pairs(root: Path, record: PackageRecord) -> tuple[list[PairView], list[str]]:
    verify = _stage(record, "verify")
    if verify is None:
        return [], []
    raw = [p for p in verify.output.get("pairs") or [] if isinstance(p, dict)]
    found = {
        i: (
            files.report_findings(root, p.get("report")),
            files.report_findings(root, (p.get("kabi") or {}).get("report")),
        )
        for i, p in enumerate(raw)
    }
    texts = [t for abi, kabi in found.values() for f in abi + kabi for t in (f.subject, f.message)]
    names = demangle(mangled_in(texts))
    pairs = []
    for i, p in enumerate(raw):
        kabi: dict[str, Any] = p["kabi"] if isinstance(p.get("kabi"), dict) else {}
        pairs.append(
            PairView(
                name=_text(p.get("name")),
                arch=_text(p.get("arch")),
                reference=_text(p.get("reference")),
                candidate=_text(p.get("candidate")),
                verdict=_text(p.get("verdict")),
                report=files.relative(root, p.get("report")),
                findings=_finding_views(found[i][0], names),
                kabi_verdict=kabi.get("verdict"),
                kabi_report=files.relative(root, kabi.get("report")),
                kabi_findings=_finding_views(found[i][1], names),
            )
        )
    missing = [str(m) for m in verify.output.get("missing_binaries") or []]
    return pairs, missing


def _rpm_view(root: Path, artifact: dict[str, Any], changelog: int) -> RpmView:
    base = (_text(artifact.get("filename")), _text(artifact.get("nevra")),
            _text(artifact.get("sha256")))  # fmt: skip
    path = files.inside(root, artifact.get("path"))
    if path is None or not path.is_file():
        return RpmView(*base, summary="", changelog=[], error="not in the artifact store")
    try:
        header = read_header(path)
    except ElforgeError as exc:
        return RpmView(*base, summary="", changelog=[], error=exc.problem[:300])
    entries = [
        ChangelogView(c.author, time.strftime("%Y-%m-%d", time.gmtime(c.time)), c.text)
        for c in header.changelog[:changelog]
    ]
    return RpmView(*base, summary=header.summary, changelog=entries)


def _rpms(root: Path, record: PackageRecord) -> list[RpmView]:
    """The SRPM (with its newest changelog entries) and the binary RPMs of the latest build."""
    build = _stage(record, "build")
    if build is None or not build.output.get("srpm"):
        return []
    srpm = _rpm_view(root, build.output["srpm"], changelog=3)
    binaries = [a for a in build.output.get("rpms") or [] if isinstance(a, dict)]
    return [srpm, *(_rpm_view(root, a, changelog=0) for a in binaries[:MAX_RPMS])]


def package_detail(root: Path, record: PackageRecord) -> PackageDetail:
    build = _stage(record, "build")
    log_path = build.output.get("log_path") if build else None
    pairs, missing = _pairs(root, record)
    return PackageDetail(
        record=record,
        patch=_patch_view(root, record),
        pairs=pairs,
        missing_binaries=missing,
        log=files.log_tail(root, log_path),
        log_path=files.relative(root, log_path),
        sbom=record.last_import is not None and bool(record.last_import.nvr),
        rpms=_rpms(root, record),
    )
