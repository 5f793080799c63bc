"""The ABI snapshot of one package: its metadata and the exported interface of each binary.

A snapshot is keyed by the package file's sha256 and cached on disk as JSON, so a reference
distribution is read once: the next comparison against it reads a few kilobytes of JSON
instead of decompressing payloads.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import createrepo_c as cr

from elforge.abi.payload import iter_package, package_kind
from elforge.elf.reader import ElfInfo, Symbol, read_elf
from elforge.errors import FormatError
from elforge.quiet import captured_stderr

SNAPSHOT_SCHEMA = "elforge.abi-snapshot/1"
# bump when the reader or the snapshot content changes: old cache entries are then ignored
SNAPSHOT_REVISION = 6

_SONAME_PROVIDE = re.compile(r"^([^()\s]+\.so[^()\s]*)(?:\(|$)")


@dataclass
class BinarySnapshot:
    """What one ELF file of a package exports and depends on."""

    path: str
    type: str  # DYN, EXEC, PIE, REL
    soname: str | None
    machine: str
    elf_class: int
    endian: str
    osabi: str
    needed: list[str] = field(default_factory=list)
    rpath: list[str] = field(default_factory=list)
    runpath: list[str] = field(default_factory=list)
    interpreter: str | None = None
    has_gnu_hash: bool = False
    has_relr: bool = False
    x86_isa_needed: int | None = None
    build_id: str | None = None
    digest: str = ""  # sha256 of the file: identical binaries are skipped
    exports: list[Symbol] = field(default_factory=list)
    version_nodes: list[str] = field(default_factory=list)  # defined, non-base

    @classmethod
    def from_elf(cls, path: str, info: ElfInfo, digest: str) -> BinarySnapshot:
        return cls(
            path=path,
            type=info.type,
            soname=info.soname,
            machine=info.machine,
            elf_class=info.elf_class,
            endian=info.endian,
            osabi=info.osabi,
            needed=list(info.needed),
            rpath=list(info.rpath),
            runpath=list(info.runpath),
            interpreter=info.interpreter,
            has_gnu_hash=info.has_gnu_hash,
            has_relr=info.has_relr,
            x86_isa_needed=info.x86_isa_needed,
            build_id=info.build_id,
            digest=digest,
            exports=info.exported(),
            version_nodes=[d.name for d in info.version_defs if not d.base],
        )

    @property
    def is_dso(self) -> bool:
        return self.type == "DYN"

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "exports"}
        out["exports"] = [
            [
                s.name,
                s.version,
                s.default,
                s.binding,
                s.type,
                s.size,
                s.visibility,
                s.shndx,
                s.value,
            ]
            for s in self.exports
        ]
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> BinarySnapshot:
        raw = dict(raw)
        exports = [
            Symbol(n, v, d, b, t, sz, vis, True, sh, val)
            for n, v, d, b, t, sz, vis, sh, val in raw.pop("exports")
        ]
        return cls(**raw, exports=exports)


@dataclass
class PackageSnapshot:
    """Package metadata plus one :class:`BinarySnapshot` per ELF file."""

    file: str
    kind: str  # rpm, dir, tar
    sha256: str | None
    name: str
    nevra: str | None = None
    arch: str | None = None
    epoch: str | None = None
    version: str | None = None
    release: str | None = None
    sourcerpm: str | None = None
    provides: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    binaries: list[BinarySnapshot] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # unreadable ELF files, one line each
    abignore: dict[str, str] = field(default_factory=dict)  # shipped *.abignore: path -> text

    @property
    def public_sonames(self) -> set[str]:
        """SONAMEs the package advertises in its provides (libabigail's "public DSOs")."""
        out = set()
        for dep in self.provides:
            m = _SONAME_PROVIDE.match(dep)
            if m:
                out.add(m.group(1))
        return out

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": SNAPSHOT_SCHEMA, "revision": SNAPSHOT_REVISION}
        out.update({k: v for k, v in self.__dict__.items() if k != "binaries"})
        out["binaries"] = [b.to_json() for b in self.binaries]
        return out

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> PackageSnapshot:
        raw = dict(raw)
        raw.pop("schema", None)
        raw.pop("revision", None)
        binaries = [BinarySnapshot.from_json(b) for b in raw.pop("binaries")]
        return cls(**raw, binaries=binaries)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _dep_str(dep: tuple[Any, ...]) -> str:
    name, flags, epoch, version, release = dep[:5]
    if not flags:
        return str(name)
    op = {"EQ": "=", "LT": "<", "LE": "<=", "GT": ">", "GE": ">="}.get(flags, flags)
    evr = (f"{epoch}:" if epoch and epoch != "0" else "") + (version or "")
    if release:
        evr += f"-{release}"
    return f"{name} {op} {evr}"


def _rpm_metadata(path: Path) -> PackageSnapshot:
    try:
        with captured_stderr():  # librpm and GLib print their own lines
            pkg = cr.package_from_rpm(str(path), cr.SHA256, None, None, 0)
    except Exception as exc:  # createrepo_c raises its own error type with the reason
        raise FormatError(f"not a readable RPM: {exc}", subject=path) from exc
    epoch = pkg.epoch if pkg.epoch and pkg.epoch != "0" else None
    evr = f"{epoch + ':' if epoch else ''}{pkg.version}-{pkg.release}"
    files = sorted(d + n for kind, d, n, _digest in pkg.files if kind != "dir")
    return PackageSnapshot(
        file=str(path),
        kind="rpm",
        sha256=pkg.pkgId,
        name=pkg.name,
        nevra=f"{pkg.name}-{evr}.{pkg.arch}",
        arch=pkg.arch,
        epoch=epoch,
        version=pkg.version,
        release=pkg.release,
        sourcerpm=pkg.rpm_sourcerpm or None,
        provides=sorted({_dep_str(d) for d in pkg.provides}),
        requires=sorted({_dep_str(d) for d in pkg.requires if not str(d[0]).startswith("rpmlib(")}),
        files=files,
    )


def build_snapshot(path: Path, *, sha256: str | None = None) -> PackageSnapshot:
    """Read a package (RPM, directory or tarball) into a snapshot."""
    kind = package_kind(path)
    if kind == "rpm":
        snap = _rpm_metadata(path)
    else:
        name = path.name
        for suffix in (".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst", ".tgz", ".tar"):
            if name.endswith(suffix):
                name = name[: -len(suffix)]
                break
        snap = PackageSnapshot(
            file=str(path), kind=kind, sha256=sha256 if kind == "tar" else None, name=name
        )
    seen_files = []
    for entry in iter_package(path):
        seen_files.append(entry.path)
        if entry.data is None or _is_debug_file(entry.path):
            continue
        if isinstance(entry.data, bytes) and entry.path.endswith(".abignore"):
            snap.abignore[entry.path] = entry.data.decode("utf-8", "replace")
            continue
        try:
            info = read_elf(entry.data, name=entry.path)
        except FormatError as exc:
            snap.errors.append(f"{entry.path}: {exc.problem}")
            continue
        digest = entry.sha256 or hashlib.sha256(entry.data).hexdigest()
        snap.binaries.append(BinarySnapshot.from_elf(entry.path, info, digest))
    if kind == "tar":
        # a tarball of one top-level directory: paths inside it pair across versions
        # (abipkgdiff does the same by dropping the common prefix)
        tops = {f.split("/", 2)[1] for f in seen_files if f.count("/") >= 2}
        if len(tops) == 1 and all(f.count("/") >= 2 for f in seen_files):
            cut = len(tops.pop()) + 1
            seen_files = [f[cut:] for f in seen_files]
            for b in snap.binaries:
                b.path = b.path[cut:]
    if kind != "rpm":
        snap.files = sorted(seen_files)
    snap.binaries.sort(key=lambda b: b.path)
    return snap


def _is_debug_file(path: str) -> bool:
    """Separate debug info (``/usr/lib/debug/...``, ``*.debug``, dwz files) is not interface:
    the type layer reads it through abidiff."""
    return "/usr/lib/debug/" in path or path.endswith(".debug")


def default_cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "elforge" / "abi"


class SnapshotCache:
    """Snapshots on disk as ``<dir>/<sha[:2]>/<sha>.json``; safe for concurrent writers."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, sha256: str) -> Path:
        return self.directory / sha256[:2] / f"{sha256}.json"

    def get(self, sha256: str) -> PackageSnapshot | None:
        p = self._path(sha256)
        try:
            raw = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if raw.get("schema") != SNAPSHOT_SCHEMA or raw.get("revision") != SNAPSHOT_REVISION:
            return None
        try:
            return PackageSnapshot.from_json(raw)
        except (TypeError, ValueError, KeyError):
            return None

    def put(self, snap: PackageSnapshot) -> None:
        if not snap.sha256:
            return
        p = self._path(snap.sha256)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(snap.to_json(), fh, separators=(",", ":"))
            os.replace(tmp, p)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def load_snapshot(path: Path, cache: SnapshotCache | None = None) -> PackageSnapshot:
    """The snapshot of ``path``, from the cache when its sha256 is known there."""
    kind = package_kind(path)
    sha = None
    if cache is not None and kind != "dir":
        sha = file_sha256(path)
        hit = cache.get(sha)
        if hit is not None:
            hit.file = str(path)
            return hit
    snap = build_snapshot(path, sha256=sha)
    if cache is not None and snap.sha256 and not snap.errors:
        cache.put(snap)
    return snap
