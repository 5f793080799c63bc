"""Real RPMs built by the tests with rpmbuild (session-scoped fixtures, in a tmp dir).

Test modules import the ``*_fixture`` functions; pytest registers them under ``name=``.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import require_tool

SPEC = """\
Name:           tiny
Version:        1.0
Release:        3.el9_4.alma.1
Summary:        A tiny package built by the elforge tests
License:        MIT
Source0:        hello.c
Requires:       coreutils >= 8
Recommends:     less
Provides:       tiny-tool = 1.0

%description
Built by tests/rpm/conftest.py.

%prep
cp %{SOURCE0} .

%build
gcc -O1 -o tiny hello.c

%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/share/tiny/sub %{buildroot}/usr/lib/tiny
install -m 4755 tiny %{buildroot}/usr/bin/tiny
ln -s tiny %{buildroot}/usr/bin/tiny-link
ln -s ../../share/tiny/hello.txt %{buildroot}/usr/lib/tiny/hello-link
printf 'hello\\n' > %{buildroot}/usr/share/tiny/hello.txt
printf 'same\\n' > %{buildroot}/usr/share/tiny/hard1
ln %{buildroot}/usr/share/tiny/hard1 %{buildroot}/usr/share/tiny/hard2
head -c 200000 /dev/urandom > %{buildroot}/usr/share/tiny/sub/random.bin
chmod 0444 %{buildroot}/usr/share/tiny/sub/random.bin

%files
%attr(4755,root,root) /usr/bin/tiny
/usr/bin/tiny-link
/usr/lib/tiny
/usr/share/tiny
%ghost /var/log/tiny.log

