"""Kernel-symbol dependency tokens in RPM headers.

Kernel packages provide, and kmod packages require, one token per exported symbol:

- ``kernel(printk) = 0x27e1a049``: a symbol of the kernel (vmlinux or an in-tree module) with
  its modversions CRC (RHEL, Fedora, CentOS);
- ``ksym(printk) = 0x27e1a049``: the same for symbols other kmod packages export;
- ``ksym(default:printk) = 27e1a049``: SUSE's form, with the kernel flavour and a bare CRC;
- a qualifier may follow, ``kernel(printk)(64bit)`` or ``kernel(printk)(x86-64)``;
- ``kernel(printk)`` without a version asks only for the name.

Tokens that merely look alike (``kernel(x86-64) = 4.18.0-477.el8``, ``kernel-core``) are not
symbols: the parenthesised part must be a C identifier and a version must be a CRC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from elforge.kabi.symvers import KNOWN_ARCHES, format_crc, parse_crc

_TOKEN = re.compile(
    r"(?P<kind>kernel|ksym)\((?:(?P<flavor>[A-Za-z0-9_+-]+):)?(?P<sym>\.?[A-Za-z_$][A-Za-z0-9_$.]*)\)"
    r"(?:\((?P<qual>[A-Za-z0-9_-]+)\))?"
)


@dataclass(frozen=True)
class KsymDep:
    """One ``kernel(sym) = 0xCRC`` style dependency."""

    symbol: str
    crc: int | None  # None: any CRC (unversioned token)
    kind: str = "kernel"  # "kernel" or "ksym"
    flavor: str | None = None  # SUSE kernel flavour ("default")
    qualifier: str | None = None  # "64bit", "x86-64", ...

    def __str__(self) -> str:
        name = f"{self.kind}({self.flavor + ':' if self.flavor else ''}{self.symbol})"
        if self.qualifier:
            name += f"({self.qualifier})"
        return name if self.crc is None else f"{name} = {format_crc(self.crc)}"


class DepLike(Protocol):
    """What :func:`ksym_deps` needs of ``elforge.rpm.header.Dependency``."""

    @property
    def name(self) -> str: ...
    @property
    def flags(self) -> str | None: ...
    @property
    def evr(self) -> str | None: ...


def parse_token(name: str, flags: str | None = None, evr: str | None = None) -> KsymDep | None:
    """A :class:`KsymDep` when (name, flags, evr) is a kernel-symbol token, else None."""
    m = _TOKEN.fullmatch(name)
    if m is None:
        return None
    sym = m.group("sym")
    crc: int | None = None
    if evr:
        if flags not in (None, "EQ"):
            return None
        # rpm may hand back an epoch "0:" in front of the version
        crc = parse_crc(evr.removeprefix("0:"))
        if crc is None:
            return None  # e.g. kernel(x86-64) = 4.18.0-477.el8
    elif sym in KNOWN_ARCHES:
        return None
    return KsymDep(sym, crc, m.group("kind"), m.group("flavor"), m.group("qual"))


def parse_dependency_string(text: str) -> KsymDep | None:
    """``kernel(sym) = 0xCRC`` as one string (``rpm -q --provides`` output)."""
    parts = text.split()
    if len(parts) == 1:
        return parse_token(parts[0])
    if len(parts) == 3 and parts[1] == "=":
        return parse_token(parts[0], "EQ", parts[2])
    return None


def ksym_deps(deps: Iterable[DepLike]) -> list[KsymDep]:
    """The kernel-symbol tokens among an RPM header's provides or requires."""
    out = []
    for d in deps:
        k = parse_token(d.name, d.flags, d.evr)
        if k is not None:
            out.append(k)
    return out
