"""Name the platform an ELF file runs on the way wheels and auditwheel policies do.

The ELF reader gives the machine; a few platforms also need the class, byte order or
``e_flags`` (ARM hard-float, i.e. armv7l against armv5l soft-float), which we read here from
the file header because :class:`~elforge.elf.reader.ElfInfo` does not carry ``e_flags``.
"""

from __future__ import annotations

import struct

from elforge.elf.reader import ElfInfo

EF_ARM_ABI_FLOAT_HARD = 0x400
EF_ARM_EABI_MASK = 0xFF000000
EF_ARM_EABI_VER5 = 0x05000000


def e_flags(data: bytes) -> int:
    """``e_flags`` from an ELF header (0 when the header is too short to hold it)."""
    is64 = len(data) > 4 and data[4] == 2
    order = ">" if len(data) > 5 and data[5] == 2 else "<"
    off = 48 if is64 else 36
    if len(data) < off + 4:
        return 0
    return int(struct.unpack_from(order + "I", data, off)[0])


def arch_of(info: ElfInfo, flags: int = 0) -> str:
    """auditwheel's architecture name: x86_64, i686, aarch64, ppc64le, s390x, armv7l…"""
    m = info.machine
    if m == "x86_64":
        return "x86_64" if info.elf_class == 64 else "x32"
    if m == "i386":
        return "i686"
    if m == "aarch64":
        return "aarch64"
    if m == "ppc64":
        return "ppc64le" if info.endian == "little" else "ppc64"
    if m == "ppc":
        return "ppc"
    if m == "s390":
        return "s390x" if info.elf_class == 64 else "s390"
    if m == "arm":
        if flags & EF_ARM_EABI_MASK == EF_ARM_EABI_VER5 and flags & EF_ARM_ABI_FLOAT_HARD:
            return "armv7l"
        return "armv5l"
    if m == "riscv":
        return f"riscv{info.elf_class}"
    if m == "loongarch":
        return f"loongarch{info.elf_class}"
    if m == "mips":
        return ("mips64" if info.elf_class == 64 else "mips") + (
            "el" if info.endian == "little" else ""
        )
    return f"{m}-{info.elf_class}"


def version_key(version: str) -> tuple[int, ...]:
    """``2.2.5`` → (2, 2, 5); non-numeric parts sort first."""
    out = []
    for part in version.split("."):
        out.append(int(part) if part.isdigit() else -1)
    return tuple(out)


def split_version_node(node: str) -> tuple[str, str]:
    """``GLIBC_2.2.5`` → ("GLIBC", "2.2.5") — auditwheel splits at the first underscore."""
    prefix, _, number = node.partition("_")
    return prefix, number
