"""The on-disk layout of an RPM file: lead, signature header, main header, payload offset.

An RPM file is a 96-byte lead (magic ``ed ab ee db``), then the signature header, padded
to a multiple of 8 bytes, then the main header, then the compressed payload.  Both headers
share one structure: an 16-byte intro (magic ``8e ad e8 01``, 4 reserved bytes, the number
of index entries and the size of the data store, big-endian), the index entries (tag, type,
offset, count; 16 bytes each) and the data store the offsets point into.

createrepo_c reads most of a header for us; this module exists for what it does not expose
(signature packets, payload compressor, file modes and sizes, unfiltered dependencies) and
to turn a damaged file into one clear :class:`FormatError`.
"""

from __future__ import annotations

import bisect
import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from elforge.errors import FormatError

LEAD_MAGIC = b"\xed\xab\xee\xdb"
HEADER_MAGIC = b"\x8e\xad\xe8\x01"
LEAD_SIZE = 96
INTRO_SIZE = 16
ENTRY_SIZE = 16
# librpm's own sanity limits (hdrchkTags / hdrchkData): more is a damaged or hostile file.
MAX_TAGS = 0xFFFF
MAX_DATA = 0x0FFFFFFF

# Tag data types (rpmTagType).
T_NULL, T_CHAR, T_INT8, T_INT16, T_INT32, T_INT64 = 0, 1, 2, 3, 4, 5
T_STRING, T_BIN, T_STRING_ARRAY, T_I18NSTRING = 6, 7, 8, 9

_INT_FORMATS = {T_CHAR: ("B", 1), T_INT8: ("B", 1), T_INT16: ("H", 2), T_INT32: ("I", 4)}
_INT_FORMATS[T_INT64] = ("Q", 8)
_STRING_TYPES = (T_STRING, T_STRING_ARRAY, T_I18NSTRING)

# signature-header tags holding hex digests of the main header
SIGTAG_SHA1HEADER = 269
SIGTAG_SHA256HEADER = 273

TagValue = str | bytes | tuple[int, ...] | tuple[str, ...]


@dataclass(frozen=True)
class Lead:
    major: int
    minor: int
    is_source: bool
    name: str


@dataclass
class Header:
    """A parsed header: its tags, decoded lazily from the index and data store."""

    index: dict[int, tuple[int, int, int]]  # tag -> (type, offset, count)
    store: bytes
    subject: str
    _ends: list[int] | None = field(default=None, repr=False)

    def __contains__(self, tag: int) -> bool:
        return tag in self.index

    def get(self, tag: int) -> TagValue | None:
        entry = self.index.get(tag)
        if entry is None:
            return None
        typ = entry[0]
        if typ in _INT_FORMATS:
            return self._ints(tag, entry)
        if typ == T_BIN:
            _, offset, count = entry
            if offset + count > len(self.store):
                raise FormatError(f"header tag {tag} runs past its data", subject=self.subject)
            return self.store[offset : offset + count]
        if typ in _STRING_TYPES:
            values = self._strings(tag, entry)
            return values[0] if typ == T_STRING else values
        return None

    def _ints(self, tag: int, entry: tuple[int, int, int]) -> tuple[int, ...]:
        typ, offset, count = entry
        code, size = _INT_FORMATS[typ]
        if offset + size * count > len(self.store):
            raise FormatError(f"header tag {tag} runs past its data", subject=self.subject)
        return struct.unpack_from(f">{count}{code}", self.store, offset)

    def _strings(self, tag: int, entry: tuple[int, int, int]) -> tuple[str, ...]:
        typ, offset, count = entry
        if typ == T_STRING:
            count = 1
        if count == 0:
            return ()
        store = self.store
        # the strings end before the next tag's data: split that stretch once (C speed)
        if self._ends is None:
            self._ends = sorted({o for _, o, _ in self.index.values()} | {len(store)})
        bound = self._ends[bisect.bisect_right(self._ends, offset)] if offset < len(store) else 0
        parts = store[offset:bound].split(b"\0", count)
        if len(parts) <= count:  # overlapping or unterminated data: walk it string by string
            parts, pos = [], offset
            for _ in range(count):
                end = store.find(b"\0", pos)
                if end < 0:
                    raise FormatError(
                        f"header tag {tag}: unterminated string", subject=self.subject
                    )
                parts.append(store[pos:end])
                pos = end + 1
        return tuple(p.decode("utf-8", errors="replace") for p in parts[:count])

    def string(self, tag: int) -> str | None:
        """A single string (the C-locale text for I18N strings)."""
        entry = self.index.get(tag)
        if entry is None:
            return None
        if entry[0] not in _STRING_TYPES:
            raise FormatError(f"header tag {tag} is not a string", subject=self.subject)
        values = self._strings(tag, entry)
        return values[0] if values else ""

    def strings(self, tag: int) -> tuple[str, ...]:
        entry = self.index.get(tag)
        if entry is None:
            return ()
        if entry[0] not in _STRING_TYPES:
            raise FormatError(f"header tag {tag} is not a string array", subject=self.subject)
        return self._strings(tag, entry)

    def ints(self, tag: int) -> tuple[int, ...]:
        entry = self.index.get(tag)
        if entry is None:
            return ()
        if entry[0] not in _INT_FORMATS:
            raise FormatError(f"header tag {tag} is not an integer array", subject=self.subject)
        return self._ints(tag, entry)

    def first_int(self, tag: int) -> int | None:
        values = self.ints(tag)
        return values[0] if values else None

    def binary(self, tag: int) -> bytes | None:
        value = self.get(tag)
        if value is None or isinstance(value, bytes):
            return value
        raise FormatError(f"header tag {tag} is not binary data", subject=self.subject)


