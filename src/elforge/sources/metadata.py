"""Lookaside metadata files: dist-git ``sources`` (both forms) and exploded ``.<name>.metadata``.

Every entry names one file that is not in git but in a lookaside cache, by hash. File names
come from upstream and are untrusted: a name with a path separator, ``..`` or a control
character is refused, so no later step can be tricked into writing outside its folder.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from elforge.errors import FormatError

# Hash type by hex length, as git.centos.org's exploded metadata leaves it implicit.
HASH_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}
HASH_TYPES = frozenset(HASH_BY_LENGTH.values())

_HEX = re.compile(r"[0-9a-fA-F]+")
_BSD_LINE = re.compile(r"^(?P<algo>[A-Za-z0-9]+) \((?P<file>.+)\) = (?P<hash>[0-9a-fA-F]+)$")
_UNSAFE_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")


@dataclass(frozen=True, order=True)
class SourceEntry:
    """One lookaside file: its bare file name and its content hash."""

    file: str
    hashtype: str  # md5, sha1, sha256 or sha512
    hash: str  # lower-case hex

    @property
    def key(self) -> str:
        return f"{self.hashtype}/{self.hash}"


def hasher(hashtype: str) -> hashlib._Hash:
    if hashtype not in HASH_TYPES:
        raise ValueError(f"unsupported hash type {hashtype!r}")
    # md5 and sha1 name content in old lookaside caches; not used for security here alone.
    return hashlib.new(hashtype, usedforsecurity=hashtype not in ("md5", "sha1"))


def file_digest(path: Path, hashtype: str) -> str:
    h = hasher(hashtype)
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def check_file_name(name: str, *, subject: str, line: int) -> str:
    """Refuse any lookaside file name that is not one plain file name."""
    if (
        not name
        or "/" in name
        or name in (".", "..")
        or ".." in name.split("/")
        or name.startswith("..")
        or _UNSAFE_CHARS.search(name)
    ):
        raise FormatError(f"line {line}: unsafe file name {name!r}", subject=subject)
    return name


def _check_hash(value: str, hashtype: str | None, *, subject: str, line: int) -> tuple[str, str]:
    if not _HEX.fullmatch(value):
        raise FormatError(f"line {line}: hash {value!r} is not hexadecimal", subject=subject)
    by_len = HASH_BY_LENGTH.get(len(value))
    if by_len is None:
        raise FormatError(
            f"line {line}: hash of length {len(value)} matches no known hash type",
            subject=subject,
        )
    if hashtype is not None and hashtype != by_len:
        raise FormatError(
            f"line {line}: {hashtype} hash has the wrong length ({len(value)})", subject=subject
        )
    return by_len, value.lower()


def _no_duplicates(entries: list[SourceEntry], subject: str) -> list[SourceEntry]:
    seen: set[str] = set()
    for entry in entries:
        if entry.file in seen:
            raise FormatError(f"file {entry.file!r} listed twice", subject=subject)
        seen.add(entry.file)
    return entries


def parse_sources_file(text: str, *, subject: str) -> list[SourceEntry]:
    """Parse a dist-git ``sources`` file: ``HASH  FILE`` (md5) or ``ALGO (FILE) = HASH``."""
    entries = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if m := _BSD_LINE.match(line):
            algo = m["algo"].lower()
            if algo not in HASH_TYPES:
                raise FormatError(
                    f"line {lineno}: unknown hash type {m['algo']!r}", subject=subject
                )
            hashtype, digest = _check_hash(m["hash"], algo, subject=subject, line=lineno)
            name = m["file"]
        else:
            parts = line.split(None, 1)
            if len(parts) != 2:
                raise FormatError(
                    f"line {lineno}: expected 'HASH  FILE' or 'ALGO (FILE) = HASH', got {raw!r}",
                    subject=subject,
                )
            hashtype, digest = _check_hash(parts[0], None, subject=subject, line=lineno)
            name = parts[1].strip()
        entries.append(
            SourceEntry(check_file_name(name, subject=subject, line=lineno), hashtype, digest)
        )
    return _no_duplicates(entries, subject)


def parse_metadata_file(text: str, *, subject: str) -> list[SourceEntry]:
    """Parse an exploded-tree ``.<name>.metadata``: ``HASH SOURCES/FILE`` per line."""
    entries = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise FormatError(
                f"line {lineno}: expected 'HASH SOURCES/FILE', got {raw!r}", subject=subject
            )
        hashtype, digest = _check_hash(parts[0], None, subject=subject, line=lineno)
        path = parts[1]
        if not path.startswith("SOURCES/"):
            raise FormatError(
                f"line {lineno}: path {path!r} is not under SOURCES/", subject=subject
            )
        name = check_file_name(path[len("SOURCES/") :], subject=subject, line=lineno)
        entries.append(SourceEntry(name, hashtype, digest))
    return _no_duplicates(entries, subject)


def render_metadata(entries: list[SourceEntry]) -> str:
    """The normalised metadata text: exploded form, sorted by file name."""
    return "".join(f"{e.hash} SOURCES/{e.file}\n" for e in sorted(entries))
