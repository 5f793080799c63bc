"""Extract a tar archive without letting it write outside the target folder.

Python 3.11.4 and newer have the ``data`` extraction filter (PEP 706); Debian 12's Python
3.11.2 does not, so the same rules are checked here, on every Python, before extracting.
"""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path, PurePosixPath

from elforge.errors import UnsafePayloadError
from elforge.pathsafe import within


def _check_member(member: tarfile.TarInfo, root: Path, subject: str) -> tarfile.TarInfo:
    """PEP 706's ``data`` rules: no absolute or escaping names, links or special files."""
    name = PurePosixPath(member.name)
    if name.is_absolute() or ".." in name.parts:
        raise UnsafePayloadError(f"member {member.name!r} would leave the target", subject=subject)
    dest = Path(os.path.normpath(root / name))
    if not within(root, dest):
        raise UnsafePayloadError(f"member {member.name!r} would leave the target", subject=subject)
    if member.issym():
        link = Path(os.path.normpath(dest.parent / member.linkname))
        if os.path.isabs(member.linkname) or not within(root, link):
            raise UnsafePayloadError(
                f"symlink {member.name!r} -> {member.linkname!r} points outside", subject=subject
            )
    elif member.islnk():
        link = Path(os.path.normpath(root / member.linkname))
        if os.path.isabs(member.linkname) or not within(root, link):
            raise UnsafePayloadError(
                f"hard link {member.name!r} -> {member.linkname!r} points outside", subject=subject
            )
    elif not (member.isreg() or member.isdir()):
        raise UnsafePayloadError(f"special file {member.name!r} refused", subject=subject)
    member.mode &= ~(stat.S_ISUID | stat.S_ISGID) & 0o7777
    return member


def extract_all(tar: tarfile.TarFile, dest: Path, *, subject: str | Path) -> None:
    """Extract every member of ``tar`` under ``dest``; any unsafe member refuses the archive.

    Our checks run first on every Python (they refuse absolute names, which the stdlib
    filter would quietly make relative); PEP 706's filter then guards the writes too.
    """
    root = Path(os.path.realpath(dest))
    if not hasattr(tarfile, "data_filter"):
        extract_checked(tar, root, subject=subject)
        return
    for member in tar.getmembers():
        _check_member(member, root, str(subject))
    try:
        tar.extractall(root, filter="data")
    except tarfile.FilterError as exc:
        raise UnsafePayloadError(str(exc), subject=subject) from None


def extract_checked(tar: tarfile.TarFile, root: Path, *, subject: str | Path) -> None:
    """The fallback for Pythons without PEP 706: check every member, then extract."""
    members = [_check_member(m, root, str(subject)) for m in tar.getmembers()]
    tar.extractall(root, members=members)
