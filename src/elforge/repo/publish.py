"""Publish dnf repositories from built RPMs with createrepo_c's bindings.

Packages are split into repositories by the workspace layout (repository -> package names)
or by reference repositories (a package goes where the reference ships its name or its
source's name); what no rule places goes to the first repository and is listed as
unplaced. Each repository ``NAME`` is laid out like AlmaLinux's: binary packages in
``NAME/``, source RPMs in ``NAME/Source/``, debuginfo and debugsource packages in
``NAME/debug/ARCH/`` (docs/repositories.md). The last ``keep`` builds of each package stay
published so dnf can downgrade. Metadata is sha256 throughout, updateinfo.xml and
modules.yaml are added when given (parsed first), and publishing is incremental: a package
whose file is unchanged reuses its previous metadata instead of re-reading the RPM, and a
repository whose inputs did not change at all keeps its metadata files untouched.

Everything given is checked before anything is written: repository names, the updateinfo
and modules files, and that no repository holding packages would be replaced by an empty
one (``allow_empty``).
"""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import createrepo_c as cr

from elforge.errors import ConfigError, ElforgeError, FormatError
from elforge.progress import NO_PROGRESS, Progress
from elforge.repo.errata_merge import errata_digest, merge_errata_into_updateinfo
from elforge.repo.pool import as_repository
from elforge.repo.publish_inputs import (
    PublishInput,
    base_name,
    check_modules,
    check_updateinfo,
    package_kind,
    validate_repo_name,
)
from elforge.repo.repodata_write import old_packages, write_metadata
from elforge.repo.signing import sign_rpms
from elforge.report.model import Finding, ReportDocument, Severity, Table
from elforge.rpm.nevra import NEVRA
from elforge.rpm.updateinfo import UpdateRecord

SCHEMA = "elforge.publish/1"
STATE = ".elforge-publish.json"
STATE_VERSION = 2
DEFAULT_KEEP = 3


class PublishRefused(ElforgeError):
    """Publishing would lose what is published (an empty repository over a full one)."""


@dataclass
class PublishedRepo:
    name: str
    path: str
    packages: int = 0
    reused: int = 0  # packages whose metadata came from the previous run
    read: int = 0  # packages whose headers were read
    unchanged: bool = False  # metadata left as it was
    kind: str = "binary"  # binary, source or debug
    older: int = 0  # older builds kept for downgrades
    removed: int = 0  # files taken out of Packages/


@dataclass
class PublishResult:
    dest: str
    repos: list[PublishedRepo] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (rpm, error)
    signed: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "dest": self.dest,
            "repos": [vars(r) for r in self.repos],
            "unplaced": self.unplaced,
            "failed": [{"rpm": r, "error": e} for r, e in self.failed],
            "signed": self.signed,
        }

    def to_document(self) -> ReportDocument:
        findings = [
            Finding(Severity.BAD, "publish.failed", r, e, layer="package") for r, e in self.failed
        ]
        findings += [
            Finding(
                Severity.VERIFY,
                "publish.unplaced",
                n,
                "no layout rule places it; published in the first repository",
            )
            for n in self.unplaced
        ]
        return ReportDocument(
            schema=SCHEMA,
            title="Publish",
            data=self.to_json(),
            findings=findings,
            summary=[
                ("destination", self.dest),
                ("repositories", len(self.repos)),
                ("packages", sum(r.packages for r in self.repos)),
                ("signed", self.signed),
                ("failed", len(self.failed)),
            ],
            tables=[
                Table(
                    "Repositories",
                    ["name", "kind", "packages", "older", "reused", "read", "unchanged"],
                    [
                        [r.name, r.kind, r.packages, r.older, r.reused, r.read, r.unchanged]
                        for r in self.repos
                    ],
                )
            ],
        )


@dataclass(frozen=True)
class PublishSettings:
    """How to publish: the split, the metadata that goes with it, signing and history."""

    layout: Mapping[str, Sequence[str]] | None = None
    reference: Mapping[str, str | Path] | None = None
    updateinfo: Path | None = None
    modules: Path | None = None
    sign_key: str | None = None
    keep: int = DEFAULT_KEEP
    allow_empty: bool = False
    errata: Sequence[UpdateRecord] = ()  # the rebuild's own advisories (elforge errata)


@dataclass
class _Target:
    """One repository folder to publish: a binary tree, a Source/ or a debug/ARCH tree."""

    name: str
    path: Path
    kind: str
    members: list[PublishInput] = field(default_factory=list)


