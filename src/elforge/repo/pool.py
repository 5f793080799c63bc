"""A libsolv pool loaded from verified rpm-md repositories, with modular filtering.

Metadata is fetched and verified by :class:`elforge.rpm.repodata.Repository`, then handed to
libsolv's own rpm-md reader (the solver inside dnf). libsolv reads gzip or plain XML; other
compressors are decompressed to a temporary file first.

The pool follows libdnf's rules: an inferior-architecture package (i686 on x86_64) may be
installed in lock-step with the same version of its best-architecture namesake. filelists.xml
is read only when a file requirement names a path that no package's primary file subset
(``/etc``, ``*bin/``) provides; a repository whose filelists is then missing or corrupt is
recorded in :attr:`LoadedPool.filelists_errors` (one line naming the file), and the solve goes
on with primary's files alone, as dnf does without filelists.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import solv

from elforge.errors import ElforgeError, FormatError
from elforge.progress import NO_PROGRESS, Progress
from elforge.rpm.modules import ModuleIndex
from elforge.rpm.nevra import NEVRA
from elforge.rpm.remote import compression_of, open_decompressed
from elforge.rpm.repodata import Repository

RepoSpec = str | Path | Repository


def as_repository(spec: RepoSpec, *, cache_dir: Path | None = None) -> Repository:
    return spec if isinstance(spec, Repository) else Repository(spec, cache_dir=cache_dir)


def solvable_nevra(s: solv.XSolvable) -> str:
    """``name-epoch:version-release.arch`` (epoch always), the form modules.yaml uses."""
    evr = s.evr
    if ":" not in evr:
        evr = "0:" + evr
    return f"{s.name}-{evr}.{s.arch}"


def solvable_label(s: solv.XSolvable) -> NEVRA:
    evr = s.evr
    epoch = 0
    if ":" in evr:
        e, evr = evr.split(":", 1)
        epoch = int(e)
    version, _, release = evr.rpartition("-")
    return NEVRA(s.name, epoch, version, release, s.arch)


def _add_xml(repo: solv.Repo, path: Path, flags: int, subject: str) -> None:
    with path.open("rb") as fh:
        kind = compression_of(fh.read(6))
    if kind in ("gz", ""):
        handle = solv.xfopen(str(path))
        if handle is None:
            raise FormatError("libsolv cannot open this file", subject=subject)
        ok = repo.add_rpmmd(handle, None, flags)
        handle.close()
    else:
        with tempfile.NamedTemporaryFile(suffix=".xml") as tmp:
            with open_decompressed(path) as stream:
                shutil.copyfileobj(stream, tmp, 1 << 20)
            tmp.flush()
            handle = solv.xfopen(tmp.name)
            ok = repo.add_rpmmd(handle, None, flags)
            handle.close()
    if not ok:
        raise FormatError(f"libsolv cannot read it: {repo.pool.errstr}", subject=subject)


@dataclass
class LoadedPool:
    """A pool, which libsolv repo came from which :class:`Repository`, and module data."""

    pool: solv.Pool
    arch: str
    checked: list[solv.Repo] = field(default_factory=list)
    extra: list[solv.Repo] = field(default_factory=list)
    sources: dict[int, Repository] = field(default_factory=dict)  # libsolv repo id -> repo
    modules: ModuleIndex | None = None
    filtered: set[int] = field(default_factory=set)  # solvable ids hidden by modular filtering
    active_streams: set[tuple[str, str]] = field(default_factory=set)
    filelists_loaded: list[str] = field(default_factory=list)  # repository names
    filelists_errors: list[str] = field(default_factory=list)  # "file: problem", one per repo


def new_pool(arch: str) -> solv.Pool:
    """An empty rpm pool for ``arch`` with libdnf's multilib lock-step rule."""
    pool = solv.Pool()
    pool.setdisttype(solv.Pool.DISTTYPE_RPM)
    pool.setarch(arch)
    pool.set_flag(solv.Pool.POOL_FLAG_IMPLICITOBSOLETEUSESCOLORS, 1)
    return pool


