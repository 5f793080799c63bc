"""Build only what the builder can build, and check that what it built is what it says.

``rpmbuild --target aarch64`` on an x86_64 host sets rpm's macros for aarch64 but compiles
with the host's compiler: the result is an "aarch64" RPM full of x86-64 code. So:

- :func:`check_target_arch` refuses, before building, a target the builder cannot make on
  this host. rpmbuild makes the host's architecture and the ones the host runs natively
  (x86_64 also makes i686; every host makes noarch). mock makes a foreign architecture
  only with a config for it (``config_opts['target_arch']``) and qemu-user registered for it
  in binfmt_misc, which is how mock's ``--forcearch`` runs a foreign chroot.
- :func:`foreign_elf_members` reads every ELF member of a built RPM (the ELF header only,
  through the streaming payload reader) and names the files whose machine does not belong
  to the RPM's architecture header. noarch packages are left to rpm, which refuses ELF in
  them itself (``_binaries_in_noarch_packages_terminate_build``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from elforge.elf.reader import read_identity
from elforge.errors import FormatError, ToolError
from elforge.rpm.header import RpmHeader, read_header
from elforge.rpm.payload import iter_members

# host architecture -> target architectures rpmbuild makes natively on it
NATIVE_TARGETS: dict[str, frozenset[str]] = {
    "x86_64": frozenset({"x86_64", "i386", "i486", "i586", "i686", "athlon", "noarch"}),
    "aarch64": frozenset({"aarch64", "noarch"}),
    "ppc64le": frozenset({"ppc64le", "noarch"}),
    "s390x": frozenset({"s390x", "noarch"}),
    "riscv64": frozenset({"riscv64", "noarch"}),
}

# rpm architecture -> the ELF machines (and byte order) its packages may carry; 32-bit
# companions are allowed where the 64-bit architecture runs them (valgrind, multilib tools)
ELF_MACHINES: dict[str, tuple[frozenset[str], str]] = {
    "x86_64": (frozenset({"x86_64", "i386"}), "little"),
    "i686": (frozenset({"i386"}), "little"),
    "i586": (frozenset({"i386"}), "little"),
    "i386": (frozenset({"i386"}), "little"),
    "aarch64": (frozenset({"aarch64", "arm"}), "little"),
    "armv7hl": (frozenset({"arm"}), "little"),
    "ppc64le": (frozenset({"ppc64"}), "little"),
    "ppc64": (frozenset({"ppc64", "ppc"}), "big"),
    "s390x": (frozenset({"s390"}), "big"),
    "riscv64": (frozenset({"riscv"}), "little"),
    "loongarch64": (frozenset({"loongarch"}), "little"),
}
# machines any package may carry: no machine at all, and eBPF objects (EM_BPF = 247)
ANY_ARCH = frozenset({"none", "machine-247"})

BINFMT = Path("/proc/sys/fs/binfmt_misc")
MOCK_CONFIGS = Path("/etc/mock")
_TARGET_ARCH = re.compile(r"""config_opts\[\s*['"]target_arch['"]\s*\]\s*=\s*['"]([^'"]+)['"]""")


def host_arch() -> str:
    return os.uname().machine


def qemu_registered(arch: str) -> bool:
    """Is a qemu-user interpreter for ``arch`` registered (and enabled) in binfmt_misc?"""
    entry = BINFMT / f"qemu-{arch}"
    try:
        return entry.read_text(encoding="utf-8", errors="replace").startswith("enabled")
    except OSError:
        return False


def mock_target_arch(config: str) -> str | None:
    """``config_opts['target_arch']`` of a mock config (a path or a name in /etc/mock)."""
    path = Path(config)
    if not path.is_file():
        path = MOCK_CONFIGS / (config if config.endswith(".cfg") else f"{config}.cfg")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")[: 1 << 20]
    except OSError:
        return None
    found = _TARGET_ARCH.search(text)
    return found.group(1) if found else None


def check_target_arch(builder: str, arch: str | None, mock_config: str | None) -> None:
    """Refuse a target architecture this builder cannot build on this host."""
    host = host_arch()
    if arch is None or arch in NATIVE_TARGETS.get(host, frozenset({host, "noarch"})):
        return
    arch = arch[:40]  # as given on the command line: never echoed unbounded
    if builder != "mock":
        raise ToolError(
            f"rpmbuild on this {host} host cannot build {arch} (it would compile {host} code "
            f"into an {arch} package); use builder 'mock' with an {arch} config and "
            f"qemu-user registered for {arch}",
            subject="--arch",
        )
    config_arch = mock_target_arch(mock_config or "")
    if config_arch != arch:
        raise ToolError(
            f"mock config {mock_config!s:.100} builds {config_arch or 'an unknown arch'}, "
            f"not {arch}",
            subject="--arch",
        )
    if not qemu_registered(arch):
        raise ToolError(
            f"building {arch} on this {host} host needs qemu-user registered for {arch} "
            f"in {BINFMT} (qemu-user-static / qemu-user-binfmt)",
            subject="--arch",
        )


def foreign_elf_members(rpm: Path, header: RpmHeader | None = None) -> list[str]:
    """The ELF files of ``rpm`` whose machine does not match its architecture header,
    each as ``path (machine)``; empty for noarch, source and unknown architectures.
    ``header`` is ``rpm``'s header when the caller has read it already."""
    header = header or read_header(rpm)
    arch = header.nevra.arch
    if header.is_source or arch not in ELF_MACHINES:
        return []
    machines, endian = ELF_MACHINES[arch]
    foreign: list[str] = []
    for member, reader in iter_members(rpm):
        if reader is None or not member.is_reg:
            continue
        head = reader.read(20)
        if head[:4] != b"\x7fELF":
            continue
        try:
            ident = read_identity(head, name=member.path)
        except FormatError:
            foreign.append(f"/{member.path} (unreadable ELF header)")
            continue
        if ident.machine in ANY_ARCH:
            continue
        if ident.machine not in machines or ident.endian != endian:
            foreign.append(f"/{member.path} ({ident.machine}, {ident.endian}-endian)")
    return foreign
