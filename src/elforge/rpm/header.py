"""Read an RPM header into a typed :class:`RpmHeader`.

createrepo_c (``package_from_rpm``, the parser behind dnf's repository tooling) gives the
package label, descriptive fields and the file's sha256.  What createrepo_c does
not expose comes from our own structural parser (:mod:`elforge.rpm.structure`):

* dependencies exactly as stored in the header (createrepo_c drops ``rpmlib()`` and
  self-satisfied requires and merges duplicates, which is right for repodata but hides
  what the package really declares),
* file modes, sizes, link targets and ghost flags,
* the changelog with its real timestamps (createrepo_c shifts equal ones apart),
* the signer's key id from the signature header and the payload compressor.

A damaged file (wrong magic, truncated header, unreadable) raises one :class:`FormatError`
naming the file.
"""

from __future__ import annotations

import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import createrepo_c as cr

from elforge.errors import FormatError
from elforge.quiet import captured_stderr
from elforge.rpm.nevra import NEVRA
from elforge.rpm.signature import signature_key_id
from elforge.rpm.structure import Header, file_paths, read_structure, sniff_compressor

# Header tags (rpmtag.h) that createrepo_c does not hand us.
TAG_FILESIZES = 1028
TAG_FILEMODES = 1030
TAG_FILEDIGESTS = 1035
TAG_FILELINKTOS = 1036
TAG_FILEFLAGS = 1037
TAG_LONGFILESIZES = 5008
TAG_CHANGELOGTIME = 1080
TAG_CHANGELOGNAME = 1081
TAG_CHANGELOGTEXT = 1082
TAG_PAYLOADFORMAT = 1124
TAG_PAYLOADCOMPRESSOR = 1125

# (name, version, flags) tags of each dependency kind.
DEPENDENCY_TAGS: dict[str, tuple[int, int, int]] = {
    "provides": (1047, 1113, 1112),
    "requires": (1049, 1050, 1048),
    "conflicts": (1054, 1055, 1053),
    "obsoletes": (1090, 1115, 1114),
    "recommends": (5046, 5047, 5048),
    "suggests": (5049, 5050, 5051),
    "supplements": (5052, 5053, 5054),
    "enhances": (5055, 5056, 5057),
}

# rpmsenseFlags bits
SENSE_LESS, SENSE_GREATER, SENSE_EQUAL = 0x02, 0x04, 0x08
SENSE_PREREQ = 1 << 6
SENSE_SCRIPT_PRE, SENSE_SCRIPT_POST = 1 << 9, 1 << 10
SENSE_RPMLIB, SENSE_KEYRING = 1 << 24, 1 << 26
# Every "why is this required" bit; legacy PreReq is PREREQ with none of these.
_ALL_REQUIRES_MASK = 0x0100 | 0x0200 | 0x0400 | 0x0800 | 0x1000 | 0x2000 | 0x4000 | 0x10000
_ALL_REQUIRES_MASK |= 0x20000 | 0x40000 | 0x80000 | 0x100000 | SENSE_RPMLIB | SENSE_KEYRING
_INSTALL_ONLY_MASK = SENSE_SCRIPT_PRE | SENSE_SCRIPT_POST | SENSE_RPMLIB | SENSE_KEYRING

_FLAG_NAMES = {
    SENSE_EQUAL: "EQ",
    SENSE_LESS: "LT",
    SENSE_LESS | SENSE_EQUAL: "LE",
    SENSE_GREATER: "GT",
    SENSE_GREATER | SENSE_EQUAL: "GE",
}
_FLAG_OPERATORS = {"EQ": "=", "LT": "<", "LE": "<=", "GT": ">", "GE": ">="}

RPMFILE_CONFIG = 1 << 0
RPMFILE_DOC = 1 << 1
RPMFILE_GHOST = 1 << 6
RPMFILE_LICENSE = 1 << 7


@dataclass(frozen=True)
class Dependency:
    """One provides/requires/... entry as the header stores it."""

    name: str
    flags: str | None  # "EQ", "LT", "LE", "GT", "GE" or None
    evr: str | None  # "[epoch:]version[-release]" or None
    pre: bool = False  # an install-time prerequisite (Requires(pre), (post), rpmlib, legacy PreReq)

    def __str__(self) -> str:
        if self.flags is None:
            return self.name
        op = _FLAG_OPERATORS[self.flags]
        return f"{self.name} {op} {self.evr}" if self.evr else f"{self.name} {op}"


