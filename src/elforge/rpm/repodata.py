"""rpm-md repository metadata: repomd.xml, primary, filelists, other, modules and updateinfo.

A :class:`Repository` opens a local folder or an http(s) URL, verifies every metadata file
it reads against repomd.xml (size, checksum, open-size and open-checksum), caches downloads
on disk keyed by checksum, and fetches single packages on demand with their checksum checked.
Parsing is createrepo_c's (the C parser dnf's tooling uses), streamed package by package.

The updateinfo parser lives in :mod:`elforge.rpm.updateinfo`; this module only hands out the
verified local path of the file (:meth:`Repository.updateinfo_path`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import createrepo_c as cr

from elforge.errors import ChecksumError, FetchError, FormatError, bounded, shown
from elforge.quiet import captured_stderr
from elforge.rpm import remote
from elforge.rpm.header import Dependency
from elforge.rpm.modules import ModuleIndex, read_modules
from elforge.rpm.nevra import NEVRA

REPOMD = "repodata/repomd.xml"
DEP_KINDS = (
    "provides",
    "requires",
    "conflicts",
    "obsoletes",
    "recommends",
    "suggests",
    "supplements",
    "enhances",
)


@dataclass(frozen=True)
class RepomdRecord:
    """One ``<data>`` entry of repomd.xml."""

    type: str
    location_href: str
    checksum_type: str | None
    checksum: str | None
    open_checksum_type: str | None
    open_checksum: str | None
    size: int | None
    open_size: int | None
    timestamp: int | None


@dataclass(frozen=True)
class Repomd:
    revision: str | None
    distro_tags: tuple[tuple[str | None, str], ...]
    records: tuple[RepomdRecord, ...]

    def get(self, type_: str) -> RepomdRecord | None:
        return next((r for r in self.records if r.type == type_), None)


@dataclass(frozen=True, slots=True)
class RepoPackage:
    """A package as primary.xml (and, when asked, filelists.xml) describes it."""

    nevra: NEVRA
    pkgid: str  # the package checksum, hex
    checksum_type: str
    location_href: str
    location_base: str | None
    size_package: int
    sourcerpm: str | None  # None for source packages
    summary: str
    provides: tuple[Dependency, ...]
    requires: tuple[Dependency, ...]
    conflicts: tuple[Dependency, ...]
    obsoletes: tuple[Dependency, ...]
    recommends: tuple[Dependency, ...]
    suggests: tuple[Dependency, ...]
    supplements: tuple[Dependency, ...]
    enhances: tuple[Dependency, ...]
    files: tuple[str, ...]  # primary's subset, or every file when read with files=True

    @property
    def name(self) -> str:
        return self.nevra.name

    @property
    def arch(self) -> str:
        return self.nevra.arch

    @property
    def source_name(self) -> str:
        """Name of the source package this binary was built from (own name for sources)."""
        if not self.sourcerpm:
            return self.nevra.name
        try:
            return NEVRA.parse_filename(self.sourcerpm).name
        except FormatError:
            return self.sourcerpm.rsplit("-", 2)[0]


@dataclass(frozen=True)
class ChangelogEntry:
    author: str
    date: int
    text: str


def _evr(epoch: str | None, version: str | None, release: str | None) -> str | None:
    if version is None:
        return None
    out = f"{epoch}:" if epoch and epoch != "0" else ""
    out += version
    if release:
        out += f"-{release}"
    return out


class _DepCache:
    """Interns Dependency objects: a repository repeats the same few hundred thousand."""

    def __init__(self) -> None:
        self._cache: dict[tuple[Any, ...], Dependency] = {}

    def convert(self, entries: list[tuple[Any, ...]], subject: str) -> tuple[Dependency, ...]:
        out = []
        cache = self._cache
        for entry in entries:
            dep = cache.get(entry)
            if dep is None:
                name, flags, epoch, version, release, pre = entry
                if flags not in DEP_FLAGS:
                    raise FormatError(
                        f"dependency {shown(name)}: flags={shown(flags)} is not one of "
                        "EQ, LT, LE, GT, GE",
                        subject=subject,
                    )
                dep = Dependency(name, flags or None, _evr(epoch, version, release), bool(pre))
                cache[entry] = dep
            out.append(dep)
        return tuple(out)


DEP_FLAGS = frozenset({None, "", "EQ", "LT", "LE", "GT", "GE"})


@contextmanager
def _createrepo(subject: str | Path, what: str) -> Iterator[None]:
    """A createrepo_c parser call: its GLib warnings kept off the terminal (they are several
    lines per problem), its failure one FormatError naming the file."""
    with captured_stderr():
        try:
            yield
        except (cr.CreaterepoCError, OSError) as exc:
            problem = bounded(str(exc).strip(), 300)
            raise FormatError(f"{what}: {problem}", subject=subject) from None
        except UnicodeDecodeError as exc:
            problem = f"not valid UTF-8 (byte {exc.start})"
            raise FormatError(f"{what}: {problem}", subject=subject) from None


def _to_repo_package(pkg: Any, deps: _DepCache, subject: str) -> RepoPackage:
    try:
        epoch = int(pkg.epoch or 0)
    except ValueError:
        raise FormatError(
            f"package {pkg.name}: epoch {pkg.epoch!r} is not a number", subject=subject
        ) from None
    nevra = NEVRA(pkg.name, epoch, pkg.version or "", pkg.release or "", pkg.arch or "")
    files = tuple(f"{d}{n}" for _t, d, n in (pkg.files or ()))
    return RepoPackage(
        nevra=nevra,
        pkgid=pkg.pkgId or "",
        checksum_type=pkg.checksum_type or "sha256",
        location_href=pkg.location_href or nevra.filename,
        location_base=pkg.location_base,
        size_package=int(pkg.size_package or 0),
        sourcerpm=pkg.rpm_sourcerpm or None,
        summary=pkg.summary or "",
        provides=deps.convert(pkg.provides, subject),
        requires=deps.convert(pkg.requires, subject),
        conflicts=deps.convert(pkg.conflicts, subject),
        obsoletes=deps.convert(pkg.obsoletes, subject),
        recommends=deps.convert(pkg.recommends, subject),
        suggests=deps.convert(pkg.suggests, subject),
        supplements=deps.convert(pkg.supplements, subject),
        enhances=deps.convert(pkg.enhances, subject),
        files=files,
    )


def parse_repomd(path: Path, *, subject: str | Path | None = None) -> Repomd:
    """Read repomd.xml; FormatError naming the file when it is not valid repomd XML."""
    repomd = cr.Repomd()
    with _createrepo(subject or path, "not a valid repomd.xml"):
        cr.xml_parse_repomd(str(path), repomd, lambda *_a: True)
        records = _records(repomd)
    for rec in records:
        if not rec.location_href:
            raise FormatError(f"record {rec.type!r} has no location", subject=subject or path)
    with _createrepo(subject or path, "not a valid repomd.xml"):
        return Repomd(repomd.revision or None, tuple(repomd.distro_tags), records)


def _records(repomd: Any) -> tuple[RepomdRecord, ...]:
    return tuple(
        RepomdRecord(
            type=r.type,
            location_href=r.location_href,
            checksum_type=r.checksum_type,
            checksum=r.checksum,
            open_checksum_type=r.checksum_open_type,
            open_checksum=r.checksum_open,
            size=r.size or None,
            open_size=r.size_open if r.size_open and r.size_open > 0 else None,
            timestamp=r.timestamp or None,
        )
        for r in repomd.records
    )


def iter_primary(path: Path, *, subject: str | Path | None = None) -> Iterator[RepoPackage]:
    """The packages of a primary.xml (any compression), with primary's file subset."""
    yield from _parse_primary(path, subject=str(subject or path), do_files=True)


