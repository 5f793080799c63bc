"""Paths inside a root: the one place that decides whether a read or write stays in its folder.

Trees, configs and payloads are written by others, so a name is data: it may be absolute,
climb with ``..``, or pass through a symbolic link that points anywhere. Every module that
reads or writes inside a tree goes through here:

- :func:`inside` turns a relative name into a path under the root, walking it component by
  component with ``lstat``: no ``..``, no absolute name, no link, no device or FIFO on the way.
- :func:`read_bytes` / :func:`write_bytes` / :func:`copy_in` open the last component with
  ``O_NOFOLLOW``, so a link planted after the check is refused too, never followed.
- :func:`link_leaves` tells whether a symlink would resolve outside the root (as the kernel
  resolves it, through the tree's other links), for trees that keep links as data;
  :func:`rooted_target_leaves` is the same question for an installed tree (an RPM payload).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from elforge.errors import UnsafePayloadError, shown

__all__ = [
    "UnsafePathError",
    "copy_in",
    "inside",
    "is_regular",
    "link_leaves",
    "links_leaving",
    "read_bytes",
    "read_nofollow",
    "regular_files",
    "relative_parts",
    "rooted_target_leaves",
    "shown",
    "within",
    "write_bytes",
    "write_nofollow",
]


class UnsafePathError(UnsafePayloadError):
    """A name that would leave its root, or pass through a link or a special file."""


def relative_parts(rel: str | PurePosixPath, where: str | Path) -> tuple[str, ...]:
    """The components of a relative name; absolute, '..' and NUL are refused (naming ``where``)."""
    text = str(rel)
    if "\0" in text:
        raise UnsafePathError(f"name {shown(text)} contains a NUL byte", subject=where)
    p = PurePosixPath(text)
    if p.is_absolute() or ".." in p.parts:
        raise UnsafePathError(f"{shown(text)} leaves its folder (absolute or '..')", subject=where)
    return tuple(part for part in p.parts if part not in ("", "."))


def inside(root: Path, rel: str | PurePosixPath, *, subject: str | Path | None = None) -> Path:
    """``root/rel`` after checking that no existing component is a link or a special file.

    Components that do not exist yet are fine (the caller may create them); a final component
    that exists must be a regular file or a directory.
    """
    where = subject if subject is not None else root
    path = root
    parts = relative_parts(rel, where)
    for i, part in enumerate(parts):
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return root.joinpath(*parts)
        except OSError as exc:
            raise UnsafePathError(f"{shown(rel)}: {exc.strerror}", subject=where) from None
        if stat.S_ISLNK(mode):
            raise UnsafePathError(
                f"{shown(rel)} passes through the symbolic link {shown('/'.join(parts[: i + 1]))}",
                subject=where,
            )
        last = i == len(parts) - 1
        if not stat.S_ISDIR(mode) and not (last and stat.S_ISREG(mode)):
            raise UnsafePathError(f"{shown(rel)} is not a regular file or folder", subject=where)
    return path


def is_regular(path: Path) -> bool:
    """A regular file itself, not a link to one."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _open_nofollow(path: Path, flags: int, subject: str | Path) -> int:
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == 40:  # ELOOP: the last component is a link
            raise UnsafePathError(
                f"{shown(path.name)} is a symbolic link; refusing to follow it", subject=subject
            ) from None
        raise UnsafePathError(f"{shown(path.name)}: {exc.strerror}", subject=subject) from None


def read_bytes(root: Path, rel: str | PurePosixPath, *, subject: str | Path | None = None) -> bytes:
    """The content of the regular file ``root/rel``; never read through a link."""
    return read_nofollow(inside(root, rel, subject=subject))


def write_bytes(root: Path, rel: str | PurePosixPath, data: bytes) -> Path:
    """Write ``root/rel`` (created or truncated); a link anywhere on the way is refused."""
    path = inside(root, rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    inside(root, rel)  # the folders just made are ours; check once more before opening
    write_nofollow(path, data)
    return path


def copy_in(src_root: Path, src_rel: str, dest_root: Path, dest_rel: str) -> Path:
    """Copy a regular file from one root into another without following a link on either side."""
    return write_bytes(dest_root, dest_rel, read_bytes(src_root, src_rel))


def within(root: Path | str, path: Path | str) -> bool:
    """Is ``path`` (already resolved) ``root`` itself or below it?"""
    return os.path.commonpath([str(root), str(path)]) == str(root)


def link_leaves(root: Path, link: Path, target: str | None = None) -> bool:
    """Would the symbolic link ``link`` (under ``root``) resolve outside ``root``?

    ``target`` is the link's text (read from ``link`` when not given, for a link that exists).
    An absolute target leaves (a tree is used on the build host, not installed); a relative
    one is resolved as the kernel would, through the links already in the tree.
    """
    text = os.readlink(link) if target is None else target
    if os.path.isabs(text):
        return True
    real_root = os.path.realpath(root)
    resolved = os.path.realpath(os.path.join(os.path.realpath(link.parent), text))
    return not within(real_root, resolved)


def rooted_target_leaves(path: str, target: str) -> bool:
    """Whether a payload symlink's ``target`` at ``path`` (relative to the tree) climbs out.

    For installed trees (RPM payloads): an absolute target is read against the tree's root, as
    on the installed system, so ``/etc/alternatives/x`` stays inside and
    ``../../../../etc/passwd`` from ``usr/lib/x`` does not.
    """
    stack = [] if target.startswith("/") else path.split("/")[:-1]
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not stack:
                return True
            stack.pop()
        else:
            stack.append(part)
    return False


def links_leaving(root: Path) -> list[str]:
    """The symbolic links under ``root`` that resolve outside it (relative names)."""
    found = []
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(base, name)
            if path.is_symlink() and link_leaves(root, path):
                found.append(path.relative_to(root).as_posix())
    return sorted(found)


def read_nofollow(path: Path) -> bytes:
    """A regular file's content; refused when the last component is a link."""
    fd = _open_nofollow(path, os.O_RDONLY, path)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise UnsafePathError(f"{shown(path.name)} is not a regular file", subject=path)
        return fh.read()


def write_nofollow(path: Path, data: bytes) -> None:
    """Write a file the caller found in a checked tree; a link swapped in is refused."""
    fd = _open_nofollow(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, path)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def regular_files(root: Path) -> list[Path]:
    """Every regular file under ``root``, never descending through a link."""
    found: list[Path] = []
    for base, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(base, d))]
        found.extend(Path(base, f) for f in files if is_regular(Path(base, f)))
    return sorted(found)
