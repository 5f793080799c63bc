"""Stream the files of a package: an RPM's cpio payload, a directory, or a tarball.

The ABI layer only needs each regular file's path and, for ELF files, its bytes; nothing is
written to disk for the ELF layer. RPM payloads are read with ``createrepo_c`` for the
header (where the payload starts) and the standard decompressors for the cpio stream.
When ``elforge.rpm.payload`` (the rpmcore engineer's module) is on main this module's RPM
branch should delegate to it; the directory and tarball branches stay here.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import stat
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import zstandard

from elforge.errors import FormatError, UnsafePayloadError

ELF_MAGIC = b"\x7fELF"
MAX_FILE = 4 << 30
MAX_TOTAL = 16 << 30
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst")


@dataclass(frozen=True, slots=True)
class Entry:
    """One file of a package; ``data`` holds the bytes of ELF files only (else None)."""

    path: str  # absolute, as installed: "/usr/lib64/libfoo.so.1"
    mode: int
    size: int
    linkto: str | None
    data: bytes | None


def package_kind(path: Path) -> str:
    """ "rpm", "dir" or "tar" from what the file is, not only its name."""
    if path.is_dir():
        return "dir"
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror}", subject=path) from exc
    if head == b"\xed\xab\xee\xdb":
        return "rpm"
    if tarfile.is_tarfile(path):
        return "tar"
    raise FormatError("not an RPM, a directory or a tarball", subject=path)


def iter_package(
    path: Path, *, want: Callable[[str], bool] | None = None, elf_data: bool = True
) -> Iterator[Entry]:
    """Yield the package's files; ELF files carry their bytes when ``elf_data``."""
    kind = package_kind(path)
    if kind == "dir":
        yield from _iter_dir(path, elf_data)
    elif kind == "tar":
        yield from _iter_tar(path, elf_data)
    else:
        yield from _iter_rpm(path, elf_data)


def _iter_dir(root: Path, elf_data: bool) -> Iterator[Entry]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for fname in sorted(filenames):
            full = Path(dirpath) / fname
            rel = "/" + full.relative_to(root).as_posix()
            st = full.lstat()
            if stat.S_ISLNK(st.st_mode):
                yield Entry(rel, st.st_mode, 0, os.readlink(full), None)
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            data = None
            if elf_data:
                with full.open("rb") as fh:
                    if fh.read(4) == ELF_MAGIC:
                        fh.seek(0)
                        data = fh.read()
            yield Entry(rel, st.st_mode, st.st_size, None, data)


def _iter_tar(path: Path, elf_data: bool) -> Iterator[Entry]:
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                name = "/" + str(PurePosixPath(member.name.lstrip("./") or "."))
                if ".." in PurePosixPath(name).parts:
                    raise UnsafePayloadError(f"member {member.name!r} escapes", subject=path)
                if member.issym():
                    yield Entry(name, member.mode | stat.S_IFLNK, 0, member.linkname, None)
                    continue
                if not member.isreg():
                    continue
                data = None
                if elf_data:
                    fh = tar.extractfile(member)
                    if fh is not None:
                        head = fh.read(4)
                        if head == ELF_MAGIC:
                            data = head + fh.read()
                yield Entry(name, member.mode | stat.S_IFREG, member.size, None, data)
    except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
        raise FormatError(f"corrupt tarball: {exc}", subject=path) from exc


