"""Compare two kernels' exported symbols against the kABI stablelist (``elforge kabi diff``).

Per architecture: symbols removed, added, whose CRC changed, that moved to another module,
and whose export type or namespace changed. What the stablelist covers decides the weight:
a removed or CRC-changed stablelisted symbol breaks the kABI promise (BAD); a moved one, or
one whose export was narrowed to GPL-only or into a namespace, needs a look (VERIFY).

The stablelist is the ``--stablelist`` file when given; otherwise, when OLD is itself a kABI
list (``Module.kabi_<arch>`` or a per-symbol tree), OLD's symbols are the stablelist. With
neither, nothing is known to be promised: removals and CRC changes are VERIFY.

Exit bits as ``abi diff`` (after abipkgdiff): 4 when anything changed, 8 (with 4) when a
change is incompatible (any BAD finding); 1 and 2 are the CLI's error and usage bits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elforge.errors import FormatError
from elforge.kabi.load import load_symbol_sets
from elforge.kabi.stablelist import Stablelist, read_stablelists, select_stablelist
from elforge.kabi.symvers import KabiSymbol, SymbolSet, format_crc
from elforge.report.model import Finding, ReportDocument, Severity, Table

SCHEMA = "elforge.kabi-diff/1"
EXIT_CHANGE = 4
EXIT_INCOMPATIBLE = 8
CHANGE_KINDS = ("removed", "added", "crc_changed", "moved", "export_changed")


@dataclass(frozen=True)
class SymbolChange:
    """One symbol that differs between OLD and NEW."""

    kind: str  # one of CHANGE_KINDS
    name: str
    old: KabiSymbol | None
    new: KabiSymbol | None
    stablelisted: bool

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"symbol": self.name, "stablelisted": self.stablelisted}
        for side, sym in (("old", self.old), ("new", self.new)):
            if sym is not None:
                out[side] = {
                    "crc": format_crc(sym.crc),
                    "module": sym.module,
                    "export_type": sym.export_type,
                    "namespace": sym.namespace,
                }
        return out


@dataclass
class ArchDiff:
    """The comparison for one architecture."""

    arch: str | None
    old: SymbolSet
    new: SymbolSet
    stablelist: Stablelist | None
    stablelist_implicit: bool = False
    changes: dict[str, list[SymbolChange]] = field(
        default_factory=lambda: {k: [] for k in CHANGE_KINDS}
    )
    findings: list[Finding] = field(default_factory=list)

    def names(self, kind: str) -> list[str]:
        return [c.name for c in self.changes[kind]]

    @property
    def changed(self) -> bool:
        return any(self.changes[k] for k in CHANGE_KINDS)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "old": {"source": self.old.source, "kind": self.old.kind, "symbols": len(self.old)},
            "new": {"source": self.new.source, "kind": self.new.kind, "symbols": len(self.new)},
            "stablelist": None
            if self.stablelist is None
            else {
                "source": self.stablelist.source,
                "symbols": len(self.stablelist),
                "implicit": self.stablelist_implicit,
            },
        }
        for kind in CHANGE_KINDS:
            out[kind] = self.names(kind)
        out["details"] = {
            kind: [c.to_json() for c in self.changes[kind]]
            for kind in CHANGE_KINDS
            if kind != "added"
        }
        return out


@dataclass
class KabiDiffResult:
    """``diff_kabi``'s answer: one :class:`ArchDiff` per architecture compared."""

    old_source: str
    new_source: str
    arches: list[ArchDiff]

    @property
    def findings(self) -> list[Finding]:
        return [f for a in self.arches for f in a.findings]

    def names(self, kind: str) -> list[str]:
        """Symbols with a ``kind`` change on any architecture, sorted."""
        return sorted({n for a in self.arches for n in a.names(kind)})

    @property
    def removed(self) -> list[str]:
        return self.names("removed")

    @property
    def added(self) -> list[str]:
        return self.names("added")

    @property
    def crc_changed(self) -> list[str]:
        return self.names("crc_changed")

    @property
    def moved(self) -> list[str]:
        return self.names("moved")

    @property
    def export_changed(self) -> list[str]:
        return self.names("export_changed")

    @property
    def worst(self) -> Severity:
        return max((f.severity for f in self.findings), default=Severity.OK)

    @property
    def exit_code(self) -> int:
        code = 0
        if any(a.changed for a in self.arches):
            code |= EXIT_CHANGE
        if self.worst is Severity.BAD:
            code |= EXIT_CHANGE | EXIT_INCOMPATIBLE
        return code

    @property
    def verdict(self) -> str:
        if self.exit_code & EXIT_INCOMPATIBLE:
            return "incompatible"
        return "changed" if self.exit_code & EXIT_CHANGE else "identical"

    def document(self) -> ReportDocument:
        return _document(self)


def _arch_label(arch: str | None) -> str:
    return arch or "-"


def _subject(arch: str | None, name: str) -> str:
    return f"{arch}/{name}" if arch else name


