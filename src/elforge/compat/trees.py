"""The ELF files of a target or a profile source, with their install paths and symlinks.

A *tree* is what one input unpacks to: a single ELF file, a directory, an RPM payload, a
wheel or an installed root. Paths inside a tree are relative, ``/``-separated, without a
leading slash (``usr/lib64/libx.so.1``), so that RPATH/RUNPATH entries and ``$ORIGIN`` can be
resolved inside it; a lone ELF file's tree path is its real absolute path, so that its
``$ORIGIN`` libraries can be read from beside it. Malformed ELF files are recorded per file and
the walk goes on; separate debug files are skipped.
"""

from __future__ import annotations

import os
import posixpath
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from elforge.compat.platform import arch_of, e_flags
from elforge.elf.reader import ELF_MAGIC, ElfInfo, read_elf
from elforge.errors import FormatError, UnsafePayloadError, bounded
from elforge.rpm.header import read_header
from elforge.rpm.payload import iter_members

# A single DSO or executable larger than this is refused rather than read into memory.
MAX_ELF_SIZE = 1 << 30


@dataclass
class ElfFile:
    path: str  # relative path inside the tree
    info: ElfInfo
    arch: str
    package: str | None = None


@dataclass
class Tree:
    name: str  # what the user named: the file or directory
    kind: str  # "elf", "directory", "rpm", "wheel", "root"
    files: list[ElfFile] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)  # symlink path -> target path
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, problem)
    package: str | None = None
    texts: dict[str, bytes] = field(default_factory=dict)  # small config files we keep (ld.so.conf)
    _by_path: dict[str, ElfFile] | None = field(default=None, repr=False)

    def add_elf(self, path: str, data: bytes, *, package: str | None = None) -> None:
        if is_debug_path(path):
            return  # separate debug files: never loaded, their sections are NOBITS
        try:
            # a lone ELF file's neighbours are named by their real path
            name = "/" + path if self.kind == "elf" else f"{self.name}:{path}"
            info = read_elf(data, name=name)
        except FormatError as exc:
            self.errors.append((path, exc.problem))
            return
        self.files.append(ElfFile(path, info, arch_of(info, e_flags(data)), package))
        self._by_path = None

    def resolve(self, path: str) -> ElfFile | None:
        """The ELF file at ``path`` in this tree, following symlinks (bounded)."""
        if self._by_path is None:
            self._by_path = {f.path: f for f in self.files}
        for _ in range(40):
            hit = self._by_path.get(path)
            if hit is not None:
                return hit
            target = self.links.get(path)
            if target is None:
                # a symlinked directory on the way (lib -> usr/lib)
                parts = path.split("/")
                for i in range(len(parts) - 1, 0, -1):
                    dir_target = self.links.get("/".join(parts[:i]))
                    if dir_target is not None:
                        target = norm(dir_target + "/" + "/".join(parts[i:]))
                        break
                else:
                    return None
            path = target
        return None


def is_debug_path(path: str) -> bool:
    return path.endswith(".debug") or "usr/lib/debug/" in path or path.startswith("usr/lib/debug")


def norm(path: str) -> str:
    """Normalise a tree path: no leading slash, no ``.``; ``..`` above the root stays at it."""
    out: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out:
                out.pop()
            continue
        out.append(part)
    return "/".join(out)


def link_target(link_path: str, target: str) -> str:
    """Where a symlink at ``link_path`` pointing to ``target`` lands, as a tree path."""
    if target.startswith("/"):
        return norm(target)
    return norm(posixpath.join(posixpath.dirname(link_path), target))


# --- readers -------------------------------------------------------------------------------


def read_elf_target(path: Path) -> Tree:
    """A single ELF file: its real directory on disk is its ``$ORIGIN``."""
    tree = Tree(str(path), "elf")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", subject=path) from exc
    if not data.startswith(ELF_MAGIC):
        raise FormatError("not an ELF file, RPM, wheel or directory", subject=path)
    info = read_elf(data, name=str(path))  # a broken single file is the target's error
    # its tree path is its real absolute path, so $ORIGIN leads to the files beside it
    tree.files.append(ElfFile(norm(str(path.resolve())), info, arch_of(info, e_flags(data))))
    return tree


def read_directory(path: Path, *, kind: str = "directory") -> Tree:
    """Every ELF file below ``path``, symlinks recorded; symlinked directories not followed."""
    tree = Tree(str(path), kind)
    for dirpath, dirnames, filenames in os.walk(path):
        rel_dir = os.path.relpath(dirpath, path)
        linked_dirs = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in filenames + linked_dirs:
            rel = norm(os.path.join(rel_dir, name).replace(os.sep, "/"))
            _read_dir_entry(tree, os.path.join(dirpath, name), rel)
    return tree


