"""Make a symbol profile from a directory of RPMs, a repository or an installed root.

Every shared object becomes a :class:`~elforge.compat.profile.Library` under its SONAME (its
file name when it has none) with its install path and the symlinks to it. A library is in the
*default path* when the loader finds it without RPATH: in /lib, /lib64, /usr/lib, /usr/lib64,
a multiarch directory, or a directory an ``/etc/ld.so.conf.d`` file of the source names. When
several packages ship the same SONAME (a repository often holds several builds of a package),
the newest build by EVR wins.
"""

from __future__ import annotations

import posixpath
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from elforge.compat.profile import KIND_SYMBOLS, UNVERSIONED, Library, Profile, highest_versions
from elforge.compat.trees import Tree, find_rpms, norm, read_root_dirs, read_rpm
from elforge.errors import ChecksumError, ElforgeError, FormatError
from elforge.proc import run_command
from elforge.progress import NO_PROGRESS, Progress
from elforge.rpm.nevra import NEVRA
from elforge.rpm.verify import verify_rpm

DEFAULT_DIRS = ("lib", "lib64", "usr/lib", "usr/lib64")
MULTIARCH = ("x86_64-linux-gnu", "i386-linux-gnu", "aarch64-linux-gnu", "powerpc64le-linux-gnu",
             "s390x-linux-gnu", "arm-linux-gnueabihf", "riscv64-linux-gnu")  # fmt: skip
# not searched for libraries: kernel modules, firmware, debug data, language module trees
SKIP_DIRS = {"modules", "firmware", "debug", "locale", "jvm", "gcc", "python3", "perl5", "perl"}
LOADER_PREFIXES = ("ld-linux", "ld64.so", "ld.so.1", "ld-musl-")


def default_dirs() -> list[str]:
    out = list(DEFAULT_DIRS)
    for base in ("lib", "usr/lib"):
        out += [f"{base}/{m}" for m in MULTIARCH]
    return out


def ld_conf_dirs(texts: dict[str, bytes]) -> list[str]:
    """Directories named in ld.so.conf and ld.so.conf.d files (``include`` lines skipped:
    every file of the directory is read anyway)."""
    out: list[str] = []
    for name in sorted(texts):
        for line in texts[name].decode("utf-8", "replace").splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith(("include ", "hwcap ")):
                out.append(norm(line))
    return out


def is_loader(path: str) -> bool:
    return posixpath.basename(path).startswith(LOADER_PREFIXES)


def _newer(a: str | None, b: str | None) -> bool:
    """Is package ``a`` a newer build than ``b``? (unknown packages are never newer)"""
    if a is None or b is None:
        return False
    try:
        return NEVRA.parse(a).evr.compare(NEVRA.parse(b).evr) > 0
    except (ValueError, ElforgeError):
        return a > b


def profile_from_trees(
    trees: Iterable[Tree], *, name: str, source: str, owners: dict[str, str] | None = None
) -> Profile:
    trees = list(trees)
    search = set(default_dirs())
    for tree in trees:
        search.update(ld_conf_dirs(tree.texts))
    chosen: dict[tuple[str, str, bool], Library] = {}
    loaders: set[str] = set()
    isa: int | None = None
    for tree in trees:
        aliases: dict[str, list[str]] = {}
        for link in tree.links:
            hit = tree.resolve(link)
            if hit is not None:
                aliases.setdefault(hit.path, []).append(link)
            if is_loader(link) and hit is not None:
                loaders.add("/" + link)
        for f in tree.files:
            info = f.info
            if info.x86_isa_needed is not None:
                isa = max(isa or 0, info.x86_isa_needed)
            if is_loader(f.path):
                loaders.add("/" + f.path)
            if info.type != "DYN":
                continue
            paths = ["/" + f.path, *sorted("/" + a for a in aliases.get(f.path, ()))]
            symbols: dict[str, set[str]] = {}
            for s in info.symbols:
                if s.is_exported:
                    symbols.setdefault(s.version or UNVERSIONED, set()).add(s.name)
            package = f.package or (owners or {}).get("/" + f.path) or tree.package
            lib = Library(
                soname=info.soname or posixpath.basename(f.path),
                arch=f.arch,
                package=package,
                paths=tuple(paths),
                needed=info.needed,
                versions=tuple(d.name for d in info.version_defs if not d.base),
                symbols={v: frozenset(n) for v, n in symbols.items()},
                default_path=any(posixpath.dirname(p[1:]) in search for p in paths),
            )
            key = (lib.arch, lib.soname, lib.default_path)
            old = chosen.get(key)
            if old is None or _newer(lib.package, old.package):
                chosen[key] = lib
    libraries = sorted(chosen.values(), key=lambda x: (x.arch, x.soname, x.paths))
    return Profile(
        name=name,
        kind=KIND_SYMBOLS,
        source=source,
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        arches=tuple(sorted({lib.arch for lib in libraries})),
        loaders=tuple(sorted(loaders)),
        isa_level=isa,
        highest=highest_versions(libraries),
        libraries=libraries,
    )


