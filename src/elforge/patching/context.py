"""What every action sees while it runs: the working tree, the config's folder, the options.

Actions report how many places they changed (:class:`Step`) or raise :class:`Drift` when
the upstream no longer has what they need; configuration mistakes raise ConfigError.
"""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from elforge import pathsafe
from elforge.errors import ConfigError, ElforgeError
from elforge.patching.spec import find_spec, sources_dir

_BLOB_HASHES = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}


class Drift(ElforgeError):
    """The upstream changed under an action: a file, a line or a hunk is not where it was."""

    def __init__(self, message: str, *, file: str, nearest: str = "") -> None:
        super().__init__(message, subject=file)
        self.file = file
        self.nearest = nearest


@dataclass
class Step:
    """What one action did."""

    changed: int = 0
    files: list[str] = field(default_factory=list)
    note: str = ""
    # per-file shortfalls found while running (the engine turns them into diagnostics)
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # (file, problem, nearest)


@dataclass
class AddedPatch:
    """A patch the config added: checked against the prepped sources afterwards."""

    action_index: int
    path: Path  # in the working tree
    strip: int


@dataclass
class ActionContext:
    tree: Path  # the working copy being edited
    base_dir: Path  # the config's folder: added files are relative to it
    allow_scripts: bool  # the command line's permission (the config must allow too)
    config_allows_scripts: bool
    added_patches: list[AddedPatch] = field(default_factory=list)
    commit_lines: list[str] = field(default_factory=list)  # changelog lines for the commit
    release_number_hint: int | None = None  # next iteration from the patched branch's tags
    dist: str | None = None  # %{dist} for evaluating the spec (the workspace's)
    # content-addressed blobs, <store>/<hashtype>/<digest> (the workspace's lookaside store)
    lookaside_store: Path | None = None

    @property
    def spec(self) -> Path:
        spec = find_spec(self.tree)
        return pathsafe.inside(self.tree, self.rel(spec))  # never a link out of the tree

    @property
    def sources(self) -> Path:
        return pathsafe.inside(self.tree, self.rel(sources_dir(self.tree)))

    def rel(self, path: Path) -> str:
        return path.relative_to(self.tree).as_posix()

    def tree_files(self) -> list[str]:
        """The tree's regular files; links are data, never a target for an action."""
        out = []
        for p in pathsafe.regular_files(self.tree):
            rel = p.relative_to(self.tree)
            if rel.parts[0] != ".git":
                out.append(rel.as_posix())
        return out

    def resolve_targets(self, patterns: list[str]) -> list[Path]:
        """Tree files matching the patterns: 'spec', a glob with '/' from the root, or a name."""
        found: list[Path] = []
        files = self.tree_files()
        for pattern in patterns:
            safe_relative(pattern, what="file pattern")
            if pattern == "spec":
                found.append(self.spec)
                continue
            if "/" in pattern:
                hits = [f for f in files if fnmatch.fnmatchcase(f, pattern)]
            else:
                hits = [f for f in files if fnmatch.fnmatchcase(f.rsplit("/", 1)[-1], pattern)]
            found.extend(self.tree / h for h in hits)
        unique: list[Path] = []
        for p in found:
            if p not in unique:
                unique.append(p)
        return unique

    def find_in_tree(self, name: str) -> Path | None:
        """A tree file by relative path, or by file name (sources dir first)."""
        safe_relative(name, what="file")
        direct = pathsafe.inside(self.tree, name)
        if pathsafe.is_regular(direct):
            return direct
        in_sources = pathsafe.inside(self.sources, name, subject=self.tree)
        if pathsafe.is_regular(in_sources):
            return in_sources
        base = name.rsplit("/", 1)[-1]
        hits = [f for f in self.tree_files() if f.rsplit("/", 1)[-1] == base]
        return self.tree / hits[0] if hits else None

    def blob(self, digest: str) -> Path:
        """The verified blob ``digest`` (hash type by its length) of the lookaside store."""
        algo = _BLOB_HASHES.get(len(digest))
        if algo is None or not all(c in "0123456789abcdef" for c in digest.lower()):
            raise ConfigError(f"lookaside blob '{digest[:130]}' is not a hex digest")
        if self.lookaside_store is None:
            raise ConfigError(f"lookaside blob {digest} needs a lookaside store (none given)")
        path = self.lookaside_store / algo / digest.lower()
        if not path.is_file():
            raise ConfigError(f"lookaside blob {digest} is not in {self.lookaside_store}")
        h = hashlib.new(algo)
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        if h.hexdigest() != digest.lower():
            raise ConfigError(f"lookaside blob {path} does not match its digest")
        return path

    def config_file(self, rel: str, *, what: str) -> Path:
        """A file shipped with the config (patch, source, script), refused outside its folder."""
        safe_relative(rel, what=what)
        path = pathsafe.inside(self.base_dir, rel)  # config files are never read through links
        if not pathsafe.is_regular(path):
            raise ConfigError(f"{what} '{rel}' not found next to the config", subject=path)
        return path

    def config_bytes(self, rel: str, *, what: str) -> bytes:
        """A config file's content, read without following a link swapped in meanwhile."""
        return pathsafe.read_nofollow(self.config_file(rel, what=what))

    def write(self, path: Path, data: bytes) -> Path:
        """Write a file of the tree (``path`` under it); links on the way are refused."""
        return pathsafe.write_bytes(self.tree, self.rel(path), data)


def safe_relative(rel: str, *, what: str) -> PurePosixPath:
    """Refuse absolute paths and '..' components: configs never reach outside their trees.
    pathsafe's rule (the name echoed bounded), reported as a config error."""
    try:
        pathsafe.relative_parts(rel, what)
    except pathsafe.UnsafePathError as exc:
        raise ConfigError(f"{what} path {exc.problem}") from None
    return PurePosixPath(rel)
