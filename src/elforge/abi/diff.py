"""Compare two packages in layers (package, ELF, type) and build the ``elforge.abi-diff/1`` report.

The public entry point is :func:`compare_packages`; the CLI and the pipeline both call it.
"""

from __future__ import annotations

import re

from elforge.abi.elfdiff import compare_binaries, pairing_key, soname_stem
from elforge.abi.model import (
    SCHEMA,
    AbiDiffResult,
    DiffOptions,
    PackageSet,
    Verdict,
    diff_document,
)
from elforge.abi.snapshot import BinarySnapshot, PackageSnapshot, load_snapshot
from elforge.abi.suppressions import Suppressions, parse_suppressions
from elforge.abi.typelayer import run_type_layer
from elforge.errors import ElforgeError
from elforge.report.model import Finding, Severity
from elforge.rpm.verify import verify_rpms

__all__ = [
    "SCHEMA",
    "AbiDiffResult",
    "DiffOptions",
    "PackageSet",
    "compare_packages",
    "diff_document",
]
ELF_TYPES = ("DYN", "EXEC", "PIE")
_SONAME_TOKEN = re.compile(r"^[^()\s]+\.so[^()\s]*(?:\(|$)")
# files that change with every build and say nothing about the interface
_VOLATILE_FILE = re.compile(r"^/usr/lib/\.build-id/|^/usr/lib/debug/")


def _dep_name(dep: str) -> str:
    return dep.split(" ", 1)[0]


def compare_package_metadata(old: PackageSnapshot, new: PackageSnapshot) -> list[Finding]:
    """The package layer: NEVRA, provides and requires (soname tokens first), files."""
    out: list[Finding] = []
    subj = new.nevra or new.name

    def add(sev: Severity, code: str, subject: str, msg: str, remedy: str = "") -> None:
        out.append(Finding(sev, code, subject, msg, remedy, "package", new.file))

    if old.kind != "rpm" or new.kind != "rpm":
        return out
    if old.name != new.name:
        add(
            Severity.VERIFY,
            "pkg.name-changed",
            subj,
            f"package name {old.name} -> {new.name}",
            "compare a package with its own counterpart",
        )
    if old.arch != new.arch:
        add(
            Severity.BAD,
            "pkg.arch-changed",
            subj,
            f"architecture {old.arch} -> {new.arch}",
            "compare packages of the same architecture",
        )
    if old.nevra != new.nevra:
        add(Severity.INFO, "pkg.nevra-changed", subj, f"{old.nevra} -> {new.nevra}")
    old_p = {_dep_name(p) for p in old.provides}
    new_p = {_dep_name(p) for p in new.provides}
    for p in sorted(old_p - new_p):
        if _SONAME_TOKEN.match(p):
            add(
                Severity.BAD,
                "pkg.soname-provide-removed",
                p,
                f"provide {p} is gone: packages that require it will not install",
                "ship the same SONAME and version nodes as the reference",
            )
        else:
            add(
                Severity.VERIFY,
                "pkg.provide-removed",
                p,
                f"provide {p} is gone",
                "add the provide back (spec Provides:) if anything requires it",
            )
    for p in sorted(new_p - old_p):
        add(Severity.INFO, "pkg.provide-added", p, f"new provide {p}")
    old_r = {_dep_name(r) for r in old.requires}
    new_r = {_dep_name(r) for r in new.requires}
    for r in sorted(new_r - old_r):
        sev = Severity.VERIFY if _SONAME_TOKEN.match(r) else Severity.INFO
        add(
            sev,
            "pkg.require-added",
            r,
            f"new requirement {r}",
            "make sure the reference distribution provides it" if sev is Severity.VERIFY else "",
        )
    for r in sorted(old_r - new_r):
        add(Severity.INFO, "pkg.require-removed", r, f"requirement {r} dropped")
    old_f = {f for f in old.files if not _VOLATILE_FILE.match(f)}
    new_f = {f for f in new.files if not _VOLATILE_FILE.match(f)}
    for f in sorted(old_f - new_f):
        add(
            Severity.VERIFY,
            "pkg.file-removed",
            f,
            f"file {f} is no longer shipped",
            "ship the file or check that nothing uses it",
        )
    for f in sorted(new_f - old_f):
        add(Severity.INFO, "pkg.file-added", f, f"new file {f}")
    return out


