"""Stream and extract an RPM payload: cpio (newc ``070701``, crc ``070702``) in gzip, bzip2,
xz, lzma or zstd, or uncompressed — without trusting it.

:func:`iter_members` streams ``(member, reader)`` pairs and already refuses what no RPM may
carry: absolute paths, ``..`` components, device nodes, FIFOs and sockets, members or totals
beyond :class:`Limits` (decompression bombs).  :func:`extract` writes into one directory and
never outside it: every path component is opened relative to the directory above with
``O_NOFOLLOW``, so a symlink laid down by an earlier member is never written through; a
symlink whose target climbs out of the tree is refused; setuid/setgid bits are dropped.
Every refusal is one :class:`UnsafePayloadError` naming the RPM and the member.
"""

from __future__ import annotations

import bz2
import contextlib
import errno
import gzip
import hashlib
import lzma
import os
import stat
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol, cast

import zstandard

from elforge.errors import FormatError, UnsafePayloadError, shown
from elforge.pathsafe import rooted_target_leaves
from elforge.progress import NO_PROGRESS, Progress
from elforge.rpm.structure import file_paths, read_structure, sniff_compressor

CHUNK = 1 << 20
CPIO_HEADER = 110
TRAILER = "TRAILER!!!"
MAX_NAME = 4096  # PATH_MAX: longer names are a damaged or hostile archive
ELF_MAGIC = b"\x7fELF"
_TAG_PAYLOADCOMPRESSOR = 1125
_TAG_FILEFLAGS = 1037
_TAG_PAYLOADDIGEST = 5092
_TAG_PAYLOADDIGESTALGO = 5093
_RPMFILE_GHOST = 1 << 6


@dataclass(frozen=True)
class Limits:
    """Caps against decompression bombs: bytes of all members, of one member, member count,
    and the expansion ratio (uncompressed bytes per compressed payload byte; 0 turns it off).

    The ratio applies past ``ratio_floor`` bytes, so small packages of very compressible files
    are never refused; real packages stay far below 200:1 (text compresses about 5-10:1).
    """

    max_total: int = 4 << 30
    max_file: int = 4 << 30
    max_members: int = 1_000_000
    max_ratio: int = 200
    ratio_floor: int = 64 << 20

    def expansion_cap(self, compressed: int) -> int | None:
        """The most bytes a payload of ``compressed`` bytes may expand to (None: no cap)."""
        if self.max_ratio <= 0:
            return None
        return max(self.ratio_floor, self.max_ratio * max(compressed, 1))

    def check_expansion(self, name: str, total: int, compressed: int, subject: str) -> None:
        """Refuse (naming the member) when ``total`` bytes so far exceed the ratio cap."""
        cap = self.expansion_cap(compressed)
        if cap is not None and total > cap:
            raise UnsafePayloadError(
                f"member {shown(name)}: the contents expand past {self.max_ratio}:1 of the "
                f"{compressed}-byte compressed data ({total} bytes by this member; a "
                "decompression bomb? raise the limit with --max-ratio)",
                subject=subject,
            )


@dataclass(frozen=True)
class Member:
    """One cpio member; ``path`` is relative and normalised (rpm's ``./`` prefix removed)."""

    path: str
    mode: int
    size: int
    linkto: str | None
    is_dir: bool
    is_link: bool
    is_reg: bool
    mtime: int = 0
    ino: int = 0
    nlink: int = 1


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def is_elf(member: Member, first_bytes: bytes) -> bool:
    """Select ELF files: a regular file whose content starts with ``\\x7fELF``."""
    return member.is_reg and first_bytes.startswith(ELF_MAGIC)


class _Stream:
    """The decompressed payload, read exactly, with decompressor errors made FormatErrors."""

    def __init__(self, raw: _Readable, compressor: str, subject: str) -> None:
        self._raw = raw
        self._compressor = compressor or "uncompressed"
        self._subject = subject

    def read(self, size: int) -> bytes:
        try:
            data = self._raw.read(size)
        except (OSError, EOFError, zlib.error, lzma.LZMAError, zstandard.ZstdError) as exc:
            raise FormatError(
                f"corrupt {self._compressor} payload: {exc}", subject=self._subject
            ) from exc
        return data

    def read_exact(self, size: int, what: str) -> bytes:
        parts: list[bytes] = []
        left = size
        while left:
            data = self.read(min(left, CHUNK))
            if not data:
                raise FormatError(f"payload ends inside {what}", subject=self._subject)
            parts.append(data)
            left -= len(data)
        return b"".join(parts)


