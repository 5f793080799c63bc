"""auditwheel's wheel rules that are not about resolving libraries, as pure functions.

Facts taken from auditwheel (6.x): which wheel files are analysed (one architecture per
wheel, named by the platform tags of its file name, else by its first ELF file; files of
another architecture are ignored; a shared library under ``*.data/purelib`` makes the wheel
invalid), what counts as a Python extension module (a defined ``PyInit_<mod>``,
``init<mod>`` or ``_cffi_pypyinit_<mod>`` function, ``<mod>`` being the file name up to its
first dot), the narrow-unicode and fpectl symbols looked for in extension modules only,
``libpython`` dependencies (never resolved nor analysed; still a library the wheel must not
need), and blacklisted symbols (strong undefined references, by DT_NEEDED name, ``*`` meaning
the whole library).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePosixPath

from elforge.compat.trees import ElfFile

LIBPYTHON = re.compile(r"^libpython\d+\.\d+m?.so(\.\d)*$")
# auditwheel's architecture names; a platform tag ends with one (x86_64_v2 counts as x86_64)
WHEEL_ARCHES = ("aarch64", "armv7l", "i686", "loongarch64", "ppc64", "ppc64le", "riscv64",
                "s390x", "x86_64")  # fmt: skip
_ARCH_ALIASES = {"arm64_v8a": "aarch64", "x86_64_v2": "x86_64", "x86_64_v3": "x86_64",
                 "x86_64_v4": "x86_64"}  # fmt: skip
FPECTL_SYMBOLS = ("PyFPE_jbuf", "PyFPE_dummy", "PyFPE_counter")


def is_libpython(soname: str) -> bool:
    return LIBPYTHON.match(soname) is not None


def is_loader_name(soname: str) -> bool:
    """The dynamic loaders auditwheel leaves out of version needs and external libraries."""
    return "ld-linux" in soname or soname in ("ld64.so.2", "ld64.so.1")


def wheel_arch(wheel_name: str) -> str | None:
    """The one architecture the wheel's platform tags name, or None (none, several, or a tag
    auditwheel does not know such as ``linux_armv5l``)."""
    stem = PurePosixPath(wheel_name).name.removesuffix(".whl")
    parts = stem.split("-")
    if len(parts) < 5:
        return None
    found: set[str] = set()
    for tag in parts[-1].split("."):
        if tag == "any":
            return None
        names = [a for a in (*WHEEL_ARCHES, *_ARCH_ALIASES) if tag.endswith(f"_{a}")]
        if not names:
            return None
        found.update(_ARCH_ALIASES.get(a, a) for a in names)
    return found.pop() if len(found) == 1 else None


def in_purelib(path: str) -> bool:
    return "purelib" in PurePosixPath(path).parts[:-1]


def python_extension(f: ElfFile) -> int | None:
    """The Python major version an extension module is built for, None when ``f`` is not one."""
    module = PurePosixPath(f.path).name.split(".", 1)[0]
    inits = {f"PyInit_{module}": 3, f"init{module}": 2, f"_cffi_pypyinit_{module}": 2}
    for s in f.info.symbols:
        if s.defined and s.type == "FUNC" and s.name in inits:
            return inits[s.name]
    return None


def ucs2_symbols(f: ElfFile) -> list[str]:
    return sorted(
        s.name
        for s in f.info.symbols
        if not s.defined and s.type == "FUNC" and "PyUnicodeUCS2_" in s.name
    )


def fpectl_symbols(f: ElfFile) -> list[str]:
    return sorted(
        s.name
        for s in f.info.symbols
        if not s.defined and s.type in ("FUNC", "NOTYPE") and s.name in FPECTL_SYMBOLS
    )


def blacklisted(
    f: ElfFile, blacklist: dict[str, frozenset[str]], needed: Iterable[str]
) -> dict[str, list[str]]:
    """soname -> the blacklisted names ``f`` references strongly (``*``: the whole library)."""
    strong = {"*"} | {
        s.name for s in f.info.symbols if not s.defined and s.binding not in ("WEAK", "LOCAL")
    }
    out = {}
    for soname in needed:
        hits = blacklist.get(soname, frozenset()) & strong
        if hits:
            out[soname] = sorted(hits)
    return out
