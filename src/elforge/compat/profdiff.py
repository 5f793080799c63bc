"""``elforge profile diff A B``: is B's ABI a superset of A's?

What a rebuild must guarantee against its reference: every library of A (by architecture and
SONAME) is in B, defines every version node A's does and exports every ``symbol@version``
A's exports. B may add anything. The program interpreters of A must exist on B, and B must not
raise the x86-64 ISA baseline. Version profiles (auditwheel) compare allowed libraries and
version tags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from elforge.compat.profile import Profile
from elforge.report.model import Finding, ReportDocument, Severity, Table

SCHEMA = "elforge.profile-diff/1"


@dataclass
class ProfileDiff:
    a: Profile
    b: Profile
    missing_libraries: list[dict[str, Any]] = field(default_factory=list)
    missing_versions: list[dict[str, Any]] = field(default_factory=list)
    missing_symbols: list[dict[str, Any]] = field(default_factory=list)
    missing_loaders: list[str] = field(default_factory=list)
    isa_raised: bool = False

    @property
    def superset(self) -> bool:
        return not (
            self.missing_libraries or self.missing_versions or self.missing_symbols
            or self.missing_loaders or self.isa_raised
        )  # fmt: skip


def diff_profiles(a: Profile, b: Profile) -> ProfileDiff:
    d = ProfileDiff(a, b)
    if a.policy is not None or b.policy is not None:
        _diff_policies(d)
        return d
    for lib in a.libraries:
        if not lib.default_path:
            continue
        other = b.find(lib.arch, lib.soname)
        if other is None:
            d.missing_libraries.append(
                {"library": lib.soname, "arch": lib.arch, "package": lib.package}
            )
            continue
        have_versions = set(other.versions)
        for node in lib.versions:
            if node not in have_versions:
                d.missing_versions.append(
                    {"library": lib.soname, "arch": lib.arch, "version": node,
                     "package": lib.package, "b_package": other.package}
                )  # fmt: skip
        for node, names in lib.symbols.items():
            theirs = other.symbols.get(node, frozenset())
            for name in sorted(names - theirs):
                d.missing_symbols.append(
                    {"library": lib.soname, "arch": lib.arch, "symbol": name,
                     "version": node or None, "package": lib.package,
                     "b_package": other.package}
                )  # fmt: skip
    b_loaders = set(b.loaders)
    for path in a.loaders:
        if not {path, "/usr" + path, path.removeprefix("/usr")} & b_loaders:
            d.missing_loaders.append(path)
    d.isa_raised = (b.isa_level or 1) > (a.isa_level or 1)
    return d


def _diff_policies(d: ProfileDiff) -> None:
    pa, pb = d.a.policy, d.b.policy
    if pa is None or pb is None:
        d.missing_libraries.append(
            {"library": "*", "arch": "*", "package": None,
             "note": "a symbol profile and a version profile cannot be compared"}
        )  # fmt: skip
        return
    for soname in sorted(pa.libraries - pb.libraries):
        d.missing_libraries.append({"library": soname, "arch": "*", "package": None})
    for arch, prefixes in sorted(pa.symbol_versions.items()):
        theirs = pb.symbol_versions.get(arch)
        for prefix, nodes in sorted(prefixes.items()):
            have = (theirs or {}).get(prefix, frozenset())
            for node in sorted(nodes - have):
                d.missing_versions.append(
                    {"library": prefix, "arch": arch, "version": node, "package": None}
                )


def build_report(d: ProfileDiff) -> ReportDocument:
    data: dict[str, Any] = {
        "superset": d.superset,
        "a": {"name": d.a.name, "source": d.a.source, "libraries": len(d.a.libraries)},
        "b": {"name": d.b.name, "source": d.b.source, "libraries": len(d.b.libraries)},
        "missing_libraries": d.missing_libraries,
        "missing_versions": d.missing_versions,
        "missing_symbols": d.missing_symbols,
        "missing_loaders": d.missing_loaders,
        "isa_level": {"a": d.a.isa_level, "b": d.b.isa_level, "raised": d.isa_raised},
    }
    findings: list[Finding] = []
    for m in d.missing_libraries:
        remedy = f"ship {m['package']}" if m.get("package") else ""
        message = f"{d.b.name} lacks {m['library']} ({m['arch']})"
        findings.append(
            Finding(Severity.BAD, "profile.library-missing", m["library"], message, remedy)
        )
    for m in d.missing_versions:
        findings.append(Finding(Severity.BAD, "profile.version-missing",
                                f"{m['version']}", f"{d.b.name}'s {m['library']} ({m['arch']}) "
                                f"does not define version {m['version']}"))  # fmt: skip
    for m in d.missing_symbols:
        label = f"{m['symbol']}@{m['version']}" if m["version"] else m["symbol"]
        findings.append(Finding(Severity.BAD, "profile.symbol-missing", label,
                                f"{d.b.name}'s {m['library']} ({m['arch']}) does not export "
                                f"{label}"))  # fmt: skip
    for path in d.missing_loaders:
        findings.append(Finding(Severity.BAD, "profile.loader-missing", path,
                                f"{d.b.name} has no dynamic loader {path}"))  # fmt: skip
    if d.isa_raised:
        findings.append(Finding(Severity.BAD, "profile.isa-raised", "x86-64",
                                f"{d.b.name} needs x86-64-v{d.b.isa_level}, {d.a.name} "
                                f"x86-64-v{d.a.isa_level or 1}"))  # fmt: skip
    verdict = (f"{d.b.name} is a superset of {d.a.name}" if d.superset
               else f"{d.b.name} is NOT a superset of {d.a.name}")  # fmt: skip
    summary: list[tuple[str, Any]] = [
        ("verdict", verdict),
        ("libraries missing", len(d.missing_libraries)),
        ("versions missing", len(d.missing_versions)),
        ("symbols missing", len(d.missing_symbols)),
    ]
    table = Table("What B lacks", ["kind", "library", "arch", "what", "package in A"])
    for m in d.missing_libraries:
        table.rows.append(["library", m["library"], m["arch"], "-", m.get("package") or "-"])
    for m in d.missing_versions:
        table.rows.append(["version", m["library"], m["arch"], m["version"],
                           m.get("package") or "-"])  # fmt: skip
    for m in d.missing_symbols:
        what = f"{m['symbol']}@{m['version']}" if m["version"] else m["symbol"]
        table.rows.append(["symbol", m["library"], m["arch"], what, m.get("package") or "-"])
    return ReportDocument(SCHEMA, f"elforge profile diff: {d.a.name} -> {d.b.name}", data,
                          findings=findings, summary=summary, tables=[table])  # fmt: skip