class MemberReader:
    """Reads one member's data; valid only until the next member is produced."""

    def __init__(self, stream: _Stream, size: int, name: str, crc: bool) -> None:
        self._stream = stream
        self._left = size
        self._name = name
        self.checksum = 0 if crc else None

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if size is None or size < 0 else min(size, self._left)
        data = self._stream.read_exact(want, f"the data of member {self._name!r}")
        self._left -= len(data)
        if self.checksum is not None:
            self.checksum = (self.checksum + sum(data)) & 0xFFFFFFFF
        return data

    def drain(self) -> None:
        while self._left > 0:
            self.read(CHUNK)


class _DigestingReader:
    """The compressed payload as read from the file, hashed on the way (PAYLOADDIGEST)."""

    def __init__(self, f: BinaryIO, algorithm: str | None) -> None:
        self._f = f
        self._hash = hashlib.new(algorithm) if algorithm else None

    def read(self, size: int = -1, /) -> bytes:
        data = self._f.read(size)
        if self._hash is not None:
            self._hash.update(data)
        return data

    def hexdigest_to_end(self) -> str | None:
        """Read (and hash) whatever the decompressor left, then the digest."""
        if self._hash is None:
            return None
        while self.read(CHUNK):
            pass
        return self._hash.hexdigest()


# rpm's PGPHASHALGO numbers for PAYLOADDIGESTALGO
_DIGEST_ALGORITHMS = {1: "md5", 2: "sha1", 8: "sha256", 9: "sha384", 10: "sha512", 11: "sha224"}


def _open_payload(
    f: BinaryIO, head: bytes, compressor_tag: str | None, subject: str
) -> tuple[_Readable, str]:
    """A decompressing reader over ``f``, chosen by the first bytes ``head`` of the payload."""
    kind = sniff_compressor(head)
    if kind is None:  # lzma_alone has no magic; trust the header tag
        kind = compressor_tag or ""
        if kind not in ("lzma", ""):
            raise FormatError(
                f"payload does not look like {kind} data (starts {head.hex()})", subject=subject
            )
    if kind == "gzip":
        return gzip.GzipFile(fileobj=f, mode="rb"), kind
    if kind == "bzip2":
        return bz2.BZ2File(f, mode="rb"), kind
    if kind in ("xz", "lzma"):
        return lzma.LZMAFile(f, mode="rb", format=lzma.FORMAT_AUTO), kind
    if kind == "zstd":
        return zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True), kind
    if kind == "":
        return f, kind
    raise FormatError(f"unsupported payload compressor {kind!r}", subject=subject)


def normalise_member_path(name: str, subject: str, package_files: Callable[[], set[str]]) -> str:
    """rpm's ``./usr/bin/x`` as ``usr/bin/x``; ``..`` and unlisted absolute paths are refused.

    Payloads of packages without ``rpmlib(PayloadFilesHavePrefix)`` (nfpm writes them) name
    members by the absolute path of the header's file list; rpm accepts those because they
    match a file of the package, and so do we, below the target like every other member.
    """
    if "\0" in name:
        raise UnsafePayloadError(f"member {name!r}: NUL byte in the name", subject=subject)
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafePayloadError(f"member {name!r}: '..' in the path refused", subject=subject)
    if name.startswith("/") and name not in package_files():
        raise UnsafePayloadError(
            f"member {name!r}: absolute path refused (not a file of the package)",
            subject=subject,
        )
    return "/".join(parts)


def _hex_fields(header: bytes, subject: str) -> list[int]:
    try:
        return [int(header[6 + 8 * i : 14 + 8 * i], 16) for i in range(13)]
    except ValueError as exc:
        raise FormatError("damaged cpio header (non-hex field)", subject=subject) from exc


def iter_members(
    rpm: Path, *, limits: Limits = Limits()
) -> Iterator[tuple[Member, MemberReader | None]]:
    """Stream the payload's members; regular files come with a reader for their data.

    The reader (a file-like ``read(size=-1)``, plus ``drain()``) is valid until the next
    member; what is left unread is skipped.
    """
    yield from _members(rpm, limits)


