"""Will these kmod packages load on this kernel? (``elforge kabi check``)

Each kmod RPM requires ``kernel(sym) = 0xCRC`` / ``ksym(sym) = 0xCRC`` for every symbol its
modules import. A requirement is met when the kernel (or another kmod in the same check)
provides the symbol with the same CRC; a missing symbol or a CRC mismatch means the module
will not load (BAD). A symbol the kmod uses that the stablelist does not cover works today but
may change in any update (VERIFY).

Exit bits: 1 when a kmod could not be read (the others are still checked), 4 when a risk was
found (VERIFY), 8 when a kmod is incompatible (BAD, with 4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elforge.errors import ElforgeError, FormatError
from elforge.kabi.ksym import KsymDep, ksym_deps
from elforge.kabi.load import load_symbol_sets, rpm_arch
from elforge.kabi.stablelist import Stablelist, read_stablelists, select_stablelist
from elforge.kabi.symvers import SymbolSet, format_crc
from elforge.report.model import Finding, ReportDocument, Severity, Table
from elforge.rpm.header import read_header

SCHEMA = "elforge.kabi-check/1"
EXIT_ERROR = 1
EXIT_RISK = 4
EXIT_INCOMPATIBLE = 8


@dataclass(frozen=True)
class CrcMismatch:
    symbol: str
    required: int
    provided: tuple[int | None, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "required": format_crc(self.required),
            "provided": [format_crc(c) for c in self.provided],
        }


@dataclass
class KmodResult:
    """One kmod package checked against the kernel."""

    path: str
    package: str = ""  # NEVRA, once the header was read
    arch: str | None = None
    requires: list[KsymDep] = field(default_factory=list)
    matched: list[str] = field(default_factory=list)
    crc_mismatch: list[CrcMismatch] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    outside_stablelist: list[str] = field(default_factory=list)
    error: str | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def subject(self) -> str:
        return self.package or self.path

    @property
    def verdict(self) -> str:
        if self.error is not None:
            return "error"
        worst = max((f.severity for f in self.findings), default=Severity.OK)
        return {Severity.BAD: "incompatible", Severity.VERIFY: "risk"}.get(worst, "ok")

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "path": self.path,
            "arch": self.arch,
            "verdict": self.verdict,
            "error": self.error,
            "requires": len(self.requires),
            "matched": self.matched,
            "crc_mismatch": [m.to_json() for m in self.crc_mismatch],
            "missing": self.missing,
            "outside_stablelist": self.outside_stablelist,
        }


@dataclass
class KabiCheckResult:
    kernel: SymbolSet
    stablelist: Stablelist | None
    kmods: list[KmodResult]

    @property
    def findings(self) -> list[Finding]:
        return [f for k in self.kmods for f in k.findings]

    @property
    def exit_code(self) -> int:
        code = 0
        if any(k.error is not None for k in self.kmods):
            code |= EXIT_ERROR
        worst = max((f.severity for f in self.findings), default=Severity.OK)
        if worst >= Severity.VERIFY:
            code |= EXIT_RISK
        if worst is Severity.BAD:
            code |= EXIT_INCOMPATIBLE
        return code

    def document(self) -> ReportDocument:
        return _document(self)


@dataclass
class _Kmod:
    result: KmodResult
    provides: list[KsymDep]


def _read_kmod(path: Path) -> _Kmod:
    result = KmodResult(path=str(path))
    try:
        header = read_header(path)
    except ElforgeError as exc:
        result.error = exc.problem
        result.findings.append(
            Finding(
                Severity.BAD,
                "kabi.unreadable",
                str(path),
                exc.problem,
                layer="kabi",
                location=str(path),
            )
        )
        return _Kmod(result, [])
    result.package = str(header.nevra)
    result.arch = rpm_arch(header)
    result.requires = ksym_deps(header.requires)
    return _Kmod(result, ksym_deps(header.provides))


def load_kernel(kernel: Path, arch: str | None = None) -> SymbolSet:
    sets = load_symbol_sets(kernel)
    if arch is not None:
        if arch in sets:
            return sets[arch]
        if set(sets) == {None}:
            return sets[None]
        have = ", ".join(sorted(a or "?" for a in sets))
        raise FormatError(f"no {arch} symbols here (has {have})", subject=kernel)
    if len(sets) > 1:
        have = ", ".join(sorted(a or "?" for a in sets))
        raise FormatError(
            f"symbols for several architectures ({have}); choose one with --arch", subject=kernel
        )
    return next(iter(sets.values()))


def check_kmods(
    kernel: str | Path | SymbolSet,
    kmods: Sequence[str | Path],
    stablelist: str | Path | None = None,
    arch: str | None = None,
) -> KabiCheckResult:
    """Check each kmod RPM's kernel-symbol requirements against ``kernel``'s provides."""
    ksyms = kernel if isinstance(kernel, SymbolSet) else load_kernel(Path(kernel), arch)
    arch = arch or ksyms.arch
    sl: Stablelist | None = None
    if stablelist is not None:
        sl = select_stablelist(read_stablelists(Path(stablelist)), arch, subject=stablelist)
    loaded = [_read_kmod(Path(p)) for p in kmods]
    # symbols other kmods in this check export (ksym(...) provides) can satisfy requirements
    kmod_provided: dict[str, list[tuple[int | None, str]]] = {}
    for k in loaded:
        for dep in k.provides:
            kmod_provided.setdefault(dep.symbol, []).append((dep.crc, k.result.subject))
    for k in loaded:
        if k.result.error is None:
            _check_one(k.result, ksyms, sl, kmod_provided)
    return KabiCheckResult(ksyms, sl, [k.result for k in loaded])


def _check_one(
    r: KmodResult,
    kernel: SymbolSet,
    sl: Stablelist | None,
    kmod_provided: dict[str, list[tuple[int | None, str]]],
) -> None:
    def find(sev: Severity, code: str, message: str, remedy: str = "") -> None:
        r.findings.append(Finding(sev, code, r.subject, message, remedy, "kabi", r.path))

    if r.arch is not None and kernel.arch is not None and r.arch != kernel.arch:
        find(Severity.BAD, "kabi.arch-mismatch", f"built for {r.arch}, the kernel is {kernel.arch}")
        return
    if not r.requires:
        find(
            Severity.VERIFY,
            "kabi.no-ksym-requires",
            "requires no kernel(symbol) = 0xCRC tokens: not a kmod, or built without "
            "kernel symbol dependencies",
            "rebuild with the kernel-rpm-macros kmod tooling",
        )
        return
    seen: set[str] = set()
    for dep in sorted(r.requires, key=lambda d: d.symbol):
        if dep.symbol in seen:
            continue
        seen.add(dep.symbol)
        own = [s for s in kmod_provided.get(dep.symbol, []) if s[1] != r.subject]
        crcs = [s.crc for s in kernel.candidates(dep.symbol)] + [c for c, _ in own]
        if not crcs:
            r.missing.append(dep.symbol)
            find(
                Severity.BAD,
                "kabi.symbol-missing",
                f"needs {dep.symbol}, which the kernel does not export",
                "rebuild the kmod against this kernel",
            )
            continue
        if dep.crc is not None and dep.crc not in crcs and None not in crcs:
            r.crc_mismatch.append(CrcMismatch(dep.symbol, dep.crc, tuple(crcs)))
            have = ", ".join(format_crc(c) for c in crcs)
            find(
                Severity.BAD,
                "kabi.crc-mismatch",
                f"needs {dep.symbol} = {format_crc(dep.crc)}, the kernel has {have}",
                "rebuild the kmod against this kernel",
            )
            continue
        r.matched.append(dep.symbol)
        if sl is not None and dep.symbol not in sl and not own:
            r.outside_stablelist.append(dep.symbol)
            find(
                Severity.VERIFY,
                "kabi.outside-stablelist",
                f"uses {dep.symbol}, which is not on the kABI stablelist",
                "it may change in any kernel update; ask for it to be stablelisted "
                "or stop using it",
            )


def _document(result: KabiCheckResult) -> ReportDocument:
    data: dict[str, Any] = {
        "kernel": {
            "source": result.kernel.source,
            "arch": result.kernel.arch,
            "kind": result.kernel.kind,
            "symbols": len(result.kernel),
        },
        "stablelist": None
        if result.stablelist is None
        else {"source": result.stablelist.source, "symbols": len(result.stablelist)},
        "exit_code": result.exit_code,
        "kmods": [k.to_json() for k in result.kmods],
        "findings": [f.to_json() for f in result.findings],
    }
    table = Table(
        "kmods",
        [
            "package",
            "arch",
            "verdict",
            "requires",
            "matched",
            "crc mismatch",
            "missing",
            "outside stablelist",
        ],
    )
    for k in result.kmods:
        table.rows.append(
            [
                k.subject,
                k.arch or "-",
                k.verdict,
                len(k.requires),
                len(k.matched),
                len(k.crc_mismatch),
                len(k.missing),
                len(k.outside_stablelist) if result.stablelist is not None else "-",
            ]
        )
    verdicts = [k.verdict for k in result.kmods]
    summary: list[tuple[str, Any]] = [
        (
            "kernel",
            f"{result.kernel.source} ({result.kernel.arch or 'arch unknown'}, "
            f"{len(result.kernel)} symbols)",
        ),
        ("stablelist", result.stablelist.source if result.stablelist else "none given"),
        ("kmods", len(result.kmods)),
    ]
    for v in ("ok", "risk", "incompatible", "error"):
        if v in verdicts:
            summary.append((v, verdicts.count(v)))
    return ReportDocument(
        schema=SCHEMA,
        title=f"kABI check of {len(result.kmods)} kmod(s) against {result.kernel.source}",
        data=data,
        findings=result.findings,
        summary=summary,
        tables=[table],
        cases=[(k.subject, k.findings) for k in result.kmods],
    )
