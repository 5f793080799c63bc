"""Importing one package (or many, in parallel) into the workspace's mirror and blob store.

Order of writes, so that a failure at any step leaves nothing half-written:

1. upstream fetched and normalised in a private temporary folder;
2. lookaside blobs downloaded into a staging folder inside the blob store, each verified;
3. git objects written into the mirror (unreachable until step 5; a first import builds
   the whole mirror in a temporary folder that is renamed into place at the end);
4. staged blobs renamed into ``<hashtype>/<hash>`` (atomic, and verified again);
5. the import branch and tag moved in one ``update-ref`` transaction, then the provenance
   row committed.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx

from elforge.errors import ElforgeError, FetchError, FormatError
from elforge.progress import NO_PROGRESS, Progress
from elforge.rpm.header import read_header
from elforge.sources import provenance
from elforge.sources.blobstore import BlobStore
from elforge.sources.gitops import Mirror, fetch_tree, remote_commit
from elforge.sources.layout import Layout, NormalisedTree, normalise_git_tree
from elforge.sources.local import copy_folder, local_folder, tree_nvr
from elforge.sources.lookaside import check_template, fetch, http_client
from elforge.sources.metadata import SourceEntry, file_digest, parse_metadata_file
from elforge.sources.model import ImportResult, SourceRecord
from elforge.sources.spec import spec_nvr
from elforge.sources.srpm import (
    check_signature,
    fetch_srpm,
    is_srpm_location,
    sha256_file,
    unpack_srpm,
)
from elforge.store.db import Store, open_store
from elforge.workspace.config import PackageEntry
from elforge.workspace.workspace import Workspace

IMPORT_INFO = ".elforge/import.json"  # differs per upstream commit even when content does not


@dataclass(frozen=True)
class ImportOptions:
    """Per-run overrides of the workspace's ``[sources]`` settings."""

    lookaside: tuple[str, ...] | None = None  # templates; None = the workspace's
    allow_unsigned: bool | None = None
    since: datetime | None = None  # skip upstreams with no commit since then
    jobs: int = 4  # parallel blob downloads within one package


def mirror_path(ws: Workspace, name: str) -> Path:
    return ws.git_dir / f"{name}.git"