def _members(rpm: Path, limits: Limits) -> Iterator[tuple[Member, MemberReader | None]]:
    rpm = Path(rpm)
    subject = str(rpm)
    try:
        f = open(rpm, "rb")  # noqa: SIM115 - closed in the finally below, after the generator
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", subject=subject) from exc
    try:
        structure = read_structure(rpm, f)
        expected_digest = (structure.header.strings(_TAG_PAYLOADDIGEST) or (None,))[0]
        algorithm = _DIGEST_ALGORITHMS.get(structure.header.first_int(_TAG_PAYLOADDIGESTALGO) or 8)
        start = f.tell()
        compressed = os.fstat(f.fileno()).st_size - start
        head = f.read(8)
        f.seek(start)
        digesting = _DigestingReader(f, algorithm if expected_digest else None)
        raw, compressor = _open_payload(
            cast(BinaryIO, digesting),
            head,
            structure.header.string(_TAG_PAYLOADCOMPRESSOR),
            subject,
        )
        stream = _Stream(raw, compressor, subject)
        count = total = 0
        known: set[str] = set()

        def package_files() -> set[str]:
            if not known:
                known.update(file_paths(structure.header))
            return known

        while True:
            header = stream.read(CPIO_HEADER)
            if not header:
                raise FormatError("payload ends without the cpio trailer", subject=subject)
            if len(header) < CPIO_HEADER:
                header += stream.read_exact(CPIO_HEADER - len(header), "a cpio header")
            magic = header[:6]
            if magic not in (b"070701", b"070702"):
                if magic == b"07070X":
                    what = "rpm's stripped cpio format (packages with files over 4 GiB)"
                elif magic == b"070707":
                    what = "the old portable (odc) cpio format"
                else:
                    what = f"bad cpio magic {magic!r}"
                raise FormatError(f"unsupported payload: {what}", subject=subject)
            crc = magic == b"070702"
            ino, mode, _uid, _gid, nlink, mtime, size, _, _, _, _, namesize, check = _hex_fields(
                header, subject
            )
            if namesize == 0 or namesize > MAX_NAME + 1:
                raise FormatError(f"cpio name size {namesize} out of range", subject=subject)
            raw_name = stream.read_exact(namesize, "a cpio name")
            name = raw_name.rstrip(b"\0").decode("utf-8", errors="surrogateescape")
            stream.read_exact((4 - (CPIO_HEADER + namesize) % 4) % 4, "cpio padding")
            if name == TRAILER:
                # read what little follows so the compressor checks its own trailer (CRC)
                for _ in range(64):
                    if not stream.read(CHUNK):
                        break
                actual = digesting.hexdigest_to_end()
                if actual is not None and actual != expected_digest:
                    raise FormatError(
                        "payload digest mismatch (the payload is damaged or not the one "
                        "the header describes)",
                        subject=subject,
                    )
                return
            count += 1
            if count > limits.max_members:
                raise UnsafePayloadError(
                    f"member {name!r}: more than {limits.max_members} members (limit)",
                    subject=subject,
                )
            if size > limits.max_file:
                raise UnsafePayloadError(
                    f"member {name!r}: declared size {size} exceeds the per-file limit "
                    f"of {limits.max_file} bytes",
                    subject=subject,
                )
            total += size
            if total > limits.max_total:
                raise UnsafePayloadError(
                    f"member {name!r}: payload exceeds the total limit of {limits.max_total} bytes",
                    subject=subject,
                )
            limits.check_expansion(name, total, compressed, subject)
            path = normalise_member_path(name, subject, package_files)
            kind = stat.S_IFMT(mode)
            if kind not in (stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK):
                what = {
                    stat.S_IFCHR: "character device",
                    stat.S_IFBLK: "block device",
                    stat.S_IFIFO: "FIFO",
                    stat.S_IFSOCK: "socket",
                }.get(kind, f"file type {kind:o}")
                raise UnsafePayloadError(f"member {name!r}: {what} refused", subject=subject)
            linkto: str | None = None
            reader: MemberReader | None = None
            if kind == stat.S_IFLNK:
                if size > MAX_NAME:
                    raise FormatError(f"member {name!r}: symlink target too long", subject=subject)
                # GNU cpio and rpm checksum regular file data only
                target = MemberReader(stream, size, name, crc=False)
                linkto = target.read().decode("utf-8", errors="surrogateescape")
                if not linkto or "\0" in linkto:
                    raise FormatError(
                        f"member {name!r}: empty symlink target or NUL byte in it", subject=subject
                    )
                _finish(target, False, check, size, name, subject, stream)
            elif kind == stat.S_IFDIR and size:
                raise FormatError(f"member {name!r}: directory with data", subject=subject)
            member = Member(
                path=path,
                mode=mode,
                size=size,
                linkto=linkto,
                is_dir=kind == stat.S_IFDIR,
                is_link=kind == stat.S_IFLNK,
                is_reg=kind == stat.S_IFREG,
                mtime=mtime,
                ino=ino,
                nlink=nlink,
            )
            if kind == stat.S_IFREG:
                reader = MemberReader(stream, size, name, crc)
                yield member, reader
                reader.drain()
                _finish(reader, crc, check, size, name, subject, stream)
            else:
                yield member, None
    finally:
        f.close()


