"""What the rebuild has published: every package of its dnf repositories, with the
location, checksum and file time that advisories cite, and the module stream it belongs to.

Packages come from primary.xml (createrepo_c's parser, the one dnf's tooling uses); module
membership from modules.yaml (each modulemd document's ``artifacts.rpms`` NEVRAs), because
primary.xml does not say which stream a modular build belongs to.
"""

from __future__ import annotations

import gzip
import lzma
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elforge.errors import FormatError
from elforge.rpm.updateinfo import NevraLabels, UpdateModule
from elforge.security.versions import majors_of

_MODULES_LIMIT = 256 * 1024 * 1024  # decompressed modules.yaml cap (a bomb guard)


@dataclass(frozen=True, slots=True)
class PublishedPackage(NevraLabels):
    """One binary package as a published repository lists it."""

    name: str
    epoch: int
    version: str
    release: str
    arch: str
    filename: str  # location_href relative to the repository root
    checksum: str
    checksum_type: str
    sourcerpm: str | None
    file_time: datetime
    repo: str  # the repository folder
    module: UpdateModule | None = None

    @property
    def stream(self) -> str | None:
        return f"{self.module.name}:{self.module.stream}" if self.module else None


@dataclass
class PublishedIndex:
    """Published packages by name, and the repositories read."""

    by_name: dict[str, list[PublishedPackage]] = field(default_factory=dict)
    by_source: dict[str, set[str]] = field(default_factory=dict)  # source name -> binary names
    repos: list[str] = field(default_factory=list)

    def add(self, pkg: PublishedPackage) -> None:
        self.by_name.setdefault(pkg.name, []).append(pkg)
        if pkg.sourcerpm:
            source = pkg.sourcerpm.removesuffix(".rpm").rsplit("-", 2)[0]
            self.by_source.setdefault(source, set()).add(pkg.name)

    def majors(self) -> set[int]:
        return majors_of(b.release for builds in self.by_name.values() for b in builds)

    def arches(self) -> set[str]:
        return {b.arch for builds in self.by_name.values() for b in builds}

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_name.values())


def find_repositories(root: Path) -> list[Path]:
    """``root`` when it is a repository, else the repositories below it (sorted)."""
    if (root / "repodata" / "repomd.xml").is_file():
        return [root]
    return sorted(p.parent.parent for p in root.glob("**/repodata/repomd.xml"))


def _records(repo: Path) -> dict[str, Path]:
    import createrepo_c as cr

    repomd_path = repo / "repodata" / "repomd.xml"
    try:
        repomd = cr.Repomd(str(repomd_path))
    except Exception as exc:
        raise FormatError(f"cannot read repomd.xml: {exc}", subject=repomd_path) from None
    out: dict[str, Path] = {}
    for record in repomd.records:
        href = str(record.location_href)
        if href.startswith("/") or ".." in Path(href).parts:
            raise FormatError(
                f"record {record.type} points outside the repository", subject=repomd_path
            )
        out[str(record.type)] = repo / href
    if "primary" not in out:
        raise FormatError("repomd.xml names no primary metadata", subject=repomd_path)
    return out


def _decompress(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        with gzip.open(path) as fh:
            data = fh.read(_MODULES_LIMIT + 1)
    elif raw[:6] == b"\xfd7zXZ\x00":
        data = lzma.LZMADecompressor().decompress(raw, max_length=_MODULES_LIMIT + 1)
    else:
        data = raw
    if len(data) > _MODULES_LIMIT:
        raise FormatError("modules metadata larger than 256 MiB decompressed", subject=path)
    return data


def read_module_membership(path: Path) -> dict[str, UpdateModule]:
    """NEVRA (``name-epoch:version-release.arch``) -> the module stream that ships it."""
    import yaml

    try:
        docs = list(yaml.safe_load_all(_decompress(path)))
    except (OSError, yaml.YAMLError) as exc:
        raise FormatError(f"cannot read modules metadata: {exc}", subject=path) from None
    out: dict[str, UpdateModule] = {}
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("document") != "modulemd":
            continue
        data = doc.get("data") or {}
        if not isinstance(data, dict):
            continue
        module = UpdateModule(
            name=str(data.get("name", "")),
            stream=str(data.get("stream", "")),
            version=str(data.get("version", "")),
            context=str(data.get("context", "")),
            arch=str(data.get("arch", "")),
        )
        rpms = ((data.get("artifacts") or {}).get("rpms")) or []
        for nevra in rpms if isinstance(rpms, list) else []:
            out[str(nevra)] = module
    return out


def _membership_key(pkg: Any) -> str:
    return f"{pkg.name}-{int(pkg.epoch or 0)}:{pkg.version}-{pkg.release}.{pkg.arch}"


def read_repository(repo: Path, index: PublishedIndex) -> None:
    """Add every binary package of ``repo`` to ``index``."""
    import createrepo_c as cr

    records = _records(repo)
    modules = read_module_membership(records["modules"]) if "modules" in records else {}
    name = str(repo)

    def on_package(pkg: Any) -> bool:
        if pkg.arch in ("src", "nosrc"):
            return True
        index.add(
            PublishedPackage(
                name=pkg.name,
                epoch=int(pkg.epoch or 0),
                version=pkg.version,
                release=pkg.release,
                arch=pkg.arch,
                filename=pkg.location_href,
                checksum=pkg.pkgId,
                checksum_type=pkg.checksum_type or "sha256",
                sourcerpm=pkg.rpm_sourcerpm or None,
                file_time=datetime.fromtimestamp(int(pkg.time_file or 0), tz=UTC),
                repo=name,
                module=modules.get(_membership_key(pkg)),
            )
        )
        return True

    try:
        cr.xml_parse_primary(str(records["primary"]), pkgcb=on_package, do_files=False)
    except Exception as exc:
        raise FormatError(
            f"cannot parse primary metadata: {exc}", subject=records["primary"]
        ) from None
    index.repos.append(name)


def read_published(roots: Iterable[Path]) -> PublishedIndex:
    """Every package the repositories under ``roots`` publish."""
    index = PublishedIndex()
    for root in roots:
        if not root.exists():
            raise FormatError("no such repository or folder", subject=root)
        repos = find_repositories(root)
        if not repos:
            raise FormatError("no dnf repository (repodata/repomd.xml) here or below", subject=root)
        for repo in repos:
            read_repository(repo, index)
    return index
