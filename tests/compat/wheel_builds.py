"""Wheels built by the tests with gcc: extension modules that exercise each of auditwheel's
rules (libpython, blacklisted and weak symbols, fpectl and UCS2 builds, ISA levels, bundled
libraries with their own version nodes, files of another architecture, purelib)."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest
from compat_builds import build_dso, gcc

from helpers import TESTDATA, require_tool

TAG = "cp311-cp311-linux_x86_64"
EXT = "cpython-311-x86_64-linux-gnu.so"

PY3_MODULE = """
void *PyModule_Create2(void *def, int api);
static char def[128];
void *PyInit_{mod}(void) {{ return PyModule_Create2(def, 1013); }}
"""


def make_wheel(out_dir: Path, name: str, members: dict[str, Path], tag: str = TAG) -> Path:
    """A wheel file (zip) with ``members`` (archive name -> file) and its dist-info."""
    wheel = out_dir / f"{name}-0.1-{tag}.whl"
    info = f"{name}-0.1.dist-info"
    meta = {
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: elforge-tests\n"
        f"Root-Is-Purelib: false\nTag: {tag}\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n",
    }
    with zipfile.ZipFile(wheel, "w") as zf:
        for arc, path in members.items():
            zf.write(path, arc)
        for arc, text in meta.items():
            zf.writestr(arc, text)
        zf.writestr(
            f"{info}/RECORD", "".join(f"{a},,\n" for a in [*members, *meta]) + f"{info}/RECORD,,\n"
        )
    return wheel


def _ext(work: Path, mod: str, source: str, *args: str) -> Path:
    return gcc(work / f"{mod}.{EXT}", source, "-shared", *args)


def _libpython_args() -> list[str]:
    """``-lpython3.X`` of the system's Python (its shared libpython: Debian libpython3-dev)."""
    require_tool("python3")
    proc = subprocess.run(
        ["python3", "-c", "import sysconfig; print(sysconfig.get_config_var('LDVERSION'))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [f"-lpython{proc.stdout.strip()}"]


def build_wheels(work: Path) -> dict[str, Path]:
    """Every rule's wheel, by a short name."""
    require_tool("gcc")
    work.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    mod = PY3_MODULE.format(mod="withpy")
    try:
        ext = _ext(work, "withpy", mod, *_libpython_args())
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"cannot link against libpython (install libpython3-dev): {exc.stderr}")
    out["libpython"] = make_wheel(work, "withpy", {ext.name: ext})

    # zcalloc strongly, zcfree weakly: auditwheel counts strong references only
    src = PY3_MODULE.format(mod="zban") + (
        "void *zcalloc(void *o, unsigned i, unsigned s);\n"
        "extern void zcfree(void *o, void *p) __attribute__((weak));\n"
        "void *use(void) { if (zcfree) zcfree(0, 0); return zcalloc(0, 1, 1); }\n"
    )
    ext = _ext(work, "zban", src, "-Wl,--no-as-needed", "-l:libz.so.1")
    out["blacklisted"] = make_wheel(work, "zban", {ext.name: ext})

    src = PY3_MODULE.format(mod="fpe") + "extern int PyFPE_dummy(void *);\n"
    src += "int use(void) { return PyFPE_dummy(0); }\n"
    ext = _ext(work, "fpe", src)
    out["fpectl"] = make_wheel(work, "fpe", {ext.name: ext})

    src = "void *Py_InitModule4_64(const char *n, void *m, const char *d, void *s, int v);\n"
    src += "int PyUnicodeUCS2_GetMax(void);\n"
    src += "unsigned long strlen(const char *s);\n"  # libc.so.6 tells auditwheel the libc
    src += "void initnarrow(void) {\n"
    src += '  Py_InitModule4_64("narrow", 0, 0, 0, PyUnicodeUCS2_GetMax() + strlen("x"));\n}\n'
    ext = gcc(work / "narrow.so", src, "-shared")
    out["ucs2"] = make_wheel(work, "narrow", {"narrow.so": ext}, tag="cp27-cp27mu-linux_x86_64")

    ext = _ext(work, "fast", PY3_MODULE.format(mod="fast"), "-Wl,-z,x86-64-v3")
    out["isa-v3"] = make_wheel(work, "fast", {ext.name: ext})

    # a bundled library with a version node whose prefix the policies constrain (ZLIB)
    libs = work / "libs"
    libs.mkdir()
    bundled = build_dso(libs, "libzown.so.1", "libzown.so.1", "int zown(void) { return 1; }\n",
                        "ZLIB_1.2.99 { global: zown; local: *; };\n")  # fmt: skip
    src = PY3_MODULE.format(mod="ownz") + "int zown(void);\nint use(void) { return zown(); }\n"
    ext = _ext(work, "ownz", src, f"-L{libs}", "-l:libzown.so.1", "-Wl,-rpath,$ORIGIN/ownz.libs")
    out["bundled-version"] = make_wheel(
        work, "ownz", {ext.name: ext, "ownz.libs/libzown.so.1": bundled}
    )

    # an aarch64 extension (from the test data) in an x86_64 wheel: auditwheel ignores it
    foreign = TESTDATA / "wheels/bundled/glibc/testsimple-0.0.1-cp313-cp313-linux_aarch64.whl"
    with zipfile.ZipFile(foreign) as zf:
        so = next(n for n in zf.namelist() if n.endswith(".so"))
        (work / "foreign.so").write_bytes(zf.read(so))
    ext = _ext(work, "mixed", PY3_MODULE.format(mod="mixed"))
    out["other-arch"] = make_wheel(
        work, "mixed", {ext.name: ext, "mixed/foreign.cpython-313-aarch64-linux-gnu.so":
                        work / "foreign.so"}
    )  # fmt: skip

    ext = _ext(work, "pure", PY3_MODULE.format(mod="pure"))
    out["purelib"] = make_wheel(work, "pure", {f"pure-0.1.data/purelib/{ext.name}": ext})
    return out
