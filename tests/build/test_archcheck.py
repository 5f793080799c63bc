"""Foreign architectures (#14.3): rpmbuild is not asked for one it cannot make, and every
built RPM's ELF files are checked against its arch header."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from elforge.build import archcheck
from elforge.build.archcheck import check_target_arch, foreign_elf_members
from elforge.engine.example import materialize_upstream
from elforge.errors import ToolError
from helpers import TESTDATA, require_tool, run_cli

pytestmark = pytest.mark.system
EM_AARCH64 = 183

FOREIGN_SPEC = """\
Name: foreign
Version: 1
Release: 1
Summary: a package whose binary is not for its architecture
License: MIT
Source0: tool.bin
%global debug_package %{nil}
%global __os_install_post %{nil}

%description
Test package.

%install
install -D -m 0755 %{SOURCE0} %{buildroot}/usr/bin/tool

%files
/usr/bin/tool
"""


def _elf_for(machine: int, tmp_path: Path) -> bytes:
    """A real x86-64 executable (gcc) with its e_machine set to ``machine``."""
    require_tool("gcc")
    src = tmp_path / "tool.c"
    src.write_text("int main(void) { return 0; }\n")
    subprocess.run(["gcc", "-o", str(tmp_path / "tool"), str(src)], check=True)
    data = bytearray((tmp_path / "tool").read_bytes())
    data[18:20] = machine.to_bytes(2, "little")
    return bytes(data)


def test_build_refuses_a_foreign_arch_with_rpmbuild(tmp_path: Path) -> None:
    require_tool("rpmbuild")
    materialize_upstream(tmp_path / "up")
    artifacts = tmp_path / "artifacts"
    r = run_cli(
        "build", "--tree", str(tmp_path / "up/libgreet"), "--arch", "aarch64",
        "--artifacts", str(artifacts),
    )  # fmt: skip
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot build aarch64" in lines[0], r.stderr
    assert not list(artifacts.rglob("*")) if artifacts.exists() else True
    # the native arch and noarch still build
    ok = run_cli(
        "build", "--tree", str(tmp_path / "up/acme-docs"), "--arch", "noarch",
        "--artifacts", str(artifacts), "--format", "json",
    )  # fmt: skip
    assert ok.exit_code == 0, ok.stdout + ok.stderr


def test_workspace_build_refuses_a_foreign_arch(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    assert run_cli("init", str(ws)).exit_code == 0
    r = run_cli("build", "-w", str(ws), "--arch", "aarch64")
    assert r.exit_code == 1 and "cannot build aarch64" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_mock_needs_a_config_for_the_arch_and_qemu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "el9-aarch64.cfg"
    config.write_text("config_opts['target_arch'] = 'aarch64'\n")
    native = tmp_path / "el9-x86_64.cfg"
    native.write_text('config_opts["target_arch"] = "x86_64"\n')
    binfmt = tmp_path / "binfmt_misc"
    binfmt.mkdir()
    monkeypatch.setattr(archcheck, "BINFMT", binfmt)
    monkeypatch.setattr(archcheck, "host_arch", lambda: "x86_64")
    with pytest.raises(ToolError, match="builds x86_64, not aarch64"):
        check_target_arch("mock", "aarch64", str(native))
    with pytest.raises(ToolError, match="needs qemu-user registered for aarch64"):
        check_target_arch("mock", "aarch64", str(config))
    (binfmt / "qemu-aarch64").write_text("disabled\ninterpreter /usr/bin/qemu-aarch64\n")
    with pytest.raises(ToolError, match="qemu-user"):
        check_target_arch("mock", "aarch64", str(config))
    (binfmt / "qemu-aarch64").write_text("enabled\ninterpreter /usr/bin/qemu-aarch64\n")
    check_target_arch("mock", "aarch64", str(config))  # can build it
    check_target_arch("rpmbuild", "i686", None)  # x86_64 runs i686 natively
    with pytest.raises(ToolError, match="cannot build aarch64"):
        check_target_arch("rpmbuild", "aarch64", None)


def test_an_rpm_holding_another_machines_elf_fails_the_build(tmp_path: Path) -> None:
    require_tool("rpmbuild")
    tree = tmp_path / "foreign"
    tree.mkdir()
    (tree / "foreign.spec").write_text(FOREIGN_SPEC)
    (tree / "tool.bin").write_bytes(_elf_for(EM_AARCH64, tmp_path))
    r = run_cli(
        "build", "--tree", str(tree), "--artifacts", str(tmp_path / "a"), "--format", "json"
    )
    assert r.exit_code == 3, r.stderr
    doc = json.loads(r.stdout)
    build = (doc.get("data") or doc)["builds"][0]
    assert build["status"] == "failed" and build["rpms"] == []
    assert "foreign-1-1.x86_64.rpm" in build["error"]
    assert "/usr/bin/tool (aarch64, little-endian)" in build["error"]


def test_real_vendor_rpms_are_consistent() -> None:
    """Every binary RPM of the test data (RHEL and Fedora x86_64, Fedora i686) passes."""
    rpms = sorted(p for p in TESTDATA.rglob("*.rpm") if not p.name.endswith(".src.rpm"))
    # real packages only: some entries are text stand-ins pointing at another copy
    rpms = [p for p in rpms if p.read_bytes()[:4] == b"\xed\xab\xee\xdb"]
    assert len(rpms) > 40 and any(".i686." in p.name for p in rpms)
    for rpm in rpms:
        assert foreign_elf_members(rpm) == [], rpm