def _is_narrower(old: KabiSymbol, new: KabiSymbol) -> bool:
    """New export is harder to use: GPL-only where it was not, or moved into a namespace."""
    gpl_old = "GPL" in old.export_type
    gpl_new = "GPL" in new.export_type
    return (gpl_new and not gpl_old) or (bool(new.namespace) and new.namespace != old.namespace)


def compare_arch(
    old: SymbolSet,
    new: SymbolSet,
    stablelist: Stablelist | None,
    *,
    arch: str | None,
    stablelist_implicit: bool = False,
) -> ArchDiff:
    """Diff one architecture's symbol sets and grade each change."""
    result = ArchDiff(arch, old, new, stablelist, stablelist_implicit)
    listed = stablelist.symbols if stablelist is not None else frozenset()
    have_list = stablelist is not None
    location = new.source

    def weight(name: str, promised: Severity) -> Severity:
        if name in listed:
            return promised
        return Severity.INFO if have_list else Severity.VERIFY

    def record(kind: str, name: str, o: KabiSymbol | None, n: KabiSymbol | None) -> None:
        result.changes[kind].append(SymbolChange(kind, name, o, n, name in listed))

    def find(sev: Severity, code: str, name: str, message: str, remedy: str = "") -> None:
        result.findings.append(
            Finding(sev, code, _subject(arch, name), message, remedy, "kabi", location)
        )

    for name in sorted(old.symbols.keys() - new.symbols.keys()):
        o = old.symbols[name]
        record("removed", name, o, None)
        tag = "stablelisted " if name in listed else ""
        find(
            weight(name, Severity.BAD),
            "kabi.symbol-removed",
            name,
            f"{tag}symbol {name} ({o.module or 'module unknown'}) is no longer exported",
            "restore the export; kmods built against the old kernel need it",
        )

    added = sorted(new.symbols.keys() - old.symbols.keys())
    for name in added:
        record("added", name, None, new.symbols[name])
    if added:
        result.findings.append(
            Finding(
                Severity.INFO,
                "kabi.symbols-added",
                _arch_label(arch),
                f"{len(added)} symbol(s) newly exported",
                layer="kabi",
                location=location,
            )
        )

    for name in sorted(old.symbols.keys() & new.symbols.keys()):
        o, n = old.symbols[name], new.symbols[name]
        if o.crc is not None and n.crc is not None and o.crc != n.crc:
            record("crc_changed", name, o, n)
            tag = "stablelisted " if name in listed else ""
            find(
                weight(name, Severity.BAD),
                "kabi.crc-changed",
                name,
                f"{tag}symbol {name}: CRC {format_crc(o.crc)} -> {format_crc(n.crc)} "
                "(its type signature changed)",
                "keep the old types (RH_KABI_* wrappers) or drop the change",
            )
        if o.module and n.module and o.module != n.module:
            record("moved", name, o, n)
            find(
                weight(name, Severity.VERIFY),
                "kabi.symbol-moved",
                name,
                f"{name} moved from {o.module} to {n.module}",
                "kmods that need it now pull in the new module; check that it loads",
            )
        known = bool(o.export_type and n.export_type)  # RPM provides do not say
        if known and (o.export_type, o.namespace) != (n.export_type, n.namespace):
            record("export_changed", name, o, n)
            narrower = _is_narrower(o, n)
            sev = weight(name, Severity.VERIFY) if narrower else Severity.INFO
            old_e = o.export_type + (f" ns {o.namespace}" if o.namespace else "")
            new_e = n.export_type + (f" ns {n.namespace}" if n.namespace else "")
            find(
                sev,
                "kabi.export-changed",
                name,
                f"{name}: {old_e} -> {new_e}",
                "non-GPL or namespace-less kmods may no longer link" if narrower else "",
            )
    return result


def _pair(
    olds: dict[str | None, SymbolSet],
    news: dict[str | None, SymbolSet],
    arch: str | None,
    old_path: str,
    new_path: str,
) -> list[tuple[str | None, SymbolSet, SymbolSet]]:
    """Match architectures of OLD and NEW; a mismatch is a mixed-architecture error."""
    if arch is not None:
        pairs: list[tuple[str | None, SymbolSet, SymbolSet]] = []
        for side, sets, path in (("OLD", olds, old_path), ("NEW", news, new_path)):
            if arch not in sets and set(sets) != {None}:
                have = ", ".join(sorted(a or "?" for a in sets))
                raise FormatError(f"{side} has no {arch} symbols (has {have})", subject=path)
        o = olds.get(arch) or olds[None]
        n = news.get(arch) or news[None]
        pairs.append((arch, o, n))
        return pairs
    if len(olds) == 1 and len(news) == 1:
        (oa, o), (na, n) = next(iter(olds.items())), next(iter(news.items()))
        if oa is not None and na is not None and oa != na:
            raise FormatError(
                f"mixed architectures: OLD is {oa} ({old_path}), NEW is {na}", subject=new_path
            )
        return [(oa or na, o, n)]
    if set(olds) != set(news):
        have_o = ", ".join(sorted(a or "?" for a in olds))
        have_n = ", ".join(sorted(a or "?" for a in news))
        raise FormatError(
            f"mixed architectures: OLD has {have_o}, NEW has {have_n}; choose one with --arch",
            subject=new_path,
        )
    return [(a, olds[a], news[a]) for a in sorted(olds, key=lambda a: a or "")]


