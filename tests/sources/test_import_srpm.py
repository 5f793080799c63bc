"""Source RPMs as an upstream: signature checked with a private keyring, unpacked, imported.

The SRPM is built here with rpmbuild and signed with rpmsign by a throw-away gpg key; the
AlmaLinux 9 signed RPM and key from the test data cover a real vendor signature.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from importfixtures import Lookaside, mirror_state, serve, tarball

from elforge.errors import FormatError
from elforge.rpm.verify import check_signature
from elforge.sources.importer import ImportOptions, checkout_tree, import_package
from elforge.workspace.config import PackageEntry
from elforge.workspace.workspace import Workspace
from helpers import require_tool, run_cli

pytestmark = [pytest.mark.system, pytest.mark.slow]

SPEC = """\
Name: hello
Version: 1.0
Release: 1%{?dist}
Summary: elforge test package
License: MIT
Source0: hello-1.0.tar.gz
Source1: hello.conf
Patch0: hello-fix.patch
%description
A test package.
%prep
%build
%install
%files
"""


@dataclass(frozen=True)
class Srpms:
    signed: Path
    unsigned: Path
    key: Path
    key_id: str
    tarball: bytes


@pytest.fixture(scope="module")
def srpms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Srpms]:
    require_tool("rpmbuild", "rpmsign", "rpmkeys", "gpg", "gpgconf")
    root = tmp_path_factory.mktemp("srpm")
    home = root / "gnupg"
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}

    def run(*cmd: str) -> str:
        return subprocess.run(cmd, env=env, check=True, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL).stdout  # fmt: skip

    run("gpg", "--batch", "--passphrase", "", "--quick-gen-key",
        "elforge test <test@elforge.invalid>", "rsa2048", "sign", "never")  # fmt: skip
    try:
        fpr = next(
            ln.split(":")[9]
            for ln in run("gpg", "--with-colons", "--list-keys").splitlines()
            if ln.startswith("fpr:")
        )
        top = root / "top"
        (top / "SOURCES").mkdir(parents=True)
        data = tarball("hello-1.0", "hello\n")
        (top / "SOURCES/hello-1.0.tar.gz").write_bytes(data)
        (top / "SOURCES/hello.conf").write_text("greeting = hello\n")
        (top / "SOURCES/hello-fix.patch").write_text("--- a/x\n+++ b/x\n")
        spec = root / "hello.spec"
        spec.write_text(SPEC)
        run("rpmbuild", "-bs", "--define", f"_topdir {top}", "--define", "dist .el9", str(spec))
        built = top / "SRPMS/hello-1.0-1.el9.src.rpm"
        unsigned = root / "unsigned" / built.name
        unsigned.parent.mkdir()
        shutil.copyfile(built, unsigned)
        gpg = shutil.which("gpg") or "gpg"
        run("rpmsign", "--addsign", "--define", f"__gpg {gpg}",
            "--define", "_gpg_name test@elforge.invalid", str(built))  # fmt: skip
        key = root / "RPM-GPG-KEY-elforge-test"
        key.write_text(run("gpg", "--export", "--armor", "test@elforge.invalid"))
        yield Srpms(built, unsigned, key, fpr[-8:].lower(), data)
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False)


@pytest.fixture
def lookaside(tmp_path: Path) -> Iterator[Lookaside]:
    yield from serve(tmp_path)


def _workspace(tmp_path: Path, keys: list[Path]) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    cfg = ws.root / "elforge.toml"
    listed = ", ".join(json.dumps(str(k)) for k in keys)
    cfg.write_text(cfg.read_text().replace("lookaside = []", f"lookaside = []\nkeys = [{listed}]"))
    return Workspace.open(ws.root)


def test_real_vendor_signature(testdata: Path) -> None:
    rpm = testdata / "rpms/signed/bash-5.1.8-9.el9.x86_64.rpm"
    check = check_signature(rpm, [testdata / "rpms/keys/RPM-GPG-KEY-AlmaLinux-9"], subject="bash")
    assert check.signed and check.key_id == "b86b3716"
    with pytest.raises(FormatError, match="key ID b86b3716: signed by a key that is not"):
        check_signature(rpm, [], subject="bash")
    unsigned = testdata / "rpms/payload-variants/empty-0.1-1.x86_64.rpm"
    assert not check_signature(unsigned, [], subject="empty").signed


def test_import_signed_srpm_over_http(srpms: Srpms, tmp_path: Path, lookaside: Lookaside) -> None:
    (lookaside.root / "srpms").mkdir()
    shutil.copyfile(srpms.signed, lookaside.root / "srpms" / srpms.signed.name)
    url = f"{lookaside.base}/srpms/{srpms.signed.name}"
    ws = _workspace(tmp_path, [srpms.key])
    r = import_package(ws, PackageEntry(name="hello", url=url, branch="a9"))
    assert r.status == "imported", r.error
    assert r.layout == "srpm" and r.nvr == "hello-1.0-1.el9"
    assert r.signing_key == srpms.key_id and r.srpm_sha256 and r.tag == "imports/a9/hello-1.0-1.el9"
    files = {s.file: s for s in r.sources}
    tar = files["SOURCES/hello-1.0.tar.gz"]
    assert tar.kind == "lookaside" and tar.origin == f"{url}#hello-1.0.tar.gz"
    assert (ws.lookaside_dir / "sha256" / tar.hash).read_bytes() == srpms.tarball
    assert files["SOURCES/hello.conf"].kind == "srpm" and "SPECS/hello.spec" in files
    dest = checkout_tree(ws, "hello", "a9", tmp_path / "work")
    assert (dest / "SOURCES/hello-1.0.tar.gz").read_bytes() == srpms.tarball
    assert (dest / "SOURCES/hello-fix.patch").is_file() and (dest / "SPECS/hello.spec").is_file()
    assert json.loads((dest / ".elforge/import.json").read_text())["upstream"]["signing_key"] == (
        srpms.key_id
    )
    again = import_package(ws, PackageEntry(name="hello", url=url, branch="a9"))
    assert again.status == "unchanged" and again.signing_key == srpms.key_id

    sbom = run_cli("sbom", "hello", "-w", str(ws.root))
    assert sbom.exit_code == 0, sbom.stderr
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(sbom.stdout) is None
    props = {
        p["name"]: p["value"]
        for p in json.loads(sbom.stdout)["metadata"]["component"]["properties"]
    }
    assert props["elforge:upstream:signing-key"] == srpms.key_id


def test_unsigned_srpm_needs_allow_unsigned(srpms: Srpms, tmp_path: Path) -> None:
    ws = _workspace(tmp_path, [srpms.key])
    entry = PackageEntry(name="hello", url=str(srpms.unsigned), branch="a9")
    refused = import_package(ws, entry)
    assert refused.status == "failed"
    assert refused.error == (
        "hello: hello-1.0-1.el9.src.rpm: not signed "
        "(configure [sources] keys, or allow it with --allow-unsigned)"
    )
    assert mirror_state(ws) == ([], [])
    r = run_cli("import", "hello", "--from", str(srpms.unsigned), "--branch", "a9",
                "--allow-unsigned", "-w", str(ws.root), "-f", "json")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    (pkg,) = json.loads(r.stdout)["packages"]
    assert pkg["status"] == "imported" and "signing_key" not in pkg["upstream"]


def test_srpm_signed_by_other_key_refused(srpms: Srpms, tmp_path: Path, testdata: Path) -> None:
    ws = _workspace(tmp_path, [testdata / "rpms/keys/RPM-GPG-KEY-AlmaLinux-9"])
    r = import_package(ws, PackageEntry(name="hello", url=str(srpms.signed), branch="a9"))
    assert r.status == "failed"
    assert r.error == (
        f"hello: hello-1.0-1.el9.src.rpm: signature key ID {srpms.key_id}: "
        "signed by a key that is not configured"
    )
    assert mirror_state(ws) == ([], [])
    # allow-unsigned does not let a wrongly signed package through
    r = import_package(ws, PackageEntry(name="hello", url=str(srpms.signed), branch="a9"),
                       options=ImportOptions(allow_unsigned=True))  # fmt: skip
    assert r.status == "failed" and "not configured" in (r.error or "")