@dataclass(frozen=True)
class RpmFile:
    path: str
    digest: str | None  # hex digest in the header's file digest algorithm (sha256 today)
    mode: int
    size: int
    linkto: str | None
    is_dir: bool
    is_ghost: bool
    flags: int = 0  # RPMFILE_* bits (config, doc, ghost, license...)

    @property
    def is_config(self) -> bool:
        return bool(self.flags & RPMFILE_CONFIG)

    @property
    def is_link(self) -> bool:
        return stat.S_ISLNK(self.mode)


@dataclass(frozen=True)
class ChangelogEntry:
    author: str
    time: int  # seconds since the epoch (rpm stores the day at 12:00 UTC)
    text: str


@dataclass(frozen=True)
class RpmHeader:
    nevra: NEVRA
    path: Path
    sha256: str | None  # of the whole file; only with read_header(digest=True)
    summary: str
    description: str
    license: str
    url: str
    vendor: str | None
    packager: str | None
    buildhost: str | None
    buildtime: int | None
    sourcerpm: str | None  # None for source RPMs
    provides: tuple[Dependency, ...]
    requires: tuple[Dependency, ...]
    conflicts: tuple[Dependency, ...]
    obsoletes: tuple[Dependency, ...]
    recommends: tuple[Dependency, ...]
    suggests: tuple[Dependency, ...]
    supplements: tuple[Dependency, ...]
    enhances: tuple[Dependency, ...]
    files: tuple[RpmFile, ...]
    changelog: tuple[ChangelogEntry, ...]
    signature_key_id: str | None  # 16 hex digits, None when unsigned
    payload_compressor: str  # "gzip", "bzip2", "xz", "lzma", "zstd" or "" (uncompressed)
    payload_format: str = "cpio"
    header_start: int = 0  # byte range of the main header (repodata's rpm:header-range)
    header_end: int = 0

    @property
    def is_source(self) -> bool:
        return self.sourcerpm is None

    @property
    def name(self) -> str:
        return self.nevra.name

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (the ``packages[]`` entries of ``elforge.rpm-info/1``)."""
        n = self.nevra
        out: dict[str, Any] = {
            "file": str(self.path),
            "nevra": str(n),
            "name": n.name,
            "epoch": n.epoch,
            "version": n.version,
            "release": n.release,
            "arch": n.arch,
            "sha256": self.sha256,
            "summary": self.summary,
            "description": self.description,
            "license": self.license,
            "url": self.url,
            "vendor": self.vendor,
            "packager": self.packager,
            "buildhost": self.buildhost,
            "buildtime": self.buildtime,
            "sourcerpm": self.sourcerpm,
            "signature_key_id": self.signature_key_id,
            "payload_compressor": self.payload_compressor,
            "payload_format": self.payload_format,
            "header_range": [self.header_start, self.header_end],
        }
        for kind in DEPENDENCY_TAGS:
            out[kind] = [asdict(d) for d in getattr(self, kind)]
        out["files"] = [asdict(f) for f in self.files]
        out["changelog"] = [asdict(c) for c in self.changelog]
        return out


def _dependencies(header: Header, kind: str) -> tuple[Dependency, ...]:
    name_tag, version_tag, flags_tag = DEPENDENCY_TAGS[kind]
    names = header.strings(name_tag)
    if not names:
        return ()
    versions = header.strings(version_tag)
    flags = header.ints(flags_tag)
    if len(versions) != len(names) or len(flags) != len(names):
        raise FormatError(
            f"{kind}: {len(names)} names but {len(versions)} versions and {len(flags)} flags",
            subject=header.subject,
        )
    deps = []
    for name, version, flag in zip(names, versions, flags, strict=True):
        pre = False
        if kind == "requires":
            legacy = (flag & _ALL_REQUIRES_MASK) == 0 and bool(flag & SENSE_PREREQ)
            pre = legacy or bool(flag & _INSTALL_ONLY_MASK)
        deps.append(Dependency(name, _FLAG_NAMES.get(flag & 0x0E), version or None, pre))
    return tuple(deps)


def _files(header: Header) -> tuple[RpmFile, ...]:
    paths = file_paths(header)
    n = len(paths)
    if not n:
        return ()
    sizes = header.ints(TAG_LONGFILESIZES) or header.ints(TAG_FILESIZES)
    modes = header.ints(TAG_FILEMODES)
    digests = header.strings(TAG_FILEDIGESTS) or ("",) * n
    links = header.strings(TAG_FILELINKTOS) or ("",) * n
    flags = header.ints(TAG_FILEFLAGS) or (0,) * n
    if not (len(sizes) == len(modes) == len(digests) == len(links) == len(flags) == n):
        raise FormatError("file attribute tables differ in length", subject=header.subject)
    return tuple(
        RpmFile(
            path=paths[i],
            digest=digests[i] or None,
            mode=modes[i],
            size=sizes[i],
            linkto=links[i] or None,
            is_dir=stat.S_ISDIR(modes[i]),
            is_ghost=bool(flags[i] & RPMFILE_GHOST),
            flags=flags[i],
        )
        for i in range(n)
    )


def _changelog(header: Header) -> tuple[ChangelogEntry, ...]:
    # From the header, newest first as rpm shows it: createrepo_c reverses the order and
    # bumps equal timestamps by a second to keep repodata sortable.
    times = header.ints(TAG_CHANGELOGTIME)
    names = header.strings(TAG_CHANGELOGNAME)
    texts = header.strings(TAG_CHANGELOGTEXT)
    if not (len(times) == len(names) == len(texts)):
        raise FormatError("changelog tables differ in length", subject=header.subject)
    return tuple(ChangelogEntry(*entry) for entry in zip(names, times, texts, strict=True))


def _payload_compressor(path: Path, header: Header, payload_offset: int) -> str:
    """The PAYLOADCOMPRESSOR tag; without it rpm assumes gzip, so look at the bytes."""
    tag = header.string(TAG_PAYLOADCOMPRESSOR)
    if tag:
        return tag
    with open(path, "rb") as f:
        f.seek(payload_offset)
        return sniff_compressor(f.read(8)) or ""


def _opt(value: str | None) -> str | None:
    return value


def read_header(path: Path, *, digest: bool = False) -> RpmHeader:
    """Read the header of the RPM at ``path``; FormatError naming the file if it is not one."""
    path = Path(path)
    structure = read_structure(path)
    header = structure.header
    try:
        with captured_stderr():  # librpm and GLib print their own lines
            pkg = cr.package_from_rpm(
                str(path),
                checksum_type=cr.SHA256,
                changelog_limit=0,
                header_reading_flags=cr.HDRR_NOFILEDIGESTS,
            )
    except Exception as exc:  # createrepo_c raises its own error type for every failure
        raise FormatError(f"createrepo_c cannot read the header: {exc}", subject=path) from None
    is_source = structure.lead.is_source or not pkg.rpm_sourcerpm
    try:
        epoch = int(pkg.epoch or 0)
    except ValueError as exc:
        raise FormatError(f"epoch {pkg.epoch!r} is not a number", subject=path) from exc
    nevra = NEVRA(pkg.name or "", epoch, pkg.version or "", pkg.release or "", pkg.arch or "")
    deps = {kind: _dependencies(header, kind) for kind in DEPENDENCY_TAGS}
    return RpmHeader(
        nevra=nevra,
        path=path,
        sha256=pkg.pkgId if digest else None,
        summary=pkg.summary or "",
        description=pkg.description or "",
        license=pkg.rpm_license or "",
        url=pkg.url or "",
        vendor=_opt(pkg.rpm_vendor),
        packager=_opt(pkg.rpm_packager),
        buildhost=_opt(pkg.rpm_buildhost),
        buildtime=pkg.time_build or None,
        sourcerpm=None if is_source else pkg.rpm_sourcerpm,
        files=_files(header),
        changelog=_changelog(header),
        signature_key_id=signature_key_id(structure.signature),
        payload_compressor=_payload_compressor(path, header, structure.payload_offset),
        payload_format=header.string(TAG_PAYLOADFORMAT) or "cpio",
        header_start=structure.header_start,
        header_end=structure.payload_offset,
        **deps,
    )