def compare_snapshots(
    old: PackageSnapshot,
    new: PackageSnapshot,
    options: DiffOptions | None = None,
) -> AbiDiffResult:
    """Package and ELF layers for two snapshots (no type layer: that needs the files)."""
    options = options or DiffOptions()
    sup = options.suppressions
    if options.abignore and (old.abignore or new.abignore):
        sup = Suppressions(list(sup.rules), list(sup.files))
        for pkg in (old, new):
            for path, text in sorted(pkg.abignore.items()):
                sup.rules.extend(parse_suppressions(text, f"{pkg.file}:{path}"))
    result = AbiDiffResult(old=old, new=new)
    result.errors.extend(f"{old.file}: {e}" for e in old.errors)
    result.errors.extend(f"{new.file}: {e}" for e in new.errors)
    result.findings.extend(compare_package_metadata(old, new))

    def candidates(s: PackageSnapshot) -> dict[str, BinarySnapshot]:
        public = s.public_sonames
        out = {}
        for b in s.binaries:
            if b.type not in ELF_TYPES or sup.file_suppressed(b.path, b.soname):
                continue
            if options.dso_only and not b.is_dso:
                continue
            private = not b.soname or b.soname not in public
            if options.public_dsos_only and s.kind == "rpm" and b.is_dso and private:
                continue
            out[pairing_key(b)] = b
        return out

    old_map, new_map = candidates(old), candidates(new)
    old_public = old.public_sonames

    def is_public(s: PackageSnapshot, b: BinarySnapshot, public: set[str]) -> bool:
        if not b.is_dso or not b.soname:
            return False
        return s.kind != "rpm" or b.soname in public

    pairs: list[tuple[BinarySnapshot, BinarySnapshot]] = []
    for key in sorted(old_map.keys() & new_map.keys()):
        pairs.append((old_map[key], new_map[key]))
    lost = {k: old_map[k] for k in sorted(old_map.keys() - new_map.keys())}
    gained = {k: new_map[k] for k in sorted(new_map.keys() - old_map.keys())}
    # a DSO whose SONAME changed (libfoo.so.1 -> libfoo.so.2) or that moved: pair it anyway so
    # the report says "SONAME changed" and still lists its symbol changes
    for ok, ob in list(lost.items()):
        match = next(
            (
                nk
                for nk, nb in gained.items()
                if nb.path == ob.path
                or (
                    ob.soname
                    and nb.soname
                    and nb.is_dso
                    and soname_stem(nb.soname) == soname_stem(ob.soname)
                    and nb.machine == ob.machine
                )
            ),
            None,
        )
        if match is not None:
            pairs.append((ob, gained.pop(match)))
            del lost[ok]

    for ob, nb in pairs:
        bd = compare_binaries(ob, nb, sup, public=is_public(old, ob, old_public))
        if not bd.public and bd.type == "DYN":
            # a private DSO (not advertised in provides): nobody outside the package links it
            bd.findings = [_soften(f) for f in bd.findings]
        result.binaries.append(bd)
    for ob in lost.values():
        public = is_public(old, ob, old_public)
        entry = {"path": ob.path, "soname": ob.soname, "type": ob.type, "public": public}
        result.removed_binaries.append(entry)
        if ob.is_dso:
            sev = Severity.BAD if public else Severity.VERIFY
            result.findings.append(
                Finding(
                    sev,
                    "abi.dso-removed",
                    ob.soname or ob.path,
                    f"shared library {ob.path} (SONAME {ob.soname or 'none'}) is gone",
                    "ship the library (or a compat package) with the reference SONAME",
                    "elf",
                    ob.path,
                )
            )
        else:
            result.findings.append(
                Finding(
                    Severity.VERIFY,
                    "abi.binary-removed",
                    ob.path,
                    f"executable {ob.path} is gone",
                    "ship the program or check that nothing runs it",
                    "elf",
                    ob.path,
                )
            )
    for nb in gained.values():
        result.added_binaries.append(
            {
                "path": nb.path,
                "soname": nb.soname,
                "type": nb.type,
                "public": is_public(new, nb, new.public_sonames),
            }
        )
        result.findings.append(
            Finding(
                Severity.INFO,
                "abi.binary-added",
                nb.soname or nb.path,
                f"new {'shared library' if nb.is_dso else 'binary'} {nb.path}",
                "",
                "elf",
                nb.path,
            )
        )
    return result


def _soften(f: Finding) -> Finding:
    if f.severity is not Severity.BAD or f.code in ("abi.isa-level-raised", "abi.arch-changed"):
        return f
    return Finding(
        Severity.VERIFY,
        f.code,
        f.subject,
        f.message + " (private DSO)",
        f.remedy,
        f.layer,
        f.location,
    )


def compare_packages(
    old: PackageSet, new: PackageSet, options: DiffOptions | None = None
) -> AbiDiffResult:
    """Compare two packages (RPMs, directories or tarballs) in all layers."""
    options = options or DiffOptions()
    verify_rpms([*old.files(), *new.files()], options.keyring)  # before any member is read
    old_snap = load_snapshot(old.main, options.cache)
    new_snap = load_snapshot(new.main, options.cache)
    result = compare_snapshots(old_snap, new_snap, options)
    result.apply_type_layer(run_type_layer(result, old, new, options))
    return result


def raise_if_unusable(r: AbiDiffResult) -> None:
    """Both packages unreadable in every binary: the comparison said nothing."""
    if r.verdict is Verdict.error:
        raise ElforgeError("; ".join(r.errors) or "nothing could be compared")
