"""Turn whatever names a kernel's exported symbols into :class:`SymbolSet`\\ s per architecture.

Accepted: a ``Module.symvers`` / ``Module.kabi_<arch>`` / ``symvers-<kver>.<arch>.gz`` file; a
kernel RPM (its ``kernel(sym) = 0xCRC`` provides); a directory holding a per-symbol kABI tree,
``Module.kabi_<arch>`` files (one per architecture, with their ``Module.kabi_dup_<arch>``), a
``Module.symvers`` or kernel RPMs (the provides of all binary RPMs of one architecture are
pooled: RHEL splits them over kernel-core and kernel-modules).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from elforge.errors import FormatError
from elforge.kabi.ksym import KsymDep, ksym_deps
from elforge.kabi.symvers import (
    KabiSymbol,
    SymbolSet,
    arch_from_name,
    parse_symvers,
    read_symvers,
    read_text,
)
from elforge.kabi.tree import is_kabi_tree, read_kabi_tree, tree_arches
from elforge.rpm.header import RpmHeader, read_header

RPM_MAGIC = b"\xed\xab\xee\xdb"


def is_rpm(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(4) == RPM_MAGIC
    except OSError:
        return False


def symbols_from_provides(
    provides: Iterable[KsymDep], *, source: str, arch: str | None, into: SymbolSet | None = None
) -> SymbolSet:
    """A SymbolSet from ``kernel(sym) = 0xCRC`` provides (module and export type unknown)."""
    out = into if into is not None else SymbolSet(source=source, arch=arch, kind="rpm")
    for dep in provides:
        # the module and export type are not in the token: left unknown ("")
        out.add(KabiSymbol(dep.symbol, dep.crc, "", ""))
    return out


def rpm_arch(header: RpmHeader) -> str | None:
    arch = header.nevra.arch
    return None if arch in ("noarch", "src", "nosrc") else arch


def read_kernel_rpm(path: Path, *, header: RpmHeader | None = None) -> SymbolSet:
    """The kernel symbols a kernel RPM provides."""
    header = header or read_header(path)
    deps = ksym_deps(header.provides)
    if not deps:
        raise FormatError(
            "provides no kernel(symbol) = 0xCRC tokens: not a kernel package", subject=path
        )
    return symbols_from_provides(deps, source=str(path), arch=rpm_arch(header))


def load_symbol_sets(path: Path, *, tree_minor: int | None = None) -> dict[str | None, SymbolSet]:
    """Every architecture's symbols that ``path`` names, keyed by architecture (None unknown)."""
    if not path.exists():
        raise FormatError("no such file or directory", subject=path)
    if path.is_dir():
        return _load_dir(path, tree_minor)
    if is_rpm(path):
        s = read_kernel_rpm(path)
        return {s.arch: s}
    s = read_symvers(path)
    return {s.arch: s}


def _load_dir(path: Path, tree_minor: int | None) -> dict[str | None, SymbolSet]:
    if is_kabi_tree(path):
        return {
            arch: read_kabi_tree(path, arch=arch, minor=tree_minor) for arch in tree_arches(path)
        }
    kabi_files = sorted(
        p
        for p in path.glob("Module.kabi_*")
        if p.is_file() and not p.name.startswith("Module.kabi_dup_")
    )
    if kabi_files:
        out: dict[str | None, SymbolSet] = {}
        for p in kabi_files:
            arch = arch_from_name(p.name)
            if arch is None:
                raise FormatError("cannot tell the architecture from the name", subject=p)
            s = read_symvers(p, arch=arch)
            dup = path / f"Module.kabi_dup_{arch}"
            if dup.is_file():  # symbols exported by more than one module
                dups = parse_symvers(read_text(dup), subject=dup, arch=arch)
                for name in dups.symbols:
                    for sym in dups.candidates(name):
                        s.add(sym)
            s.source = str(path)
            out[arch] = s
        return out
    symvers = [p for p in sorted(path.glob("*symvers*")) if p.is_file()]
    if len(symvers) == 1:
        s = read_symvers(symvers[0])
        return {s.arch: s}
    if len(symvers) > 1:
        raise FormatError(
            f"several symvers files ({', '.join(p.name for p in symvers)}); name one", subject=path
        )
    rpms = [p for p in sorted(path.glob("*.rpm")) if not p.name.endswith(".src.rpm")]
    if rpms:
        return _load_rpm_dir(path, rpms)
    raise FormatError(
        "no kABI tree, Module.kabi_<arch>, Module.symvers or kernel RPMs here", subject=path
    )


def _load_rpm_dir(path: Path, rpms: list[Path]) -> dict[str | None, SymbolSet]:
    out: dict[str | None, SymbolSet] = {}
    for p in rpms:
        header = read_header(p)
        deps = ksym_deps(header.provides)
        if not deps:
            continue  # kernel-headers, kernel-tools...: no symbols
        arch = rpm_arch(header)
        target = out.setdefault(arch, SymbolSet(source=str(path), arch=arch, kind="rpm"))
        symbols_from_provides(deps, source=str(path), arch=arch, into=target)
    if not out:
        raise FormatError("no RPM here provides kernel(symbol) tokens", subject=path)
    return out
