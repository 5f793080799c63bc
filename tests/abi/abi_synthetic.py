"""Synthetic packages for the ABI tests: shared libraries built with gcc, packed with rpmbuild."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from elforge.elf.reader import read_elf_file
from helpers import require_tool

BASE_C = """
#include "foo.h"
int foo_counter = 0;
char foo_table[16];
int foo_add(int a, int b) { return a + b; }
int foo_sub(int a, int b) { return a - b; }
int foo_new_api(void) { return 1; }
void foo_use(struct foo_s *s) { s->a = 1; }
"""
BASE_H = "struct foo_s { int a; };\nvoid foo_use(struct foo_s *s);\n"
BASE_MAP = "FOO_1.0 { global: foo_add; foo_sub; foo_counter; foo_table; foo_use; local: *; };\n"


def build_lib(
    work: Path,
    *,
    source: str = BASE_C,
    header: str = BASE_H,
    version_script: str | None = BASE_MAP,
    soname: str = "libfoo.so.1",
    cflags: tuple[str, ...] = (),
    debug: bool = False,
) -> Path:
    """Compile libfoo into ``work/out/<soname>``; return the file."""
    require_tool("gcc")
    work.mkdir(parents=True, exist_ok=True)
    (work / "foo.h").write_text(header)
    (work / "foo.c").write_text(source)
    args = ["gcc", "-shared", "-fPIC", "-O1", "-o", str(work / soname), str(work / "foo.c"),
            f"-Wl,-soname,{soname}", *cflags]  # fmt: skip
    args.append("-g" if debug else "-s")
    if version_script is not None:
        (work / "foo.map").write_text(version_script)
        args.append(f"-Wl,--version-script={work / 'foo.map'}")
    subprocess.run(args, check=True, capture_output=True, cwd=work)
    return work / soname


def build_rpm(
    work: Path,
    name: str,
    version: str,
    release: str,
    files: dict[str, Path],
    *,
    provides: tuple[str, ...] = (),
    debuginfo: dict[str, Path] | None = None,
) -> tuple[Path, Path | None]:
    """Pack ``files`` (install path -> local file) into a noarch-less RPM with rpmbuild.

    With ``debuginfo`` (path -> unstripped file), a second RPM ``<name>-debuginfo`` holds
    them under /usr/lib/debug as the distributions ship it.
    """
    require_tool("rpmbuild")
    top = work / f"rpmbuild-{name}-{version}-{release}"
    for d in ("SPECS", "SOURCES", "BUILD", "RPMS", "SRPMS", "BUILDROOT"):
        (top / d).mkdir(parents=True, exist_ok=True)
    install = []
    listing = []
    for i, (dest, src) in enumerate(sorted(files.items())):
        staged = top / "SOURCES" / f"f{i}"
        shutil.copy2(src, staged)
        install.append(f"install -D -m 0755 {staged} %{{buildroot}}{dest}")
        listing.append(dest)
    dbg_block = ""
    if debuginfo:
        dbg_install = []
        dbg_list = []
        for i, (dest, src) in enumerate(sorted(debuginfo.items())):
            staged = top / "SOURCES" / f"d{i}"
            shutil.copy2(src, staged)
            dbg_install.append(f"install -D -m 0644 {staged} %{{buildroot}}{dest}")
            dbg_list.append(dest)
        install += dbg_install
        dbg_block = (
            "%package debuginfo\nSummary: debug\n%description debuginfo\ndebug\n"
            "%files debuginfo\n" + "\n".join(dbg_list) + "\n"
        )
    spec = textwrap.dedent(f"""\
        Name: {name}
        Version: {version}
        Release: {release}
        Summary: synthetic ABI test package
        License: MIT
        AutoReqProv: no
        %global debug_package %{{nil}}
        %global __strip /bin/true
        %global __brp_strip /bin/true
        %global __os_install_post %{{nil}}
        """)
    for p in provides:
        spec += f"Provides: {p}\n"
    spec += "%description\nsynthetic\n%install\n" + "\n".join(install) + "\n"
    spec += "%files\n" + "\n".join(listing) + "\n" + dbg_block
    spec_path = top / "SPECS" / f"{name}.spec"
    spec_path.write_text(spec)
    subprocess.run(
        ["rpmbuild", "-bb", "--define", f"_topdir {top}", "--define", "_build_id_links none",
         "--target", "x86_64", str(spec_path)],
        check=True, capture_output=True,
    )  # fmt: skip
    rpms = sorted((top / "RPMS").rglob("*.rpm"))
    main = next(p for p in rpms if "-debuginfo-" not in p.name)
    dbg = next((p for p in rpms if "-debuginfo-" in p.name), None)
    return main, dbg


@pytest.fixture(scope="session", name="make_pkg")
def make_pkg_fixture(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., tuple[Path, Path | None]]:
    """Build a libfoo RPM variant: ``make_pkg(tag, version, **lib_kwargs)``."""
    root = tmp_path_factory.mktemp("abi-synthetic")
    built: dict[str, tuple[Path, Path | None]] = {}

    def make(tag: str, version: str = "1.0", *, debug: bool = False, **kwargs: object):
        key = f"{tag}-{version}-{debug}"
        if key in built:
            return built[key]
        work = root / key
        soname = str(kwargs.get("soname", "libfoo.so.1"))
        if debug:
            lib = build_lib(work / "dbg", debug=True, **kwargs)  # type: ignore[arg-type]
            stripped = work / "strip" / soname
            stripped.parent.mkdir(parents=True)
            subprocess.run(["objcopy", "--only-keep-debug", str(lib), str(work / "lib.debug")],
                           check=True)  # fmt: skip
            subprocess.run(["objcopy", "--strip-debug", "--strip-unneeded",
                            f"--add-gnu-debuglink={work / 'lib.debug'}", str(lib),
                            str(stripped)], check=True)  # fmt: skip
            # abidiff (elfutils) finds separate debug info by build-id under --d1/--d2
            build_id = read_elf_file(stripped).build_id
            assert build_id, "gcc did not emit a build-id"
            debuginfo = {
                f"/usr/lib/debug/.build-id/{build_id[:2]}/{build_id[2:]}.debug": work / "lib.debug"
            }
            lib = stripped
        else:
            lib = build_lib(work, **kwargs)  # type: ignore[arg-type]
            debuginfo = None
        result = build_rpm(
            work, f"libfoo-{tag}", version, "1",
            {f"/usr/lib64/{soname}": lib},
            provides=(f"{soname}()(64bit)",), debuginfo=debuginfo,
        )  # fmt: skip
        built[key] = result
        return result

    return make
