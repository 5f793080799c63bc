"""Result models of an ABI comparison and the exit bits they map to."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from elforge.report.model import Finding, ReportDocument, Severity, Table

if TYPE_CHECKING:
    from elforge.abi.snapshot import PackageSnapshot, SnapshotCache
    from elforge.abi.suppressions import Suppressions

SCHEMA = "elforge.abi-diff/1"

# exit bits, as abipkgdiff: 1 error, 2 usage, 4 ABI change, 8 incompatible change; ours above
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_ABI_CHANGE = 4
EXIT_INCOMPATIBLE = 8
EXIT_VERIFY = 16  # some finding needs a human to verify it (severity VERIFY)
EXIT_PACKAGE_CHANGE = 32  # package-layer differences (provides, requires, files) beyond NEVRA


class Verdict(StrEnum):
    identical = "identical"
    compatible = "compatible"
    incompatible = "incompatible"
    error = "error"


@dataclass(frozen=True)
class SymbolRef:
    name: str
    version: str | None
    kind: str  # FUNC, OBJECT, TLS, IFUNC
    default: bool = True
    size: int = 0
    detail: str = ""

    @property
    def id(self) -> str:
        if not self.version:
            return self.name
        return f"{self.name}{'@@' if self.default else '@'}{self.version}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "id": self.id,
        }
        if self.kind in ("OBJECT", "TLS"):
            out["size"] = self.size
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass
class BinaryDiff:
    """The comparison of one pair of ELF files."""

    path: str
    old_path: str
    soname: str | None
    old_soname: str | None
    type: str
    public: bool
    removed_symbols: list[SymbolRef] = field(default_factory=list)
    added_symbols: list[SymbolRef] = field(default_factory=list)
    changed_symbols: list[SymbolRef] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    type_layer: dict[str, Any] | None = None  # abidiff's summary and report, when run
    identical_file: bool = False

    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "old_path": self.old_path,
            "soname": self.soname,
            "old_soname": self.old_soname,
            "type": self.type,
            "public": self.public,
            "verdict": self.verdict.value,
            "removed_symbols": [s.to_json() for s in self.removed_symbols],
            "added_symbols": [s.to_json() for s in self.added_symbols],
            "changed_symbols": [s.to_json() for s in self.changed_symbols],
            "type_layer": self.type_layer,
            "findings": [f.to_json() for f in self.findings],
        }


def verdict_of(findings: list[Finding]) -> Verdict:
    if any(f.severity is Severity.BAD for f in findings):
        return Verdict.incompatible
    if any(f.severity > Severity.OK and f.code not in NEUTRAL_CODES for f in findings):
        return Verdict.compatible
    return Verdict.identical


# findings that say what was compared, not that the interface changed
NEUTRAL_CODES = {"pkg.nevra-changed", "pkg.release-changed", "type.not-run"}


@dataclass(frozen=True)
class BinaryTypes:
    """abidiff's answer for one shared object: its summary/report and the findings."""

    report: dict[str, Any]
    findings: list[Finding]


@dataclass
class TypeLayerFindings:
    """What the type layer found, by binary path, for the caller to fold into its result."""

    ran: str  # what ran: off, abidiff (N pairs), or why not
    binaries: dict[str, BinaryTypes] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class PackageSet:
    """A package as abipkgdiff sees it: the main file plus its debuginfo and devel packages."""

    main: Path
    debuginfo: list[Path] = field(default_factory=list)
    devel: list[Path] = field(default_factory=list)

    def files(self) -> list[Path]:
        return [self.main, *self.debuginfo, *self.devel]


@dataclass
class DiffOptions:
    suppression_files: list[Path] = field(default_factory=list)
    default_suppressions: bool = True
    types: str = "auto"  # auto: run abidiff when debuginfo is given; on: require it; off
    cache: SnapshotCache | None = None
    public_dsos_only: bool = False  # abipkgdiff's default for RPMs; we compare all by default
    dso_only: bool = False  # abipkgdiff --dso-only: shared objects only, no executables
    abignore: bool = True  # apply *.abignore files shipped in the packages (abipkgdiff does)
    keyring: Path | None = None  # RPM digests are always checked; signatures against this
    _suppressions: Suppressions | None = field(default=None, repr=False)

    @property
    def suppressions(self) -> Suppressions:
        from elforge.abi.suppressions import load_suppressions

        if self._suppressions is None:
            self._suppressions = load_suppressions(
                self.suppression_files, default=self.default_suppressions
            )
        return self._suppressions