def is_installed_root(path: Path) -> bool:
    return (
        any((path / d).is_dir() for d in ("usr/lib", "usr/lib64", "lib64"))
        and not (path / "repodata").is_dir()
    )


def rpmdb_owners(root: Path) -> dict[str, str]:
    """File path -> NEVRA from the root's rpm database; empty when it has none."""
    if (
        not any((root / d).exists() for d in ("var/lib/rpm", "usr/lib/sysimage/rpm"))
        or shutil.which("rpm") is None
    ):
        return {}
    proc = run_command(
        ["rpm", "--root", str(root.resolve()), "-qa", "--qf", "[%{FILENAMES}\t%{NEVRA}\n]"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    owners: dict[str, str] = {}
    if proc.returncode == 0:
        for line in proc.stdout.splitlines():
            path, _, nevra = line.partition("\t")
            if path and nevra:
                owners.setdefault(path, nevra)
    return owners


def read_root(root: Path) -> Tree:
    """The shared objects of an installed root in the loader's search path."""
    conf: dict[str, bytes] = {}
    for p in [root / "etc/ld.so.conf", *sorted((root / "etc/ld.so.conf.d").glob("*.conf"))]:
        try:
            conf[str(p.relative_to(root))] = p.read_bytes()
        except OSError:
            continue
    dirs = default_dirs() + ld_conf_dirs(conf)
    # private library directories (/usr/lib64/samba, /usr/lib/man-db) that programs reach
    # through an absolute RUNPATH: profiled too, outside the default path
    private = []
    for d in dirs:
        base = root / d
        if not base.is_dir():
            continue
        for sub in sorted(base.glob("*/")) + sorted(base.glob("*/*/")):
            rel = str(sub.relative_to(root))
            if sub.is_dir() and not sub.is_symlink() and not set(rel.split("/")) & SKIP_DIRS:
                private.append(rel)
    tree = read_root_dirs(root, list(dict.fromkeys(dirs + private)))
    tree.texts.update(conf)
    return tree


def create_profile(
    src: Path,
    *,
    name: str | None = None,
    progress: Progress = NO_PROGRESS,
    keyring: Path | None = None,
) -> tuple[Profile, list[tuple[str, str]]]:
    """A profile of ``src`` (directory of RPMs, repository directory or installed root), and
    the per-file problems met on the way (unreadable RPMs, malformed ELF files). An RPM whose
    digests (or, with ``keyring``, signature) do not verify refuses the whole profile; one
    that cannot be read at all is a problem and left out."""
    if not src.exists():
        raise FormatError("no such file or directory", subject=src)
    label = name or src.resolve().name or str(src)
    problems: list[tuple[str, str]] = []
    if src.is_file() and src.name.endswith(".rpm"):
        rpms = [src]
    elif src.is_dir() and is_installed_root(src):
        tree = read_root(src)
        problems += [(f"{src}/{p}", why) for p, why in tree.errors]
        profile = profile_from_trees([tree], name=label, source=str(src), owners=rpmdb_owners(src))
        return profile, problems
    elif src.is_dir():
        rpms = find_rpms(src)
        if not rpms:
            raise FormatError("no RPMs and not an installed root (no usr/lib*)", subject=src)
    else:
        raise FormatError("not a directory of RPMs, a repository or an installed root", subject=src)
    trees = []
    progress.start(f"reading {len(rpms)} RPMs", len(rpms))
    try:
        for rpm in rpms:
            try:
                verify_rpm(rpm, keyring)
                tree = read_rpm(rpm)
            except ChecksumError:
                raise  # a tampered package refuses the profile; an unreadable one is noted
            except ElforgeError as exc:
                problems.append((str(rpm), exc.problem))
            else:
                problems += [(f"{rpm}:{p}", why) for p, why in tree.errors]
                trees.append(tree)
            progress.advance(note=rpm.name)
    finally:
        progress.finish()
    return profile_from_trees(trees, name=label, source=str(src)), problems