@dataclass
class RpmStructure:
    """The parsed headers of one RPM file and where its payload starts."""

    lead: Lead
    signature: Header
    header: Header
    header_start: int
    payload_offset: int


def _read_exact(f: BinaryIO, size: int, what: str, subject: str) -> bytes:
    data = f.read(size)
    if len(data) != size:
        raise FormatError(f"truncated {what} (file ends early)", subject=subject)
    return data


def _read_header(
    f: BinaryIO, what: str, subject: str, digests: list[Any] | None = None
) -> tuple[Header, int]:
    intro = _read_exact(f, INTRO_SIZE, what, subject)
    if intro[:4] != HEADER_MAGIC:
        raise FormatError(f"bad {what} magic {intro[:4].hex()} (damaged file)", subject=subject)
    nindex, hsize = struct.unpack(">II", intro[8:16])
    if nindex > MAX_TAGS or hsize > MAX_DATA:
        raise FormatError(
            f"{what} claims {nindex} tags and {hsize} bytes of data (damaged file)",
            subject=subject,
        )
    raw_index = _read_exact(f, nindex * ENTRY_SIZE, what, subject)
    store = _read_exact(f, hsize, what, subject)
    index: dict[int, tuple[int, int, int]] = {}
    for tag, typ, offset, count in struct.iter_unpack(">IIII", raw_index):
        # librpm's own checks (hdrchkType/hdrchkAlign/hdrchkData), so a damaged header is
        # named here, in one line, before any library reads it
        if typ > T_I18NSTRING:
            raise FormatError(f"{what} tag {tag} has unknown type {typ}", subject=subject)
        if offset > hsize or count > hsize:
            raise FormatError(f"{what} tag {tag} points past its data", subject=subject)
        if typ in _INT_FORMATS:
            size = _INT_FORMATS[typ][1]
            if offset % size or offset + size * count > hsize:
                raise FormatError(
                    f"{what} tag {tag} is misaligned or runs past its data", subject=subject
                )
        elif typ == T_BIN and offset + count > hsize:
            raise FormatError(f"{what} tag {tag} runs past its data", subject=subject)
        index.setdefault(tag, (typ, offset, count))
    for digest in digests or ():
        for part in (intro, raw_index, store):
            digest.update(part)
    return Header(index, store, subject), INTRO_SIZE + nindex * ENTRY_SIZE + hsize


def read_structure(path: Path, f: BinaryIO | None = None) -> RpmStructure:
    """Parse lead, signature and main header; leave ``f`` (if given) at the payload."""
    subject = str(path)
    if f is None:
        try:
            with open(path, "rb") as fh:
                return read_structure(path, fh)
        except OSError as exc:
            raise FormatError(f"cannot read: {exc.strerror or exc}", subject=subject) from exc
    lead_raw = f.read(LEAD_SIZE)
    if lead_raw[:4] != LEAD_MAGIC:
        raise FormatError("not an RPM file (bad lead magic)", subject=subject)
    if len(lead_raw) != LEAD_SIZE:
        raise FormatError("truncated lead (file ends early)", subject=subject)
    major, minor, rpm_type = lead_raw[4], lead_raw[5], struct.unpack(">H", lead_raw[6:8])[0]
    name = lead_raw[10:76].split(b"\0", 1)[0].decode("utf-8", errors="replace")
    lead = Lead(major, minor, rpm_type == 1, name)
    signature, sig_size = _read_header(f, "signature header", subject)
    pad = (8 - sig_size % 8) % 8
    _read_exact(f, pad, "signature header padding", subject)
    header_start = LEAD_SIZE + sig_size + pad
    # the signature header carries digests of the main header: check the strongest one
    expected = [
        (name, signature.string(tag))
        for name, tag in (("sha256", SIGTAG_SHA256HEADER), ("sha1", SIGTAG_SHA1HEADER))
        if tag in signature and signature.index[tag][0] == T_STRING
    ]
    digests = [hashlib.new(expected[0][0])] if expected else []
    header, hdr_size = _read_header(f, "main header", subject, digests)
    if expected and digests[0].hexdigest() != expected[0][1]:
        raise FormatError(
            f"main header {expected[0][0]} digest mismatch (damaged or altered header)",
            subject=subject,
        )
    return RpmStructure(lead, signature, header, header_start, header_start + hdr_size)


TAG_OLDFILENAMES = 1027
TAG_DIRINDEXES = 1116
TAG_BASENAMES = 1117
TAG_DIRNAMES = 1118


def file_paths(header: Header) -> list[str]:
    """The package's file paths in header order (compressed or old-style file names)."""
    basenames = header.strings(TAG_BASENAMES)
    if not basenames:
        return list(header.strings(TAG_OLDFILENAMES))
    dirnames = header.strings(TAG_DIRNAMES)
    dirindexes = header.ints(TAG_DIRINDEXES)
    if len(dirindexes) != len(basenames) or any(i >= len(dirnames) for i in dirindexes):
        raise FormatError("file name tables do not match", subject=header.subject)
    return [dirnames[i] + b for i, b in zip(dirindexes, basenames, strict=True)]


_MAGICS = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)


def sniff_compressor(first: bytes) -> str | None:
    """The compressor whose magic starts ``first``; "" for a bare cpio archive; None if unknown.

    Legacy lzma ("lzma_alone") streams have no magic: callers fall back to the header tag.
    """
    for magic, name in _MAGICS:
        if first.startswith(magic):
            return name
    if first.startswith(b"0707"):
        return ""
    return None