@dataclass
class AbiDiffResult:
    old: PackageSnapshot
    new: PackageSnapshot
    binaries: list[BinaryDiff] = field(default_factory=list)
    removed_binaries: list[dict[str, Any]] = field(default_factory=list)
    added_binaries: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # package-level and binary-set level
    errors: list[str] = field(default_factory=list)
    type_layer: str = "off"  # what ran: off, abidiff, or why not

    def all_findings(self) -> list[Finding]:
        out = list(self.findings)
        for b in self.binaries:
            out.extend(b.findings)
        return out

    @property
    def verdict(self) -> Verdict:
        if self.errors and not self.binaries and not self.old.binaries:
            return Verdict.error
        return verdict_of(self.all_findings())

    @property
    def exit_code(self) -> int:
        code = EXIT_ERROR if self.errors else 0
        findings = self.all_findings()
        abi = [f for f in findings if f.layer in ("elf", "type") and f.severity > Severity.OK]
        if abi or self.removed_binaries or self.added_binaries:
            code |= EXIT_ABI_CHANGE
        if any(f.severity is Severity.BAD for f in findings):
            code |= EXIT_ABI_CHANGE | EXIT_INCOMPATIBLE
        if any(f.severity is Severity.VERIFY for f in findings):
            code |= EXIT_VERIFY
        if any(f.layer == "package" and f.code not in NEUTRAL_CODES for f in findings):
            code |= EXIT_PACKAGE_CHANGE
        return code

    def counts(self) -> dict[str, int]:
        out = {s.name: 0 for s in Severity}
        for f in self.all_findings():
            out[f.severity.name] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "verdict": self.verdict.value,
            "old": _side(self.old),
            "new": _side(self.new),
            "type_layer": self.type_layer,
            "counts": self.counts(),
            "binaries": [b.to_json() for b in self.binaries],
            "removed_binaries": self.removed_binaries,
            "added_binaries": self.added_binaries,
            "findings": [f.to_json() for f in self.findings],
            "errors": self.errors,
        }

    def to_document(self) -> ReportDocument:
        return diff_document(self)

    def apply_type_layer(self, types: TypeLayerFindings) -> None:
        """Fold the type layer's findings into the binaries they are about."""
        self.type_layer = types.ran
        self.errors.extend(types.errors)
        for b in self.binaries:
            found = types.binaries.get(b.path)
            if found is not None:
                b.type_layer = found.report
                b.findings.extend(found.findings)


def _side(s: PackageSnapshot) -> dict[str, Any]:
    return {"nevra": s.nevra or s.name, "file": s.file, "sha256": s.sha256, "kind": s.kind}


def diff_document(r: AbiDiffResult) -> ReportDocument:
    old_name, new_name = r.old.nevra or r.old.name, r.new.nevra or r.new.name
    doc = ReportDocument(
        schema=SCHEMA,
        title=f"ABI diff {old_name} -> {new_name}: {r.verdict.value}",
        data=r.to_json(),
        findings=r.all_findings(),
    )
    doc.summary = [
        ("verdict", r.verdict.value),
        ("exit code", r.exit_code),
        ("old", old_name),
        ("new", new_name),
        ("binaries compared", len(r.binaries)),
        ("binaries removed", len(r.removed_binaries)),
        ("binaries added", len(r.added_binaries)),
        ("type layer", r.type_layer),
        *[(f"findings {k}", v) for k, v in r.counts().items() if v],
    ]
    if r.errors:
        doc.summary.append(("errors", len(r.errors)))
    rows = []
    for b in r.binaries:
        rows.append(
            [
                b.path,
                b.soname or "",
                b.verdict.value,
                len(b.removed_symbols),
                len(b.added_symbols),
                len(b.changed_symbols),
            ]
        )
    doc.tables.append(
        Table("Binaries", ["path", "soname", "verdict", "removed", "added", "changed"], rows)
    )
    if r.errors:
        doc.tables.append(Table("Errors", ["error"], [[e] for e in r.errors]))
    return doc
