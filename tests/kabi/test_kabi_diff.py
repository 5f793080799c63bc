"""kabi diff on synthetic lists: every change kind, its weight, exit bits, bad input, formats."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from elforge.errors import FormatError
from elforge.kabi.diff import diff_kabi
from elforge.report.model import Severity
from helpers import run_cli

OLD = """\
0x00000001\tkept\tvmlinux\tEXPORT_SYMBOL
0x00000002\tgone_listed\tvmlinux\tEXPORT_SYMBOL
0x00000003\tgone_other\tvmlinux\tEXPORT_SYMBOL
0x00000004\tcrc_listed\tvmlinux\tEXPORT_SYMBOL
0x00000005\tcrc_other\tvmlinux\tEXPORT_SYMBOL
0x00000006\tmover\tvmlinux\tEXPORT_SYMBOL
0x00000007\tto_gpl\tvmlinux\tEXPORT_SYMBOL
0x00000008\tfrom_gpl\tvmlinux\tEXPORT_SYMBOL_GPL
"""
NEW = """\
0x00000001\tkept\tvmlinux\tEXPORT_SYMBOL
0x00000005\tcrc_other\tvmlinux\tEXPORT_SYMBOL
0x00000044\tcrc_listed\tvmlinux\tEXPORT_SYMBOL
0x00000006\tmover\tdrivers/base/mover\tEXPORT_SYMBOL
0x00000007\tto_gpl\tvmlinux\tEXPORT_SYMBOL_GPL
0x00000008\tfrom_gpl\tvmlinux\tEXPORT_SYMBOL
0x00000009\tfresh\tvmlinux\tEXPORT_SYMBOL
0x00000055\tcrc_other_changed\tvmlinux\tEXPORT_SYMBOL
"""
STABLE = "[rhel9_x86_64_stablelist]\n" + "".join(
    f"\t{s}\n" for s in ("kept", "gone_listed", "crc_listed", "mover", "to_gpl", "from_gpl")
)


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path, Path]:
    old = tmp_path / "old" / "Module.symvers"
    new = tmp_path / "new" / "Module.symvers"
    old.parent.mkdir()
    new.parent.mkdir()
    old.write_text(OLD)
    new.write_text(NEW.replace("crc_other\t", "crc_other\t"))
    sl = tmp_path / "kabi_stablelist_x86_64"
    sl.write_text(STABLE)
    return old, new, sl


def by_code(result: object, code: str) -> dict[str, Severity]:
    return {f.subject: f.severity for f in result.findings if f.code == code}  # type: ignore[attr-defined]


def test_every_change_kind_with_stablelist(pair: tuple[Path, Path, Path]) -> None:
    old, new, sl = pair
    r = diff_kabi(old, new, stablelist=sl)
    assert r.removed == ["gone_listed", "gone_other"]
    assert r.added == ["crc_other_changed", "fresh"]
    assert r.crc_changed == ["crc_listed"]
    assert r.moved == ["mover"]
    assert r.export_changed == ["from_gpl", "to_gpl"]
    # the arch comes from the stablelist's section when the symvers files carry none
    assert r.arches[0].arch == "x86_64"
    removed = by_code(r, "kabi.symbol-removed")
    assert removed == {"x86_64/gone_listed": Severity.BAD, "x86_64/gone_other": Severity.INFO}
    assert by_code(r, "kabi.crc-changed") == {"x86_64/crc_listed": Severity.BAD}
    assert by_code(r, "kabi.symbol-moved") == {"x86_64/mover": Severity.VERIFY}
    assert by_code(r, "kabi.export-changed") == {
        "x86_64/to_gpl": Severity.VERIFY,
        "x86_64/from_gpl": Severity.INFO,
    }
    assert r.exit_code == 12 and r.verdict == "incompatible"


def test_without_stablelist_nothing_is_known_promised(pair: tuple[Path, Path, Path]) -> None:
    old, new, _ = pair
    r = diff_kabi(old, new)
    assert r.arches[0].stablelist is None
    sev = {f.subject: f.severity for f in r.findings if f.code == "kabi.symbol-removed"}
    assert set(sev.values()) == {Severity.VERIFY}
    assert r.exit_code == 4 and r.verdict == "changed"


def test_identical_exits_zero(pair: tuple[Path, Path, Path]) -> None:
    old, _, sl = pair
    r = diff_kabi(old, old, stablelist=sl)
    assert r.exit_code == 0 and r.verdict == "identical" and not r.findings


def test_namespace_change_is_an_export_change(tmp_path: Path) -> None:
    a = tmp_path / "a.symvers"
    b = tmp_path / "b.symvers"
    a.write_text("0x00000001\tusb_fn\tdrivers/usb/core\tEXPORT_SYMBOL_GPL\t\n")
    b.write_text("0x00000001\tusb_fn\tdrivers/usb/core\tEXPORT_SYMBOL_GPL\tUSB\n")
    r = diff_kabi(a, b)
    assert r.export_changed == ["usb_fn"] and r.exit_code == 4
    assert r.findings[0].severity is Severity.VERIFY


def test_mixed_architectures_refused(tmp_path: Path, testdata: Path) -> None:
    k = testdata / "kabi"
    with pytest.raises(FormatError, match="mixed architectures: OLD is x86_64"):
        diff_kabi(k / "el8.8" / "Module.kabi_x86_64", k / "el8.9" / "Module.kabi_aarch64")
    sl = tmp_path / "kabi_stablelist_aarch64"
    sl.write_text("[rhel8_aarch64_stablelist]\n\tprintk\n")
    with pytest.raises(FormatError, match="no stablelist for x86_64"):
        diff_kabi(k / "el8.8" / "Module.kabi_x86_64", k / "el8.9" / "Module.kabi_x86_64", sl)
    with pytest.raises(FormatError, match="OLD has no riscv64 symbols"):
        diff_kabi(k / "el8.8" / "Module.kabi_x86_64", k / "el8.9", arch="riscv64")


def test_cli_error_and_usage_exits(tmp_path: Path, testdata: Path) -> None:
    k = testdata / "kabi"
    r = run_cli("kabi", "diff", str(k / "el8.8" / "Module.kabi_x86_64"),
                str(k / "el8.9" / "Module.kabi_s390x"))  # fmt: skip
    assert r.exit_code == 1 and "mixed architectures" in r.stderr
    bad = tmp_path / "Module.symvers"
    bad.write_text("0x1\tok\tvmlinux\tEXPORT_SYMBOL\n0x2 broken\n")
    r = run_cli("kabi", "diff", str(bad), str(bad))
    assert r.exit_code == 1
    assert str(bad) in r.stderr.replace("\n", "") and "line 2:" in r.stderr
    assert run_cli("kabi", "diff", str(bad)).exit_code == 2


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "html"])
def test_every_format_renders(pair: tuple[Path, Path, Path], tmp_path: Path, fmt: str) -> None:
    old, new, sl = pair
    out = tmp_path / f"report.{fmt}"
    r = run_cli("kabi", "diff", str(old), str(new), "--stablelist", str(sl),
                "--format", fmt, "-o", str(out))  # fmt: skip
    assert r.exit_code == 12, r.stderr
    text = out.read_text()
    if fmt == "json":
        doc = json.loads(text)
        assert doc["schema"] == "elforge.kabi-diff/1"
        assert doc["removed"] == ["gone_listed", "gone_other"]
        assert doc["crc_changed"] == ["crc_listed"]
        assert doc["moved"] == ["mover"]
        assert doc["export_changed"] == ["from_gpl", "to_gpl"]
        assert doc["added"] == ["crc_other_changed", "fresh"]
        assert {f["code"] for f in doc["findings"]} >= {"kabi.symbol-removed", "kabi.crc-changed"}
        detail = doc["arches"]["x86_64"]["details"]["crc_changed"][0]
        assert detail["old"]["crc"] == "0x00000004" and detail["new"]["crc"] == "0x00000044"
    elif fmt == "sarif":
        doc = json.loads(text)
        levels = {res["ruleId"]: res["level"] for res in doc["runs"][0]["results"]}
        assert levels["kabi.crc-changed"] == "error" and levels["kabi.symbol-moved"] == "warning"
    elif fmt == "junit":
        root = ET.fromstring(text)
        assert root.get("failures") == "1"  # one arch, with BAD findings
    elif fmt == "html":
        assert "<html" in text.lower() and "gone_listed" in text
    else:
        assert "crc_listed" in text and "BAD" in text
