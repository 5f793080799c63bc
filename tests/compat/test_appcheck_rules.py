"""The resolver's rules on small gcc-built trees profiled as installed roots."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from compat_builds import build_dso, gcc

from elforge.elf.reader import read_elf_file
from helpers import run_cli

pytestmark = [pytest.mark.system]


def make_root(tmp_path: Path, libs: dict[str, Path], *, merged_usr: bool = False) -> Path:
    """An installed root with ``libs`` (file name -> DSO) in usr/lib64; with ``merged_usr``
    /lib64 is a symlink to usr/lib64 as on current distributions."""
    root = tmp_path / "root"
    (root / "usr/lib64").mkdir(parents=True)
    if merged_usr:
        os.symlink("usr/lib64", root / "lib64")
    for name, src in libs.items():
        shutil.copy2(src, root / "usr/lib64" / name)
    return root


def check(target: Path, against: Path) -> tuple[int, dict]:
    r = run_cli("-q", "appcheck", str(target), "--against", str(against), "--format", "json")
    assert r.exit_code in (0, 8), r.stderr
    return r.exit_code, json.loads(r.stdout)


def test_versioned_symbol_binds_anywhere_in_scope(tmp_path: Path) -> None:
    """Like glibc's libpthread.so.0 stub: the needed file defines the version node, the
    symbol itself comes from a library it pulls in."""
    link = tmp_path / "link"
    link.mkdir()
    src = "int f(void) { return 1; }\n"
    build_dso(link, "libstub.so", "libstub.so.1", src, "STUB_1 { global: f; local: *; };\n")
    app = gcc(tmp_path / "app.so", "int f(void);\nint g(void) { return f(); }\n", "-shared",
              "-nostdlib", f"-L{link}", "-lstub")  # fmt: skip
    assert [(s.name, s.version) for s in read_elf_file(app).symbols if s.name == "f"] == [
        ("f", "STUB_1")
    ]
    impl = build_dso(tmp_path, "libimpl.so.1", "libimpl.so.1", src,
                     "STUB_1 { global: f; local: *; };\n")  # fmt: skip
    # the runtime stub: the version node, no f, and DT_NEEDED libimpl.so.1
    stub_map = tmp_path / "stub.map"
    stub_map.write_text("STUB_1 { global: stub_marker; local: *; };\n")
    stub = gcc(tmp_path / "libstub-rt.so", "int stub_marker;\n", "-shared", "-nostdlib",
               "-Wl,-soname,libstub.so.1", f"-Wl,--version-script,{stub_map}",
               "-Wl,--no-as-needed", str(impl))  # fmt: skip
    assert read_elf_file(stub).needed == ("libimpl.so.1",)
    root = make_root(tmp_path, {"libstub.so.1": stub, "libimpl.so.1": impl}, merged_usr=True)
    code, doc = check(app, root)
    assert code == 0, doc["targets"][0]["missing"]

    (root / "usr/lib64/libimpl.so.1").unlink()
    code, doc = check(app, root)
    assert code == 8
    assert {(m["symbol"], m["version"], m["reason"]) for m in doc["targets"][0]["missing"]} == {
        ("f", "STUB_1", "symbol-missing")
    }


def test_private_version_is_a_warning_and_weak_undefined_is_info(tmp_path: Path) -> None:
    lib = build_dso(tmp_path, "libp.so.1", "libp.so.1", "int p_priv(void) { return 1; }\n",
                    "GLIBC_PRIVATE { global: p_priv; local: *; };\n")  # fmt: skip
    app = gcc(tmp_path / "app.so",
              "int p_priv(void);\n__attribute__((weak)) int maybe(void);\n"
              "int g(void) { return p_priv() + (maybe ? maybe() : 0); }\n",
              "-shared", "-nostdlib", str(lib))  # fmt: skip
    root = make_root(tmp_path, {"libp.so.1": lib})
    code, doc = check(app, root)
    assert code == 0
    by_code = {f["code"]: f for f in doc["targets"][0]["findings"]}
    assert by_code["appcheck.private-version"]["severity"] == "VERIFY"
    assert "p_priv" in by_code["appcheck.private-version"]["message"]
    assert by_code["appcheck.weak-undefined"]["severity"] == "INFO"
    assert by_code["appcheck.weak-undefined"]["subject"] == "maybe"


def test_strong_unversioned_symbol_must_exist(tmp_path: Path) -> None:
    lib = build_dso(tmp_path, "libq.so.1", "libq.so.1", "int q(void) { return 1; }\n",
                    "{ global: q; local: *; };\n")  # fmt: skip
    src = "int q(void);\nint nowhere(void);\nint g(void) { return q() + nowhere(); }\n"
    app = gcc(tmp_path / "app.so", src, "-shared", "-nostdlib", str(lib))
    code, doc = check(app, make_root(tmp_path, {"libq.so.1": lib}))
    assert code == 8
    assert [(m["symbol"], m["reason"]) for m in doc["targets"][0]["missing"]] == [
        ("nowhere", "symbol-missing")
    ]


def test_isa_level_must_fit(tmp_path: Path) -> None:
    lib = build_dso(tmp_path, "libq.so.1", "libq.so.1", "int q(void) { return 1; }\n",
                    "{ global: q; local: *; };\n")  # fmt: skip
    app = gcc(tmp_path / "app.so", "int g(void) { return 0; }\n", "-shared", "-nostdlib",
              "-Wl,-z,x86-64-v3")  # fmt: skip
    if read_elf_file(app).x86_isa_needed != 3:
        pytest.fail("the linker did not mark x86-64-v3 (binutils >= 2.38 needed)")
    code, doc = check(app, make_root(tmp_path, {"libq.so.1": lib}))
    assert code == 8
    finding = next(f for f in doc["targets"][0]["findings"] if f["code"] == "appcheck.isa-level")
    assert "x86-64-v3" in finding["message"]


def test_machine_must_fit(tmp_path: Path, testdata: Path) -> None:
    lib = build_dso(tmp_path, "libq.so.1", "libq.so.1", "int q(void) { return 1; }\n",
                    "{ global: q; local: *; };\n")  # fmt: skip
    wheel = testdata / "wheels/bundled/glibc/testsimple-0.0.1-cp313-cp313-linux_aarch64.whl"
    code, doc = check(wheel, make_root(tmp_path, {"libq.so.1": lib}))
    assert code == 8
    finding = doc["targets"][0]["findings"][0]
    assert finding["code"] == "appcheck.machine" and "aarch64" in finding["message"]


def test_rpath_is_inherited_and_lone_files_see_their_origin(tmp_path: Path) -> None:
    """bin/prog has DT_RPATH $ORIGIN/../lib; lib/liba.so.1 needs lib/libb.so.1 and has no
    RPATH of its own: ld.so finds libb through prog's RPATH. A lone ELF file's $ORIGIN is
    its directory on disk."""
    app = tmp_path / "app"
    (app / "lib").mkdir(parents=True)
    (app / "bin").mkdir()
    libb = build_dso(app / "lib", "libb.so.1", "libb.so.1", "int b(void) { return 2; }\n",
                     "B_1 { global: b; local: *; };\n")  # fmt: skip
    liba = gcc(app / "lib" / "liba.so.1", "int b(void);\nint a(void) { return b(); }\n",
               "-shared", "-nostdlib", "-Wl,-soname,liba.so.1", str(libb))  # fmt: skip
    assert read_elf_file(liba).rpath == () and read_elf_file(liba).needed == ("libb.so.1",)
    gcc(app / "bin" / "prog.so", "int a(void);\nint main_(void) { return a(); }\n", "-shared",
        "-nostdlib", str(liba), "-Wl,-rpath,$ORIGIN/../lib", "-Wl,--disable-new-dtags")  # fmt: skip
    prog = app / "bin" / "prog.so"
    assert read_elf_file(prog).rpath == ("$ORIGIN/../lib",)
    other = build_dso(tmp_path, "libq.so.1", "libq.so.1", "int q(void) { return 1; }\n",
                      "{ global: q; local: *; };\n")  # fmt: skip
    empty = make_root(tmp_path, {"libq.so.1": other})  # nothing the application needs
    code, doc = check(app, empty)
    assert code == 0, doc["targets"][0]["missing"]
    assert doc["targets"][0]["bundled_libraries"] == ["liba.so.1", "libb.so.1"]
    # the lone file finds liba beside it (../lib) and libb through its inherited RPATH
    code, doc = check(prog, empty)
    assert code == 0, doc["targets"][0]["missing"]
    # with DT_RUNPATH instead, nothing is inherited: liba cannot find libb
    gcc(prog, "int a(void);\nint main_(void) { return a(); }\n", "-shared", "-nostdlib",
        str(liba), "-Wl,-rpath,$ORIGIN/../lib", "-Wl,--enable-new-dtags")  # fmt: skip
    code, doc = check(app, empty)
    assert code == 8
    assert [(m["file"], m["library"]) for m in doc["targets"][0]["missing"]] == [
        ("lib/liba.so.1", "libb.so.1")
    ]
