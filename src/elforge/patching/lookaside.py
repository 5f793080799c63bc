"""Lookaside metadata kept in step with the files an action adds, removes or replaces.

Two layouts exist: Fedora/CentOS Stream ``sources`` (``SHA512 (name) = hex``, or the old
``hex  name``) and the CentOS/OpenELA ``.<package>.metadata`` (``hex SOURCES/name``). The
digest algorithm of new lines follows the file's existing lines (by tag or hex length).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from elforge.errors import FormatError
from elforge.pathsafe import is_regular, write_nofollow

_TAGGED = re.compile(r"^(?P<algo>[A-Z0-9]+) \((?P<name>.+)\) = (?P<hex>[0-9a-fA-F]+)$")
_PLAIN = re.compile(r"^(?P<hex>[0-9a-fA-F]+)\s+(?P<name>\S.*)$")
_BY_LENGTH = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}


@dataclass(frozen=True)
class LookasideEntry:
    name: str  # as written: "bash-4.4.tar.gz" or "SOURCES/bash-4.4.tar.gz"
    algo: str
    digest: str
    tagged: bool

    @property
    def basename(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    def render(self) -> str:
        if self.tagged:
            return f"{self.algo.upper()} ({self.name}) = {self.digest}"
        return f"{self.digest} {self.name}" if "/" in self.name else f"{self.digest}  {self.name}"


def metadata_file(tree: Path) -> Path | None:
    """The tree's lookaside metadata file, if it has one."""
    if is_regular(tree / "sources"):
        return tree / "sources"
    found = sorted(p for p in tree.glob(".*.metadata") if is_regular(p))
    return found[0] if found else None


def parse(path: Path) -> list[LookasideEntry]:
    out = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        if m := _TAGGED.match(line.strip()):
            out.append(LookasideEntry(m["name"], m["algo"].lower(), m["hex"].lower(), True))
        elif m := _PLAIN.match(line.strip()):
            algo = _BY_LENGTH.get(len(m["hex"]))
            if algo is None:
                raise FormatError(f"line {lineno}: digest of unknown length", subject=path)
            out.append(LookasideEntry(m["name"], algo, m["hex"].lower(), False))
        else:
            raise FormatError(f"line {lineno}: not a lookaside line: {line!r}", subject=path)
    return out


def write(path: Path, entries: list[LookasideEntry]) -> None:
    write_nofollow(path, "".join(e.render() + "\n" for e in entries).encode())


def digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def find(tree: Path, name: str) -> LookasideEntry | None:
    meta = metadata_file(tree)
    if meta is None:
        return None
    base = name.rsplit("/", 1)[-1]
    return next((e for e in parse(meta) if e.basename == base), None)


def remove(tree: Path, name: str) -> bool:
    """Drop ``name``'s line from the metadata; True when there was one."""
    meta = metadata_file(tree)
    if meta is None:
        return False
    entries = parse(meta)
    base = name.rsplit("/", 1)[-1]
    kept = [e for e in entries if e.basename != base]
    if len(kept) == len(entries):
        return False
    write(meta, kept)
    return True


def record(tree: Path, rel_name: str, content: Path) -> bool:
    """Add or update ``rel_name``'s digest (a file now kept in the lookaside cache)."""
    meta = metadata_file(tree)
    if meta is None:
        return False
    entries = parse(meta)
    base = rel_name.rsplit("/", 1)[-1]
    like = entries[0] if entries else None
    algo = like.algo if like else ("sha512" if meta.name == "sources" else "sha256")
    tagged = like.tagged if like else meta.name == "sources"
    exploded = (like is not None and "/" in like.name) or meta.name != "sources"
    name = f"SOURCES/{base}" if exploded else base
    new = LookasideEntry(name, algo, digest(content, algo), tagged)
    replaced = False
    for i, e in enumerate(entries):
        if e.basename == base:
            entries[i] = LookasideEntry(e.name, e.algo, digest(content, e.algo), e.tagged)
            replaced = True
    if not replaced:
        entries.append(new)
    write(meta, entries)
    return True