def _parse_primary(path: Path, *, subject: str, do_files: bool) -> Iterator[RepoPackage]:
    out: list[RepoPackage] = []
    deps = _DepCache()

    def pkgcb(pkg: Any) -> bool:
        out.append(_to_repo_package(pkg, deps, subject))
        return True

    with _createrepo(subject, "cannot parse primary metadata"):
        cr.xml_parse_primary(str(path), pkgcb=pkgcb, warningcb=_ignore, do_files=do_files)
    yield from out


def _ignore(*_args: Any) -> bool:
    return True


class Repository:
    """One rpm-md repository at a local folder or an http(s) URL.

    ``verify=False`` skips checksum checks (only for metadata known to be trimmed, such as
    test fixtures); everything else is verified before it is parsed.
    """

    def __init__(
        self,
        location: str | Path,
        *,
        cache_dir: Path | None = None,
        verify: bool = True,
        timeout: float = remote.TIMEOUT,
        key: Path | None = None,
    ) -> None:
        self.location: str | Path = (
            str(location).rstrip("/") if remote.is_url(str(location)) else Path(location)
        )
        if isinstance(self.location, Path) and self.location.name == "repodata":
            self.location = self.location.parent
        self.is_remote = remote.is_url(str(self.location)) and isinstance(self.location, str)
        self.cache_dir = cache_dir or remote.default_cache_dir()
        self.verify = verify
        self.timeout = timeout
        self.key = key  # a repository key: repomd.xml.asc must verify against it
        self._verified: dict[str, Path] = {}
        self.repomd = self._load_repomd()

    def __repr__(self) -> str:
        return f"Repository({str(self.location)!r})"

    @property
    def name(self) -> str:
        return str(self.location)

    def _url(self, href: str) -> str | Path:
        return remote.join_location(self.location, href)

    def _load_repomd(self) -> Repomd:
        target = self._url(REPOMD)
        if not self.is_remote:
            path = Path(target)
            if not path.is_file():
                raise FormatError(
                    "no repodata/repomd.xml here (not a repository?)", subject=self.location
                )
            self._check_signature(path, target)
            return parse_repomd(path)
        data = remote.fetch_bytes(str(target), timeout=self.timeout)
        # repomd.xml has no checksum of its own; keep it by the hash of its content
        digest = remote.hasher("sha256")
        digest.update(data)
        path = self.cache_dir / "repodata" / f"{digest.hexdigest()}-repomd.xml"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(path)
        self._check_signature(path, target)
        return parse_repomd(path, subject=target)

    def _check_signature(self, repomd: Path, target: str | Path) -> None:
        """With a repository key, repomd.xml.asc must exist and verify (it covers every
        metadata file through the checksums repomd.xml lists)."""
        if self.key is None:
            return
        from elforge.rpm.verify import verify_detached

        asc = f"{target}.asc"
        if self.is_remote:
            signature = remote.fetch_bytes(asc, timeout=self.timeout)
        else:
            try:
                signature = Path(asc).read_bytes()
            except OSError:
                raise ChecksumError(
                    "no repomd.xml.asc, but a repository key is configured", subject=target
                ) from None
        verify_detached(repomd, signature, self.key, subject=target)

    def record(self, type_: str) -> RepomdRecord | None:
        return self.repomd.get(type_)

    def _require(self, type_: str) -> RepomdRecord:
        rec = self.record(type_)
        if rec is None:
            raise FormatError(f"repomd.xml has no {type_!r} record", subject=self._url(REPOMD))
        return rec

    def metadata_path(self, type_: str) -> Path | None:
        """Verified local path of one metadata file, or None when repomd.xml lacks it."""
        rec = self.record(type_)
        if rec is None:
            return None
        return self._fetch_record(rec)

    def _fetch_record(self, rec: RepomdRecord) -> Path:
        if rec.type in self._verified:
            return self._verified[rec.type]
        source = self._url(rec.location_href)
        if self.is_remote:
            key = rec.checksum or remote.hasher("sha256").name
            suffix = Path(rec.location_href).name
            path = self.cache_dir / "repodata" / f"{rec.checksum_type}-{key}-{suffix}"
            if not path.exists() or not self._verifies(path, rec, source):
                remote.download(str(source), path, timeout=self.timeout)
        else:
            path = Path(source)
            if not path.is_file():
                raise FormatError(f"{rec.type} file named in repomd.xml is missing", subject=path)
        if self.verify:
            remote.verify_file(
                path,
                subject=source,
                checksum_type=rec.checksum_type,
                checksum=rec.checksum,
                size=rec.size,
            )
            remote.verify_open(
                path,
                subject=source,
                checksum_type=rec.open_checksum_type,
                checksum=rec.open_checksum,
                size=rec.open_size,
            )
        self._verified[rec.type] = path
        return path

    def _verifies(self, path: Path, rec: RepomdRecord, source: str | Path) -> bool:
        try:
            remote.verify_file(
                path,
                subject=source,
                checksum_type=rec.checksum_type,
                checksum=rec.checksum,
                size=rec.size,
            )
        except ChecksumError:
            return False
        return True

    # -- packages -------------------------------------------------------------------------

    def packages(self, *, files: bool = False) -> list[RepoPackage]:
        """Every package in primary.xml; ``files=True`` adds the full lists from filelists."""
        return list(self.iter_packages(files=files))

    def iter_packages(self, *, files: bool = False) -> Iterator[RepoPackage]:
        rec = self._require("primary")
        path = self._fetch_record(rec)
        subject = str(self._url(rec.location_href))
        if not files:
            yield from _parse_primary(path, subject=subject, do_files=True)
            return
        frec = self._require("filelists")
        fpath = self._fetch_record(frec)
        fsubject = str(self._url(frec.location_href))
        raw: dict[str, Any] = {}

        def pkgcb(pkg: Any) -> bool:
            raw[pkg.pkgId] = pkg
            return True

        with _createrepo(subject, "cannot parse primary metadata"):
            cr.xml_parse_primary(str(path), pkgcb=pkgcb, do_files=False)

        def newpkgcb(pkgid: str, name: str, arch: str) -> Any:
            return raw.get(pkgid)

        with _createrepo(fsubject, "cannot parse filelists metadata"):
            cr.xml_parse_filelists(str(fpath), newpkgcb=newpkgcb, pkgcb=None, warningcb=None)
        deps = _DepCache()
        for pkg in raw.values():
            yield _to_repo_package(pkg, deps, subject)

    def changelogs(self) -> dict[str, tuple[ChangelogEntry, ...]]:
        """other.xml: changelog entries by package checksum (pkgid)."""
        rec = self._require("other")
        path = self._fetch_record(rec)
        out: dict[str, tuple[ChangelogEntry, ...]] = {}

        def pkgcb(pkg: Any) -> bool:
            out[pkg.pkgId] = tuple(
                ChangelogEntry(a or "", int(d or 0), t or "") for a, d, t in pkg.changelogs
            )
            return True

        with _createrepo(self._url(rec.location_href), "cannot parse other metadata"):
            cr.xml_parse_other(str(path), newpkgcb=None, pkgcb=pkgcb, warningcb=None)
        return out

    # -- modules and updateinfo -----------------------------------------------------------

    def modules(self) -> ModuleIndex | None:
        """modules.yaml parsed, or None when the repository has none."""
        rec = self.record("modules")
        if rec is None:
            return None
        path = self._fetch_record(rec)
        return read_modules(path, subject=self._url(rec.location_href))

    def updateinfo_path(self) -> Path | None:
        """Verified local path of updateinfo.xml[.gz|.xz|.zst] (parse with rpm.updateinfo)."""
        return self.metadata_path("updateinfo")

    def primary_path(self) -> Path:
        return self._fetch_record(self._require("primary"))

    # -- single packages ------------------------------------------------------------------

    def package_url(self, pkg: RepoPackage) -> str | Path:
        base = pkg.location_base or self.location
        return remote.join_location(base, pkg.location_href)

    def fetch_package(self, pkg: RepoPackage, dest: Path | None = None) -> Path:
        """A local, checksum-verified copy of one package (cached for URLs).

        ``dest`` (a folder) receives a copy; otherwise local repositories return the file
        in place and remote ones the cache entry.
        """
        source = self.package_url(pkg)
        if remote.is_url(str(source)) and not isinstance(source, Path):
            path = self.cache_dir / "packages" / f"{pkg.checksum_type}-{pkg.pkgid}.rpm"
            if not path.exists():
                remote.download(str(source), path, timeout=self.timeout)
        else:
            path = Path(source)
            if not path.is_file():
                raise FetchError("package named in primary.xml is missing", subject=path)
        try:
            remote.verify_file(
                path,
                subject=source,
                checksum_type=pkg.checksum_type,
                checksum=pkg.pkgid,
                size=pkg.size_package or None,
            )
        except ChecksumError:
            if path.is_relative_to(self.cache_dir):
                path.unlink(missing_ok=True)
            raise
        if dest is not None:
            dest.mkdir(parents=True, exist_ok=True)
            target = dest / Path(pkg.location_href).name
            shutil.copyfile(path, target)
            return target
        return path


def open_repository(location: str | Path, **kwargs: Any) -> Repository:
    """Open a repository; shorthand for :class:`Repository`."""
    return Repository(location, **kwargs)
