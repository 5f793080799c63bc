"""The ELF reader on every class and byte order of the test data, and on bad input."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from elforge.abi.payload import iter_package
from elforge.elf.reader import read_elf, read_elf_file
from elforge.errors import FormatError
from helpers import require_tool

ARCH_PACKAGES = {
    "x86_64": ("abi/pkgdiff/nss/nss-3.24.0-1.0.fc23.x86_64.rpm", 64, "little", "x86_64"),
    "armv7hl": ("abi/pkgdiff/dbus-glib/dbus-glib-0.104-3.fc23.armv7hl.rpm", 32, "little", "arm"),
    "ppc64": ("abi/pkgdiff/selfcheck/libxfce4ui-devel-4.12.1-8.fc27.ppc64.rpm", 64, "big", "ppc64"),
    "i686": ("abi/fedabipkgdiff/packages/dbus-glib/0.106/1.fc23/i686/"
             "dbus-glib-0.106-1.fc23.i686.rpm", 32, "little", "i386"),
}  # fmt: skip


def _readelf_dynsyms(path: Path) -> set[str]:
    """Defined, versioned dynamic symbols as binutils' readelf prints them."""
    out = subprocess.run(["readelf", "--dyn-syms", "-W", str(path)], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    syms = set()
    for line in out.splitlines():
        # ppc64 ELFv2 adds "[<localentry>: 8]" between visibility and section index
        parts = re.sub(r"\[<localentry>: \d+\]", "", line).split()
        if (len(parts) >= 8 and parts[0].rstrip(":").isdigit() and parts[6] != "UND"
                and parts[3] != "SECTION"):  # fmt: skip
            syms.add(parts[7].split(" ")[0])
    return syms


@pytest.mark.parametrize("arch", sorted(ARCH_PACKAGES))
def test_reads_every_class_and_byte_order(testdata: Path, tmp_path: Path, arch: str) -> None:
    require_tool("readelf")
    rel, cls, endian, machine = ARCH_PACKAGES[arch]
    seen = 0
    for entry in iter_package(testdata / rel):
        if entry.data is None:
            continue
        info = read_elf(entry.data, name=entry.path)
        assert (info.elf_class, info.endian, info.machine) == (cls, endian, machine)
        if info.type != "DYN":
            continue
        seen += 1
        f = tmp_path / f"lib{seen}.so"
        f.write_bytes(entry.data)
        # readelf prints a version node's own marker symbol without the @@VERSION suffix
        ours = {s.name if s.name == s.version else s.id for s in info.symbols if s.defined}
        assert ours == _readelf_dynsyms(f), entry.path
        assert info.soname
        assert info.has_gnu_hash or arch in ("ppc64",)  # Fedora ppc64 of 2017 still DT_HASH+GNU
    assert seen


def test_reads_host_libc(tmp_path: Path) -> None:
    libc = next(p for p in (Path("/lib/x86_64-linux-gnu/libc.so.6"), Path("/lib64/libc.so.6"))
                if p.exists())  # fmt: skip
    info = read_elf_file(libc)
    assert info.soname == "libc.so.6"
    assert info.type == "DYN"
    assert info.build_id and len(info.build_id) == 40
    ids = {s.id for s in info.exported()}
    assert "memcpy@@GLIBC_2.14" in ids and "memcpy@GLIBC_2.2.5" in ids
    assert any(d.name == "GLIBC_PRIVATE" for d in info.version_defs)
    ls = read_elf_file(Path("/bin/ls"))
    assert ls.type == "PIE" and ls.interpreter and ls.interpreter.startswith("/lib")
    assert "libc.so.6" in ls.needed
    assert any(s.version == "GLIBC_2.2.5" and not s.defined for s in ls.symbols)


@pytest.mark.parametrize("cut", [3, 10, 63, 200, 4096])
def test_truncated_elf_is_a_format_error(cut: int) -> None:
    data = Path("/bin/ls").read_bytes()[:cut]
    with pytest.raises(FormatError) as err:
        read_elf(data, name="usr/bin/ls-truncated")
    assert "usr/bin/ls-truncated" in str(err.value)


def test_garbage_is_a_format_error() -> None:
    with pytest.raises(FormatError, match=r"garbage\.so"):
        read_elf(b"\x7fELF\x02\x01\x01" + b"\xff" * 57, name="garbage.so")
    with pytest.raises(FormatError, match="not an ELF"):
        read_elf(b"#!/bin/sh\n", name="script")


WHEEL_ARCHES = {
    "aarch64": (64, "little", "aarch64"),
    "armv5l": (32, "little", "arm"),
    "armv7l": (32, "little", "arm"),
    "i686": (32, "little", "i386"),
    "mips64": (64, "little", "mips"),  # the wheel is built for mips64el
    "ppc64le": (64, "little", "ppc64"),
    "riscv64": (64, "little", "riscv"),
    "s390x": (64, "big", "s390"),
    "x86_64": (64, "little", "x86_64"),
}


@pytest.mark.parametrize("arch", sorted(WHEEL_ARCHES))
def test_reads_wheel_extensions_of_every_arch(testdata: Path, tmp_path: Path, arch: str) -> None:
    """The small extension modules of the wheels test data: s390x and mips64 are big-endian."""
    import zipfile

    require_tool("readelf")
    wheel = (
        testdata / "wheels" / "bundled" / "glibc" / f"testsimple-0.0.1-cp313-cp313-linux_{arch}.whl"
    )
    with zipfile.ZipFile(wheel) as zf:
        sos = [n for n in zf.namelist() if n.endswith(".so")]
        assert sos
        for n in sos:
            data = zf.read(n)
            info = read_elf(data, name=n)
            assert (info.elf_class, info.endian, info.machine) == WHEEL_ARCHES[arch]
            assert info.type == "DYN"
            f = tmp_path / "ext.so"
            f.write_bytes(data)
            ours = {s.name if s.name == s.version else s.id for s in info.symbols if s.defined}
            assert ours == _readelf_dynsyms(f), n
            assert any(s.name.startswith("PyInit_") for s in info.exported())
            assert any(not s.defined and s.name.startswith("Py") for s in info.symbols)