def _decompressor(path: Path, raw: BinaryIO) -> BinaryIO:
    head = raw.read(6)
    raw.seek(-len(head), os.SEEK_CUR)
    if head[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if head[:3] == b"BZh":
        return bz2.BZ2File(raw)  # type: ignore[return-value]
    if head == b"\xfd7zXZ\x00":
        return lzma.LZMAFile(raw, format=lzma.FORMAT_XZ)  # type: ignore[return-value]
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return zstandard.ZstdDecompressor().stream_reader(raw)
    if head[:3] == b"\x5d\x00\x00":
        return lzma.LZMAFile(raw, format=lzma.FORMAT_ALONE)  # type: ignore[return-value]
    if head[:5] == b"07070":
        return raw
    raise FormatError("unknown payload compression", subject=path)


def payload_offset(path: Path) -> int:
    """Where the payload starts: after lead, signature header (8-aligned) and header."""
    with path.open("rb") as fh:
        lead = fh.read(96)
        if len(lead) < 96 or lead[:4] != b"\xed\xab\xee\xdb":
            raise FormatError("not an RPM (bad lead)", subject=path)
        pos = 96
        for which in ("signature", "main"):
            fh.seek(pos)
            hdr = fh.read(16)
            if len(hdr) < 16 or hdr[:3] != b"\x8e\xad\xe8":
                raise FormatError(f"bad {which} header magic", subject=path)
            nindex = int.from_bytes(hdr[8:12], "big")
            hsize = int.from_bytes(hdr[12:16], "big")
            pos += 16 + 16 * nindex + hsize
            if which == "signature":
                pos = (pos + 7) & ~7
        size = path.stat().st_size
        if pos > size:
            raise FormatError("truncated RPM: header runs past end of file", subject=path)
        return pos


def _read_exact(stream: BinaryIO, n: int, path: Path, what: str) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = stream.read(min(n - len(out), 1 << 20))
        if not chunk:
            raise FormatError(f"corrupt payload: truncated {what}", subject=path)
        out += chunk
    return bytes(out)


def _skip(stream: BinaryIO, n: int, path: Path, what: str) -> None:
    while n > 0:
        chunk = stream.read(min(n, 1 << 20))
        if not chunk:
            raise FormatError(f"corrupt payload: truncated {what}", subject=path)
        n -= len(chunk)


def _iter_rpm(path: Path, elf_data: bool) -> Iterator[Entry]:
    offset = payload_offset(path)
    with path.open("rb") as raw:
        raw.seek(offset)
        try:
            stream = _decompressor(path, raw)
            yield from _iter_cpio(stream, path, elf_data)
        except (OSError, EOFError, zlib.error, lzma.LZMAError, zstandard.ZstdError) as exc:
            raise FormatError(f"corrupt payload: {exc}", subject=path) from exc


def _iter_cpio(stream: BinaryIO, path: Path, elf_data: bool) -> Iterator[Entry]:
    total = 0
    while True:
        hdr = _read_exact(stream, 110, path, "cpio header")
        magic = hdr[:6]
        if magic not in (b"070701", b"070702"):
            raise FormatError(f"corrupt payload: bad cpio magic {magic!r}", subject=path)
        try:
            fields = [int(hdr[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
        except ValueError as exc:
            raise FormatError("corrupt payload: bad cpio header", subject=path) from exc
        mode, filesize, namesize = fields[1], fields[6], fields[11]
        name_raw = _read_exact(stream, namesize, path, "cpio name")
        _skip(stream, (-(110 + namesize)) % 4, path, "cpio padding")
        name = name_raw.rstrip(b"\0").decode("utf-8", "surrogateescape")
        if name == "TRAILER!!!":
            return
        if filesize > MAX_FILE or total + filesize > MAX_TOTAL:
            raise UnsafePayloadError(f"member {name!r} exceeds the size limits", subject=path)
        total += filesize
        norm = "/" + name.lstrip("./")
        if ".." in PurePosixPath(norm).parts:
            raise UnsafePayloadError(f"member {name!r} escapes the target", subject=path)
        pad = (-filesize) % 4
        if stat.S_ISLNK(mode):
            target = _read_exact(stream, filesize, path, f"link {name}").decode(
                "utf-8", "surrogateescape"
            )
            _skip(stream, pad, path, "cpio padding")
            yield Entry(norm, mode, 0, target, None)
            continue
        if stat.S_ISREG(mode) and filesize >= 4 and elf_data:
            head = _read_exact(stream, 4, path, f"member {name}")
            if head == ELF_MAGIC:
                data = head + _read_exact(stream, filesize - 4, path, f"member {name}")
                _skip(stream, pad, path, "cpio padding")
                yield Entry(norm, mode, filesize, None, data)
                continue
            _skip(stream, filesize - 4 + pad, path, f"member {name}")
        else:
            _skip(stream, filesize + pad, path, f"member {name}")
        if stat.S_ISREG(mode):
            yield Entry(norm, mode, filesize, None, None)


def extract(path: Path, dest: Path) -> None:
    """Write the package's regular files and symlinks under ``dest`` (for abidiff).

    Never writes outside ``dest``: paths are normalised, ``..`` is refused, symlinks are
    created as links (never followed while writing).
    """
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    kind = package_kind(path)
    if kind == "dir":
        raise FormatError("extract() is for RPMs and tarballs; use the directory", subject=path)
    if kind == "tar":
        try:
            with tarfile.open(path, "r:*") as tar:
                tar.extractall(root, filter="data")
        except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
            raise FormatError(f"corrupt tarball: {exc}", subject=path) from exc
        return
    for entry, data in _iter_rpm_all(path):
        target = root / entry.path.lstrip("/")
        parent = target.parent
        if not parent.resolve().is_relative_to(root):
            raise UnsafePayloadError(f"member {entry.path!r} escapes through a link", subject=path)
        parent.mkdir(parents=True, exist_ok=True)
        if entry.linkto is not None:
            if target.is_symlink() or target.exists():
                target.unlink()
            os.symlink(entry.linkto, target)
        elif data is not None:
            target.write_bytes(data)


def _iter_rpm_all(path: Path) -> Iterator[tuple[Entry, bytes | None]]:
    """All regular files with their bytes (debuginfo and devel packages)."""
    offset = payload_offset(path)
    with path.open("rb") as raw:
        raw.seek(offset)
        try:
            stream = _decompressor(path, raw)
            while True:
                hdr = _read_exact(stream, 110, path, "cpio header")
                if hdr[:6] not in (b"070701", b"070702"):
                    raise FormatError("corrupt payload: bad cpio magic", subject=path)
                mode = int(hdr[14:22], 16)
                filesize = int(hdr[54:62], 16)
                namesize = int(hdr[94:102], 16)
                name = (
                    _read_exact(stream, namesize, path, "cpio name")
                    .rstrip(b"\0")
                    .decode("utf-8", "surrogateescape")
                )
                _skip(stream, (-(110 + namesize)) % 4, path, "cpio padding")
                if name == "TRAILER!!!":
                    return
                norm = "/" + name.lstrip("./")
                if ".." in PurePosixPath(norm).parts:
                    raise UnsafePayloadError(f"member {name!r} escapes the target", subject=path)
                if filesize > MAX_FILE:
                    raise UnsafePayloadError(f"member {name!r} exceeds size limit", subject=path)
                data = _read_exact(stream, filesize, path, f"member {name}")
                _skip(stream, (-filesize) % 4, path, "cpio padding")
                if stat.S_ISLNK(mode):
                    yield Entry(norm, mode, 0, data.decode("utf-8", "surrogateescape"), None), None
                elif stat.S_ISREG(mode) and filesize:
                    yield Entry(norm, mode, filesize, None, None), data
        except (OSError, EOFError, zlib.error, lzma.LZMAError, zstandard.ZstdError) as exc:
            raise FormatError(f"corrupt payload: {exc}", subject=path) from exc
