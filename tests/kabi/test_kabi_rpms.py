"""Kernel and kmod RPMs built here with rpmbuild, carrying kernel(sym) = 0xCRC tokens."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from elforge.kabi.check import check_kmods
from elforge.kabi.diff import diff_kabi
from elforge.kabi.load import load_symbol_sets
from elforge.kabi.symvers import read_symvers
from helpers import require_tool, run_cli

pytestmark = [pytest.mark.system, pytest.mark.slow]

PRIVATE = ("my_private_helper", 0x12345678)  # exported by the kernel, not stablelisted
GOOD_USES = (
    "printk",
    "__kmalloc",
    "kfree",
    "blkdev_get",
    "raid_class_attach",
    "sas_attach_transport",
)


def build_rpm(top: Path, name: str, deps: list[str], *, arch: str = "x86_64",
              version: str = "1.0", release: str = "1") -> Path:  # fmt: skip
    """rpmbuild an empty package with the given Provides:/Requires: lines."""
    top.mkdir(parents=True, exist_ok=True)
    spec = top / f"{name}-{version}.spec"
    spec.write_text(
        f"Name: {name}\nVersion: {version}\nRelease: {release}\nSummary: kabi test {name}\n"
        "License: GPL-2.0-only\n" + "".join(d + "\n" for d in deps)
        + f"%description\nkabi test package {name}\n%files\n"
    )  # fmt: skip
    subprocess.run(
        ["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {top}", "--target", arch, str(spec)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return top / "RPMS" / arch / f"{name}-{version}-{release}.{arch}.rpm"


def kernel_deps(kabi: Path, *, modules: bool) -> list[str]:
    """Provides of kernel-core (vmlinux symbols) or kernel-modules (the rest)."""
    out = []
    for sym in read_symvers(kabi).symbols.values():
        if (sym.module == "vmlinux") is modules:
            continue
        # kernel-modules spells them with the (64bit) qualifier: the reader folds it
        suffix = "(64bit)" if modules else ""
        out.append(f"Provides: kernel({sym.name}){suffix} = {sym.crc_hex}")
    return out


@dataclass
class Built:
    kabi88: Path
    kabi89: Path
    kernel88: Path  # a directory: kernel-core + kernel-modules of "8.8"
    core89: Path
    modules89: Path
    kernel89: Path  # directory with the two above
    good: Path
    crcbad: Path
    private: Path
    missing: Path
    user: Path  # needs ksym(good_export), provided by kmod-good
    foreign: Path  # aarch64
    stablelist: Path


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, testdata: Path) -> Built:
    require_tool("rpmbuild")
    top = tmp_path_factory.mktemp("kabi-rpms")
    kabi88 = testdata / "kabi" / "el8.8" / "Module.kabi_x86_64"
    kabi89 = testdata / "kabi" / "el8.9" / "Module.kabi_x86_64"
    crcs = {s.name: s.crc_hex for s in read_symvers(kabi89).symbols.values()}
    dirs = {}
    for tag, kabi, rel in (("88", kabi88, "477.el8"), ("89", kabi89, "513.el8")):
        extra = [f"Provides: kernel({PRIVATE[0]}) = 0x{PRIVATE[1]:08x}"]
        core = build_rpm(top / tag, "kernel-core", kernel_deps(kabi, modules=False) + extra,
                         version="4.18.0", release=rel)  # fmt: skip
        mods = build_rpm(top / tag, "kernel-modules", kernel_deps(kabi, modules=True),
                         version="4.18.0", release=rel)  # fmt: skip
        d = top / f"kernel{tag}"
        d.mkdir()
        for rpm in (core, mods):
            (d / rpm.name).symlink_to(rpm)
        dirs[tag] = (d, core, mods)
    k = top / "kmods"

    def req(sym: str, crc: str | None = None) -> str:
        return f"Requires: kernel({sym}) = {crc or crcs[sym]}"

    good_deps = [req(s) for s in GOOD_USES]
    good_deps += ["Provides: ksym(good_export) = 0x00000abc", "Requires: kernel-core"]
    good = build_rpm(k, "kmod-good", good_deps)
    crcbad = build_rpm(k, "kmod-crcbad", [req("printk"), req("kfree", "0xdeadbeef")])
    private = build_rpm(k, "kmod-private", [req("printk"),
                        f"Requires: kernel({PRIVATE[0]}) = 0x{PRIVATE[1]:08x}"])  # fmt: skip
    missing = build_rpm(k, "kmod-missing", [req("printk"),
                        "Requires: kernel(no_such_symbol) = 0x00c0ffee"])  # fmt: skip
    user = build_rpm(k, "kmod-user", [req("kfree"), "Requires: ksym(good_export) = 0x00000abc"])
    foreign = build_rpm(k, "kmod-foreign", [req("printk")], arch="aarch64")
    stablelist = top / "kabi_stablelist_x86_64"
    stablelist.write_text("[rhel8_x86_64_stablelist]\n" + "".join(f"\t{s}\n" for s in sorted(crcs)))
    d88, _, _ = dirs["88"]
    d89, core89, mods89 = dirs["89"]
    return Built(kabi88, kabi89, d88, core89, mods89, d89, good, crcbad, private, missing, user,
                 foreign, stablelist)  # fmt: skip


def test_kernel_rpm_provides_read_back(built: Built) -> None:
    core = load_symbol_sets(built.core89)
    assert list(core) == ["x86_64"]
    listed = read_symvers(built.kabi89)
    vmlinux = {n for n, s in listed.symbols.items() if s.module == "vmlinux"}
    assert core["x86_64"].names() == vmlinux | {PRIVATE[0]}
    raw = subprocess.run(["rpm", "-qp", "--provides", str(built.modules89)], check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    assert "kernel(raid_class_attach)(64bit) = 0xa4d9e222" in raw
    assert "kernel-modules(x86-64) = 4.18.0-513.el8" in raw
    # the kernel-modules(x86-64) = 4.18.0-... arch provide rpm adds is not taken for a symbol
    pooled = load_symbol_sets(built.kernel89)["x86_64"]
    assert pooled.names() == listed.names() | {PRIVATE[0]}
    assert all(pooled.symbols[n].crc == s.crc for n, s in listed.symbols.items())


def test_diff_of_kernel_rpms_matches_the_lists(built: Built) -> None:
    from_rpms = diff_kabi(built.kernel88, built.kernel89, stablelist=built.kabi88)
    from_lists = diff_kabi(built.kabi88, built.kabi89)
    for kind in ("removed", "added", "crc_changed"):
        assert from_rpms.names(kind) == from_lists.names(kind), kind
    assert len(from_rpms.added) == 40 and from_rpms.exit_code == 4
    # mixed kinds: a kABI list against the kernel RPMs that should honour it
    mixed = diff_kabi(built.kabi89, built.kernel89)
    assert mixed.removed == [] and mixed.crc_changed == [] and mixed.added == [PRIVATE[0]]


def test_kmod_check_verdicts(built: Built) -> None:
    kmods = [built.good, built.crcbad, built.private, built.missing, built.user, built.foreign]
    r = check_kmods(built.kernel89, kmods, stablelist=built.stablelist)
    by = {Path(k.path).name.split("-1.0")[0]: k for k in r.kmods}
    assert by["kmod-good"].verdict == "ok"
    assert sorted(by["kmod-good"].matched) == sorted(GOOD_USES)
    assert by["kmod-good"].package == "kmod-good-1.0-1.x86_64"
    assert by["kmod-crcbad"].verdict == "incompatible"
    assert [m.symbol for m in by["kmod-crcbad"].crc_mismatch] == ["kfree"]
    assert by["kmod-crcbad"].crc_mismatch[0].required == 0xDEADBEEF
    assert by["kmod-private"].verdict == "risk"
    assert by["kmod-private"].outside_stablelist == [PRIVATE[0]]
    assert by["kmod-missing"].verdict == "incompatible"
    assert by["kmod-missing"].missing == ["no_such_symbol"]
    # ksym(good_export) is provided by kmod-good in the same check, so kmod-user loads
    assert by["kmod-user"].verdict == "ok" and "good_export" in by["kmod-user"].matched
    assert by["kmod-foreign"].verdict == "incompatible"
    assert [f.code for f in by["kmod-foreign"].findings] == ["kabi.arch-mismatch"]
    assert r.exit_code == 12
    # without kmod-good, kmod-user's ksym requirement is unmet
    alone = check_kmods(built.kernel89, [built.user], stablelist=built.stablelist)
    assert alone.kmods[0].missing == ["good_export"]


def test_kmod_check_against_symvers_file_and_without_stablelist(built: Built) -> None:
    r = check_kmods(built.kabi89, [built.good, built.private])
    verdicts = [k.verdict for k in r.kmods]
    # kmod-private's symbol is not in the kABI list at all: missing there
    assert verdicts == ["ok", "incompatible"]
    r = check_kmods(built.kernel89, [built.good, built.private])
    assert [k.verdict for k in r.kmods] == ["ok", "ok"] and r.exit_code == 0


def test_unreadable_kmod_recorded_and_others_checked(built: Built, tmp_path: Path) -> None:
    junk = tmp_path / "kmod-junk-1.0-1.x86_64.rpm"
    junk.write_bytes(b"\xed\xab\xee\xdb" + b"\0" * 200)
    r = check_kmods(built.kernel89, [junk, built.good])
    assert r.kmods[0].verdict == "error" and r.kmods[0].error
    assert r.kmods[1].verdict == "ok"
    assert r.exit_code & 1 and r.exit_code & 8


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "html"])
def test_check_cli_formats(built: Built, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"check.{fmt}"
    r = run_cli("kabi", "check", "--kernel", str(built.kernel89), "--kmod", str(built.good),
                "--kmod", str(built.crcbad), "--kmod", str(built.private),
                "--stablelist", str(built.stablelist), "-f", fmt, "-o", str(out))  # fmt: skip
    assert r.exit_code == 12, r.stderr
    text = out.read_text()
    if fmt == "json":
        doc = json.loads(text)
        assert doc["schema"] == "elforge.kabi-check/1"
        assert doc["kernel"]["arch"] == "x86_64"
        assert [k["verdict"] for k in doc["kmods"]] == ["ok", "incompatible", "risk"]
        assert doc["kmods"][1]["crc_mismatch"][0] == {
            "symbol": "kfree",
            "required": "0xdeadbeef",
            "provided": [doc["kmods"][1]["crc_mismatch"][0]["provided"][0]],
        }
        assert doc["kmods"][2]["outside_stablelist"] == [PRIVATE[0]]
    elif fmt in ("sarif",):
        assert json.loads(text)["runs"][0]["results"]
    elif fmt == "junit":
        assert 'failures="1"' in text and "kmod-crcbad" in text
    else:
        assert "kmod-crcbad" in text and "kfree" in text


def test_check_cli_usage(built: Built) -> None:
    assert run_cli("kabi", "check", "--kernel", str(built.kernel89)).exit_code == 2
    r = run_cli("kabi", "check", "--kernel", str(built.good.parent / "nope.rpm"),
                "--kmod", str(built.good))  # fmt: skip
    assert r.exit_code == 1 and "no such file" in r.stderr.replace("\n", "")
