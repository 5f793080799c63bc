"""The rpmbuild builder's per-build root, for hosts without mock (Debian CI).

A build's BuildRequires (read from its SRPM header, so exactly what the build asks for) are
resolved with libsolv against the buildroot repositories (the release's own first, then the
external ones) and the host's declared provides (``[build] host_provides``: the toolchain
the host brings itself). The chosen packages, with the packages they require from the same
repositories, are extracted into a fresh root with the project's safe payload extractor
(the file list is recorded), and the compiler, linker and pkg-config are pointed at that
root through the environment. An unmet BuildRequires is an error naming it; only after that
check passed does rpmbuild run with ``--nodeps`` (the host has no rpmdb to check against).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solv

from elforge.build.plan import add_host_repo, load_available, parse_dep
from elforge.errors import ElforgeError, FormatError
from elforge.repo.pool import LoadedPool, finish_pool, solvable_nevra
from elforge.rpm import remote
from elforge.rpm.payload import extract

_LIB_DIRS = ("usr/lib64", "usr/lib")
_PKGCONFIG_DIRS = ("usr/lib64/pkgconfig", "usr/lib/pkgconfig", "usr/share/pkgconfig")


class UnmetBuildRequires(ElforgeError):
    """A BuildRequires that neither the buildroot repositories nor the host provide."""


@dataclass(frozen=True)
class RootOptions:
    """Where a per-build root comes from."""

    repos: tuple[str, ...]  # the release's buildroot repository first, then the external
    host_provides: tuple[str, ...]
    arch: str = "x86_64"
    cache_dir: Path | None = None
    sandbox: bool = True
    # (package, its build input hash) for each release package this build uses: a rebuilt
    # dependency changes the hash of everything built against it
    needs: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            # the release's own repository is named by what this build uses from it
            # (``needs``), not by its path: a moved workspace rebuilds nothing
            "repos": ["<release buildroot>", *self.repos[1:]],
            "host_provides": sorted(self.host_provides),
            "needs": [list(n) for n in self.needs],
        }


@dataclass(frozen=True)
class RootPackage:
    nevra: str
    repo: str
    path: Path


@dataclass(frozen=True)
class RootSelection:
    packages: tuple[RootPackage, ...]
    host_met: tuple[str, ...]  # BuildRequires the host provides


def _pool(opts: RootOptions) -> tuple[LoadedPool, list[tuple[str, str]]]:
    loaded, broken = load_available(opts.repos, arch=opts.arch, cache_dir=opts.cache_dir)
    add_host_repo(loaded.pool, opts.host_provides)
    finish_pool(loaded)
    return loaded, broken


class _Chooser:
    """Picks one provider per requirement: host first, then by repository priority, then
    the newest version."""

    def __init__(self, loaded: LoadedPool) -> None:
        self.loaded = loaded
        self.pool = loaded.pool
        self.rank = {repo.id: i for i, repo in enumerate(loaded.checked)}
        self.chosen: dict[int, Any] = {}

    def providers(self, requirement: str) -> list[Any] | None:
        dep = parse_dep(self.pool, requirement)
        return None if dep is None else list(self.pool.whatprovides(dep))

    def met(self, found: list[Any]) -> bool:
        return any(s.repo.name == "host" or s.id in self.chosen for s in found)

    def pick(self, found: list[Any]) -> Any:
        def order(a: Any, b: Any) -> int:
            ra, rb = self.rank.get(a.repo.id, 99), self.rank.get(b.repo.id, 99)
            return ra - rb if ra != rb else -a.evrcmp(b)

        return sorted(found, key=functools.cmp_to_key(order))[0]

    def add_with_requires(self, first: Any) -> None:
        todo = [first]
        while todo:
            s = todo.pop()
            if s.id in self.chosen:
                continue
            self.chosen[s.id] = s
            for dep in s.lookup_deparray(solv.SOLVABLE_REQUIRES):
                text = str(dep)
                if text.startswith("rpmlib("):
                    continue
                found = list(self.pool.whatprovides(dep))
                repo_found = [p for p in found if p.repo.name != "host"]
                if repo_found and not self.met(found):
                    todo.append(self.pick(repo_found))
                # else: the host's business (libc, /bin/sh…) or already there


def select_root(buildrequires: Sequence[str], opts: RootOptions) -> RootSelection:
    """The packages a build's root needs, or UnmetBuildRequires naming every unmet one."""
    loaded, broken = _pool(opts)
    chooser = _Chooser(loaded)
    host_met: list[str] = []
    unmet: list[str] = []
    for requirement in buildrequires:
        if requirement.startswith("rpmlib("):
            continue
        found = chooser.providers(requirement)
        if not found:
            unmet.append(requirement)
        elif any(s.repo.name == "host" for s in found):
            host_met.append(requirement)
        elif not chooser.met(found):
            chooser.add_with_requires(chooser.pick(found))
    if unmet:
        why = "".join(f"; buildroot repository unusable: {err}" for _, err in broken)
        raise UnmetBuildRequires(
            f"unmet BuildRequires: {', '.join(unmet)} (in no buildroot repository and not in "
            f"[build] host_provides){why}"
        )
    packages = [
        RootPackage(solvable_nevra(s), chooser.loaded.sources[s.repo.id].name, _fetch(chooser, s))
        for s in sorted(chooser.chosen.values(), key=solvable_nevra)
    ]
    return RootSelection(tuple(packages), tuple(host_met))


def _fetch(chooser: _Chooser, s: Any) -> Path:
    """A verified local copy of a chosen package (in place for local repositories)."""
    repository = chooser.loaded.sources[s.repo.id]
    href, _ = s.lookup_location()
    source = remote.join_location(repository.location, href)
    chk = s.lookup_checksum(solv.SOLVABLE_CHECKSUM)
    if isinstance(source, str) and remote.is_url(source):
        path = repository.cache_dir / "packages" / f"{chk.hex() if chk else s.id}.rpm"
        if not path.exists():
            remote.download(source, path, timeout=repository.timeout)
    else:
        path = Path(source)
        if not path.is_file():
            raise FormatError("package named in primary.xml is missing", subject=path)
    remote.verify_file(
        path,
        subject=source,
        checksum_type=chk.typestr() if chk else None,
        checksum=chk.hex() if chk else None,
    )
    return path


def populate_root(selection: RootSelection, root: Path) -> list[str]:
    """Extract every selected package into ``root``; return the recorded file list."""
    files: list[str] = []
    for package in selection.packages:
        for member in extract(package.path, root):
            files.append(f"{package.nevra} /{member.path}")
    return files


def root_environment(root: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """Compiler, linker and pkg-config pointed at ``root`` (plus its tools on PATH)."""
    env = dict(os.environ if base is None else base)
    libs = [str(root / d) for d in _LIB_DIRS]
    env["CPATH"] = str(root / "usr/include")
    env["LIBRARY_PATH"] = ":".join(libs)
    env["PKG_CONFIG_PATH"] = ":".join(str(root / d) for d in _PKGCONFIG_DIRS)
    env["PKG_CONFIG_SYSROOT_DIR"] = str(root)
    env["LDFLAGS"] = " ".join(f"-L{d} -Wl,-rpath-link,{d}" for d in libs)
    env["PATH"] = f"{root / 'usr/bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    env["LD_LIBRARY_PATH"] = ":".join(libs)  # tools from the root that load its libraries
    return env