%changelog
* Tue Feb 13 2024 Tester <test@example.org> - 1.0-3
- third
* Mon Feb 12 2024 Tester <test@example.org> - 1.0-2
- second
"""

HELLO_C = '#include <stdio.h>\nint main(void) { puts("tiny"); return 0; }\n'


@dataclass(frozen=True)
class BuiltRpms:
    binary: Path  # gzip payload
    source: Path
    zstd: Path  # the same package with a zstd payload


def _rpmbuild(top: Path, payload: str, *args: str) -> None:
    subprocess.run(
        [
            "rpmbuild", *args,
            "--define", f"_topdir {top}",
            "--define", f"_binary_payload {payload}",
            "--define", "_source_payload w9.gzdio",
            "--define", "debug_package %{nil}",
            "--define", "_build_id_links none",
            "--define", "__brp_strip %{nil}",
            "--define", "__os_install_post %{nil}",
            str(top / "SPECS" / "tiny.spec"),
        ],
        check=True, capture_output=True,
    )  # fmt: skip


@pytest.fixture(scope="session", name="built_rpms")
def built_rpms_fixture(tmp_path_factory: pytest.TempPathFactory) -> BuiltRpms:
    require_tool("rpmbuild", "gcc")
    out: dict[str, Path] = {}
    for payload in ("w9.gzdio", "w3.zstdio"):
        top = tmp_path_factory.mktemp(f"rpmbuild-{payload}")
        for d in ("SPECS", "SOURCES", "BUILD", "RPMS", "SRPMS"):
            (top / d).mkdir()
        (top / "SPECS" / "tiny.spec").write_text(SPEC)
        (top / "SOURCES" / "hello.c").write_text(HELLO_C)
        _rpmbuild(top, payload, "-ba")
        out[payload] = next((top / "RPMS").glob("**/*.rpm"))
        if payload == "w9.gzdio":
            out["src"] = next((top / "SRPMS").glob("*.src.rpm"))
    return BuiltRpms(out["w9.gzdio"], out["src"], out["w3.zstdio"])


@pytest.fixture(scope="session", name="signed_rpm")
def signed_rpm_fixture(
    built_rpms: BuiltRpms, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """The tiny RPM signed with a throwaway EdDSA key; returns (rpm, long key id)."""
    require_tool("gpg", "rpmsign")
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    env = {"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"}
    subprocess.run(
        ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
         "--quick-gen-key", "elforge test <test@example.org>", "ed25519", "sign", "never"],
        check=True, capture_output=True, env=env,
    )  # fmt: skip
    listing = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--list-secret-keys"],
        check=True, capture_output=True, text=True, env=env,
    ).stdout  # fmt: skip
    key_id = next(line.split(":")[4] for line in listing.splitlines() if line.startswith("sec"))
    signed = tmp_path_factory.mktemp("signed") / built_rpms.binary.name
    shutil.copy(built_rpms.binary, signed)
    subprocess.run(
        ["rpmsign", "--define", f"__gpg {shutil.which('gpg')}", "--define", f"_gpg_path {home}",
         "--define", "_gpg_name test@example.org", "--addsign", str(signed)],
        check=True, capture_output=True, env=env,
    )  # fmt: skip
    # gpg started an agent for this home: stop it, we started it
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False, capture_output=True)
    return signed, key_id.lower()


@dataclass(frozen=True)
class CpioEntry:
    """One member of a hand-made cpio archive (hostile payload tests)."""

    name: str
    mode: int
    data: bytes = b""
    declared_size: int | None = None  # lie about the size
    ino: int = 0
    nlink: int = 1
    rdev: tuple[int, int] = (0, 0)


def cpio_archive(entries: list[CpioEntry], *, crc: bool = False) -> bytes:
    """A newc (or crc) cpio archive with exactly these members, then the trailer."""
    out = bytearray()
    magic = b"070702" if crc else b"070701"

    def add(e: CpioEntry, ino: int) -> None:
        name = e.name.encode() + b"\0"
        size = len(e.data) if e.declared_size is None else e.declared_size
        check = sum(e.data) & 0xFFFFFFFF if crc else 0
        fields = [e.ino or ino, e.mode, 0, 0, e.nlink, 1700000000, size, 0, 0,
                  e.rdev[0], e.rdev[1], len(name), check]  # fmt: skip
        out.extend(magic + b"".join(b"%08X" % v for v in fields) + name)
        out.extend(b"\0" * ((4 - len(out) % 4) % 4))
        out.extend(e.data)
        out.extend(b"\0" * ((4 - len(out) % 4) % 4))

    for i, entry in enumerate(entries, start=1):
        add(entry, i)
    add(CpioEntry("TRAILER!!!", 0), 0)
    return bytes(out)


def splice_payload(base: Path, payload: bytes, out: Path, *, fix_digest: bool = True) -> Path:
    """``base``'s lead and headers followed by ``payload`` (offsets from createrepo_c).

    Unless ``fix_digest`` is False, the header's PAYLOADDIGEST (sha256 of the compressed
    payload, read with rpm -qp) is rewritten to match, and so are the signature header's
    sha1/sha256 digests of the main header — as an attacker could do with an unsigned RPM.
    """
    import hashlib

    import createrepo_c as cr

    pkg = cr.package_from_rpm(str(base))
    start, end = pkg.rpm_header_start, pkg.rpm_header_end
    head = bytearray(base.read_bytes()[:end])
    if fix_digest:
        old = subprocess.run(
            ["rpm", "-qp", "--nosignature", "--qf", "%{PAYLOADDIGEST}", str(base)],
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        main = bytes(head[start:end])
        assert len(old) == 64 and main.count(old.encode()) == 1
        new_main = main.replace(old.encode(), hashlib.sha256(payload).hexdigest().encode())
        sig = bytes(head[:start])
        for algo in ("sha1", "sha256"):
            was = hashlib.new(algo, main).hexdigest().encode()
            assert sig.count(was) == 1, algo
            sig = sig.replace(was, hashlib.new(algo, new_main).hexdigest().encode())
        head = bytearray(sig + new_main)
    out.write_bytes(bytes(head) + payload)
    return out
