"""Readers: Module.symvers / Module.kabi, stablelists, per-symbol trees, ksym tokens."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from elforge.errors import FormatError
from elforge.kabi.diff import diff_kabi
from elforge.kabi.ksym import parse_dependency_string, parse_token
from elforge.kabi.stablelist import read_stablelist, read_stablelists
from elforge.kabi.symvers import arch_from_name, read_symvers
from elforge.kabi.tree import parse_tree_file, read_kabi_tree

FOUR = "0x27e1a049\tprintk\tvmlinux\tEXPORT_SYMBOL\n"
FIVE_LAST = "0x1a2b3c4d\tusb_ep_enable\tdrivers/usb/gadget/udc/udc-core\tEXPORT_SYMBOL_GPL\tUSB\n"
FIVE_THIRD = "0x1a2b3c4d\tusb_ep_enable\tUSB\tdrivers/usb/gadget/udc/udc-core\tEXPORT_SYMBOL_GPL\n"
TRAILING_TAB = "0x94cd57fa\tI_BDEV\tvmlinux\tEXPORT_SYMBOL\t\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_symvers_four_and_five_columns(tmp_path: Path) -> None:
    s = read_symvers(write(tmp_path, "Module.symvers", FOUR + FIVE_LAST + TRAILING_TAB))
    assert len(s) == 3 and s.arch is None and s.kind == "symvers"
    assert s.symbols["printk"].crc == 0x27E1A049
    assert s.symbols["printk"].namespace == ""
    usb = s.symbols["usb_ep_enable"]
    assert (usb.module, usb.export_type, usb.namespace) == (
        "drivers/usb/gadget/udc/udc-core", "EXPORT_SYMBOL_GPL", "USB",
    )  # fmt: skip
    assert s.symbols["I_BDEV"].namespace == "" and s.symbols["I_BDEV"].crc_hex == "0x94cd57fa"
    # the 5.4-5.8 layout, namespace third, reads the same
    t = read_symvers(write(tmp_path, "old.symvers", FIVE_THIRD))
    assert t.symbols["usb_ep_enable"] == usb


def test_symvers_gzip_and_arch_from_name(tmp_path: Path) -> None:
    p = tmp_path / "symvers-4.18.0-513.5.1.el8_9.aarch64.gz"
    p.write_bytes(gzip.compress(FOUR.encode()))
    s = read_symvers(p)
    assert s.arch == "aarch64" and "printk" in s
    assert arch_from_name("Module.kabi_ppc64le") == "ppc64le"
    assert arch_from_name("Module.kabi_dup_s390x") == "s390x"
    assert arch_from_name("kabi_whitelist_x86_64") == "x86_64"
    assert arch_from_name("Module.symvers") is None


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("0x27e1a049\tprintk\tvmlinux\n", "expected 4 or 5 tab-separated columns"),
        ("0x27e1a049 printk vmlinux EXPORT_SYMBOL\n", "got 1"),
        ("0xZZZZ\tprintk\tvmlinux\tEXPORT_SYMBOL\n", "bad CRC"),
        ("0x27e1a049\tprint k\tvmlinux\tEXPORT_SYMBOL\n", "bad symbol name"),
        ("0x27e1a049\tprintk\tvmlinux\tEXPORT_SOMETHING\n", "unknown export type"),
        ("0x27e1a049\tprintk\t\tEXPORT_SYMBOL\n", "empty module"),
    ],
)
def test_symvers_malformed_line_names_file_and_line(
    tmp_path: Path, line: str, problem: str
) -> None:
    p = write(tmp_path, "Module.kabi_x86_64", FOUR + "\n" + line)
    with pytest.raises(FormatError) as exc:
        read_symvers(p)
    assert exc.value.subject == str(p)
    assert "line 3:" in exc.value.problem and problem in exc.value.problem


def test_symvers_duplicates_kept_apart(tmp_path: Path) -> None:
    other = "0x11111111\tprintk\tdrivers/foo\tEXPORT_SYMBOL\n"
    s = read_symvers(write(tmp_path, "Module.symvers", FOUR + FOUR + other))
    assert len(s) == 1
    assert [c.crc for c in s.candidates("printk")] == [0x27E1A049, 0x11111111]


STABLELIST = "[rhel8_x86_64_stablelist]\n\tprintk\n\tkmalloc_caches\n\n\t__kmalloc\n"


def test_stablelist_section(tmp_path: Path) -> None:
    sl = read_stablelist(write(tmp_path, "kabi_stablelist_x86_64", STABLELIST))
    assert sl.arch == "x86_64" and sl.release == "rhel8"
    assert sl.symbols == {"printk", "kmalloc_caches", "__kmalloc"}


def test_stablelist_older_whitelist_naming(tmp_path: Path) -> None:
    text = "[rhel7_ppc64le_whitelist]\n\tprintk\n"
    sl = read_stablelist(write(tmp_path, "kabi_whitelist_ppc64le", text))
    assert sl.arch == "ppc64le" and sl.release == "rhel7" and "printk" in sl


def test_stablelist_from_module_kabi_and_directory(testdata: Path) -> None:
    d = testdata / "kabi" / "el8.8"
    sl = read_stablelist(d / "Module.kabi_s390x")
    assert sl.arch == "s390x" and len(sl) == 637
    lists = read_stablelists(d)
    assert sorted(a or "" for a in lists) == ["aarch64", "ppc64le", "s390x", "x86_64"]
    assert len(read_stablelist(d, arch="x86_64")) == 756
    with pytest.raises(FormatError, match="several architectures"):
        read_stablelist(d)


def test_stablelist_mixed_architectures(tmp_path: Path) -> None:
    both = STABLELIST + "[rhel8_aarch64_stablelist]\n\tprintk\n"
    p = write(tmp_path, "kabi_stablelists", both)
    with pytest.raises(FormatError, match="several architectures"):
        read_stablelist(p)
    assert read_stablelist(p, arch="aarch64").symbols == {"printk"}
    # a section for another architecture than the file is named for
    bad = write(tmp_path, "kabi_stablelist_s390x", STABLELIST)
    with pytest.raises(FormatError, match=r"line 1: section .* named for s390x"):
        read_stablelist(bad)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[rhel8_x86_64]\n\tprintk\n", "line 1: bad section header"),
        ("[rhel8_x86_64_stablelist]\n\tprintk\n\tbad symbol\n", "line 3: bad symbol name"),
        ("[rhel8_vax_stablelist]\n\tprintk\n", "line 1: unknown architecture"),
        ("\tprintk\n[rhel8_x86_64_stablelist]\n", "line 2: symbols before the first section"),
        ("# only a comment\n", "no symbols"),
    ],
)
def test_stablelist_malformed(tmp_path: Path, text: str, problem: str) -> None:
    p = write(tmp_path, "list", text)
    with pytest.raises(FormatError, match=problem) as exc:
        read_stablelist(p)
    assert exc.value.subject == str(p)


def make_tree(root: Path, arch: str, source: Path, first: int = 0) -> Path:
    d = root / "kabi-module" / f"kabi_{arch}"
    d.mkdir(parents=True)
    for line in source.read_text().splitlines():
        name = line.split("\t")[1]
        (d / name).write_text(f"#{first}-\n{line}\t\n\n")
    return root


def test_tree_equals_module_kabi(tmp_path: Path, testdata: Path) -> None:
    src = testdata / "kabi" / "el8.9" / "Module.kabi_aarch64"
    root = make_tree(tmp_path, "aarch64", src)
    (root / "kabi-module" / "kabi_aarch64" / ".gitignore").write_text("x\n")
    tree = read_kabi_tree(root)
    flat = read_symvers(src)
    assert tree.arch == "aarch64" and tree.kind == "tree"
    assert tree.symbols == flat.symbols
    # a tree is a diff input like any other, and a kABI list: the implicit stablelist
    result = diff_kabi(root, src)
    assert result.exit_code == 0 and result.arches[0].arch == "aarch64"
    assert result.arches[0].stablelist_implicit
    older = diff_kabi(root, testdata / "kabi" / "el8.8" / "Module.kabi_aarch64")
    assert len(older.removed) == 40 and older.exit_code == 12


def test_tree_version_ranges_and_index(tmp_path: Path) -> None:
    d = tmp_path / "kabi_x86_64"
    d.mkdir()
    (d / "printk").write_text("#0-\n" + FOUR)
    (d / "old_fn").write_text("#0-2\n0x00000001\told_fn\tvmlinux\tEXPORT_SYMBOL\n")
    (d / "new_fn").write_text(
        "#3-\n#I:1\n0x00000002\tnew_fn\tvmlinux\tEXPORT_SYMBOL\n"
        "0x00000003\tnew_fn\tvmlinux\tEXPORT_SYMBOL_GPL\n"
    )
    assert read_kabi_tree(d, minor=1).names() == {"printk", "old_fn"}
    assert read_kabi_tree(d, minor=2).names() == {"printk"}
    newest = read_kabi_tree(d)
    assert newest.names() == {"printk", "new_fn"}
    assert newest.symbols["new_fn"].crc == 3
    assert newest.symbols["new_fn"].export_type == "EXPORT_SYMBOL_GPL"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (FOUR, "no #<first>-\\[<last>\\] version line"),
        ("#x\n" + FOUR, "line 1: bad version line"),
        ("#0-\n#I:4\n" + FOUR, "no data line 4"),
        ("#0-\n0x1\tvprintk\tvmlinux\tEXPORT_SYMBOL\n", "line 2: describes vprintk, not printk"),
    ],
)
def test_tree_malformed(tmp_path: Path, content: str, problem: str) -> None:
    p = tmp_path / "printk"
    p.write_text(content)
    with pytest.raises(FormatError, match=problem) as exc:
        parse_tree_file(p)
    assert exc.value.subject == str(p)


@pytest.mark.parametrize(
    ("name", "flags", "evr", "expect"),
    [
        ("kernel(printk)", "EQ", "0x27e1a049", ("printk", 0x27E1A049, "kernel", None, None)),
        ("ksym(my_export)", "EQ", "0x0000abcd", ("my_export", 0xABCD, "ksym", None, None)),
        ("ksym(default:printk)", "EQ", "27e1a049", ("printk", 0x27E1A049, "ksym", "default", None)),
        ("kernel(printk)(64bit)", "EQ", "0x27e1a049",
         ("printk", 0x27E1A049, "kernel", None, "64bit")),
        ("kernel(printk)(x86-64)", "EQ", "0x27e1a049",
         ("printk", 0x27E1A049, "kernel", None, "x86-64")),
        ("kernel(printk)", None, None, ("printk", None, "kernel", None, None)),
        ("kernel(x86-64)", "EQ", "4.18.0-477.el8", None),
        ("kernel(aarch64)", None, None, None),
        ("kernel-core", "EQ", "4.18.0", None),
        ("kernel(printk)", "GE", "0x27e1a049", None),
        ("kmod(ext4.ko)", None, None, None),
    ],
)  # fmt: skip
def test_ksym_tokens(
    name: str, flags: str | None, evr: str | None, expect: tuple[object, ...] | None
) -> None:
    dep = parse_token(name, flags, evr)
    if expect is None:
        assert dep is None
    else:
        assert dep is not None
        assert (dep.symbol, dep.crc, dep.kind, dep.flavor, dep.qualifier) == expect


def test_ksym_string_form_round_trips() -> None:
    dep = parse_dependency_string("kernel(printk) = 0x27e1a049")
    assert dep is not None and str(dep) == "kernel(printk) = 0x27e1a049"
    assert parse_dependency_string("ld-linux-x86-64.so.2()(64bit)") is None
