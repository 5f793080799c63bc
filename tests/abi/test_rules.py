"""Synthetic pairs built with gcc and rpmbuild: each ABI rule gives its verdict and finding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from abi_synthetic import (
    BASE_C,
    BASE_MAP,
    make_pkg_fixture,  # noqa: F401  (registers the make_pkg fixture)
)

from elforge.abi.diff import DiffOptions, PackageSet, compare_packages
from elforge.abi.model import EXIT_ABI_CHANGE, EXIT_ERROR, EXIT_INCOMPATIBLE, Verdict
from helpers import run_cli

pytestmark = [pytest.mark.system, pytest.mark.slow]


def _diff(old: Path, new: Path, **kw: object):  # type: ignore[no-untyped-def]
    return compare_packages(PackageSet(old), PackageSet(new), DiffOptions(types="off", **kw))  # type: ignore[arg-type]


def _codes(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for f in result.all_findings()}


def test_identical_rebuild(make_pkg) -> None:  # type: ignore[no-untyped-def]
    old, _ = make_pkg("base")
    r = _diff(old, old)
    assert r.verdict is Verdict.identical
    assert r.exit_code == 0


def test_symbol_removed_is_incompatible(make_pkg) -> None:  # type: ignore[no-untyped-def]
    old, _ = make_pkg("base")
    new, _ = make_pkg("nosub", source=BASE_C.replace("int foo_sub", "static int foo_sub"),
                      version_script=BASE_MAP.replace(" foo_sub;", ""))  # fmt: skip
    r = _diff(old, new)
    assert r.verdict is Verdict.incompatible
    (b,) = r.binaries
    assert [s.id for s in b.removed_symbols] == ["foo_sub@@FOO_1.0"]
    assert "abi.symbol-removed" in _codes(r)
    assert r.exit_code & (EXIT_ABI_CHANGE | EXIT_INCOMPATIBLE) == 12


def test_symbol_added_is_compatible(make_pkg) -> None:  # type: ignore[no-untyped-def]
    old, _ = make_pkg("base")
    new, _ = make_pkg("added", version_script=BASE_MAP.replace("foo_use;", "foo_use; foo_new_api;"))
    r = _diff(old, new)
    assert r.verdict is Verdict.compatible
    (b,) = r.binaries
    assert [s.id for s in b.added_symbols] == ["foo_new_api@@FOO_1.0"]
    assert r.exit_code & EXIT_ABI_CHANGE and not r.exit_code & EXIT_INCOMPATIBLE


def test_version_node_removed_is_incompatible(make_pkg) -> None:  # type: ignore[no-untyped-def]
    two_nodes = ("FOO_1.0 { global: foo_add; foo_counter; foo_table; foo_use; local: *; };\n"
                 "FOO_1.1 { global: foo_sub; } FOO_1.0;\n")  # fmt: skip
    old, _ = make_pkg("twonodes", version_script=two_nodes)
    new, _ = make_pkg("base")
    r = _diff(old, new)
    assert r.verdict is Verdict.incompatible
    assert "abi.version-node-removed" in _codes(r)
    (b,) = r.binaries
    assert "foo_sub@@FOO_1.1" in {s.id for s in b.removed_symbols}


def test_soname_bump_is_incompatible(make_pkg) -> None:  # type: ignore[no-untyped-def]
    old, _ = make_pkg("base")
    new, _ = make_pkg("bump", soname="libfoo.so.2")
    r = _diff(old, new)
    assert r.verdict is Verdict.incompatible
    codes = _codes(r)
    assert "abi.soname-changed" in codes
    assert "pkg.soname-provide-removed" in codes


def test_data_object_resized_is_incompatible(make_pkg) -> None:  # type: ignore[no-untyped-def]
    old, _ = make_pkg("base")
    new, _ = make_pkg("resized", source=BASE_C.replace("foo_table[16]", "foo_table[32]"))
    r = _diff(old, new)
    assert r.verdict is Verdict.incompatible
    (b,) = r.binaries
    assert [(s.id, s.detail) for s in b.changed_symbols] == [
        ("foo_table@@FOO_1.0", "size 16 -> 32")
    ]
    assert "abi.object-resized" in _codes(r)


def test_isa_level_raised_is_incompatible(make_pkg) -> None:  # type: ignore[no-untyped-def]
    old, _ = make_pkg("base")
    new, _ = make_pkg("v3", cflags=("-march=x86-64-v3", "-mneeded"))
    r = _diff(old, new)
    assert r.verdict is Verdict.incompatible
    f = next(f for f in r.all_findings() if f.code == "abi.isa-level-raised")
    assert "x86-64-v3" in f.message


def test_private_version_nodes_suppressed_by_default(make_pkg) -> None:  # type: ignore[no-untyped-def]
    with_private = BASE_MAP + "FOO_PRIVATE { global: foo_new_api; } FOO_1.0;\n"
    old, _ = make_pkg("private", version_script=with_private)
    new, _ = make_pkg("base")
    (b,) = _diff(old, new).binaries
    assert b.findings == [] and b.verdict is Verdict.identical and not b.removed_symbols
    raw = _diff(old, new, default_suppressions=False)
    assert "abi.symbol-removed" in _codes(raw) and "abi.version-node-removed" in _codes(raw)


def test_suppression_file_applies_to_elf_layer(make_pkg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    old, _ = make_pkg("base")
    new, _ = make_pkg("nosub", source=BASE_C.replace("int foo_sub", "static int foo_sub"),
                      version_script=BASE_MAP.replace(" foo_sub;", ""))  # fmt: skip
    supp = tmp_path / "foo.abignore"
    supp.write_text(
        "[suppress_function]\n  symbol_name_regexp = ^foo_s\n  change_kind = deleted-function\n"
    )
    r = _diff(old, new, suppression_files=[supp])
    (b,) = r.binaries
    assert b.findings == [] and not b.removed_symbols and b.verdict is Verdict.identical
    assert r.verdict is not Verdict.incompatible
    # the same file, with a rule that does not match, leaves the removal in place
    supp.write_text("[suppress_function]\n  symbol_name = foo_add\n")
    assert "abi.symbol-removed" in _codes(_diff(old, new, suppression_files=[supp]))


def test_struct_layout_change_through_debuginfo(make_pkg) -> None:  # type: ignore[no-untyped-def]
    old, dbg1 = make_pkg("typed", debug=True)
    new, dbg2 = make_pkg(
        "typed2",
        debug=True,
        header="struct foo_s { int a; long b; };\nvoid foo_use(struct foo_s *s);\n",
    )
    assert dbg1 and dbg2
    r = compare_packages(
        PackageSet(old, [dbg1]), PackageSet(new, [dbg2]), DiffOptions(types="auto")
    )
    assert r.type_layer.startswith("abidiff")
    (b,) = r.binaries
    assert b.type_layer is not None
    changed = [c for c in b.type_layer["changes"] if c["change"] == "changed"]
    assert any("foo_use" in c["decl"] for c in changed), b.type_layer["report"]
    f = next(f for f in b.findings if f.code == "type.function-changed")
    assert "size changed" in f.message
    assert r.verdict is Verdict.incompatible


def test_cli_json_contract(make_pkg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    old, _ = make_pkg("base")
    new, _ = make_pkg("nosub", source=BASE_C.replace("int foo_sub", "static int foo_sub"),
                      version_script=BASE_MAP.replace(" foo_sub;", ""))  # fmt: skip
    out = tmp_path / "diff.json"
    res = run_cli("abi", "diff", str(old), str(new), "--format", "json", "-o", str(out),
                  "--cache-dir", str(tmp_path / "cache"))  # fmt: skip
    assert res.exit_code & 12 == 12, res.stderr
    doc = json.loads(out.read_text())
    assert doc["schema"] == "elforge.abi-diff/1"
    assert doc["exit_code"] == res.exit_code
    assert doc["verdict"] == "incompatible"
    assert doc["old"]["nevra"] == "libfoo-base-1.0-1.x86_64" and doc["old"]["file"] == str(old)
    (b,) = doc["binaries"]
    assert b["soname"] == "libfoo.so.1" and b["verdict"] == "incompatible"
    removed = b["removed_symbols"][0]
    assert (removed["name"], removed["version"], removed["kind"]) == ("foo_sub", "FOO_1.0", "FUNC")
    assert {"removed_binaries", "added_binaries", "findings", "added_symbols",
            "changed_symbols"} <= set(doc) | set(b)  # fmt: skip
    # every format renders; the cached rerun gives the same answer
    for fmt in ("text", "sarif", "junit", "html"):
        again = run_cli("abi", "diff", str(old), str(new), "--format", fmt,
                        "--cache-dir", str(tmp_path / "cache"))  # fmt: skip
        assert again.exit_code == res.exit_code and again.stdout


def test_bad_input_is_exit_bit_1(make_pkg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    old, _ = make_pkg("base")
    junk = tmp_path / "junk.rpm"
    junk.write_bytes(b"this is not an rpm at all")
    res = run_cli("abi", "diff", str(old), str(junk), "--no-cache")
    assert res.exit_code & EXIT_ERROR and "junk.rpm" in res.stderr.replace("\n", "")
    # corrupt payload: keep the headers, damage the compressed payload
    data = bytearray(old.read_bytes())
    for i in range(len(data) - 200, len(data) - 100):
        data[i] ^= 0x5A
    broken = tmp_path / "broken.rpm"
    broken.write_bytes(bytes(data))
    res = run_cli("abi", "diff", str(old), str(broken), "--no-cache")
    assert res.exit_code & EXIT_ERROR and "broken.rpm" in res.stderr.replace("\n", "")
    # a truncated ELF inside a package: recorded, named, exit bit 1
    d1 = tmp_path / "d1" / "usr" / "lib64"
    d2 = tmp_path / "d2" / "usr" / "lib64"
    d1.mkdir(parents=True)
    d2.mkdir(parents=True)
    (d1 / "libx.so.1").write_bytes(Path("/bin/ls").read_bytes())
    (d2 / "libx.so.1").write_bytes(Path("/bin/ls").read_bytes()[:500])
    res = run_cli("abi", "diff", str(tmp_path / "d1"), str(tmp_path / "d2"), "--format", "json")
    assert res.exit_code & EXIT_ERROR
    assert "libx.so.1" in json.loads(res.stdout)["errors"][0]


def test_executable_exports_are_info_only(testdata: Path) -> None:
    """dbus-binding-tool lost exported functions between 0.80 and 0.104: not ABI."""
    d = testdata / "abi" / "pkgdiff" / "dbus-glib"
    r = _diff(d / "dbus-glib-0.80-3.fc12.x86_64.rpm", d / "dbus-glib-0.104-3.fc23.x86_64.rpm")
    tool = next(b for b in r.binaries if b.path == "/usr/bin/dbus-binding-tool")
    assert {s.name for s in tool.removed_symbols} == {"base_info_ref", "base_info_unref"}
    symbol_findings = [f for f in tool.findings if f.code.startswith("abi.symbol")]
    assert symbol_findings and all(f.severity.name == "INFO" for f in symbol_findings)
    # what the program needs to run still matters: a new DT_NEEDED is to verify
    assert any(f.code == "abi.needed-added" for f in tool.findings)
    lib = next(b for b in r.binaries if b.type == "DYN")
    assert len(lib.added_symbols) == 8 and lib.verdict is Verdict.compatible


def test_dso_only_and_private_dso_options(testdata: Path) -> None:
    d = testdata / "abi" / "pkgdiff" / "dbus-glib"
    old, new = d / "dbus-glib-0.80-3.fc12.x86_64.rpm", d / "dbus-glib-0.104-3.fc23.x86_64.rpm"
    res = run_cli("abi", "diff", str(old), str(new), "--dso-only", "--private-dso", "--no-cache",
                  "--format", "json")  # fmt: skip
    doc = json.loads(res.stdout)
    assert [b["type"] for b in doc["binaries"]] == ["DYN"]
    assert res.exit_code == doc["exit_code"]


def test_directory_images_skip_separate_debug_files(testdata: Path) -> None:
    """Two installed trees (libsqlite3 with its .debug file and a dwz file under
    /usr/lib/debug): only the library is interface; the added function is found."""
    base = testdata / "abi" / "elf" / "sqlite-PR30329"
    r = _diff(base / "old-image", base / "new-image")
    assert [b.path for b in r.binaries] == ["/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6"]
    assert [s.id for s in r.binaries[0].added_symbols] == ["sqlite3_value_encoding"]
    assert r.verdict is Verdict.compatible
