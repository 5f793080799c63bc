"""``elforge rpm info`` and ``elforge rpm extract`` end to end (in-process CLI)."""

from __future__ import annotations

import gzip
import json
import stat
from pathlib import Path

import pytest
from rpmcore_builds import (  # noqa: F401
    BuiltRpms,
    CpioEntry,
    built_rpms_fixture,
    cpio_archive,
    splice_payload,
)

from helpers import run_cli

BASH = "rpms/signed/bash-5.1.8-9.el9.x86_64.rpm"
STUB = "abi/fedabipkgdiff/dbus-glib-0.80-3.fc12.x86_64.rpm"  # a git symlink stub


def test_info_json(testdata: Path) -> None:
    r = run_cli("rpm", "info", str(testdata / BASH), "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "elforge.rpm-info/1" and doc["errors"] == []
    (pkg,) = doc["packages"]
    assert pkg["nevra"] == "bash-5.1.8-9.el9.x86_64"
    assert pkg["signature_key_id"] == "d36cb86cb86b3716"
    assert pkg["payload_compressor"] == "zstd"
    assert {"name": "filesystem", "flags": "GE", "evr": "3", "pre": False} in pkg["requires"]
    bash = next(f for f in pkg["files"] if f["path"] == "/usr/bin/bash")
    assert bash["size"] > 1_000_000 and stat.S_ISREG(bash["mode"]) and bash["digest"]
    assert pkg["changelog"][0]["text"].startswith("- Fix a performance regression")


def test_info_text_and_output_file(testdata: Path, tmp_path: Path) -> None:
    r = run_cli("rpm", "info", str(testdata / BASH))
    assert r.exit_code == 0
    assert "bash-5.1.8-9.el9.x86_64" in r.stdout and "filesystem >= 3" in r.stdout
    out = tmp_path / "info.json"
    r = run_cli("rpm", "info", str(testdata / BASH), "-f", "json", "-o", str(out))
    assert r.exit_code == 0 and r.stdout == ""
    assert json.loads(out.read_text())["packages"][0]["name"] == "bash"


def test_info_records_bad_files_and_goes_on(testdata: Path) -> None:
    r = run_cli("rpm", "info", str(testdata / STUB), str(testdata / BASH), "-f", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert [p["name"] for p in doc["packages"]] == ["bash"]
    assert doc["errors"] == [
        {"file": str(testdata / STUB), "error": "not an RPM file (bad lead magic)"}
    ]
    assert "bad lead magic" in r.stderr


@pytest.mark.system
def test_extract_elf_only_and_member_glob(built_rpms: BuiltRpms, tmp_path: Path) -> None:
    r = run_cli("rpm", "extract", str(built_rpms.binary), str(tmp_path / "elf"), "--elf-only",
                "-f", "json")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "elforge.rpm-extract/1"
    assert [m["path"] for m in doc["members"]] == ["usr/bin/tiny"]
    assert (tmp_path / "elf/usr/bin/tiny").read_bytes()[:4] == b"\x7fELF"
    r = run_cli("rpm", "extract", str(built_rpms.binary), str(tmp_path / "glob"),
                "--member", "/usr/share/tiny/*.txt", "-m", "usr/bin/tiny-link")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert "usr/share/tiny/hello.txt" in r.stdout
    got = sorted(str(p.relative_to(tmp_path / "glob")) for p in (tmp_path / "glob").rglob("*"))
    assert got == ["usr", "usr/bin", "usr/bin/tiny-link", "usr/share", "usr/share/tiny",
                   "usr/share/tiny/hello.txt"]  # fmt: skip


@pytest.mark.system
def test_extract_hostile_is_one_line(built_rpms: BuiltRpms, tmp_path: Path) -> None:
    archive = cpio_archive([CpioEntry("./../evil", stat.S_IFREG | 0o644, b"x")])
    rpm = splice_payload(built_rpms.binary, gzip.compress(archive), tmp_path / "evil.rpm")
    r = run_cli("rpm", "extract", str(rpm), str(tmp_path / "dest"))
    assert r.exit_code == 1
    assert r.stderr.replace("\n", "") == (
        f"error: {rpm}: member './../evil': '..' in the path refused"
    )
    assert not (tmp_path / "evil").exists()


def test_info_junit_has_a_case_per_file(testdata: Path) -> None:
    r = run_cli("rpm", "info", str(testdata / STUB), str(testdata / BASH), "-f", "junit")
    assert r.exit_code == 1
    assert 'tests="2" failures="1"' in r.stdout
    assert 'name="bash-5.1.8-9.el9.x86_64"' in r.stdout
