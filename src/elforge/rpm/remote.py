"""Fetching and verifying files named by repository metadata: local paths or http(s) URLs.

Downloads land in an on-disk cache keyed by their expected checksum, so a file that is
already there and still verifies is never fetched twice. Every failure names the file or URL.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import zstandard

from elforge.errors import ChecksumError, FetchError, FormatError

CHUNK = 1 << 20
TIMEOUT = 30.0
HASHES = {
    "sha": "sha1",
    "sha1": "sha1",
    "sha224": "sha224",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
    "md5": "md5",
}


def default_cache_dir() -> Path:
    """``$ELFORGE_CACHE`` or ``$XDG_CACHE_HOME/elforge`` (``~/.cache/elforge``)."""
    env = os.environ.get("ELFORGE_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "elforge"


def is_url(location: str | Path) -> bool:
    return isinstance(location, str) and location.startswith(("http://", "https://"))


def join_location(base: str | Path, href: str) -> str | Path:
    """``href`` (relative to a repository root) resolved against a path or URL root."""
    if is_url(href):
        return href
    if is_url(base):
        root = str(base)
        return urllib.parse.urljoin(root if root.endswith("/") else root + "/", href)
    target = (Path(base) / href).resolve()
    return target


def hasher(checksum_type: str) -> hashlib._Hash:
    name = HASHES.get(checksum_type.lower())
    if name is None:
        raise FormatError(f"unsupported checksum type {checksum_type!r}")
    return hashlib.new(name)


def file_digest(path: Path, checksum_type: str = "sha256") -> str:
    h = hasher(checksum_type)
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def fetch_bytes(url: str, *, timeout: float = TIMEOUT) -> bytes:
    """GET ``url``; FetchError naming the URL when it cannot be read."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            data: bytes = resp.read()
            return data
    except urllib.error.HTTPError as exc:
        raise FetchError(f"HTTP {exc.code} {exc.reason}", subject=url) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"cannot fetch: {reason}", subject=url) from None


def download(url: str, dest: Path, *, timeout: float = TIMEOUT) -> None:
    """Stream ``url`` into ``dest`` atomically (a partial download never looks complete)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp:
                    shutil.copyfileobj(resp, out, CHUNK)
            except urllib.error.HTTPError as exc:
                raise FetchError(f"HTTP {exc.code} {exc.reason}", subject=url) from None
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise FetchError(f"cannot fetch: {reason}", subject=url) from None
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def verify_file(
    path: Path,
    *,
    subject: str | Path,
    checksum_type: str | None,
    checksum: str | None,
    size: int | None = None,
) -> None:
    """Raise ChecksumError naming ``subject`` when size or digest differ from the promise."""
    if size is not None:
        actual = path.stat().st_size
        if actual != size:
            raise ChecksumError(
                f"size {actual} differs from {size} declared in repomd.xml (truncated?)",
                subject=subject,
            )
    if checksum_type and checksum:
        digest = file_digest(path, checksum_type)
        if digest != checksum.lower():
            raise ChecksumError(
                f"{checksum_type} {digest} differs from {checksum} declared in the metadata",
                subject=subject,
            )


def compression_of(head: bytes) -> str:
    """The compressor of a file from its first bytes: gz, xz, bz2, zst or '' (none)."""
    if head.startswith(b"\x1f\x8b"):
        return "gz"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"BZh"):
        return "bz2"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zst"
    return ""


@contextmanager
def open_decompressed(path: Path) -> Iterator[BinaryIO]:
    """A binary stream of the decompressed content of ``path`` (any metadata compressor)."""
    with path.open("rb") as raw:
        kind = compression_of(raw.read(6))
        raw.seek(0)
        stream: Any
        if kind == "gz":
            stream = gzip.GzipFile(fileobj=raw)
        elif kind == "xz":
            stream = lzma.LZMAFile(raw)  # noqa: SIM115
        elif kind == "bz2":
            stream = bz2.BZ2File(raw)
        elif kind == "zst":
            stream = zstandard.ZstdDecompressor().stream_reader(raw)
        else:
            stream = raw
        try:
            yield stream
        finally:
            if stream is not raw:
                stream.close()


def verify_open(
    path: Path,
    *,
    subject: str | Path,
    checksum_type: str | None,
    checksum: str | None,
    size: int | None,
) -> None:
    """Check the decompressed size and digest (repomd's open-size and open-checksum)."""
    if not (checksum and checksum_type) and size is None:
        return
    h = hasher(checksum_type or "sha256")
    total = 0
    try:
        with open_decompressed(path) as stream:
            while chunk := stream.read(CHUNK):
                h.update(chunk)
                total += len(chunk)
    except (OSError, EOFError, lzma.LZMAError, zstandard.ZstdError) as exc:
        raise FormatError(f"cannot decompress: {exc}", subject=subject) from None
    if size is not None and total != size:
        raise ChecksumError(
            f"decompressed size {total} differs from open-size {size} in repomd.xml",
            subject=subject,
        )
    if checksum and checksum_type and h.hexdigest() != checksum.lower():
        raise ChecksumError(
            f"decompressed {checksum_type} {h.hexdigest()} differs from open-checksum {checksum}",
            subject=subject,
        )
