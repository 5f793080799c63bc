"""Synthetic "distributions" for the appcheck tests: DSOs with version scripts built with gcc,
packed with rpmbuild into two directories of RPMs (old lacks a version node new has), their
profiles, and test binaries that bind chosen symbol versions."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import require_tool

LIBX_C = "int x_one(void) { return 1; }\nint x_two(void) { return 2; }\n"
LIBX_OLD_MAP = "LIBX_1.0 { global: x_one; local: *; };\n"
LIBX_NEW_MAP = "LIBX_1.0 { global: x_one; local: *; };\nLIBX_2.0 { global: x_two; } LIBX_1.0;\n"

# A stand-in libc.so.6: old has memcpy only at GLIBC_2.2.5, new adds memcpy@@GLIBC_2.14.
FAKE_LIBC_OLD_C = "void *memcpy(void *d, const void *s, unsigned long n) { return d; }\n"
FAKE_LIBC_OLD_MAP = "GLIBC_2.2.5 { global: memcpy; local: *; };\n"
FAKE_LIBC_NEW_C = textwrap.dedent("""\
    void *memcpy_old(void *d, const void *s, unsigned long n) { return d; }
    void *memcpy_new(void *d, const void *s, unsigned long n) { return d; }
    __asm__(".symver memcpy_old,memcpy@GLIBC_2.2.5");
    __asm__(".symver memcpy_new,memcpy@@GLIBC_2.14");
    """)
FAKE_LIBC_NEW_MAP = "GLIBC_2.2.5 { local: memcpy_old; memcpy_new; };\nGLIBC_2.14 { } GLIBC_2.2.5;\n"

APP_OLD_C = textwrap.dedent("""\
    #include <string.h>
    __asm__(".symver memcpy,memcpy@GLIBC_2.2.5");
    int x_one(void);
    int app(char *d, const char *s, unsigned long n) { memcpy(d, s, n); return x_one(); }
    """)
APP_NEW_C = textwrap.dedent("""\
    #include <string.h>
    int x_one(void);
    int x_two(void);
    int app(char *d, const char *s, unsigned long n) { memcpy(d, s, n); return x_one() + x_two(); }
    """)


def gcc(out: Path, source: str, *args: str) -> Path:
    require_tool("gcc")
    src = out.with_suffix(".c")
    src.write_text(source)
    subprocess.run(["gcc", "-O1", "-fno-builtin", "-fPIC", "-o", str(out), str(src), *args],
                   check=True, capture_output=True)  # fmt: skip
    return out


def build_dso(work: Path, name: str, soname: str, source: str, vmap: str) -> Path:
    m = work / f"{name}.map"
    m.write_text(vmap)
    return gcc(work / name, source, "-shared", f"-Wl,-soname,{soname}",
               f"-Wl,--version-script,{m}", "-nostdlib")  # fmt: skip


def build_rpm(work: Path, name: str, version: str, files: dict[str, Path],
              links: dict[str, str], requires: tuple[str, ...] = ()) -> Path:  # fmt: skip
    """Pack ``files`` (install path -> file) and ``links`` (path -> target) with rpmbuild."""
    require_tool("rpmbuild")
    top = work / f"rpmbuild-{name}-{version}"
    for d in ("SPECS", "SOURCES", "BUILD", "RPMS", "SRPMS", "BUILDROOT"):
        (top / d).mkdir(parents=True, exist_ok=True)
    install, listing = [], []
    for i, (dest, src) in enumerate(sorted(files.items())):
        staged = top / "SOURCES" / f"f{i}"
        shutil.copy2(src, staged)
        install.append(f"install -D -m 0755 {staged} %{{buildroot}}{dest}")
        listing.append(dest)
    for dest, target in sorted(links.items()):
        install.append(f"ln -s {target} %{{buildroot}}{dest}")
        listing.append(dest)
    spec = (
        textwrap.dedent(f"""\
        Name: {name}
        Version: {version}
        Release: 1
        Summary: synthetic appcheck test package
        License: MIT
        AutoReqProv: no
        %global debug_package %{{nil}}
        %global __strip /bin/true
        %global __os_install_post %{{nil}}
        """)
        + "".join(f"Requires: {r}\n" for r in requires)
        + textwrap.dedent("""\
        %description
        synthetic
        %install
        """)
        + "\n".join(install)
        + "\n%files\n"
        + "\n".join(listing)
        + "\n"
    )
    spec_path = top / "SPECS" / f"{name}.spec"
    spec_path.write_text(spec)
    subprocess.run(
        ["rpmbuild", "-bb", "--define", f"_topdir {top}", "--define", "_build_id_links none",
         "--target", "x86_64", str(spec_path)],
        check=True, capture_output=True,
    )  # fmt: skip
    return next((top / "RPMS").rglob("*.rpm"))


@dataclass
class Distros:
    work: Path
    old_dir: Path  # directory of RPMs of the old "distribution"
    new_dir: Path
    old_libx: Path
    new_libx: Path
    old_libc: Path
    app_old: Path  # binds memcpy@GLIBC_2.2.5 and x_one@LIBX_1.0
    app_new: Path  # binds memcpy@GLIBC_2.14 and x_two@LIBX_2.0
    exe: Path  # a real executable (interpreter, __libc_start_main)


def _distro(work: Path, tag: str, version: str, libx: Path, libc: Path) -> Path:
    d = work / tag
    d.mkdir()
    rpms = [
        build_rpm(work, "libx", version, {"/usr/lib64/libx.so.1.0": libx},
                  {"/usr/lib64/libx.so.1": "libx.so.1.0"}),
        build_rpm(work, "fakelibc", "2.14" if tag == "new" else "2.2.5",
                  {"/usr/lib64/libc.so.6": libc}, {}),
    ]  # fmt: skip
    for rpm in rpms:
        shutil.copy2(rpm, d / rpm.name)
    return d


@pytest.fixture(scope="session", name="distros")
def distros_fixture(tmp_path_factory: pytest.TempPathFactory) -> Distros:
    work = tmp_path_factory.mktemp("appcheck-distros")
    old_libx = build_dso(work, "libx-old.so", "libx.so.1", LIBX_C, LIBX_OLD_MAP)
    new_libx = build_dso(work, "libx-new.so", "libx.so.1", LIBX_C, LIBX_NEW_MAP)
    old_libc = build_dso(work, "libc-old.so", "libc.so.6", FAKE_LIBC_OLD_C, FAKE_LIBC_OLD_MAP)
    new_libc = build_dso(work, "libc-new.so", "libc.so.6", FAKE_LIBC_NEW_C, FAKE_LIBC_NEW_MAP)
    link = work / "link"
    link.mkdir()
    shutil.copy2(new_libx, link / "libx.so")
    app_old = gcc(work / "app-old.so", APP_OLD_C, "-shared", f"-L{link}", "-lx")
    app_new = gcc(work / "app-new.so", APP_NEW_C, "-shared", f"-L{link}", "-lx")
    exe = gcc(work / "app-exe", "int main(void) { return 0; }\n")
    return Distros(
        work=work,
        old_dir=_distro(work, "old", "1.0", old_libx, old_libc),
        new_dir=_distro(work, "new", "2.0", new_libx, new_libc),
        old_libx=old_libx,
        new_libx=new_libx,
        old_libc=old_libc,
        app_old=app_old,
        app_new=app_new,
        exe=exe,
    )
