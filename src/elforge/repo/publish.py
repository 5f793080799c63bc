"""Publish dnf repositories from built RPMs with createrepo_c's bindings.

Packages are split into repositories by the workspace layout (repository -> package names)
or by reference repositories (a package goes where the reference ships its name or its
source's name); what no rule places goes to the first repository and is listed as
unplaced. Metadata is sha256 throughout, updateinfo.xml and modules.yaml are added when
given, and publishing is incremental: a package whose file is unchanged (same location,
size and mtime) reuses its previous metadata instead of re-reading the RPM, and a
repository whose inputs did not change at all keeps its metadata files untouched.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import createrepo_c as cr

from elforge.errors import ConfigError, FormatError, ToolError
from elforge.proc import run_command
from elforge.progress import NO_PROGRESS, Progress
from elforge.repo.pool import as_repository
from elforge.report.model import Finding, ReportDocument, Severity, Table
from elforge.rpm.nevra import NEVRA

SCHEMA = "elforge.publish/1"
STATE = ".elforge-publish.json"


@dataclass
class PublishedRepo:
    name: str
    path: str
    packages: int = 0
    reused: int = 0  # packages whose metadata came from the previous run
    read: int = 0  # packages whose headers were read
    unchanged: bool = False  # metadata left as it was


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
                ("signed", self.signed),
                ("failed", len(self.failed)),
            ],
            tables=[
                Table(
                    "Repositories",
                    ["name", "packages", "reused", "read", "unchanged"],
                    [[r.name, r.packages, r.reused, r.read, r.unchanged] for r in self.repos],
                )
            ],
        )


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
    return {str(k): list(v) for k, v in data.items()}


def _reference_layout(reference: Mapping[str, str | Path]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, location in reference.items():
        names: set[str] = set()
        for pkg in as_repository(location).iter_packages():
            names.add(pkg.name)
            names.add(pkg.source_name)
        out[name] = sorted(names)
    return out


def _old_packages(repo_dir: Path) -> dict[str, Any]:
    """cr.Package objects of the previous metadata, by location_href (empty when none)."""
    repomd_path = repo_dir / "repodata" / "repomd.xml"
    if not repomd_path.is_file():
        return {}
    repomd = cr.Repomd()
    try:
        cr.xml_parse_repomd(str(repomd_path), repomd, lambda *_a: True)
    except cr.CreaterepoCError:
        return {}
    paths = {r.type: repo_dir / r.location_href for r in repomd.records}
    if not all(t in paths and paths[t].is_file() for t in ("primary", "filelists", "other")):
        return {}
    by_id: dict[str, Any] = {}

    def pkgcb(pkg: Any) -> bool:
        by_id[pkg.pkgId] = pkg
        return True

    def newpkgcb(pkgid: str, name: str, arch: str) -> Any:
        return by_id.get(pkgid)

    try:
        cr.xml_parse_primary(str(paths["primary"]), pkgcb=pkgcb, do_files=False)
        cr.xml_parse_filelists(
            str(paths["filelists"]), newpkgcb=newpkgcb, pkgcb=None, warningcb=None
        )
        cr.xml_parse_other(str(paths["other"]), newpkgcb=newpkgcb, pkgcb=None, warningcb=None)
    except cr.CreaterepoCError:
        return {}  # unreadable old metadata: start afresh
    return {p.location_href: p for p in by_id.values()}


def _sign(paths: Sequence[Path], key: str) -> None:
    if not paths:
        return
    if shutil.which("rpmsign") is None:
        raise ToolError("rpmsign is not installed", subject="rpmsign")
    gpg = shutil.which("gpg2") or shutil.which("gpg")
    if gpg is None:
        raise ToolError("gpg is not installed (rpmsign needs it)", subject="gpg")
    proc = run_command(
        [
            "rpmsign",
            "--addsign",
            "--define",
            f"_gpg_name {key}",
            "--define",
            f"__gpg {gpg}",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise ToolError(f"rpmsign failed: {proc.stderr.strip()[:300]}", subject=paths[0])


def _add_record(repomd: Any, type_: str, path: Path) -> None:
    record = cr.RepomdRecord(type_, str(path))
    record.fill(cr.SHA256)
    record.rename_file()
    repomd.set_record(record)


def _gzip_copy(source: Path, dest: Path) -> None:
    with (
        source.open("rb") as src,
        dest.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out,
    ):
        shutil.copyfileobj(src, out)


def _write_metadata(
    repo_dir: Path, pkgs: list[Any], updateinfo: Path | None, modules: Path | None
) -> None:
    new = repo_dir / ".repodata.new"
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir(parents=True)
    files = {
        "primary": cr.PrimaryXmlFile(str(new / "primary.xml.gz"), cr.GZ_COMPRESSION),
        "filelists": cr.FilelistsXmlFile(str(new / "filelists.xml.gz"), cr.GZ_COMPRESSION),
        "other": cr.OtherXmlFile(str(new / "other.xml.gz"), cr.GZ_COMPRESSION),
    }
    for f in files.values():
        f.set_num_of_pkgs(len(pkgs))
    for pkg in sorted(pkgs, key=lambda p: (p.name, p.arch, p.location_href)):
        for f in files.values():
            f.add_pkg(pkg)
    for f in files.values():
        f.close()
    repomd = cr.Repomd()
    for type_, name in (
        ("primary", "primary.xml.gz"),
        ("filelists", "filelists.xml.gz"),
        ("other", "other.xml.gz"),
    ):
        _add_record(repomd, type_, new / name)
    if updateinfo is not None:
        _gzip_copy(updateinfo, new / "updateinfo.xml.gz")
        _add_record(repomd, "updateinfo", new / "updateinfo.xml.gz")
    if modules is not None:
        _gzip_copy(modules, new / "modules.yaml.gz")
        _add_record(repomd, "modules", new / "modules.yaml.gz")
    # records were written with hrefs relative to the new folder's parent name; fix them
    xml = repomd.xml_dump().replace('href=".repodata.new/', 'href="repodata/')
    (new / "repomd.xml").write_text(xml, encoding="utf-8")
    old = repo_dir / "repodata"
    if old.exists():
        trash = repo_dir / ".repodata.old"
        shutil.rmtree(trash, ignore_errors=True)
        old.rename(trash)
        new.rename(old)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        new.rename(old)


def _fingerprint(path: Path) -> list[Any]:
    st = path.stat()
    return [st.st_size, int(st.st_mtime)]


def publish_repo(
    rpms: Sequence[Path],
    dest: Path,
    *,
    layout: Mapping[str, Sequence[str]] | None = None,
    reference: Mapping[str, str | Path] | None = None,
    updateinfo: Path | None = None,
    modules: Path | None = None,
    sign_key: str | None = None,
    progress: Progress = NO_PROGRESS,
) -> PublishResult:
    """Publish ``rpms`` under ``dest``: one repository, or one per layout entry."""
    split = dict(layout or {})
    if reference:
        split.update(_reference_layout(reference))
    repo_names = list(split) or ["."]
    where = {name: repo for repo, names in split.items() for name in names}
    result = PublishResult(str(dest))
    groups: dict[str, list[Path]] = {r: [] for r in repo_names}
    for rpm in rpms:
        try:
            nevra = NEVRA.parse_filename(rpm.name)
        except FormatError as exc:
            result.failed.append((str(rpm), exc.problem))
            continue
        repo = where.get(nevra.name)
        if repo is None and split:
            result.unplaced.append(nevra.name)
        groups[repo or repo_names[0]].append(rpm)
    for repo_name, members in groups.items():
        result.repos.append(
            _publish_one(
                dest / repo_name,
                repo_name,
                members,
                result,
                updateinfo,
                modules,
                sign_key,
                progress,
            )
        )
    return result


def _publish_one(
    repo_dir: Path,
    name: str,
    members: list[Path],
    result: PublishResult,
    updateinfo: Path | None,
    modules: Path | None,
    sign_key: str | None,
    progress: Progress,
) -> PublishedRepo:
    out = PublishedRepo(name, str(repo_dir))
    packages_dir = repo_dir / "Packages"
    packages_dir.mkdir(parents=True, exist_ok=True)
    state_path = repo_dir / STATE
    try:
        previous = json.loads(state_path.read_text()) if state_path.exists() else None
    except ValueError:
        previous = None
    prev_sources = (previous or {}).get("sources", {})
    copied: list[Path] = []
    placed: list[Path] = []
    sources: dict[str, list[Any]] = {}
    for rpm in members:
        target = packages_dir / rpm.name
        sources[rpm.name] = _fingerprint(rpm)
        # a changed input is copied (and signed) again; an unchanged one stays as published
        if not target.exists() or prev_sources.get(rpm.name) != sources[rpm.name]:
            shutil.copy2(rpm, target)
            copied.append(target)
        placed.append(target)
    if sign_key:
        _sign(copied, sign_key)
        result.signed += len(copied)
    # remove packages no longer published
    keep = {p.name for p in placed}
    for stale in packages_dir.glob("*.rpm"):
        if stale.name not in keep:
            stale.unlink()
    fingerprints = {p.name: _fingerprint(p) for p in placed}
    inputs: dict[str, Any] = {
        "packages": fingerprints,
        "sources": sources,
        "sign_key": sign_key,
        "updateinfo": _fingerprint(updateinfo) if updateinfo else None,
        "modules": _fingerprint(modules) if modules else None,
    }
    out.packages = len(placed)
    if previous == inputs and (repo_dir / "repodata" / "repomd.xml").exists():
        out.unchanged = True
        out.reused = len(placed)
        return out
    old = _old_packages(repo_dir)
    prev_fp = (previous or {}).get("packages", {})
    pkgs: list[Any] = []
    progress.start(f"indexing {name}", len(placed))
    try:
        for path in placed:
            href = f"Packages/{path.name}"
            reuse = old.get(href)
            if reuse is not None and prev_fp.get(path.name) == _fingerprint(path):
                pkgs.append(reuse)
                out.reused += 1
            else:
                try:
                    pkgs.append(cr.package_from_rpm(str(path), cr.SHA256, href, None, 10))
                    out.read += 1
                except (cr.CreaterepoCError, OSError) as exc:
                    result.failed.append((str(path), f"cannot read RPM header: {exc}"))
                    path.unlink()
                    fingerprints.pop(path.name, None)
            progress.advance()
    finally:
        progress.finish()
    out.packages = len(pkgs)
    _write_metadata(repo_dir, pkgs, updateinfo, modules)
    tmp = state_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(inputs, sort_keys=True))
    os.replace(tmp, state_path)
    return out