@contextmanager
def _package_lock(ws: Workspace, name: str) -> Iterator[None]:
    """One import of a package at a time, across threads and processes."""
    locks = ws.state_dir / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with (locks / f"import-{name}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


_PACKAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def _check_name(name: str) -> str:
    """Package names become file and ref names: only rpm's name characters are allowed."""
    if not _PACKAGE_NAME.match(name):
        raise FormatError("not a valid package name", subject=name or "(empty)")
    return name


def _trailers(result: ImportResult) -> str:
    lines = [f"Import {result.nvr} from {result.upstream_url} ({result.branch})", ""]
    pairs = [
        ("Upstream-URL", result.upstream_url),
        ("Upstream-Commit", result.upstream_commit),
        ("Upstream-SRPM-SHA256", result.srpm_sha256),
        ("Signing-Key", result.signing_key),
        ("Layout", result.layout),
        ("NVR", result.nvr),
        ("Tag", result.tag),
    ]
    lines += [f"{k}: {v}" for k, v in pairs if v]
    return "\n".join(lines) + "\n"


def _free_tag(mirror: Mirror | None, branch: str, nvr: str) -> str:
    """``imports/<branch>/<nvr>``, or ``…+2``, ``…+3`` when the NVR was imported before."""
    base = f"imports/{branch}/{nvr}"
    taken = mirror.tags(f"refs/tags/imports/{branch}/") if mirror and mirror.exists() else set()
    tag, n = base, 1
    while f"refs/tags/{tag}" in taken:
        n += 1
        tag = f"{base}+{n}"
    return tag


class _Importer:
    def __init__(
        self, ws: Workspace, entry: PackageEntry, opts: ImportOptions, store: Store
    ) -> None:
        self.ws = ws
        self.name = _check_name(entry.name)
        self.url = entry.url
        self.branch = entry.branch or ws.config.workspace.release_branch
        self.layout = Layout(entry.layout)
        if self.layout is Layout.auto and is_srpm_location(self.url):
            self.layout = Layout.srpm
        templates = opts.lookaside if opts.lookaside is not None else ws.config.sources.lookaside
        self.templates = [check_template(t) for t in templates]
        self.allow_unsigned = (
            opts.allow_unsigned
            if opts.allow_unsigned is not None
            else ws.config.sources.allow_unsigned
        )
        self.opts = opts
        self.store = store
        self.blobs = BlobStore(ws.lookaside_dir)
        self.mirror = Mirror(mirror_path(ws, self.name), self.name)

    # --- the no-op check -------------------------------------------------------------
    def _unchanged(self, *, commit: str | None, srpm_sha256: str | None) -> ImportResult | None:
        if not self.mirror.exists():
            return None
        tip = self.mirror.tip(self.branch)
        if tip is None:
            return None
        t = tip.trailers
        if t.get("Upstream-URL") != self.url:
            return None
        if commit is not None and t.get("Upstream-Commit") != commit:
            return None
        if srpm_sha256 is not None and t.get("Upstream-SRPM-SHA256") != srpm_sha256:
            return None
        if t.get("Tag") and self.mirror.resolve(f"refs/tags/{t['Tag']}") != tip.commit:
            return None
        # Every blob the tip needs must still be in the store, else import again to refetch.
        try:
            meta = self.mirror.show(tip.commit, f".{self.name}.metadata")
            entries = parse_metadata_file(meta, subject=f"{self.name}: .{self.name}.metadata")
        except ElforgeError:  # a tip not in internal form: import again rather than trust it
            return None
        if not all(self.blobs.has(e) for e in entries):
            return None
        row = provenance.latest(self.store, self.name, self.branch)
        if row is not None and row.mirror_commit == tip.commit:
            result = provenance.result_from_row(row, self.name, "unchanged")
        else:
            result = ImportResult(
                self.name, self.branch, "unchanged", self.url, nvr=t.get("NVR"),
                upstream_commit=t.get("Upstream-Commit"), srpm_sha256=t.get("Upstream-SRPM-SHA256"),
                signing_key=t.get("Signing-Key"), layout=t.get("Layout"), tag=t.get("Tag"),
                mirror_commit=tip.commit,
            )  # fmt: skip
        return result

    # --- the import ------------------------------------------------------------------
    def run(self) -> ImportResult:
        with _package_lock(self.ws, self.name):
            # a killed earlier run may have left its private first-import mirror behind
            if self.ws.git_dir.is_dir():
                for stale in self.ws.git_dir.glob(f".tmp@{self.name}@*"):
                    shutil.rmtree(stale, ignore_errors=True)
            work_root = self.ws.state_dir / "tmp"
            work_root.mkdir(parents=True, exist_ok=True)
            for stale in work_root.glob(f"import@{self.name}@*"):  # we hold the lock
                shutil.rmtree(stale, ignore_errors=True)
            work = Path(tempfile.mkdtemp(prefix=f"import@{self.name}@", dir=work_root))
            staging = self.blobs.staging_dir()
            new_mirror: Path | None = None
            try:
                result, new_mirror = self._run(work, staging)
                return result
            finally:
                shutil.rmtree(work, ignore_errors=True)
                shutil.rmtree(staging, ignore_errors=True)
                if new_mirror is not None and new_mirror.exists():
                    shutil.rmtree(new_mirror, ignore_errors=True)

    def _run(self, work: Path, staging: Path) -> tuple[ImportResult, Path | None]:
        result = ImportResult(self.name, self.branch, "imported", self.url)
        client = http_client()
        with client:
            if self.layout is Layout.srpm:
                got = self._from_srpm(result, work, staging, client)
                if isinstance(got, ImportResult):
                    return got, None
                tree, staged_srpm, when = got
            else:
                commit = remote_commit(self.url, self.branch, subject=self.name)
                result.upstream_commit = commit
                if (same := self._unchanged(commit=commit, srpm_sha256=None)) is not None:
                    return same, None
                when = fetch_tree(self.url, commit, work / "upstream", subject=self.name)
                if self.opts.since is not None and when < self.opts.since.timestamp():
                    result.status = "unchanged"
                    result.note = f"no upstream commit since {self.opts.since.isoformat()}"
                    return result, None
                info = {"upstream": {"url": self.url, "commit": commit, "branch": self.branch}}
                tree = normalise_git_tree(
                    work / "upstream", work / "tree", name=self.name, layout=self.layout, info=info
                )
                staged_srpm = {}
            result.layout = str(tree.layout)
            _, result.nvr = spec_nvr(
                tree.spec, dist=self.ws.config.workspace.dist, sourcedir=tree.root / "SOURCES",
                subject=self.name,
            )  # fmt: skip
            staged = self._collect_blobs(tree, staged_srpm, staging, client, result)
        result.sources += self._tracked_files(tree, result)
        return self._commit(tree, staged, result, when, work)

    def _from_srpm(
        self, result: ImportResult, work: Path, staging: Path, client: httpx.Client
    ) -> tuple[NormalisedTree, dict[str, Path], int] | ImportResult:
        rpm = fetch_srpm(self.url, staging, subject=self.name, client=client)
        result.srpm_sha256 = sha256_file(rpm)
        if (same := self._unchanged(commit=None, srpm_sha256=result.srpm_sha256)) is not None:
            return same
        keys = [self.ws.root / k for k in self.ws.config.sources.keys]
        sig = check_signature(rpm, keys, subject=self.name)
        if not sig.signed and not self.allow_unsigned:
            raise FormatError(
                f"{rpm.name}: not signed "
                "(configure [sources] keys, or allow it with --allow-unsigned)",
                subject=self.name,
            )
        result.signing_key = sig.key_id
        info = {
            "upstream": {"url": self.url, "srpm": rpm.name, "sha256": result.srpm_sha256,
                         "signing_key": sig.key_id},
        }  # fmt: skip
        tree, staged = unpack_srpm(rpm, work / "tree", staging, name=self.name, info=info)
        try:  # the SRPM's build time dates the import commit (deterministic commits)
            when = read_header(rpm).buildtime or int(rpm.stat().st_mtime)
        except FormatError:
            when = int(rpm.stat().st_mtime)
        return tree, staged, when

    def _collect_blobs(
        self,
        tree: NormalisedTree,
        from_srpm: dict[str, Path],
        staging: Path,
        client: httpx.Client,
        result: ImportResult,
    ) -> dict[SourceEntry, Path]:
        """Stage every blob the tree needs that the store lacks; verify the ones it has."""
        origins = provenance.known_origins(self.store, self.name)
        staged: dict[SourceEntry, Path] = {}
        missing: list[SourceEntry] = []
        records: dict[SourceEntry, SourceRecord] = {}
        for entry in tree.entries:
            subject = f"{self.name}: SOURCES/{entry.file}"
            if self.blobs.verified(entry, subject=subject) is not None:
                origin = origins.get(entry.key)
                if origin is None and entry.file in from_srpm:
                    origin = f"{self.url}#{entry.file}"
                records[entry] = SourceRecord(
                    f"SOURCES/{entry.file}", entry.hashtype, entry.hash,
                    origin or f"lookaside:{entry.key}",
                )  # fmt: skip
            elif entry.file in from_srpm:
                staged[entry] = from_srpm[entry.file]
                records[entry] = SourceRecord(
                    f"SOURCES/{entry.file}", entry.hashtype, entry.hash, f"{self.url}#{entry.file}"
                )
            else:
                missing.append(entry)

        def download(entry: SourceEntry) -> tuple[SourceEntry, Path, str]:
            got = fetch(entry, self.templates, name=self.name, branch=self.branch,
                        staging=staging, client=client)  # fmt: skip
            return entry, got.path, got.url

        if missing:
            with ThreadPoolExecutor(max_workers=max(1, min(self.opts.jobs, len(missing)))) as pool:
                for entry, path, url in pool.map(download, missing):
                    staged[entry] = path
                    records[entry] = SourceRecord(
                        f"SOURCES/{entry.file}", entry.hashtype, entry.hash, url
                    )
        result.sources = [records[e] for e in sorted(tree.entries)]
        return staged

    def _tracked_files(self, tree: NormalisedTree, result: ImportResult) -> list[SourceRecord]:
        """The spec and SOURCES files kept in git, hashed, with where they came from."""
        records = []
        for folder in ("SPECS", "SOURCES"):
            for path in sorted((tree.root / folder).iterdir()):
                rel = f"{folder}/{path.name}"
                if result.layout == str(Layout.srpm):
                    origin, kind = f"{self.url}#{path.name}", "srpm"
                else:
                    # dist-git keeps spec and sources at the root
                    upstream_rel = path.name if result.layout == str(Layout.distgit) else rel
                    origin, kind = f"{self.url}@{result.upstream_commit}#{upstream_rel}", "git"
                records.append(
                    SourceRecord(rel, "sha256", file_digest(path, "sha256"), origin, kind)
                )
        return records

    def _commit(
        self,
        tree: NormalisedTree,
        staged: dict[SourceEntry, Path],
        result: ImportResult,
        when: int,
        work: Path,
    ) -> tuple[ImportResult, Path | None]:
        assert result.nvr is not None
        new_mirror: Path | None = None
        if self.mirror.exists():
            mirror = self.mirror
        else:
            self.ws.git_dir.mkdir(parents=True, exist_ok=True)
            new_mirror = Path(tempfile.mkdtemp(prefix=f".tmp@{self.name}@", dir=self.ws.git_dir))
            mirror = Mirror.init(new_mirror, self.name)
        tip = mirror.tip(self.branch)
        tree_id = mirror.write_tree(tree.root, work / "index")
        if tip is not None and mirror.changed_paths(tip.tree, tree_id) <= {IMPORT_INFO}:
            # Upstream moved but produced the same tree: nothing to import.
            result.status = "unchanged"
            result.mirror_commit = tip.commit
            result.tag = tip.trailers.get("Tag")
            result.note = "upstream commit changed, imported tree identical"
            return result, new_mirror
        result.tag = _free_tag(mirror, self.branch, result.nvr)
        commit = mirror.commit_tree(tree_id, tip.commit if tip else None, _trailers(result), when)
        result.mirror_commit = commit
        for entry, path in staged.items():
            if self.blobs.has(entry):  # same content listed twice, already moved in
                continue
            self.blobs.commit(entry, path, subject=f"{self.name}: SOURCES/{entry.file}")
        with self.store.session() as session, session.begin():
            provenance.record(session, result, tree=tree_id)
            mirror.update_refs(self.branch, commit, tip.commit if tip else None, result.tag)
            if new_mirror is not None:
                os.rename(new_mirror, self.mirror.path)
                new_mirror = None
        return result, new_mirror


def import_package(
    workspace: Workspace,
    entry: PackageEntry,
    *,
    options: ImportOptions | None = None,
    store: Store | None = None,
    jobs: int | None = None,
) -> ImportResult:
    """Import one package; a failure is returned as a ``failed`` result (and recorded).

    ``jobs`` (default ``options.jobs``) is how many lookaside blobs download at once.
    """
    opts = options or ImportOptions()
    if jobs is not None:
        opts = replace(opts, jobs=jobs)
    own_store = store is None
    st = store or open_store(workspace.store_url)
    try:
        try:
            if (folder := local_folder(entry.url, workspace.root)) is not None:
                return _import_folder(workspace, entry, folder, st)
            return _Importer(workspace, entry, opts, st).run()
        except ElforgeError as exc:
            failed = ImportResult(
                entry.name, entry.branch or workspace.config.workspace.release_branch, "failed",
                entry.url, error=str(exc),
            )  # fmt: skip
            if _PACKAGE_NAME.match(entry.name):
                with st.session() as session, session.begin():
                    provenance.record(session, failed, tree=None)
            return failed
    finally:
        if own_store:
            st.close()


def _import_folder(ws: Workspace, entry: PackageEntry, folder: Path, store: Store) -> ImportResult:
    """A plain folder: copied as it is, exactly as ``elforge run``'s import stage copies it."""
    name = _check_name(entry.name)
    tree = copy_folder(ws.root, name, folder)
    result = ImportResult(
        name,
        entry.branch or ws.options.release_branch,
        "imported",
        str(folder),
        nvr=tree_nvr(tree, ws.options.dist),
        layout="local",
        note=f"copied as it is to {tree.relative_to(ws.root)}",
    )
    with store.session() as session, session.begin():
        provenance.record(session, result, tree=str(tree))
    return result


def import_packages(
    workspace: Workspace,
    entries: Sequence[PackageEntry],
    *,
    options: ImportOptions | None = None,
    jobs: int = 2,
    progress: Progress = NO_PROGRESS,
) -> list[ImportResult]:
    """Import ``entries`` with ``jobs`` packages in flight; results in input order."""
    store = open_store(workspace.store_url)
    results: list[ImportResult | None] = [None] * len(entries)
    progress.start("importing", len(entries))
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {
                pool.submit(import_package, workspace, e, options=options, store=store): i
                for i, e in enumerate(entries)
            }
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    results[i] = fut.result()
                except Exception as exc:  # a bug in one package must not lose the others
                    e = entries[i]
                    results[i] = ImportResult(
                        e.name, e.branch or workspace.config.workspace.release_branch, "failed",
                        e.url, error=f"{e.name}: {type(exc).__name__}: {exc}",
                    )  # fmt: skip
                progress.advance(note=f"{entries[i].name}: {results[i].status}")  # type: ignore[union-attr]
    finally:
        progress.finish()
        store.close()
    return [r for r in results if r is not None]


def checkout_tree(
    workspace: Workspace, name: str, branch: str, dest: Path, *, ref: str | None = None
) -> Path:
    """Materialise the imported tree of ``name`` with its lookaside blobs into ``dest``.

    ``dest`` must not exist or be empty. ``ref`` (a tag such as ``imports/c9/<nvr>``)
    defaults to the import branch. Every blob is verified on the way out.
    """
    mirror = Mirror(mirror_path(workspace, name), name)
    if not mirror.exists():
        raise FetchError("not imported yet (run 'elforge import')", subject=name)
    target = ref or f"refs/heads/{branch}"
    if mirror.resolve(target) is None:
        raise FetchError(f"no {target} in the mirror {mirror.path}", subject=name)
    if dest.exists() and any(dest.iterdir()):
        raise FormatError("destination is not empty", subject=dest)
    dest.mkdir(parents=True, exist_ok=True)
    mirror.archive(target, dest)
    for folder in ("SPECS", "SOURCES"):
        (dest / folder).mkdir(exist_ok=True)
    meta = dest / f".{name}.metadata"
    entries = parse_metadata_file(
        meta.read_text(encoding="utf-8") if meta.is_file() else "", subject=f"{name}: {meta.name}"
    )
    blobs = BlobStore(workspace.lookaside_dir)
    for entry in entries:
        blobs.copy_out(
            entry, dest / "SOURCES" / entry.file, subject=f"{name}: SOURCES/{entry.file}"
        )
    return dest


def parse_since(value: str) -> datetime:
    """``--since`` accepts an ISO date or date-time; naive values are UTC."""
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise FormatError("not an ISO date or date-time", subject=value) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
