"""Distribution ABI profiles: the model and its compact on-disk form.

A *symbol* profile (made from RPMs, a repository or an installed root) lists every shared
library a distribution ships — SONAME, architecture, owning package, DT_NEEDED, version
definitions and exported ``symbol@version`` — plus the dynamic loaders, the ISA baseline and
the highest glibc/libstdc++/CXXABI versions. A *version* profile (imported from an auditwheel
policy) only knows which libraries are allowed and which version tags of each prefix exist,
so checks against it work at version-tag level.

On disk a profile is gzip-compressed JSON (``elforge.profile/1``). Symbols are stored grouped
by version node as one space-joined, sorted string per node and packages are interned in a
table: ``bench/profile_load.py`` measures this against plain JSON with one ``name@version``
string per symbol on a profile of a real installed system.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elforge.compat.platform import split_version_node, version_key
from elforge.errors import FormatError

SCHEMA = "elforge.profile/1"
KIND_SYMBOLS = "symbols"
KIND_VERSIONS = "versions"
TRACKED_PREFIXES = ("GLIBC", "GLIBCXX", "CXXABI")
UNVERSIONED = ""


class Library:
    """One shared library as the loader finds it: by SONAME in the default search path.

    Symbols are kept as loaded — one space-joined string per version node — and split into a
    set only when a check asks about that node: checking a program touches a handful of nodes
    of a handful of libraries, so most of a profile is never split.
    """

    __slots__ = (
        "_names",
        "_raw",
        "_sets",
        "arch",
        "default_path",
        "needed",
        "package",
        "paths",
        "soname",
        "versions",
    )  # fmt: skip

    def __init__(
        self,
        soname: str,
        arch: str,
        package: str | None = None,
        paths: tuple[str, ...] = (),
        needed: tuple[str, ...] = (),
        versions: tuple[str, ...] = (),
        symbols: dict[str, frozenset[str]] | None = None,
        default_path: bool = True,
        raw_symbols: dict[str, str] | None = None,
    ) -> None:
        self.soname = soname
        self.arch = arch
        self.package = package
        self.paths = paths  # absolute install paths: the file and the symlinks to it
        self.needed = needed
        self.versions = versions  # version nodes defined (without the base entry)
        self.default_path = default_path  # found without RPATH (default dir or ld.so.conf)
        self._sets: dict[str, frozenset[str]] = dict(symbols or {})
        self._raw: dict[str, str] = dict(raw_symbols or {})
        self._names: frozenset[str] | None = None

    def __repr__(self) -> str:
        return f"Library({self.soname!r}, {self.arch!r}, package={self.package!r})"

    def _set(self, version: str) -> frozenset[str] | None:
        got = self._sets.get(version)
        if got is None and version in self._raw:
            got = self._sets[version] = frozenset(self._raw.pop(version).split())
        return got

    @property
    def symbols(self) -> dict[str, frozenset[str]]:
        """Version node ("" for unversioned) -> exported names."""
        for version in list(self._raw):
            self._set(version)
        return self._sets

    def raw_symbols(self) -> dict[str, str]:
        """Version node -> sorted, space-joined names: the stored form."""
        out = dict(self._raw)
        out.update({v: " ".join(sorted(n)) for v, n in self._sets.items()})
        return out

    def defines(self, name: str, version: str | None) -> bool:
        """Does the library export ``name`` at ``version`` (any version when None)?"""
        if version is None:
            return name in self.all_names()
        names = self._set(version)
        return names is not None and name in names

    def all_names(self) -> frozenset[str]:
        if self._names is None:
            sets = self.symbols.values()
            self._names = frozenset().union(*sets) if sets else frozenset()
        return self._names

    def symbol_count(self) -> int:
        return sum(len(v) for v in self._sets.values()) + sum(
            raw.count(" ") + 1 for raw in self._raw.values() if raw
        )


@dataclass
class VersionPolicy:
    """What an auditwheel policy allows: libraries, version tags per architecture, blacklist."""

    libraries: frozenset[str]
    symbol_versions: dict[str, dict[str, frozenset[str]]]  # arch -> prefix -> version nodes
    blacklist: dict[str, frozenset[str]] = field(default_factory=dict)  # soname -> names

    def version_allowed(self, arch: str, node: str) -> bool:
        """auditwheel's rule: a node whose prefix the policy lists must be one of its nodes;
        prefixes the policy does not list are not constrained."""
        prefixes = self.symbol_versions.get(arch, {})
        prefix, _ = split_version_node(node)
        allowed = prefixes.get(prefix)
        return allowed is None or node in allowed


@dataclass
class Profile:
    name: str
    kind: str
    source: str = ""
    created: str = ""
    arches: tuple[str, ...] = ()
    loaders: tuple[str, ...] = ()
    isa_level: int | None = None  # x86-64 level the distribution's binaries need (1 = baseline)
    highest: dict[str, str] = field(default_factory=dict)  # prefix -> highest version defined
    libraries: list[Library] = field(default_factory=list)
    policy: VersionPolicy | None = None
    priority: int | None = None  # auditwheel: higher = older, more compatible
    _index: dict[tuple[str, str], Library] | None = field(default=None, repr=False)
    _by_path: dict[str, Library] | None = field(default=None, repr=False)

    def find(self, arch: str, soname: str) -> Library | None:
        """The library the loader would load for DT_NEEDED ``soname`` on ``arch``."""
        if self._index is None:
            index: dict[tuple[str, str], Library] = {}
            for lib in self.libraries:
                if lib.default_path:
                    index.setdefault((lib.arch, lib.soname), lib)
                    for p in lib.paths:
                        index.setdefault((lib.arch, p.rsplit("/", 1)[-1]), lib)
            self._index = index
        return self._index.get((arch, soname))

    def find_path(self, path: str) -> Library | None:
        """The library installed at absolute ``path`` (for absolute RPATH/RUNPATH entries)."""
        if self._by_path is None:
            self._by_path = {p: lib for lib in self.libraries for p in lib.paths}
        # merged /usr: /lib64/x and /usr/lib64/x are the same file
        for candidate in (path, "/usr" + path, path.removeprefix("/usr")):
            hit = self._by_path.get(candidate)
            if hit is not None:
                return hit
        return None

    def symbol_count(self) -> int:
        return sum(lib.symbol_count() for lib in self.libraries)


def highest_versions(libraries: list[Library]) -> dict[str, str]:
    """The highest GLIBC_, GLIBCXX_ and CXXABI_ node any library defines."""
    best: dict[str, str] = {}
    for lib in libraries:
        for node in lib.versions:
            prefix, number = split_version_node(node)
            if prefix not in TRACKED_PREFIXES or not number[:1].isdigit():
                continue
            if prefix not in best or version_key(number) > version_key(best[prefix]):
                best[prefix] = number
    return best


# --- storage -------------------------------------------------------------------------------


def to_json(profile: Profile) -> dict[str, Any]:
    packages: dict[str, int] = {}
    libs = []
    for lib in sorted(profile.libraries, key=lambda x: (x.arch, x.soname, x.paths)):
        pkg = None
        if lib.package is not None:
            pkg = packages.setdefault(lib.package, len(packages))
        entry: dict[str, Any] = {"soname": lib.soname, "arch": lib.arch, "package": pkg}
        if lib.paths:
            entry["paths"] = list(lib.paths)
        if lib.needed:
            entry["needed"] = list(lib.needed)
        if lib.versions:
            entry["versions"] = list(lib.versions)
        if not lib.default_path:
            entry["default_path"] = False
        entry["symbols"] = dict(sorted(lib.raw_symbols().items()))
        libs.append(entry)
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "name": profile.name,
        "kind": profile.kind,
        "source": profile.source,
        "created": profile.created,
        "arches": list(profile.arches),
        "loaders": list(profile.loaders),
        "isa_level": profile.isa_level,
        "highest": profile.highest,
        "priority": profile.priority,
        "packages": list(packages),
        "libraries": libs,
    }
    if profile.policy is not None:
        pol = profile.policy
        out["policy"] = {
            "libraries": sorted(pol.libraries),
            "symbol_versions": {
                arch: {p: sorted(v, key=lambda n: version_key(split_version_node(n)[1]))
                       for p, v in sorted(prefixes.items())}
                for arch, prefixes in sorted(pol.symbol_versions.items())
            },
            "blacklist": {k: sorted(v) for k, v in sorted(pol.blacklist.items())},
        }  # fmt: skip
    return out


def save(profile: Profile, path: Path) -> None:
    """Write ``profile`` as gzip JSON, whatever the file is called (``load`` reads plain JSON
    too, for hand-written profiles)."""
    raw = json.dumps(to_json(profile), separators=(",", ":"), ensure_ascii=False).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same profile gives the same bytes
    path.write_bytes(gzip.compress(raw, compresslevel=6, mtime=0))


def load(path: Path) -> Profile:
    """Read a profile (gzip or plain JSON); FormatError naming the file when malformed."""
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot read profile: {exc.strerror or exc}", subject=path) from exc
    try:
        if blob[:2] == b"\x1f\x8b":
            blob = gzip.decompress(blob)
        doc = json.loads(blob)
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise FormatError(
            f"not a profile (neither gzip JSON nor JSON: {exc})", subject=path
        ) from exc
    return from_json(doc, subject=str(path))


def from_json(doc: Any, *, subject: str) -> Profile:
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        found = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        raise FormatError(f"not an {SCHEMA} document (schema {found!r})", subject=subject)
    try:
        packages = [str(p) for p in doc.get("packages", [])]
        libs = []
        for entry in doc["libraries"]:
            pkg = entry.get("package")
            libs.append(
                Library(
                    soname=str(entry["soname"]),
                    arch=str(entry["arch"]),
                    package=packages[pkg] if pkg is not None else None,
                    paths=tuple(entry.get("paths", ())),
                    needed=tuple(entry.get("needed", ())),
                    versions=tuple(entry.get("versions", ())),
                    raw_symbols={str(v): str(names) for v, names in entry["symbols"].items()},
                    default_path=bool(entry.get("default_path", True)),
                )
            )
        policy = None
        if doc.get("policy") is not None:
            pol = doc["policy"]
            policy = VersionPolicy(
                libraries=frozenset(pol["libraries"]),
                symbol_versions={
                    str(arch): {str(p): frozenset(v) for p, v in prefixes.items()}
                    for arch, prefixes in pol["symbol_versions"].items()
                },
                blacklist={str(k): frozenset(v) for k, v in pol.get("blacklist", {}).items()},
            )
        kind = str(doc["kind"])
        if kind not in (KIND_SYMBOLS, KIND_VERSIONS):
            raise ValueError(f"unknown kind {kind!r}")
        if kind == KIND_VERSIONS and policy is None:
            raise ValueError("a version profile needs a 'policy'")
        return Profile(
            name=str(doc["name"]),
            kind=kind,
            source=str(doc.get("source", "")),
            created=str(doc.get("created", "")),
            arches=tuple(doc.get("arches", ())),
            loaders=tuple(doc.get("loaders", ())),
            isa_level=doc.get("isa_level"),
            highest={str(k): str(v) for k, v in doc.get("highest", {}).items()},
            libraries=libs,
            policy=policy,
            priority=doc.get("priority"),
        )
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        raise FormatError(
            f"malformed profile: {type(exc).__name__}: {exc}", subject=subject
        ) from exc
