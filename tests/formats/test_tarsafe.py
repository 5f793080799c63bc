"""Tar extraction never leaves its target: with PEP 706's filter and with our fallback."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from elforge.errors import UnsafePayloadError
from elforge.tarsafe import extract_all, extract_checked


def _tar(path: Path, *members: tuple[tarfile.TarInfo, bytes]) -> Path:
    with tarfile.open(path, "w") as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def _info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, 0o4755
    return info


EXTRACTORS: list[Callable[..., None]] = [
    lambda tar, dest, subject: extract_all(tar, dest, subject=subject),
    lambda tar, dest, subject: extract_checked(tar, dest.resolve(), subject=subject),
]


@pytest.mark.parametrize("extract", EXTRACTORS, ids=["extract_all", "fallback"])
def test_good_archive_extracts_without_setuid(tmp_path: Path, extract: Callable[..., None]) -> None:
    archive = _tar(tmp_path / "ok.tar", (_info("pkg/bin/tool"), b"x"),
                   (_info("pkg/link", tarfile.SYMTYPE, "bin/tool"), b""))  # fmt: skip
    dest = tmp_path / "out"
    dest.mkdir()
    with tarfile.open(archive) as tar:
        extract(tar, dest, "ok.tar")
    tool = dest / "pkg" / "bin" / "tool"
    assert tool.read_bytes() == b"x" and not tool.stat().st_mode & 0o6000
    assert (dest / "pkg" / "link").is_symlink()


@pytest.mark.parametrize("extract", EXTRACTORS, ids=["extract_all", "fallback"])
@pytest.mark.parametrize(
    "member",
    [
        _info("../escape"),
        _info("/abs/file"),
        _info("pkg/evil", tarfile.SYMTYPE, "../../outside"),
        _info("pkg/abs", tarfile.SYMTYPE, "/etc/passwd"),
        _info("pkg/hard", tarfile.LNKTYPE, "../outside"),
        _info("pkg/dev", tarfile.CHRTYPE),
    ],
    ids=["dotdot", "absolute", "symlink-escape", "symlink-absolute", "hardlink-escape", "device"],
)
def test_hostile_member_refused(
    tmp_path: Path, extract: Callable[..., None], member: tarfile.TarInfo
) -> None:
    archive = _tar(tmp_path / "bad.tar", (member, b"payload"))
    dest = tmp_path / "out"
    dest.mkdir()
    with tarfile.open(archive) as tar, pytest.raises(UnsafePayloadError) as exc:
        extract(tar, dest, "bad.tar")
    assert "bad.tar" in str(exc.value)
    assert not (tmp_path / "escape").exists() and not (tmp_path / "outside").exists()
