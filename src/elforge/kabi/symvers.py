"""``Module.symvers`` and ``Module.kabi_<arch>``: one exported kernel symbol a line.

Each line is tab-separated: ``CRC  symbol  module  export-type  [namespace]``. Kernels before
5.4 (RHEL 8) write four columns; 5.9 and later (RHEL 9, 10) add a fifth, the symbol namespace,
often empty (a trailing tab). Kernels 5.4 to 5.8 put the namespace third; both five-column
layouts are accepted and told apart by where the ``EXPORT_*`` column sits. The files may be
gzip-compressed (``/boot/symvers-<kver>.gz``).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from elforge.errors import FormatError

# modpost writes these; older kernels also had the _FUTURE and UNUSED variants.
EXPORT_TYPES = frozenset(
    {
        "EXPORT_SYMBOL",
        "EXPORT_SYMBOL_GPL",
        "EXPORT_SYMBOL_GPL_FUTURE",
        "EXPORT_UNUSED_SYMBOL",
        "EXPORT_UNUSED_SYMBOL_GPL",
    }
)
_CRC = re.compile(r"0x[0-9a-fA-F]{1,8}|[0-9a-fA-F]{8}")
# Kernel symbols are C identifiers; ppc64 ELFv1 function descriptors add a leading dot.
SYMBOL_NAME = re.compile(r"\.?[A-Za-z_$][A-Za-z0-9_$.]*")


@dataclass(frozen=True, slots=True)
class KabiSymbol:
    """One exported symbol with the CRC modversions computed over its type signature."""

    name: str
    crc: int | None  # None: an unversioned RPM provide, kernel(sym) without "= 0x..."
    module: str  # "vmlinux", a module path without .ko (drivers/scsi/raid_class); "" unknown
    export_type: str  # EXPORT_SYMBOL, EXPORT_SYMBOL_GPL, ...; "" when unknown (RPM provides)
    namespace: str = ""

    @property
    def crc_hex(self) -> str:
        return format_crc(self.crc)

    def line(self) -> str:
        """The symbol as a Module.symvers line (four columns without a namespace)."""
        cols = [self.crc_hex, self.name, self.module, self.export_type]
        if self.namespace:
            cols.append(self.namespace)
        return "\t".join(cols)


@dataclass
class SymbolSet:
    """The exported symbols of one kernel (or kABI list) for one architecture.

    ``symbols`` maps a name to its first entry; a name exported more than once (the
    ``Module.kabi_dup_<arch>`` case: two modules export it) keeps its other entries in
    ``duplicates``, and a requirement may match any of them.
    """

    source: str
    arch: str | None = None
    kind: str = "symvers"  # symvers, kabi (a stablelist with CRCs), tree, rpm
    symbols: dict[str, KabiSymbol] = field(default_factory=dict)
    duplicates: dict[str, list[KabiSymbol]] = field(default_factory=dict)

    def add(self, sym: KabiSymbol) -> None:
        first = self.symbols.get(sym.name)
        if first is None:
            self.symbols[sym.name] = sym
        elif first != sym:
            self.duplicates.setdefault(sym.name, []).append(sym)

    def candidates(self, name: str) -> list[KabiSymbol]:
        """Every entry exporting ``name``: the first, then any duplicates."""
        first = self.symbols.get(name)
        if first is None:
            return []
        return [first, *self.duplicates.get(name, ())]

    def names(self) -> set[str]:
        return set(self.symbols)

    def __len__(self) -> int:
        return len(self.symbols)

    def __contains__(self, name: object) -> bool:
        return name in self.symbols


def format_crc(crc: int | None) -> str:
    return "-" if crc is None else f"0x{crc:08x}"


def parse_crc(text: str) -> int | None:
    """``0x1a2b3c4d`` (RHEL, Module.symvers) or bare ``1a2b3c4d`` (SUSE ksym deps); else None."""
    if not _CRC.fullmatch(text):
        return None
    return int(text, 16)


def parse_symvers_line(line: str, *, subject: str | Path, lineno: int) -> KabiSymbol:
    """One Module.symvers line; FormatError naming the file and line on anything else."""
    cols = line.split("\t")
    if len(cols) == 5 and cols[4] == "" and cols[3] in EXPORT_TYPES:
        cols = cols[:4]  # a trailing tab: the empty namespace column
    if len(cols) == 4:
        crc_s, name, module, export = cols
        namespace = ""
    elif len(cols) == 5 and cols[3] in EXPORT_TYPES:
        crc_s, name, module, export, namespace = cols  # 5.9+: namespace last
    elif len(cols) == 5 and cols[4] in EXPORT_TYPES:
        crc_s, name, namespace, module, export = cols  # 5.4-5.8: namespace third
    else:
        raise FormatError(
            f"line {lineno}: expected 4 or 5 tab-separated columns "
            f"(CRC, symbol, module, export type[, namespace]), got {len(cols)}: {line[:80]!r}",
            subject=subject,
        )
    crc = parse_crc(crc_s)
    if crc is None:
        raise FormatError(f"line {lineno}: bad CRC {crc_s[:40]!r}", subject=subject)
    if not SYMBOL_NAME.fullmatch(name):
        raise FormatError(f"line {lineno}: bad symbol name {name[:80]!r}", subject=subject)
    if not module:
        raise FormatError(f"line {lineno}: empty module column for {name}", subject=subject)
    if export not in EXPORT_TYPES:
        raise FormatError(f"line {lineno}: unknown export type {export[:40]!r}", subject=subject)
    return KabiSymbol(name, crc, module, export, namespace)


# The common, well-formed line in one match (namespace last or absent); anything else goes
# through parse_symvers_line, which knows the other layout and explains errors.
_FAST_LINE = re.compile(
    r"(0x[0-9a-fA-F]{1,8})\t(\.?[A-Za-z_$][A-Za-z0-9_$.]*)\t([^\t]+)\t"
    r"(EXPORT_SYMBOL|EXPORT_SYMBOL_GPL|EXPORT_SYMBOL_GPL_FUTURE|EXPORT_UNUSED_SYMBOL"
    r"|EXPORT_UNUSED_SYMBOL_GPL)(?:\t([^\t]*))?"
)


def iter_symvers(lines: Iterable[str], *, subject: str | Path) -> Iterator[KabiSymbol]:
    fast = _FAST_LINE.fullmatch
    for lineno, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        m = fast(line)
        if m is not None:
            crc, name, module, export, namespace = m.groups()
            yield KabiSymbol(name, int(crc, 16), module, export, namespace or "")
            continue
        if not line.strip() or line.startswith("#"):
            continue
        yield parse_symvers_line(line, subject=subject, lineno=lineno)


def parse_symvers(
    text: str, *, subject: str | Path, arch: str | None = None, kind: str = "symvers"
) -> SymbolSet:
    out = SymbolSet(source=str(subject), arch=arch, kind=kind)
    for sym in iter_symvers(text.splitlines(), subject=subject):
        out.add(sym)
    return out


def read_text(path: Path) -> str:
    """A text file, transparently gunzipped; FormatError on unreadable or non-UTF-8 content."""
    try:
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        return data.decode("utf-8")
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", subject=path) from exc
    except (UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
        raise FormatError(f"not a text symbol list: {exc}", subject=path) from exc


_ARCH_IN_NAME = re.compile(
    r"(?:Module\.kabi|kabi_stablelist|kabi_whitelist|symvers)[_-](.+?)(?:\.gz)?$"
)
KNOWN_ARCHES = ("x86_64", "aarch64", "ppc64le", "ppc64", "s390x", "i686", "armv7hl", "riscv64")


def arch_from_name(name: str) -> str | None:
    """The architecture a kABI file's name carries: ``Module.kabi_x86_64`` → ``x86_64``.

    ``symvers-4.18.0-477.el8.x86_64.gz`` ends in the architecture too.
    """
    m = _ARCH_IN_NAME.search(name)
    if m is None:
        return None
    tail = m.group(1)
    if tail.startswith("dup_"):
        tail = tail[4:]
    for arch in KNOWN_ARCHES:
        if tail == arch or tail.endswith("." + arch):
            return arch
    return None


def read_symvers(path: Path, *, arch: str | None = None) -> SymbolSet:
    """Read a ``Module.symvers`` / ``Module.kabi_<arch>`` file (plain or gzip)."""
    kind = "kabi" if path.name.startswith("Module.kabi_") else "symvers"
    return parse_symvers(
        read_text(path), subject=path, arch=arch or arch_from_name(path.name), kind=kind
    )