def read_root_dirs(root: Path, dirs: list[str]) -> Tree:
    """The ELF files directly in ``dirs`` of an installed root (the loader does not search
    subdirectories); a directory reached twice through a symlink is read once."""
    tree = Tree(str(root), "root")
    done: set[str] = set()
    for top in ("lib", "lib64", "lib32", "libx32", "bin", "sbin"):
        if (root / top).is_symlink():
            tree.links[top] = link_target(top, os.readlink(root / top))
    for d in dirs:
        full_dir = root / norm(d)
        if not full_dir.is_dir():
            continue
        real = os.path.realpath(full_dir)
        if real in done:
            continue
        done.add(real)
        # record files under their real path (/lib -> usr/lib on merged-/usr systems)
        real_rel = os.path.relpath(real, os.path.realpath(root))
        rel_dir = norm(d) if real_rel.startswith("..") else norm(real_rel)
        try:
            names = sorted(os.listdir(full_dir))
        except OSError as exc:
            tree.errors.append((rel_dir, f"cannot list: {exc.strerror or exc}"))
            continue
        for name in names:
            _read_dir_entry(tree, str(full_dir / name), f"{rel_dir}/{name}")
    return tree


def _read_dir_entry(tree: Tree, full: str, rel: str) -> None:
    try:
        st = os.lstat(full)
        if stat.S_ISLNK(st.st_mode):
            tree.links[rel] = link_target(rel, os.readlink(full))
            return
        if not stat.S_ISREG(st.st_mode) or not 4 <= st.st_size <= MAX_ELF_SIZE:
            return
        if is_debug_path(rel):
            return
        with open(full, "rb") as fh:
            if fh.read(4) != ELF_MAGIC:
                if rel.startswith("etc/ld.so.conf") and st.st_size < 65536:
                    fh.seek(0)
                    tree.texts[rel] = fh.read()
                return
            fh.seek(0)
            data = fh.read()
    except OSError as exc:
        tree.errors.append((rel, f"cannot read: {exc.strerror or exc}"))
        return
    tree.add_elf(rel, data)


def read_rpm(path: Path) -> Tree:
    """The ELF files and symlinks of an RPM payload, under their install paths."""
    header = read_header(path)
    nevra = str(header.nevra)
    tree = Tree(str(path), "rpm", package=nevra)
    for member, reader in iter_members(path):
        rel = norm(member.path)
        if member.is_link and member.linkto is not None:
            tree.links[rel] = link_target(rel, member.linkto)
            continue
        if reader is None or not member.is_reg or member.size < 4 or is_debug_path(rel):
            continue
        first = reader.read(4)
        if first != ELF_MAGIC:
            if rel.startswith("etc/ld.so.conf") and member.size < 65536:
                tree.texts[rel] = first + reader.read()
            continue
        if member.size > MAX_ELF_SIZE:
            tree.errors.append((rel, f"ELF file of {member.size} bytes is too large to check"))
            continue
        tree.add_elf(rel, first + reader.read(), package=nevra)
    return tree


def wheel_member_problem(name: str) -> str | None:
    """Why a wheel member name is refused: absolute, a drive, or ``..`` anywhere."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute member path refused"
    if ".." in name.replace("\\", "/").split("/"):
        return "'..' in the member path refused"
    return None


def read_wheel(path: Path) -> Tree:
    """The ELF files of a wheel (a zip). Unsafe member names make the whole wheel refused."""
    tree = Tree(str(path), "wheel")
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise FormatError(f"not a wheel (zip): {exc}", subject=path) from exc
    with zf:
        infos = zf.infolist()
        for zi in infos:
            problem = wheel_member_problem(zi.filename)
            if problem:
                raise UnsafePayloadError(f"member {zi.filename!r}: {problem}", subject=path)
        for zi in infos:
            if zi.is_dir() or zi.file_size < 4:
                continue
            rel = norm(zi.filename)
            if zi.file_size > MAX_ELF_SIZE:
                tree.errors.append((rel, f"ELF file of {zi.file_size} bytes is too large"))
                continue
            try:
                with zf.open(zi) as fh:
                    if fh.read(4) != ELF_MAGIC:
                        continue
                    data = ELF_MAGIC + fh.read()
            except (OSError, zipfile.BadZipFile, ValueError, EOFError, zlib.error) as exc:
                tree.errors.append((rel, f"cannot read member: {bounded(str(exc), 160)}"))
                continue
            tree.add_elf(rel, data)
    return tree


def find_rpms(path: Path) -> list[Path]:
    """The binary RPMs below ``path`` (source RPMs are skipped), in a stable order."""
    return sorted(p for p in path.rglob("*.rpm") if p.is_file() and not p.name.endswith(".src.rpm"))


def read_target(path: Path) -> Tree:
    """Read a TARGET by what it is: directory, RPM, wheel or ELF file."""
    if path.is_dir():
        return read_directory(path)
    if not path.exists():
        raise FormatError("no such file or directory", subject=path)
    name = path.name
    if name.endswith(".rpm"):
        return read_rpm(path)
    if name.endswith(".whl"):
        return read_wheel(path)
    return read_elf_target(path)
