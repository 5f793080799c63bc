"""Benchmark: peak memory of ``elforge abi diff`` on a large legitimate ELF file.

A shared library built with gcc gets a 300 MB section of random bytes (``objcopy
--add-section``: incompressible, so no decompression-ratio cap applies); it is compared with
itself as a directory, an uncompressed tarball and an RPM (rpmbuild, zstd level 2). Each run
is a child process; its peak RSS comes from ``wait4``. Figures: median peak RSS over the runs,
its ratio to the ELF file's size, and the anchor measured in the same run: the same command on
the same library without the big section (interpreter, imports and a small ELF).

    python bench/abi_memory.py [--size-mb N] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

LIB_C = "int answer(void) { return 42; }\nint twice(int x) { return 2 * x; }\n"
SPEC = """Name: big
Version: 1
Release: 1
Summary: a large shared library
License: MIT
%global debug_package %{nil}
%global __os_install_post %{nil}
%define _binary_payload w2.zstdio
%description
big
%install
mkdir -p %{buildroot}/usr/lib64
cp %{lib} %{buildroot}/usr/lib64/libbig.so.1
%files
/usr/lib64/libbig.so.1
"""


def build_library(work: Path, size_mb: int) -> Path:
    """libbig.so.1 with a ``size_mb`` MB ``.bigdata`` section (0: none)."""
    src = work / "big.c"
    src.write_text(LIB_C)
    lib = work / f"libbig-{size_mb}.so.1"
    subprocess.run(["gcc", "-shared", "-fPIC", "-Wl,-soname,libbig.so.1", "-o", str(lib),
                    str(src)], check=True)  # fmt: skip
    if size_mb:
        blob = work / "blob"
        with blob.open("wb") as fh:
            for _ in range(size_mb):
                fh.write(os.urandom(1 << 20))
        subprocess.run(["objcopy", "--add-section", f".bigdata={blob}", str(lib)], check=True)
        blob.unlink()
    return lib


def packages(work: Path, lib: Path) -> dict[str, Path]:
    """The library as a directory, an uncompressed tarball and an RPM."""
    tree = work / f"dir-{lib.name}"
    (tree / "usr/lib64").mkdir(parents=True)
    os.link(lib, tree / "usr/lib64/libbig.so.1")
    tar = work / f"{lib.name}.tar"
    with tarfile.open(tar, "w") as t:
        t.add(tree / "usr", arcname="usr")
    top = work / f"rpmbuild-{lib.name}"
    spec = work / "big.spec"
    spec.write_text(SPEC)
    subprocess.run(["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {top}",
                    "--define", f"lib {lib}", str(spec)], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    rpm = next((top / "RPMS").rglob("*.rpm"))
    return {"directory": tree, "tarball": tar, "rpm": rpm}


def peak_rss(package: Path) -> int:
    """Peak RSS (bytes) of ``elforge abi diff PACKAGE PACKAGE`` in a child process."""
    argv = [sys.executable, "-m", "elforge", "-q", "abi", "diff", str(package), str(package),
            "--no-cache", "--max-ratio", "0"]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"abi diff {package} exited {proc.returncode}: {err.decode()[-300:]}")
    return usage.ru_maxrss * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for tool in ("gcc", "objcopy", "rpmbuild"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed")
    with tempfile.TemporaryDirectory(prefix="elforge-bench-abi-memory-") as tmp:
        work = Path(tmp)
        small, big = build_library(work, 0), build_library(work, args.size_mb)
        size = big.stat().st_size
        print(f"ELF file: {size / 1e6:.0f} MB ({args.size_mb} MB random section); "
              f"anchor: the same library without it ({small.stat().st_size} bytes)")  # fmt: skip
        print(f"{'input':<10} {'anchor MB':>10} {'peak MB':>9} {'peak/anchor':>12} "
              f"{'peak/file':>10}")  # fmt: skip
        small_pkgs, big_pkgs = packages(work, small), packages(work, big)
        for kind, package in big_pkgs.items():
            anchor = statistics.median(peak_rss(small_pkgs[kind]) for _ in range(args.repeat))
            peak = statistics.median(peak_rss(package) for _ in range(args.repeat))
            print(f"{kind:<10} {anchor / 1e6:>10.1f} {peak / 1e6:>9.1f} {peak / anchor:>12.2f} "
                  f"{peak / size:>10.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