def _finish(
    reader: MemberReader, crc: bool, check: int, size: int, name: str, subject: str, s: _Stream
) -> None:
    if crc and reader.checksum != check:
        raise FormatError(f"member {name!r}: cpio crc checksum mismatch", subject=subject)
    s.read_exact((4 - size % 4) % 4, "cpio padding")


@dataclass
class _Tree:
    """Writes below one directory through directory file descriptors, never following links."""

    root_fd: int
    rpm: str
    dir_fds: dict[str, int] = field(default_factory=dict)
    dirs: list[tuple[str, int, int]] = field(default_factory=list)  # (path, mode, mtime)

    def close(self) -> None:
        for fd in self.dir_fds.values():
            os.close(fd)
        self.dir_fds.clear()

    def refuse(self, member: Member, problem: str) -> UnsafePayloadError:
        return UnsafePayloadError(f"member {member.path!r}: {problem}", subject=self.rpm)

    def parent(self, member: Member, path: str) -> tuple[int, str]:
        """An fd of the directory holding ``path`` (created as needed) and the last name."""
        if len(self.dir_fds) > 512:  # bound the open descriptors; reopened on demand
            self.close()
        parts = path.split("/")
        fd = self.root_fd
        walked = ""
        for part in parts[:-1]:
            walked = f"{walked}/{part}" if walked else part
            cached = self.dir_fds.get(walked)
            if cached is not None:
                fd = cached
                continue
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o777, dir_fd=fd)
            try:
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                st = os.stat(part, dir_fd=fd, follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    raise self.refuse(
                        member, f"would write through the symlink {walked!r} of an earlier member"
                    ) from exc
                raise self.refuse(member, f"{walked!r} is not a directory") from exc
            self.dir_fds[walked] = child
            fd = child
        return fd, parts[-1]

    def _clear(self, member: Member, fd: int, name: str, *, replace_dir: bool = False) -> None:
        """Make room for a new entry ``name``: refuse symlinks and directories in the way."""
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(st.st_mode):
            raise self.refuse(member, "would write through the symlink of an earlier member")
        if stat.S_ISDIR(st.st_mode):
            if replace_dir:
                return
            raise self.refuse(member, "would replace a directory of an earlier member")
        os.unlink(name, dir_fd=fd)

    def write_file(self, member: Member, chunks: Iterator[bytes]) -> None:
        fd_dir, name = self.parent(member, member.path)
        self._clear(member, fd_dir, name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(name, flags, 0o600, dir_fd=fd_dir)
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
            os.fchmod(fd, safe_mode(member.mode))
            os.utime(fd, (member.mtime, member.mtime))
        finally:
            os.close(fd)

    def link(self, member: Member, existing: Member) -> None:
        src_fd, src_name = self.parent(existing, existing.path)
        fd_dir, name = self.parent(member, member.path)
        self._clear(member, fd_dir, name)
        os.link(src_name, name, src_dir_fd=src_fd, dst_dir_fd=fd_dir, follow_symlinks=False)

    def symlink(self, member: Member) -> None:
        assert member.linkto is not None
        if rooted_target_leaves(member.path, member.linkto):
            raise self.refuse(member, f"symlink target {member.linkto!r} escapes the target tree")
        fd_dir, name = self.parent(member, member.path)
        self._clear(member, fd_dir, name)
        os.symlink(member.linkto, name, dir_fd=fd_dir)
        os.utime(name, (member.mtime, member.mtime), dir_fd=fd_dir, follow_symlinks=False)

    def mkdir(self, member: Member) -> None:
        fd_dir, name = self.parent(member, member.path)
        self._clear(member, fd_dir, name, replace_dir=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o700, dir_fd=fd_dir)
        # modes and times of directories are set at the end: a read-only directory must
        # still receive its children first
        self.dirs.append((member.path, safe_mode(member.mode), member.mtime))

    def finish_dirs(self) -> None:
        for path, mode, mtime in sorted(self.dirs, key=lambda d: d[0].count("/"), reverse=True):
            member = Member(path, mode, 0, None, True, False, False)
            fd_dir, name = self.parent(member, path)
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd_dir)
            try:
                os.fchmod(fd, mode)
                os.utime(fd, (mtime, mtime))
            finally:
                os.close(fd)


def safe_mode(mode: int) -> int:
    """Permission bits to apply: setuid and setgid dropped."""
    return stat.S_IMODE(mode) & ~(stat.S_ISUID | stat.S_ISGID)


def _chunks(first: bytes, reader: MemberReader) -> Iterator[bytes]:
    if first:
        yield first
    while True:
        data = reader.read(CHUNK)
        if not data:
            return
        yield data


def extract(
    rpm: Path,
    dest: Path,
    *,
    select: Callable[[Member], bool] | None = None,
    select_content: Callable[[Member, bytes], bool] | None = None,
    limits: Limits = Limits(),
    progress: Progress = NO_PROGRESS,
) -> list[Member]:
    """Extract the payload of ``rpm`` into ``dest``; return the members written.

    ``select`` chooses by member; ``select_content`` (e.g. :func:`is_elf`) also sees the
    first bytes of a regular file.  Parent directories of chosen members are created.
    ``progress`` advances once per payload member.
    """
    rpm, dest = Path(rpm), Path(dest)
    progress.start(f"extracting {rpm.name}", payload_member_count(rpm))
    try:
        return _extract(rpm, dest, select, select_content, limits, progress)
    finally:
        progress.finish()


def payload_member_count(rpm: Path) -> int:
    """How many members the payload should have: the header's files minus ghosts."""
    header = read_structure(rpm).header
    flags = header.ints(_TAG_FILEFLAGS)
    paths = file_paths(header)
    return sum(1 for i in range(len(paths)) if not (i < len(flags) and flags[i] & _RPMFILE_GHOST))


def _extract(
    rpm: Path,
    dest: Path,
    select: Callable[[Member], bool] | None,
    select_content: Callable[[Member, bytes], bool] | None,
    limits: Limits,
    progress: Progress,
) -> list[Member]:
    dest.mkdir(parents=True, exist_ok=True)
    tree = _Tree(os.open(dest, os.O_RDONLY | os.O_DIRECTORY), str(rpm))
    written: list[Member] = []
    # hard links: rpm sends a group's data with its last member, the others empty
    pending: dict[int, list[Member]] = {}
    try:
        for member, reader in _members(rpm, limits):
            progress.advance()
            if not member.path:
                continue  # the archive root itself
            if member.is_reg and reader is not None:
                group: list[Member] = []
                if member.nlink > 1:
                    if member.size == 0:
                        pending.setdefault(member.ino, []).append(member)
                        continue
                    group = pending.pop(member.ino, [])
                first = reader.read(min(CHUNK, member.size)) if member.size else b""
                chosen = [
                    m
                    for m in [*group, member]
                    if (select is None or select(m))
                    and (select_content is None or select_content(m, first))
                ]
                if not chosen:
                    continue
                tree.write_file(chosen[0], _chunks(first, reader))
                for other in chosen[1:]:
                    tree.link(other, chosen[0])
                written.extend(chosen)
                continue
            if select is not None and not select(member):
                continue
            if select_content is not None and not select_content(member, b""):
                continue
            if member.is_link:
                tree.symlink(member)
            elif member.is_dir:
                tree.mkdir(member)
            written.append(member)
        for group in pending.values():  # hard-linked empty files
            chosen = [
                m
                for m in group
                if (select is None or select(m))
                and (select_content is None or select_content(m, b""))
            ]
            if chosen:
                tree.write_file(chosen[0], iter(()))
                for other in chosen[1:]:
                    tree.link(other, chosen[0])
                written.extend(chosen)
        tree.finish_dirs()
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise FormatError(f"no space left extracting into {dest}", subject=rpm) from exc
        raise
    finally:
        tree.close()
        os.close(tree.root_fd)
    return written