def load_layout(path: Path) -> dict[str, list[str]]:
    """A layout file: TOML or JSON mapping repository name -> package names."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read layout: {exc}", subject=path) from None
    if not isinstance(data, dict) or not all(
        isinstance(v, list) and all(isinstance(n, str) for n in v) for v in data.values()
    ):
        raise ConfigError("expected a table: repository = [package names]", subject=path)
    return {validate_repo_name(str(k), path): list(v) for k, v in data.items()}


def _reference_layout(reference: Mapping[str, str | Path]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, location in reference.items():
        names: set[str] = set()
        for pkg in as_repository(location).iter_packages():
            names.add(pkg.name)
            names.add(pkg.source_name)
        out[name] = sorted(names)
    return out


def _fingerprint(path: Path) -> list[Any]:
    """Size, mtime (ns) and inode: rpmsign rewrites a file in the same second, same size."""
    st = path.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _check_settings(settings: PublishSettings) -> None:
    """Refuse bad names and unreadable metadata before anything is written."""
    for name in settings.layout or {}:
        validate_repo_name(name, "[publish] layout")
    for name in settings.reference or {}:
        validate_repo_name(name, "--reference")
    if settings.keep < 1:
        raise ConfigError(f"keep must be at least 1 (got {settings.keep})", subject="[publish]")
    if settings.updateinfo is not None:
        check_updateinfo(settings.updateinfo)
    if settings.modules is not None:
        check_modules(settings.modules)


def _subtree(base: Path, name: str, kind: str, arch: str) -> tuple[str, Path]:
    label = "" if name == "." else f"{name}/"
    if kind == "source":
        return f"{label}Source", base / "Source"
    if kind == "debug":
        return f"{label}debug/{arch}", base / "debug" / arch
    return name, base


def _plan(
    inputs: Sequence[PublishInput], dest: Path, split: dict[str, list[str]], result: PublishResult
) -> list[_Target]:
    """Place every input in its repository folder; binary targets exist for every name.

    A binary or debug package goes where the layout lists its name (a debug package: its
    main package's); a source RPM where the layout lists its name, else where its binaries
    went (known from ``PublishInput.source``, or a binary named like the source)."""
    repo_names = list(split) or ["."]
    where = {name: repo for repo, names in split.items() for name in names}
    targets = {dest / n: _Target(n, dest / n, "binary") for n in repo_names}
    placed_sources: dict[str, str] = {}
    labelled: list[tuple[PublishInput, NEVRA]] = []
    for item in inputs:
        try:
            labelled.append((item, item.nevra()))
        except FormatError as exc:
            result.failed.append((item.filename[:200], exc.problem))
    labelled.sort(key=lambda pair: pair[1].is_source)  # binaries first: SRPMs follow them
    for item, nevra in labelled:
        repo = where.get(nevra.name) or where.get(base_name(nevra))
        if nevra.is_source:
            repo = repo or placed_sources.get(nevra.name)
        elif repo is not None:
            placed_sources.setdefault(item.source or nevra.name, repo)
        if repo is None and split and nevra.name not in result.unplaced:
            result.unplaced.append(nevra.name)
        repo = repo or repo_names[0]
        label, path = _subtree(dest / repo, repo, package_kind(nevra), nevra.arch)
        target = targets.setdefault(path, _Target(label, path, package_kind(nevra)))
        target.members.append(item)
    return list(targets.values())


def _published_count(repo_dir: Path) -> int:
    packages = repo_dir / "Packages"
    return sum(1 for _ in packages.glob("*.rpm")) if packages.is_dir() else 0


def _refuse_emptying(targets: list[_Target], allow_empty: bool) -> None:
    if allow_empty:
        return
    for target in targets:
        held = _published_count(target.path)
        if not target.members and held:
            raise PublishRefused(
                f"would replace a repository of {held} packages with an empty one "
                "(nothing to publish there; --allow-empty to do it anyway)",
                subject=target.path,
            )


def publish_repo(
    rpms: Sequence[PublishInput | Path],
    dest: Path,
    *,
    layout: Mapping[str, Sequence[str]] | None = None,
    reference: Mapping[str, str | Path] | None = None,
    updateinfo: Path | None = None,
    modules: Path | None = None,
    sign_key: str | None = None,
    keep: int = DEFAULT_KEEP,
    allow_empty: bool = False,
    progress: Progress = NO_PROGRESS,
    errata: Sequence[UpdateRecord] = (),
) -> PublishResult:
    """Publish ``rpms`` under ``dest``: one repository, or one per layout entry, each with
    its Source/ and debug/ARCH/ trees when it has such packages. ``errata`` (the rebuild's
    own advisories) are merged into each binary repository's updateinfo, limited to the
    packages that repository carries."""
    settings = PublishSettings(
        layout,
        reference,
        updateinfo,
        modules,
        sign_key,
        keep=keep,
        allow_empty=allow_empty,
        errata=tuple(errata),
    )
    return publish([PublishInput.of(r) for r in rpms], dest, settings=settings, progress=progress)


def publish(
    inputs: Sequence[PublishInput],
    dest: Path,
    *,
    settings: PublishSettings,
    progress: Progress = NO_PROGRESS,
) -> PublishResult:
    """:func:`publish_repo` with its settings as one value."""
    _check_settings(settings)
    split = {k: list(v) for k, v in (settings.layout or {}).items()}
    if settings.reference:
        split.update(_reference_layout(settings.reference))
    result = PublishResult(str(dest))
    targets = _plan(inputs, dest, split, result)
    _refuse_emptying(targets, settings.allow_empty)
    for target in targets:
        if target.members or target.kind == "binary":
            result.repos.append(_publish_one(target, settings, result, progress))
    return result


def _load_state(repo_dir: Path) -> dict[str, Any]:
    path = repo_dir / STATE
    try:
        state = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) and state.get("version") == STATE_VERSION else {}


def _newest_first(names: list[str]) -> list[str]:
    labels = {n: NEVRA.parse_filename(n) for n in names}
    return sorted(names, key=lambda n: labels[n].evr, reverse=True)


def _older_builds(members: list[PublishInput], packages_dir: Path, keep: int) -> list[str]:
    """Files already published that stay as older builds: per (name, arch) of a package
    published now, the newest ones until ``keep`` builds are there."""
    current = {m.filename for m in members}
    wanted: dict[tuple[str, str], int] = {}
    for m in members:
        nevra = m.nevra()
        wanted[(nevra.name, nevra.arch)] = wanted.get((nevra.name, nevra.arch), 0) + 1
    candidates: dict[tuple[str, str], list[str]] = {}
    for path in packages_dir.glob("*.rpm") if packages_dir.is_dir() else ():
        try:
            nevra = NEVRA.parse_filename(path.name)
        except FormatError:
            continue  # not ours: removed below
        if path.name not in current and (nevra.name, nevra.arch) in wanted:
            candidates.setdefault((nevra.name, nevra.arch), []).append(path.name)
    kept: list[str] = []
    for key, names in candidates.items():
        kept += _newest_first(names)[: max(0, keep - wanted[key])]
    return kept


def _copy_in(member: PublishInput, target: Path) -> None:
    """Copy atomically (published files may be read-only copies of the artifact store's)."""
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(member.path, tmp)
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)


def _place(
    members: list[PublishInput], packages_dir: Path, state: dict[str, Any]
) -> tuple[dict[str, list[Any]], set[str]]:
    """Copy changed inputs into Packages/; each input's source fingerprint, and the copied."""
    prev_sources = state.get("sources", {})
    sources: dict[str, list[Any]] = {}
    copied: set[str] = set()
    for member in members:
        target = packages_dir / member.filename
        sources[member.filename] = _fingerprint(member.path)
        # a changed input is copied (and signed) again; an unchanged one stays as published
        if not target.exists() or prev_sources.get(member.filename) != sources[member.filename]:
            _copy_in(member, target)
            copied.add(member.filename)
    return sources, copied


def _sign_unsigned(
    packages_dir: Path, names: list[str], unsigned: set[str], state: dict[str, Any], key: str | None
) -> tuple[dict[str, str | None], set[str]]:
    """Sign every published file not yet signed by ``key``, new or published before (a key
    added later signs what is there); who signed each file, and the files signed now."""
    recorded = state.get("signed_by", {})
    signed_by = {n: None if n in unsigned else recorded.get(n) for n in names}
    todo = [n for n in names if key and signed_by[n] != key]
    if key and todo:
        sign_rpms([packages_dir / n for n in todo], key)
        signed_by.update(dict.fromkeys(todo, key))
    return signed_by, set(todo)


def _remove_stale(packages_dir: Path, keep_names: set[str]) -> int:
    removed = 0
    for stale in packages_dir.glob("*.rpm"):
        if stale.name not in keep_names:
            stale.unlink()
            removed += 1
    return removed


def _index(
    out: PublishedRepo,
    packages_dir: Path,
    names: list[str],
    previous: dict[str, Any],
    rewritten: set[str],
    result: PublishResult,
    progress: Progress,
) -> list[Any]:
    """cr.Package objects for ``names``: reused from the old metadata when unchanged (not
    copied or signed now, and with the size, mtime and inode it was indexed with)."""
    old = old_packages(packages_dir.parent)
    prev_fp = previous.get("packages", {})
    pkgs: list[Any] = []
    progress.start(f"indexing {out.name}", len(names))
    try:
        for name in names:
            path = packages_dir / name
            href = f"Packages/{name}"
            reuse = old.get(href)
            if (
                reuse is not None
                and name not in rewritten
                and prev_fp.get(name) == _fingerprint(path)
            ):
                pkgs.append(reuse)
                out.reused += 1
            else:
                try:
                    pkgs.append(cr.package_from_rpm(str(path), cr.SHA256, href, None, 10))
                    out.read += 1
                except (cr.CreaterepoCError, OSError) as exc:
                    result.failed.append((str(path), f"cannot read RPM header: {exc}"))
                    path.unlink()
            progress.advance()
    finally:
        progress.finish()
    return pkgs


def _metadata_inputs(
    packages_dir: Path, names: list[str], settings: PublishSettings
) -> dict[str, Any]:
    """What the metadata is made of: equal inputs, metadata left untouched."""
    return {
        "packages": {n: _fingerprint(packages_dir / n) for n in names},
        "sign_key": settings.sign_key,
        "updateinfo": _fingerprint(settings.updateinfo) if settings.updateinfo else None,
        "modules": _fingerprint(settings.modules) if settings.modules else None,
        "errata": errata_digest(settings.errata),
    }


def _publish_one(
    target: _Target, settings: PublishSettings, result: PublishResult, progress: Progress
) -> PublishedRepo:
    repo_dir = target.path
    out = PublishedRepo(target.name, str(repo_dir), kind=target.kind)
    packages_dir = repo_dir / "Packages"
    packages_dir.mkdir(parents=True, exist_ok=True)
    state = _load_state(repo_dir)
    older = _older_builds(target.members, packages_dir, settings.keep)
    sources, copied = _place(target.members, packages_dir, state)
    out.removed = _remove_stale(packages_dir, set(sources) | set(older))
    names = sorted([*sources, *older])
    signed_by, signed = _sign_unsigned(packages_dir, names, copied, state, settings.sign_key)
    result.signed += len(signed)
    # older builds keep their recorded source fingerprint: they are published, not given
    sources.update({n: state.get("sources", {}).get(n, []) for n in older})
    inputs = _metadata_inputs(packages_dir, names, settings)
    out.packages, out.older = len(names), len(older)
    previous = state.get("inputs", {})
    signature_ok = not settings.sign_key or (repo_dir / "repodata/repomd.xml.asc").is_file()
    if previous == inputs and (repo_dir / "repodata/repomd.xml").is_file() and signature_ok:
        out.unchanged, out.reused = True, len(names)
        return out
    pkgs = _index(out, packages_dir, names, previous, copied | signed, result, progress)
    out.packages = len(pkgs)
    updateinfo = settings.updateinfo if target.kind == "binary" else None
    modules = settings.modules if target.kind == "binary" else None
    if target.kind == "binary":
        updateinfo = merge_errata_into_updateinfo(repo_dir, pkgs, updateinfo, settings.errata)
    write_metadata(
        repo_dir, pkgs, updateinfo=updateinfo, modules=modules, sign_key=settings.sign_key
    )
    kept = {n for n in names if (packages_dir / n).is_file()}
    new_state = {
        "version": STATE_VERSION,
        "inputs": {**inputs, "packages": {n: inputs["packages"][n] for n in sorted(kept)}},
        "sources": {n: sources[n] for n in sorted(kept)},
        "signed_by": {n: signed_by[n] for n in sorted(kept)},
    }
    tmp = (repo_dir / STATE).with_suffix(".tmp")
    tmp.write_text(json.dumps(new_state, sort_keys=True), encoding="utf-8")
    os.replace(tmp, repo_dir / STATE)
    return out


def repository_intact(repo_dir: Path) -> bool:
    """Is the repository on disk what its last publish wrote? repomd.xml present, and every
    recorded package file there with the size, mtime and inode it was indexed with."""
    state = _load_state(repo_dir)
    recorded = state.get("inputs", {}).get("packages")
    if not (repo_dir / "repodata" / "repomd.xml").is_file() or recorded is None:
        return False
    for name, fingerprint in recorded.items():
        path = repo_dir / "Packages" / name
        if not path.is_file() or _fingerprint(path) != fingerprint:
            return False
    return len(recorded) == _published_count(repo_dir)