def diff_symbol_sets(
    olds: dict[str | None, SymbolSet],
    news: dict[str | None, SymbolSet],
    *,
    stablelists: dict[str | None, Stablelist] | None = None,
    stablelist_source: str | Path | None = None,
    arch: str | None = None,
    old_source: str = "OLD",
    new_source: str = "NEW",
) -> KabiDiffResult:
    arches = []
    for a, o, n in _pair(olds, news, arch, old_source, new_source):
        implicit = False
        sl: Stablelist | None = None
        if stablelists is not None:
            sl = select_stablelist(stablelists, a, subject=stablelist_source or "stablelist")
            if a is not None and sl.arch is not None and sl.arch != a:
                raise FormatError(
                    f"mixed architectures: the stablelist is for {sl.arch}, the kernels {a}",
                    subject=stablelist_source or sl.source,
                )
            a = a or sl.arch  # symvers files without an arch in their name take the list's
        elif o.kind in ("kabi", "tree"):
            sl = Stablelist(o.source, a, frozenset(o.symbols))
            implicit = True
        arches.append(compare_arch(o, n, sl, arch=a, stablelist_implicit=implicit))
    return KabiDiffResult(old_source, new_source, arches)


def diff_kabi(
    old: str | Path,
    new: str | Path,
    stablelist: str | Path | None = None,
    arch: str | None = None,
    *,
    tree_minor: tuple[int | None, int | None] = (None, None),
) -> KabiDiffResult:
    """Compare the kernel ABI of ``old`` and ``new`` (files, kernel RPMs or directories).

    ``tree_minor`` picks the minor release of per-symbol kABI trees (default: the newest).
    """
    old_p, new_p = Path(old), Path(new)
    olds = load_symbol_sets(old_p, tree_minor=tree_minor[0])
    news = load_symbol_sets(new_p, tree_minor=tree_minor[1])
    lists = read_stablelists(Path(stablelist)) if stablelist is not None else None
    return diff_symbol_sets(
        olds,
        news,
        stablelists=lists,
        stablelist_source=stablelist,
        arch=arch,
        old_source=str(old_p),
        new_source=str(new_p),
    )


def _document(result: KabiDiffResult) -> ReportDocument:
    data: dict[str, Any] = {
        "old": result.old_source,
        "new": result.new_source,
        "verdict": result.verdict,
        "exit_code": result.exit_code,
    }
    for kind in CHANGE_KINDS:
        data[kind] = result.names(kind)
    data["arches"] = {_arch_label(a.arch): a.to_json() for a in result.arches}
    data["findings"] = [f.to_json() for f in result.findings]

    counts = Table(
        "Per architecture",
        [
            "arch",
            "old",
            "new",
            "stablelisted",
            "removed",
            "added",
            "crc changed",
            "moved",
            "export changed",
        ],
    )
    detail = Table("Changed symbols", ["arch", "symbol", "change", "old", "new", "stablelisted"])
    for a in result.arches:
        counts.rows.append(
            [
                _arch_label(a.arch),
                len(a.old),
                len(a.new),
                len(a.stablelist) if a.stablelist is not None else "-",
                *(len(a.changes[k]) for k in CHANGE_KINDS),
            ]
        )
        for kind in CHANGE_KINDS:
            for c in a.changes[kind]:
                detail.rows.append(
                    [
                        _arch_label(a.arch),
                        c.name,
                        kind,
                        _describe(c.old, kind),
                        _describe(c.new, kind),
                        "yes" if c.stablelisted else "",
                    ]
                )
    summary: list[tuple[str, Any]] = [
        ("old", result.old_source),
        ("new", result.new_source),
        ("verdict", f"{result.verdict} (exit {result.exit_code})"),
    ]
    for kind in CHANGE_KINDS:
        summary.append((kind.replace("_", " "), len(result.names(kind))))
    cases = [
        (_arch_label(a.arch), [f for f in a.findings if f.severity > Severity.INFO])
        for a in result.arches
    ]
    return ReportDocument(
        schema=SCHEMA,
        title=f"kABI diff {result.old_source} -> {result.new_source}",
        data=data,
        findings=result.findings,
        summary=summary,
        tables=[counts, detail],
        cases=cases,
    )


def _describe(sym: KabiSymbol | None, kind: str) -> str:
    if sym is None:
        return ""
    if kind == "moved":
        return sym.module
    if kind == "export_changed":
        return sym.export_type + (f" ({sym.namespace})" if sym.namespace else "")
    return f"{format_crc(sym.crc)} {sym.module}".strip()
