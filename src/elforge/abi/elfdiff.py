"""The ELF layer: compare the exported interface of two binaries, and pair binaries of two
packages the way abipkgdiff does (by directory and SONAME for shared objects, by path for the
rest)."""

from __future__ import annotations

import re

from elforge.abi.model import BinaryDiff, SymbolRef
from elforge.abi.snapshot import BinarySnapshot
from elforge.abi.suppressions import Suppressions
from elforge.elf.reader import Symbol
from elforge.report.model import Finding, Severity

LAYER = "elf"
ISA_NAMES = {1: "x86-64 baseline", 2: "x86-64-v2", 3: "x86-64-v3", 4: "x86-64-v4"}
_SONAME_STEM = re.compile(r"^(.*?\.so)(?:\.\d.*)?$")


def pairing_key(b: BinarySnapshot) -> str:
    """abipkgdiff's key: ``<dir>/@soname:<SONAME>`` for shared objects, else the path."""
    if b.soname:
        return f"{b.path.rsplit('/', 1)[0]}/@soname:{b.soname}"
    return b.path


def _ref(s: Symbol, detail: str = "") -> SymbolRef:
    return SymbolRef(s.name, s.version, s.type, s.default, s.size, detail)


def compare_binaries(
    old: BinarySnapshot,
    new: BinarySnapshot,
    sup: Suppressions,
    *,
    public: bool,
) -> BinaryDiff:
    """Everything the ELF layer can say about one pair of binaries."""
    d = BinaryDiff(
        path=new.path,
        old_path=old.path,
        soname=new.soname,
        old_soname=old.soname,
        type=new.type,
        public=public,
        identical_file=old.digest == new.digest and bool(old.digest),
    )
    subject = new.soname or new.path
    is_lib = new.is_dso and old.is_dso
    # exports of plain executables are not ABI: everything about them is INFO at most
    sym_bad = Severity.BAD if is_lib else Severity.INFO
    sym_verify = Severity.VERIFY if is_lib else Severity.INFO

    def add(sev: Severity, code: str, subj: str, msg: str, remedy: str = "") -> None:
        d.findings.append(Finding(sev, code, subj, msg, remedy, LAYER, new.path))

    if (old.machine, old.elf_class, old.endian) != (new.machine, new.elf_class, new.endian):
        add(
            Severity.BAD,
            "abi.arch-changed",
            subject,
            f"architecture changed from {old.machine}/{old.elf_class}-bit/{old.endian} to "
            f"{new.machine}/{new.elf_class}-bit/{new.endian}",
            "compare packages of the same architecture",
        )
    if old.soname != new.soname and old.soname:
        add(
            Severity.BAD,
            "abi.soname-changed",
            subject,
            f"SONAME changed from {old.soname} to {new.soname or '(none)'}",
            "keep the reference SONAME, or ship a compat package with the old one",
        )

    def visible(s: Symbol, change: str, b: BinarySnapshot) -> bool:
        return not sup.symbol_suppressed(s, change, b.path, b.soname)

    old_syms = {s.id: s for s in old.exports}
    new_syms = {s.id: s for s in new.exports}
    new_by_name: dict[str, list[Symbol]] = {}
    for s in new.exports:
        new_by_name.setdefault(s.name, []).append(s)

    for sid in sorted(old_syms.keys() - new_syms.keys()):
        s = old_syms[sid]
        if not visible(s, "deleted", old):
            continue
        d.removed_symbols.append(_ref(s))
        same = [n for n in new_by_name.get(s.name, ()) if n.version == s.version or not s.version]
        if same:
            # foo@@V -> foo@V (made hidden) or foo -> foo@@V: existing binaries still bind
            add(
                Severity.INFO,
                "abi.symbol-version-changed",
                s.id,
                f"{s.id} is now {same[0].id}; binaries linked against the old library still bind",
            )
            continue
        add(
            sym_bad,
            "abi.symbol-removed",
            s.id,
            f"exported {_noun(s)} {s.id} was removed",
            "restore the symbol (with its version node), or bump the SONAME" if is_lib else "",
        )
    new_groups = _alias_groups(new)
    for sid in sorted(new_syms.keys() - old_syms.keys()):
        s = new_syms[sid]
        if not visible(s, "added", new):
            continue
        # every new name@version is bindable, so it is added, alias or not; the symbols it
        # shares an address with are named for presentation only (libabigail groups them)
        aliases = sorted(new_groups.get(sid, frozenset()) - {sid})
        note = _aliases_note(aliases)
        d.added_symbols.append(_ref(s, note))
        add(
            Severity.INFO,
            "abi.symbol-added",
            s.id,
            f"exported {_noun(s)} {s.id} was added" + (f" ({note})" if note else ""),
        )
    for sid in sorted(old_syms.keys() & new_syms.keys()):
        a, b = old_syms[sid], new_syms[sid]
        if not visible(b, "changed", new):
            continue
        details = []
        if a.type != b.type:
            details.append(f"type {a.type} -> {b.type}")
            func_like = {"FUNC", "IFUNC"}
            sev = Severity.INFO if {a.type, b.type} <= func_like else sym_bad
            add(
                sev,
                "abi.symbol-type-changed",
                sid,
                f"{sid} changed type from {a.type} to {b.type}",
                "keep the reference symbol type" if sev is Severity.BAD else "",
            )
        if a.type in ("OBJECT", "TLS") and b.type == a.type and a.size != b.size:
            details.append(f"size {a.size} -> {b.size}")
            add(
                sym_bad,
                "abi.object-resized",
                sid,
                f"exported data object {sid} changed size from {a.size} to {b.size} bytes",
                "keep the object's reference size (copy relocations in applications use it)"
                if is_lib
                else "",
            )
        if a.binding != b.binding:
            details.append(f"binding {a.binding} -> {b.binding}")
            sev = Severity.INFO if (a.binding, b.binding) == ("WEAK", "GLOBAL") else sym_verify
            add(
                sev,
                "abi.symbol-binding-changed",
                sid,
                f"{sid} changed binding from {a.binding} to {b.binding}",
                "check that interposition still behaves as in the reference"
                if sev is Severity.VERIFY
                else "",
            )
        if a.visibility != b.visibility:
            details.append(f"visibility {a.visibility} -> {b.visibility}")
            add(
                sym_verify,
                "abi.symbol-visibility-changed",
                sid,
                f"{sid} changed visibility from {a.visibility} to {b.visibility}",
                "protected symbols cannot be interposed; match the reference",
            )
        if details:
            d.changed_symbols.append(_ref(b, "; ".join(details)))

    # version nodes
    for v in sorted(set(old.version_nodes) - set(new.version_nodes)):
        if sup.version_node_suppressed(v, old.path, old.soname):
            continue
        add(
            sym_bad,
            "abi.version-node-removed",
            f"{subject}@{v}",
            f"version node {v} was removed",
            "keep the version node in the linker version script" if is_lib else "",
        )
    for v in sorted(set(new.version_nodes) - set(old.version_nodes)):
        if sup.version_node_suppressed(v, new.path, new.soname):
            continue
        add(
            Severity.INFO, "abi.version-node-added", f"{subject}@{v}", f"version node {v} was added"
        )

    for lib in [n for n in new.needed if n not in old.needed]:
        add(
            Severity.VERIFY,
            "abi.needed-added",
            subject,
            f"new DT_NEEDED dependency {lib}",
            "make sure the package requires what provides it, and that the reference has it",
        )
    for lib in [n for n in old.needed if n not in new.needed]:
        add(Severity.INFO, "abi.needed-removed", subject, f"DT_NEEDED dependency {lib} dropped")
    old_isa, new_isa = old.x86_isa_needed or 1, new.x86_isa_needed or 1
    if new_isa > old_isa:
        add(
            Severity.BAD,
            "abi.isa-level-raised",
            subject,
            f"x86 ISA level needed raised from {ISA_NAMES.get(old_isa, old_isa)} to "
            f"{ISA_NAMES.get(new_isa, new_isa)}",
            "build with the reference -march (e.g. x86-64-v2 for EL9); check CFLAGS",
        )
    if old.interpreter != new.interpreter and (old.interpreter or new.interpreter):
        add(
            Severity.VERIFY,
            "abi.interpreter-changed",
            subject,
            f"program interpreter changed from {old.interpreter} to {new.interpreter}",
            "use the reference dynamic loader path",
        )
    old_paths = set(old.rpath) | set(old.runpath)
    for p in [p for p in [*new.rpath, *new.runpath] if p not in old_paths]:
        add(
            Severity.VERIFY,
            "abi.rpath-added",
            subject,
            f"new RPATH/RUNPATH entry {p}",
            "drop the rpath (e.g. chrpath, or fix the build) unless the reference has it",
        )
    if new.has_relr and not old.has_relr:
        add(
            Severity.VERIFY,
            "abi.relr-added",
            subject,
            "DT_RELR relocations appeared: needs a loader with DT_RELR (glibc >= 2.36)",
            "link without -z pack-relative-relocs to match the reference",
        )
    if old.has_gnu_hash and not new.has_gnu_hash:
        add(
            Severity.VERIFY,
            "abi.gnu-hash-dropped",
            subject,
            "DT_GNU_HASH disappeared",
            "link with --hash-style=gnu as the reference does",
        )
    return d


def _alias_groups(b: BinarySnapshot) -> dict[str, frozenset[str]]:
    """symbol id -> ids of all exported symbols at the same address (itself included)."""
    by_addr: dict[tuple[int, int], set[str]] = {}
    for s in b.exports:
        by_addr.setdefault((s.shndx, s.value), set()).add(s.id)
    out = {}
    for ids in by_addr.values():
        group = frozenset(ids)
        for i in ids:
            out[i] = group
    return out


def _aliases_note(aliases: list[str], limit: int = 4) -> str:
    """``aliases a, b`` (bounded: a symbol may have hundreds of aliases)."""
    if not aliases:
        return ""
    more = f", and {len(aliases) - limit} more" if len(aliases) > limit else ""
    return "aliases " + ", ".join(aliases[:limit]) + more


def _noun(s: Symbol) -> str:
    return {
        "FUNC": "function",
        "IFUNC": "function",
        "OBJECT": "variable",
        "TLS": "thread-local variable",
    }.get(s.type, "symbol")


def soname_stem(soname: str) -> str:
    m = _SONAME_STEM.match(soname)
    return m.group(1) if m else soname
