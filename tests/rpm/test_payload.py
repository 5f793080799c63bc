"""Payload extraction: byte for byte like ``rpm2cpio | cpio -idm``, and safe on hostile input."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
import zstandard
from rpmcore_builds import (  # noqa: F401
    BuiltRpms,
    CpioEntry,
    built_rpms_fixture,
    cpio_archive,
    splice_payload,
)
from rpmcore_samples import PAYLOAD_RPMS, rpm_id

from elforge.errors import FormatError, UnsafePayloadError
from elforge.pathsafe import rooted_target_leaves as symlink_escapes
from elforge.rpm.payload import Limits, Member, extract, is_elf, iter_members
from helpers import require_tool

REG, DIR, LNK = stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK


def snapshot(root: Path) -> dict[str, tuple[str, ...]]:
    """Every entry below ``root``: type, mode minus setuid/setgid, content hash or link target."""
    out: dict[str, tuple[str, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            rel = str(p.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", oct(stat.S_IMODE(st.st_mode) & ~0o6000))
            else:
                digest = hashlib.sha256(p.read_bytes()).hexdigest()
                out[rel] = ("file", oct(stat.S_IMODE(st.st_mode) & ~0o6000), digest)
    return out


def cpio_reference(rpm: Path, dest: Path) -> bool:
    """Extract with rpm2cpio and GNU cpio; False when rpm2cpio cannot read the file."""
    dest.mkdir(parents=True)
    proc = subprocess.run(
        f"rpm2cpio '{rpm}' | cpio -idm --quiet --no-absolute-filenames",
        shell=True, cwd=dest, capture_output=True, check=False,
    )  # fmt: skip
    return proc.returncode == 0 and "rpm2cpio" not in proc.stderr.decode(errors="replace")


@pytest.mark.system
@pytest.mark.slow
@pytest.mark.parametrize("rpm", PAYLOAD_RPMS, ids=rpm_id)
def test_extract_equals_rpm2cpio(rpm: Path, tmp_path: Path) -> None:
    require_tool("rpm2cpio", "cpio")
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    if not cpio_reference(rpm, theirs):
        with pytest.raises(FormatError, match=re.escape(str(rpm))):
            extract(rpm, ours)
        assert not ours.exists()  # a file that is no RPM creates nothing
        return
    members = extract(rpm, ours)
    assert snapshot(ours) == snapshot(theirs)
    assert len(members) == len({m.path for m in members})


def test_payload_sample_set() -> None:
    names = {p.name for p in PAYLOAD_RPMS}
    assert len(PAYLOAD_RPMS) >= 90
    for variant in ("ufdio", "gzdio", "bzdio", "xzdio", "lzdio", "zstdio"):
        assert any(variant in n for n in names), variant


@pytest.mark.system
def test_built_rpm_extraction(built_rpms: BuiltRpms, tmp_path: Path) -> None:
    for i, rpm in enumerate((built_rpms.binary, built_rpms.zstd, built_rpms.source)):
        ours, theirs = tmp_path / str(i) / "ours", tmp_path / str(i) / "theirs"
        assert cpio_reference(rpm, theirs)
        extract(rpm, ours)
        assert snapshot(ours) == snapshot(theirs)
    ours = tmp_path / "0" / "ours"
    tool = ours / "usr/bin/tiny"
    assert stat.S_IMODE(tool.stat().st_mode) == 0o755  # 4755 in the package: setuid dropped
    hard1, hard2 = ours / "usr/share/tiny/hard1", ours / "usr/share/tiny/hard2"
    assert hard1.read_bytes() == hard2.read_bytes() == b"same\n"
    assert hard1.stat().st_ino == hard2.stat().st_ino
    assert os.readlink(ours / "usr/lib/tiny/hello-link") == "../../share/tiny/hello.txt"


@pytest.mark.system
def test_iter_members_streams_everything(built_rpms: BuiltRpms) -> None:
    seen: dict[str, Member] = {}
    sizes: dict[str, int] = {}
    for member, reader in iter_members(built_rpms.zstd):
        seen[member.path] = member
        if reader is not None:
            sizes[member.path] = len(reader.read(7))  # partial read: the rest is skipped
    assert seen["usr/bin/tiny-link"].is_link and seen["usr/bin/tiny-link"].linkto == "tiny"
    assert seen["usr/lib/tiny"].is_dir
    assert seen["usr/share/tiny/sub/random.bin"].size == 200000
    assert sizes["usr/share/tiny/hello.txt"] == 6
    assert all(not p.startswith(("/", "./")) for p in seen)


@pytest.mark.system
def test_elf_only_selection(built_rpms: BuiltRpms, testdata: Path, tmp_path: Path) -> None:
    members = extract(built_rpms.binary, tmp_path / "tiny", select_content=is_elf)
    assert [m.path for m in members] == ["usr/bin/tiny"]
    assert sorted(p.name for p in (tmp_path / "tiny").rglob("*") if p.is_file()) == ["tiny"]
    bash = testdata / "rpms/signed/bash-5.1.8-9.el9.x86_64.rpm"
    full = tmp_path / "full"
    extract(bash, full)
    elf_files = {
        str(p.relative_to(full))
        for p in full.rglob("*")
        if p.is_file() and not p.is_symlink() and p.read_bytes()[:4] == b"\x7fELF"
    }
    only = extract(bash, tmp_path / "elf", select_content=is_elf)
    assert {m.path for m in only} == elf_files and "usr/bin/bash" in elf_files


@pytest.mark.system
def test_member_selection(built_rpms: BuiltRpms, tmp_path: Path) -> None:
    members = extract(
        built_rpms.binary, tmp_path, select=lambda m: m.path.startswith("usr/share/tiny/hard")
    )
    assert sorted(m.path for m in members) == ["usr/share/tiny/hard1", "usr/share/tiny/hard2"]
    assert (tmp_path / "usr/share/tiny/hard2").read_bytes() == b"same\n"
    assert not (tmp_path / "usr/bin").exists()


@pytest.mark.system
def test_crc_format_payload(built_rpms: BuiltRpms, tmp_path: Path) -> None:
    """A crc (070702) archive made by GNU cpio, spliced into a real RPM."""
    tree = tmp_path / "tree"
    extract(built_rpms.binary, tree)
    names = subprocess.run(
        "find . -mindepth 1 | sort", shell=True, cwd=tree, capture_output=True, check=True
    ).stdout
    archive = subprocess.run(
        ["cpio", "-o", "-H", "crc", "--quiet"], input=names, cwd=tree,
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    rpm = splice_payload(built_rpms.binary, gzip.compress(archive), tmp_path / "crc.rpm")
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    assert cpio_reference(rpm, theirs)
    extract(rpm, ours)
    assert snapshot(ours) == snapshot(theirs)
    # a damaged checksum is caught
    bad = bytearray(archive)
    pos = bad.index(b"hello\n")
    bad[pos] ^= 0x20
    damaged = splice_payload(built_rpms.binary, gzip.compress(bytes(bad)), tmp_path / "bad.rpm")
    with pytest.raises(FormatError, match="crc checksum mismatch"):
        extract(damaged, tmp_path / "damaged")


def test_symlink_escape_rule() -> None:
    assert not symlink_escapes("usr/bin/sh", "bash")
    assert not symlink_escapes("usr/lib/x", "../../share/y")
    assert symlink_escapes("usr/lib/x", "../../../etc/passwd")
    assert not symlink_escapes("usr/bin/x", "/etc/alternatives/x")  # read against the root
    assert symlink_escapes("usr/bin/x", "/../../etc/passwd")
    assert symlink_escapes("x", "..")


# --- hostile payloads --------------------------------------------------------------------

HOSTILE: dict[str, tuple[list[CpioEntry], str]] = {
    "dotdot": ([CpioEntry("./../escape.txt", REG | 0o644, b"x")], r"'\.\.' in the path"),
    "dotdot-inner": (
        [CpioEntry("./usr/../../../escape.txt", REG | 0o644, b"x")],
        r"'\.\.' in the path",
    ),
    "absolute": ([CpioEntry("/etc/elforge-evil", REG | 0o644, b"x")], "absolute path refused"),
    "symlink-escape": (
        [CpioEntry("./usr/evil", LNK | 0o777, b"../../outside")],
        "escapes the target tree",
    ),
    "chardev": ([CpioEntry("./dev/null", stat.S_IFCHR | 0o666, rdev=(1, 3))], "character device"),
    "blockdev": ([CpioEntry("./dev/sda", stat.S_IFBLK | 0o660, rdev=(8, 0))], "block device"),
    "fifo": ([CpioEntry("./run/pipe", stat.S_IFIFO | 0o644)], "FIFO"),
    "socket": ([CpioEntry("./run/sock", stat.S_IFSOCK | 0o644)], "socket"),
    "nul-in-name": ([CpioEntry("./usr/a\0b", REG | 0o644, b"x")], "NUL byte"),
    "write-through-final": (
        [
            CpioEntry("./etc", DIR | 0o755),
            CpioEntry("./etc/passwd", LNK | 0o777, b"shadow"),
            CpioEntry("./etc/passwd", REG | 0o644, b"root::0:0::/:/bin/sh\n"),
        ],
        "would write through the symlink",
    ),
}


def _hostile_rpm(base: Path, entries: list[CpioEntry], tmp_path: Path, zstd: bool) -> Path:
    archive = cpio_archive(entries)
    payload = zstandard.ZstdCompressor().compress(archive) if zstd else gzip.compress(archive)
    return splice_payload(base, payload, tmp_path / "hostile.rpm")


def _assert_nothing_outside(tmp_path: Path, allowed: set[str]) -> None:
    assert {p.name for p in tmp_path.iterdir()} <= allowed
    assert not any((tmp_path / "outside").iterdir())


@pytest.mark.system
@pytest.mark.parametrize("zstd", [False, True], ids=["gzip", "zstd"])
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_member_refused(
    case: str, zstd: bool, built_rpms: BuiltRpms, tmp_path: Path
) -> None:
    entries, problem = HOSTILE[case]
    (tmp_path / "outside").mkdir()
    rpm = _hostile_rpm(built_rpms.binary, entries, tmp_path, zstd)
    dest = tmp_path / "dest"
    with pytest.raises(UnsafePayloadError) as info:
        extract(rpm, dest)
    message = str(info.value)
    assert message.startswith(f"{rpm}: member ")
    assert re.search(problem, message), message
    assert "\n" not in message
    _assert_nothing_outside(tmp_path, {"outside", "dest", "hostile.rpm"})
    assert not (dest / "etc" / "passwd").is_file() or (dest / "etc/passwd").is_symlink()


@pytest.mark.system
def test_symlink_then_write_through_directory(built_rpms: BuiltRpms, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    entries = [
        # an absolute target is read against the tree root, so the link itself is allowed…
        CpioEntry("./usr/share/d", LNK | 0o777, str(outside).encode()),
        # …but nothing is ever written through it
        CpioEntry("./usr/share/d/evil", REG | 0o644, b"pwned"),
    ]
    rpm = _hostile_rpm(built_rpms.binary, entries, tmp_path, zstd=False)
    with pytest.raises(UnsafePayloadError, match=r"member 'usr/share/d/evil': would write through"):
        extract(rpm, tmp_path / "dest")
    _assert_nothing_outside(tmp_path, {"outside", "dest", "hostile.rpm"})


@pytest.mark.system
def test_absolute_member_of_the_package_allowed(built_rpms: BuiltRpms, tmp_path: Path) -> None:
    # nfpm-style payload: absolute names that the header lists land below the target
    entries = [CpioEntry("/usr/share/tiny/hello.txt", REG | 0o644, b"hello\n")]
    rpm = _hostile_rpm(built_rpms.binary, entries, tmp_path, zstd=False)
    extract(rpm, tmp_path / "dest")
    assert (tmp_path / "dest/usr/share/tiny/hello.txt").read_bytes() == b"hello\n"


@pytest.mark.system
def test_setuid_setgid_dropped(built_rpms: BuiltRpms, tmp_path: Path) -> None:
    entries = [
        CpioEntry("./bin/su", REG | 0o6755, b"\x7fELF"),
        CpioEntry("./srv", DIR | 0o2775),
        CpioEntry("./tmp", DIR | 0o1777),
    ]
    rpm = _hostile_rpm(built_rpms.binary, entries, tmp_path, zstd=True)
    extract(rpm, tmp_path / "dest")
    assert stat.S_IMODE((tmp_path / "dest/bin/su").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "dest/srv").stat().st_mode) == 0o775
    assert stat.S_IMODE((tmp_path / "dest/tmp").stat().st_mode) == 0o1777  # sticky stays


@pytest.mark.system
def test_huge_declared_size(built_rpms: BuiltRpms, tmp_path: Path) -> None:
    entries = [CpioEntry("./big", REG | 0o644, b"tiny", declared_size=0xFFFFFFFF)]
    rpm = _hostile_rpm(built_rpms.binary, entries, tmp_path, zstd=False)
    with pytest.raises(UnsafePayloadError, match="declared size 4294967295 exceeds the per-file"):
        extract(rpm, tmp_path / "a", limits=Limits(max_file=1 << 30))
    assert not (tmp_path / "a/big").exists()
    # by default the expansion ratio refuses it at once (87 compressed bytes declaring 4 GiB)
    with pytest.raises(UnsafePayloadError, match=r"member '\./big': the contents expand past"):
        extract(rpm, tmp_path / "c")
    # without a ratio cap, the lie is caught when the data runs out
    with pytest.raises(FormatError, match=r"payload ends inside the data of member '\./big'"):
        extract(rpm, tmp_path / "b", limits=Limits(max_ratio=0))


@pytest.mark.system
@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_decompression_bomb(codec: str, built_rpms: BuiltRpms, tmp_path: Path) -> None:
    zeros = b"\0" * (8 << 20)  # 8 MiB per member, compresses to a few KiB
    entries = [CpioEntry(f"./bomb{i}", REG | 0o644, zeros) for i in range(8)]
    archive = cpio_archive(entries)
    if codec == "zstd":
        payload = zstandard.ZstdCompressor(level=19).compress(archive)
    else:
        payload = gzip.compress(archive, 9)
    assert len(payload) < len(archive) // 100
    rpm = splice_payload(built_rpms.binary, payload, tmp_path / "bomb.rpm")
    with pytest.raises(UnsafePayloadError, match="exceeds the total limit of 16777216"):
        extract(rpm, tmp_path / "total", limits=Limits(max_total=16 << 20))
    with pytest.raises(UnsafePayloadError, match="per-file limit"):
        extract(rpm, tmp_path / "file", limits=Limits(max_file=1 << 20))
    written = sum(p.stat().st_size for p in (tmp_path / "total").rglob("*") if p.is_file())
    assert written <= 16 << 20


@pytest.mark.system
def test_member_count_limit(built_rpms: BuiltRpms, tmp_path: Path) -> None:
    entries = [CpioEntry(f"./d{i}", DIR | 0o755) for i in range(300)]
    rpm = _hostile_rpm(built_rpms.binary, entries, tmp_path, zstd=False)
    with pytest.raises(UnsafePayloadError, match="more than 100 members"):
        extract(rpm, tmp_path / "dest", limits=Limits(max_members=100))
    assert len(extract(rpm, tmp_path / "ok")) == 300


@pytest.mark.system
def test_truncated_and_corrupt_payloads(built_rpms: BuiltRpms, tmp_path: Path) -> None:
    data = built_rpms.binary.read_bytes()
    short = tmp_path / "short.rpm"
    short.write_bytes(data[: len(data) - 2000])
    with pytest.raises(FormatError, match=r"short\.rpm: (corrupt gzip payload|payload ends)"):
        extract(short, tmp_path / "a")
    corrupt = bytearray(data)
    for i in range(len(data) - 3000, len(data) - 2000):
        corrupt[i] ^= 0x55
    bad = tmp_path / "corrupt.rpm"
    bad.write_bytes(bytes(corrupt))
    with pytest.raises(FormatError, match=r"corrupt\.rpm: (corrupt gzip payload|unsupported)"):
        extract(bad, tmp_path / "b")
    no_trailer = splice_payload(
        built_rpms.binary, gzip.compress(cpio_archive([])[:0]), tmp_path / "empty.rpm"
    )
    with pytest.raises(FormatError, match="without the cpio trailer"):
        extract(no_trailer, tmp_path / "c")


@pytest.mark.system
def test_payload_digest_checked(built_rpms: BuiltRpms, tmp_path: Path) -> None:
    """A valid payload that is not the one the header's PAYLOADDIGEST describes."""
    archive = cpio_archive([CpioEntry("./usr/share/tiny/hello.txt", REG | 0o644, b"other\n")])
    swapped = splice_payload(
        built_rpms.binary, gzip.compress(archive), tmp_path / "swapped.rpm", fix_digest=False
    )
    with pytest.raises(FormatError, match=r"swapped\.rpm: payload digest mismatch"):
        extract(swapped, tmp_path / "a")
    fixed = splice_payload(built_rpms.binary, gzip.compress(archive), tmp_path / "fixed.rpm")
    extract(fixed, tmp_path / "b")
    assert (tmp_path / "b/usr/share/tiny/hello.txt").read_bytes() == b"other\n"


@pytest.mark.system
def test_bad_magic_and_truncated_header(built_rpms: BuiltRpms, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.rpm"
    wrong.write_bytes(b"\x1f\x8b" + built_rpms.binary.read_bytes()[2:])
    with pytest.raises(FormatError, match=r"wrong\.rpm: not an RPM file \(bad lead magic\)"):
        extract(wrong, tmp_path / "a")
    cut = tmp_path / "cut.rpm"
    cut.write_bytes(built_rpms.binary.read_bytes()[:600])
    with pytest.raises(FormatError, match=r"cut\.rpm: truncated"):
        extract(cut, tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    odc = subprocess.run(
        ["cpio", "-o", "-H", "odc", "--quiet"], input=b"", capture_output=True, check=True
    ).stdout
    old = splice_payload(built_rpms.binary, gzip.compress(odc), tmp_path / "odc.rpm")
    with pytest.raises(FormatError, match="odc"):
        extract(old, tmp_path / "c")
