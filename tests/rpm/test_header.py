"""read_header against ``rpm -qp --qf`` on every real RPM of the test data."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest
from rpmcore_builds import BuiltRpms, built_rpms_fixture, signed_rpm_fixture  # noqa: F401
from rpmcore_samples import HEADER_RPMS, rpm_id

from elforge.errors import FormatError
from elforge.rpm.header import RpmHeader, read_header
from helpers import require_tool

F, ITEM, SUB = "\x1f", "\x1e", "\x1d"
SCALARS = [
    "NAME", "EPOCHNUM", "VERSION", "RELEASE", "ARCH", "SOURCERPM", "SUMMARY", "DESCRIPTION",
    "LICENSE", "URL", "VENDOR", "PACKAGER", "BUILDHOST", "BUILDTIME", "PAYLOADCOMPRESSOR",
    "RSAHEADER:pgpsig", "DSAHEADER:pgpsig", "SIGPGP:pgpsig", "SIGGPG:pgpsig",
]  # fmt: skip
DEP_KINDS = [
    "provides", "requires", "conflicts", "obsoletes",
    "recommends", "suggests", "supplements", "enhances",
]  # fmt: skip
ARRAYS = [f"%{{{kind[:-1].upper()}NEVRS}}" for kind in DEP_KINDS] + [
    "%{REQUIREFLAGS:deptype}",
    SUB.join(f"%{{{t}}}" for t in ["FILENAMES", "FILEMODES", "FILESIZES", "FILELINKTOS",
                                   "FILEDIGESTS", "FILEFLAGS"]),
    SUB.join(f"%{{{t}}}" for t in ["CHANGELOGTIME", "CHANGELOGNAME", "CHANGELOGTEXT"]),
]  # fmt: skip
QUERY = F.join([f"%{{{s}}}" for s in SCALARS] + [f"[{a}{ITEM}]" for a in ARRAYS])


def rpm_query(path: Path) -> dict[str, object] | None:
    """What rpm itself says about ``path``; None if rpm cannot read it either."""
    proc = subprocess.run(
        ["rpm", "-qp", "--nosignature", "--nodigest", "--qf", QUERY, str(path)],
        capture_output=True, text=True, errors="replace", check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        return None
    parts = proc.stdout.split(F)
    assert len(parts) == len(SCALARS) + len(ARRAYS)
    out: dict[str, object] = {}
    for name, value in zip(SCALARS, parts, strict=False):
        out[name] = None if value == "(none)" else value
    arrays = [p.split(ITEM)[:-1] for p in parts[len(SCALARS) :]]
    for kind, values in zip(DEP_KINDS, arrays, strict=False):
        out[kind] = values
    out["deptypes"] = arrays[len(DEP_KINDS)]
    out["files"] = [v.split(SUB) for v in arrays[len(DEP_KINDS) + 1]]
    out["changelog"] = [v.split(SUB) for v in arrays[len(DEP_KINDS) + 2]]
    return out


def _key_id(*pgpsigs: object) -> str | None:
    for sig in pgpsigs:
        if isinstance(sig, str):
            m = re.search(r"Key ID ([0-9a-f]{16})", sig)
            if m:
                return m.group(1)
    return None


def assert_matches_rpm(h: RpmHeader, q: dict[str, object]) -> None:
    n = h.nevra
    assert (n.name, str(n.epoch), n.version, n.release) == (
        q["NAME"], q["EPOCHNUM"], q["VERSION"], q["RELEASE"],
    )  # fmt: skip
    if q["SOURCERPM"] is None:
        assert h.sourcerpm is None and h.is_source and n.arch in ("src", "nosrc")
    else:
        assert (n.arch, h.sourcerpm) == (q["ARCH"], q["SOURCERPM"])
    assert h.summary == (q["SUMMARY"] or "")
    assert h.description == (q["DESCRIPTION"] or "")
    assert h.license == (q["LICENSE"] or "")
    assert h.url == (q["URL"] or "")
    assert (h.vendor, h.packager, h.buildhost) == (q["VENDOR"], q["PACKAGER"], q["BUILDHOST"])
    assert h.buildtime == (int(str(q["BUILDTIME"])) if q["BUILDTIME"] else None)
    # rpm reports (none) without the tag; rpm then reads the payload as gzip (which passes
    # uncompressed data through): we say what the bytes are.
    if q["PAYLOADCOMPRESSOR"] is not None:
        assert h.payload_compressor == q["PAYLOADCOMPRESSOR"]
    else:
        assert h.payload_compressor in ("", "gzip")
    assert h.signature_key_id == _key_id(
        q["RSAHEADER:pgpsig"], q["DSAHEADER:pgpsig"], q["SIGPGP:pgpsig"], q["SIGGPG:pgpsig"]
    )
    for kind in DEP_KINDS:
        assert [str(d) for d in getattr(h, kind)] == q[kind], kind
    deptypes = q["deptypes"]
    assert isinstance(deptypes, list)
    for dep, deptype in zip(h.requires, deptypes, strict=True):
        tokens = set(deptype.split(","))
        assert dep.pre == bool(tokens & {"pre", "post", "rpmlib", "keyring", "prereq"}), dep
    files = q["files"]
    assert isinstance(files, list)
    assert len(h.files) == len(files)
    for f, (name, mode, size, linkto, digest, flags) in zip(h.files, files, strict=True):
        assert (f.path, f.mode, f.size, f.linkto or "", f.digest or "", f.flags) == (
            name, int(mode) & 0xFFFF, int(size), linkto, digest, int(flags),
        )  # fmt: skip
        assert f.is_ghost == bool(int(flags) & 64)
        assert f.is_dir == ((int(mode) & 0o170000) == 0o040000)
    changelog = q["changelog"]
    assert isinstance(changelog, list)
    assert [(str(c.time), c.author, c.text) for c in h.changelog] == [tuple(c) for c in changelog]


@pytest.mark.system
@pytest.mark.parametrize("path", HEADER_RPMS, ids=rpm_id)
def test_header_matches_rpm_query(path: Path) -> None:
    require_tool("rpm")
    q = rpm_query(path)
    if q is None:
        # rpm cannot read it (the test data holds a few git symlink stubs named *.rpm):
        # neither can we, and we say so in one line naming the file
        with pytest.raises(FormatError, match=re.escape(str(path))):
            read_header(path)
        return
    assert_matches_rpm(read_header(path), q)


def test_sample_set_is_real() -> None:
    # the glob found the data, including the signed RPM and every payload variant
    names = {p.name for p in HEADER_RPMS}
    assert len(HEADER_RPMS) >= 100
    assert "bash-5.1.8-9.el9.x86_64.rpm" in names


def test_signed_bash(testdata: Path) -> None:
    path = testdata / "rpms/signed/bash-5.1.8-9.el9.x86_64.rpm"
    h = read_header(path, digest=True)
    assert str(h.nevra) == "bash-5.1.8-9.el9.x86_64"
    assert h.signature_key_id == "d36cb86cb86b3716"  # the AlmaLinux 9 key
    assert h.payload_compressor == "zstd"
    assert h.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert h.sourcerpm == "bash-5.1.8-9.el9.src.rpm"
    assert any(str(d) == "filesystem >= 3" for d in h.requires)
    assert any(d.name.startswith("rpmlib(") and d.pre for d in h.requires)
    assert 0 < h.header_start < h.header_end < path.stat().st_size
    assert read_header(path).sha256 is None


def test_payload_variants_compressors(testdata: Path) -> None:
    folder = testdata / "rpms/payload-variants"
    seen = {
        p.name.split("-")[3].split(".")[1]: read_header(p).payload_compressor
        for p in folder.glob("payload-test-*.rpm")
    }
    assert seen == {
        "ufdio": "", "gzdio": "gzip", "bzdio": "bzip2", "xzdio": "xz",
        "lzdio": "lzma", "zstdio": "zstd",
    }  # fmt: skip


def test_wrong_magic(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rpm"
    bad.write_bytes(b"PK\x03\x04" + b"\0" * 200)
    with pytest.raises(FormatError, match=r"bad\.rpm: not an RPM file \(bad lead magic\)"):
        read_header(bad)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="cannot read"):
        read_header(tmp_path / "absent.rpm")


@pytest.mark.parametrize("cut", [50, 96, 100, 200, 2000, 4000])
def test_truncated_header(testdata: Path, tmp_path: Path, cut: int) -> None:
    data = (testdata / "rpms/payload-variants/payload-test-0.1-w9.gzdio.x86_64.rpm").read_bytes()
    short = tmp_path / "short.rpm"
    short.write_bytes(data[:cut])
    with pytest.raises(FormatError, match=r"short\.rpm: truncated"):
        read_header(short)


def test_damaged_header_magic(testdata: Path, tmp_path: Path) -> None:
    data = bytearray((testdata / "rpms/signed/bash-5.1.8-9.el9.x86_64.rpm").read_bytes())
    data[96:100] = b"XXXX"
    bad = tmp_path / "damaged.rpm"
    bad.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"damaged\.rpm: bad signature header magic"):
        read_header(bad)


def test_absurd_tag_count(testdata: Path, tmp_path: Path) -> None:
    data = bytearray((testdata / "rpms/signed/bash-5.1.8-9.el9.x86_64.rpm").read_bytes())
    data[104:108] = (0x7FFFFFFF).to_bytes(4, "big")
    bad = tmp_path / "huge.rpm"
    bad.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="damaged file"):
        read_header(bad)


@pytest.mark.system
def test_built_binary_and_source(built_rpms: BuiltRpms) -> None:
    for path in (built_rpms.binary, built_rpms.source, built_rpms.zstd):
        q = rpm_query(path)
        assert q is not None
        assert_matches_rpm(read_header(path), q)
    src = read_header(built_rpms.source)
    assert src.is_source and src.sourcerpm is None and src.nevra.arch == "src"
    binary = read_header(built_rpms.binary)
    assert binary.sourcerpm == "tiny-1.0-3.el9_4.alma.1.src.rpm"
    assert [str(d) for d in binary.recommends] == ["less"]
    assert any(str(d) == "coreutils >= 8" for d in binary.requires)
    ghost = [f for f in binary.files if f.is_ghost]
    assert [f.path for f in ghost] == ["/var/log/tiny.log"]
    assert [c.text for c in binary.changelog] == ["- third", "- second"]
    assert (binary.payload_compressor, read_header(built_rpms.zstd).payload_compressor) == (
        "gzip", "zstd",
    )  # fmt: skip


@pytest.mark.system
def test_eddsa_signature_key_id(signed_rpm: tuple[Path, str]) -> None:
    path, key_id = signed_rpm
    q = rpm_query(path)
    assert q is not None
    assert_matches_rpm(read_header(path), q)
    assert read_header(path).signature_key_id == key_id


def test_header_digest_checked(testdata: Path, tmp_path: Path) -> None:
    path = testdata / "rpms/signed/bash-5.1.8-9.el9.x86_64.rpm"
    data = bytearray(path.read_bytes())
    pos = data.index(b"The GNU Bourne Again shell")
    data[pos + 4 : pos + 7] = b"BAD"  # same length: the structure stays valid
    bad = tmp_path / "altered.rpm"
    bad.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=r"altered\.rpm: main header sha256 digest mismatch"):
        read_header(bad)


@pytest.mark.system
def test_rpm6_openpgp_tag(signed_rpm: tuple[Path, str]) -> None:
    """rpm 6 keeps signatures base64-encoded in an OPENPGP string array (tag 278)."""
    import base64

    from elforge.rpm.signature import SIGTAG_DSA, SIGTAG_OPENPGP, signature_key_id
    from elforge.rpm.structure import T_STRING_ARRAY, Header, read_structure

    path, key_id = signed_rpm
    packet = read_structure(path).signature.binary(SIGTAG_DSA)  # the EdDSA packet rpmsign made
    assert packet
    store = b"not base64!\0" + base64.b64encode(packet) + b"\0"
    header = Header({SIGTAG_OPENPGP: (T_STRING_ARRAY, 0, 2)}, store, "synthetic")
    assert signature_key_id(header) == key_id