def load_pool(
    repos: Sequence[RepoSpec],
    extra: Sequence[RepoSpec] = (),
    *,
    arch: str = "x86_64",
    cache_dir: Path | None = None,
    progress: Progress = NO_PROGRESS,
) -> LoadedPool:
    """Load the primary.xml of checked and extra repositories into one libsolv pool
    (whatprovides not built: :func:`finish_pool` does that, reading filelists if needed)."""
    pool = new_pool(arch)
    loaded = LoadedPool(pool, arch)
    progress.start("loading", len(repos) + len(extra))
    try:
        for group, specs in ((loaded.checked, repos), (loaded.extra, extra)):
            for spec in specs:
                repository = as_repository(spec, cache_dir=cache_dir)
                srepo = pool.add_repo(repository.name)
                primary = repository.primary_path()
                _add_xml(srepo, primary, 0, str(primary))
                group.append(srepo)
                loaded.sources[srepo.id] = repository
                progress.advance()
    finally:
        progress.finish()
    return loaded


def read_module_index(loaded: LoadedPool) -> ModuleIndex | None:
    """modules.yaml of every loaded repository, merged (read on first use: only modular
    filtering needs it)."""
    if loaded.modules is None:
        indexes = [i for r in loaded.sources.values() if (i := r.modules()) is not None]
        for index in indexes:
            loaded.modules = index if loaded.modules is None else loaded.modules.merged(index)
    return loaded.modules


def apply_modular_filtering(
    loaded: LoadedPool, enabled: Iterable[str] = (), disabled: Iterable[str] = ()
) -> None:
    """Hide what dnf hides: packages of inactive module streams, and non-modular packages
    that share a name with (or provide the name of) a package of an active stream.

    Active streams are the enabled ones plus each module's default stream; all versions and
    contexts of an active stream count as active (module-level dependencies are not solved).
    """
    index = read_module_index(loaded)
    if index is None:
        if list(enabled):
            raise FormatError("--module given but no repository carries modules.yaml")
        return
    enabled = list(enabled)
    active = index.active_streams(enabled, disabled)
    known = {(s.name, s.stream) for s in index.streams}
    for spec in enabled:
        name, _, stream = spec.partition(":")
        if (name, stream) not in known:
            raise FormatError(f"module stream {spec} is not in modules.yaml")
    include: set[str] = set()
    exclude: set[str] = set()
    for mstream in index.streams:
        target = include if (mstream.name, mstream.stream) in active else exclude
        target.update(mstream.artifacts)
    exclude -= include
    names = {a.rsplit("-", 2)[0] for a in include}
    pool = loaded.pool
    hidden: set[int] = set()
    for s in pool.solvables_iter():
        key = solvable_nevra(s)
        if key in include:
            continue
        if key in exclude or s.name in names:
            hidden.add(s.id)
            continue
        if names:
            for dep in s.lookup_deparray(solv.SOLVABLE_PROVIDES):
                if dep.str().split(" ", 1)[0] in names:
                    hidden.add(s.id)
                    break
    loaded.filtered = hidden
    loaded.active_streams = active
    if hidden:
        pool.set_considered_list([s.id for s in pool.solvables_iter() if s.id not in hidden])


def unmet_file_requirements(pool: solv.Pool) -> list[str]:
    """File paths named in dependencies that no package provides (whatprovides is rebuilt)."""
    paths = pool.addfileprovides_queue()
    pool.createwhatprovides()
    return [pool.id2str(p) for p in paths if not pool.whatprovides(p)]


def _read_filelists(loaded: LoadedPool, progress: Progress) -> None:
    repos = [*loaded.checked, *loaded.extra]
    progress.start("filelists", len(repos))
    try:
        for srepo in repos:
            repository = loaded.sources[srepo.id]
            try:
                path = repository.metadata_path("filelists")
                if path is None:
                    raise FormatError(
                        "repomd.xml has no filelists record, needed for file requirements",
                        subject=repository.name,
                    )
                _add_xml(srepo, path, solv.Repo.REPO_EXTEND_SOLVABLES, str(path))
                loaded.filelists_loaded.append(repository.name)
            except ElforgeError as exc:  # the others' filelists still count
                loaded.filelists_errors.append(str(exc))
            progress.advance()
    finally:
        progress.finish()


def finish_pool(loaded: LoadedPool, progress: Progress = NO_PROGRESS) -> None:
    """Build whatprovides; read filelists first when primary leaves a file requirement unmet."""
    if unmet_file_requirements(loaded.pool):
        _read_filelists(loaded, progress)
        loaded.pool.addfileprovides()
        loaded.pool.createwhatprovides()
