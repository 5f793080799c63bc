"""Stream the files of a package: an RPM's cpio payload, a directory, or a tarball.

The ABI layer only needs each regular file's path and, for ELF files, their contents. An ELF
file is never read into memory whole: it is copied in chunks to an unnamed private temporary
file (hashed on the way) and mapped read-only, so the parser touches only the pages of the
headers and dynamic sections it reads, and peak memory stays flat however large the file
(``bench/abi_memory.py``). The copy also means a file changed under us cannot fault the map.
RPM payloads are streamed by :mod:`elforge.rpm.payload` (which refuses unsafe members and caps
sizes); directories and tarballs are read here.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import lzma
import mmap
import os
import stat
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from elforge.errors import FormatError, UnsafePayloadError, shown
from elforge.rpm import payload as rpm_payload
from elforge.tarsafe import extract_all

ELF_MAGIC = b"\x7fELF"
# An ELF file is spooled to a temporary file and mapped: cap its size (disk, not memory), and
# let rpm.payload.Limits cap the expansion of RPMs and tarballs, so a bomb of a few hundred KB
# is refused before it is spooled.
MAX_ELF = 1 << 30
CHUNK = 1 << 20
LIMITS = rpm_payload.Limits()


def configure_limits(*, max_elf: int, max_ratio: int) -> None:
    """Set the caps for this process (``abi diff --max-elf-size/--max-ratio``)."""
    global MAX_ELF, LIMITS
    MAX_ELF = max_elf
    LIMITS = replace(LIMITS, max_ratio=max_ratio)


TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar.zst")


@dataclass(frozen=True, slots=True)
class Entry:
    """One file of a package; ``data`` holds the contents of ELF and ``*.abignore`` files only.

    An ELF file's ``data`` is a read-only map, valid until the iterator moves on (do not keep
    it); its ``sha256`` was computed while it was copied.
    """

    path: str  # absolute, as installed: "/usr/lib64/libfoo.so.1"
    mode: int
    size: int
    linkto: str | None
    data: bytes | mmap.mmap | None
    sha256: str | None = None


class _Readable(Protocol):
    def read(self, n: int = ..., /) -> bytes: ...


@contextmanager
def _mapped_elf(
    head: bytes, stream: _Readable | BinaryIO, size: int, name: str, subject: Path
) -> Iterator[tuple[mmap.mmap, str]]:
    """Copy an ELF file of ``size`` bytes (``head`` already read) to a private temporary file,
    hashing it, and map that read-only: (map, sha256)."""
    _check_elf_size(name, size, subject)
    digest = hashlib.sha256(head)
    with tempfile.TemporaryFile(prefix="elforge-elf-") as spool:
        spool.write(head)
        left = size - len(head)
        while left > 0:
            block = stream.read(min(CHUNK, left))
            if not block:
                raise FormatError(f"member {shown(name)} is truncated", subject=subject)
            spool.write(block)
            digest.update(block)
            left -= len(block)
        spool.flush()
        mapped = mmap.mmap(spool.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            yield mapped, digest.hexdigest()
        finally:
            _unmap(mapped)


def _unmap(mapped: mmap.mmap) -> None:
    try:
        mapped.close()
    except BufferError:  # a parser's view kept alive by a traceback cycle: collect, retry
        gc.collect()
        with contextlib.suppress(BufferError):  # else unmapped when the view goes
            mapped.close()


MAX_ABIGNORE = 1 << 20


def _is_abignore(path: str, size: int) -> bool:
    """libabigail suppression files shipped in a package (abipkgdiff reads them too)."""
    return path.endswith(".abignore") and size <= MAX_ABIGNORE


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
            if _is_abignore(rel, st.st_size):
                yield Entry(rel, st.st_mode, st.st_size, None, full.read_bytes())
                continue
            with full.open("rb") as fh:
                head = fh.read(4) if elf_data else b""
                if head != ELF_MAGIC:
                    yield Entry(rel, st.st_mode, st.st_size, None, None)
                    continue
                with _mapped_elf(head, fh, st.st_size, rel, root) as (data, sha):
                    yield Entry(rel, st.st_mode, st.st_size, None, data, sha)


def _check_elf_size(name: str, size: int, subject: Path) -> None:
    if size > MAX_ELF:
        raise UnsafePayloadError(
            f"ELF member {shown(name)} is {size} bytes, over the {MAX_ELF}-byte limit",
            subject=subject,
        )


def _iter_tar(path: Path, elf_data: bool) -> Iterator[Entry]:
    compressed, total = path.stat().st_size, 0
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                total += max(member.size, 0)
                LIMITS.check_expansion(member.name, total, compressed, str(path))
                name = "/" + str(PurePosixPath(member.name.lstrip("./") or "."))
                if ".." in PurePosixPath(name).parts:
                    raise UnsafePayloadError(f"member {shown(member.name)} escapes", subject=path)
                if member.issym():
                    yield Entry(name, member.mode | stat.S_IFLNK, 0, member.linkname, None)
                    continue
                if not member.isreg():
                    continue
                mode = member.mode | stat.S_IFREG
                wanted = elf_data or _is_abignore(name, member.size)
                fh = tar.extractfile(member) if wanted else None
                head = fh.read(4) if fh is not None else b""
                if fh is not None and head == ELF_MAGIC and elf_data:
                    with _mapped_elf(head, fh, member.size, name, path) as (data, sha):
                        yield Entry(name, mode, member.size, None, data, sha)
                elif fh is not None and _is_abignore(name, member.size):
                    yield Entry(name, mode, member.size, None, head + fh.read())
                else:
                    yield Entry(name, mode, member.size, None, None)
    except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
        raise FormatError(f"corrupt tarball: {exc}", subject=path) from exc


def _iter_rpm(path: Path, elf_data: bool) -> Iterator[Entry]:
    """The RPM's files through :mod:`elforge.rpm.payload` (safe, size-capped streaming)."""
    for member, reader in rpm_payload.iter_members(path, limits=LIMITS):
        name = "/" + member.path
        if member.is_link:
            yield Entry(name, member.mode, 0, member.linkto, None)
            continue
        if not member.is_reg:
            continue
        if reader is not None and _is_abignore(name, member.size):
            yield Entry(name, member.mode, member.size, None, reader.read(member.size))
            continue
        head = reader.read(4) if elf_data and reader is not None and member.size >= 4 else b""
        if head != ELF_MAGIC or reader is None:
            yield Entry(name, member.mode, member.size, None, None)
            continue
        with _mapped_elf(head, reader, member.size, name, path) as (data, sha):
            yield Entry(name, member.mode, member.size, None, data, sha)


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
                extract_all(tar, root, subject=path)
        except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
            raise FormatError(f"corrupt tarball: {exc}", subject=path) from exc
        return
    rpm_payload.extract(path, root)
