"""Decompression bombs: a zero-filled ELF member in an RPM built by rpmbuild, a tarball of
zeros. ``abi diff`` and ``rpm extract`` refuse them by size and ratio, naming the member,
without reading them into memory (peak RSS measured in the child)."""

from __future__ import annotations

import resource
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

from helpers import require_tool

pytestmark = [pytest.mark.system, pytest.mark.slow]
ELFORGE = Path(sys.executable).parent / "elforge"
BOMB_BYTES = 600 << 20  # zeros behind an ELF magic: compresses to a few hundred KB
RSS_LIMIT_KB = 300 << 10

SPEC = """\
Name: bomb
Version: 1
Release: 1
Summary: a zero-filled ELF member
License: MIT
BuildArch: x86_64
%global debug_package %{{nil}}
%global __os_install_post %{{nil}}
%global _binary_payload w19.zstdio
%description
bomb
%install
mkdir -p %{{buildroot}}/usr/lib64
printf '\\177ELF' > %{{buildroot}}/usr/lib64/libbomb.so.1
truncate -s {size} %{{buildroot}}/usr/lib64/libbomb.so.1
%files
/usr/lib64/libbomb.so.1
"""


@pytest.fixture(scope="module")
def bomb_rpm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tool("rpmbuild")
    top = tmp_path_factory.mktemp("bomb-rpm")
    spec = top / "bomb.spec"
    spec.write_text(textwrap.dedent(SPEC.format(size=BOMB_BYTES)))
    done = subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", str(spec)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    (rpm,) = (top / "RPMS").rglob("*.rpm")
    assert rpm.stat().st_size < 2 << 20
    return rpm


def _zeros_tarball(path: Path) -> Path:
    class Zeros:
        def __init__(self) -> None:
            self.left = BOMB_BYTES

        def read(self, n: int = -1) -> bytes:
            n = min(self.left, 1 << 20 if n < 0 else n)
            self.left -= n
            return (b"\x7fELF" + bytes(n - 4)) if self.left + n == BOMB_BYTES else bytes(n)

    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo("usr/lib64/libzero.so.1")
        info.size = BOMB_BYTES
        tar.addfile(info, Zeros())  # type: ignore[arg-type]
    return path


def _measured(*args: str) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run elforge in a child; its result and peak RSS in KiB."""
    probe = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stdout.write(p.stdout); sys.stderr.write(p.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(p.returncode)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(ELFORGE), *args],
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    *lines, rss = done.stderr.strip().splitlines()
    done.stderr = "\n".join(lines)
    return done, int(rss)


def _one_line_naming(done: subprocess.CompletedProcess[str], member: str) -> str:
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])
    lines = [line for line in done.stderr.splitlines() if line.startswith("error")]
    assert len(lines) == 1 and member in lines[0], done.stderr[-2000:]
    return lines[0]


def test_abi_diff_refuses_a_zero_filled_elf_member(bomb_rpm: Path) -> None:
    done, rss = _measured("abi", "diff", str(bomb_rpm), str(bomb_rpm), "--no-cache")
    line = _one_line_naming(done, "libbomb.so.1")
    assert "ratio" in line or "limit" in line
    assert rss < RSS_LIMIT_KB, f"peak RSS {rss} KiB"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0


def test_abi_diff_refuses_a_tarball_of_zeros(tmp_path: Path) -> None:
    tarball = _zeros_tarball(tmp_path / "zeros.tar.gz")
    done, rss = _measured("abi", "diff", str(tarball), str(tarball), "--no-cache")
    _one_line_naming(done, "libzero.so.1")
    assert rss < RSS_LIMIT_KB, f"peak RSS {rss} KiB"
    # the caps are options: without the ratio cap, the ELF size cap still names the member
    done, rss = _measured(
        "abi",
        "diff",
        str(tarball),
        str(tarball),
        "--no-cache",
        "--max-ratio",
        "0",
        "--max-elf-size",
        str(64 << 20),
    )
    line = _one_line_naming(done, "libzero.so.1")
    assert "over the 67108864-byte limit" in line and rss < RSS_LIMIT_KB


def test_rpm_extract_caps_what_it_writes(bomb_rpm: Path, tmp_path: Path) -> None:
    done, _ = _measured("rpm", "extract", str(bomb_rpm), str(tmp_path / "out"))
    _one_line_naming(done, "libbomb.so.1")
    written = sum(p.stat().st_size for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written < 64 << 20
    # the cap is an option: raised, the same package extracts
    done, _ = _measured("rpm", "extract", str(bomb_rpm), str(tmp_path / "all"),
                        "--max-ratio", "0")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "all" / "usr/lib64/libbomb.so.1").stat().st_size == BOMB_BYTES


def test_abi_diff_maps_a_large_legitimate_elf_instead_of_reading_it(tmp_path: Path) -> None:
    """A real DSO with a 256 MiB section (within every cap) is compared with itself; the
    ELF reader maps a spooled copy, so peak RSS stays far below the file's size."""
    require_tool("gcc", "objcopy")
    src = tmp_path / "big.c"
    src.write_text("int answer(void) { return 42; }\n")
    tree = tmp_path / "pkg" / "usr" / "lib64"
    tree.mkdir(parents=True)
    lib = tree / "libbig.so.1"
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libbig.so.1", "-o", str(lib),
                    str(src)], check=True)  # fmt: skip
    blob = tmp_path / "blob"
    with blob.open("wb") as fh:
        fh.truncate(256 << 20)
    subprocess.run(["objcopy", "--add-section", f".bigdata={blob}", str(lib)], check=True)
    assert lib.stat().st_size > 256 << 20
    pkg = str(tmp_path / "pkg")
    done, rss = _measured("abi", "diff", pkg, pkg, "--no-cache", "-f", "json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert '"soname": "libbig.so.1"' in done.stdout.replace('":"', '": "')
    assert rss < 160 << 10, f"peak RSS {rss} KiB for a {lib.stat().st_size}-byte ELF"
