"""What the rebuild's repositories actually ship: package builds by name.

A REPO may be a dnf repository (``repodata/repomd.xml``; primary.xml read with
createrepo_c's parser, the one dnf's tooling uses), a folder of ``.rpm`` files (headers
read with ``elforge.rpm.header``), an updateinfo file (its package lists), or a text file with one
NEVRA or RPM file name per line (``#`` comments).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from elforge.errors import FormatError
from elforge.rpm.header import read_header
from elforge.rpm.nevra import NEVRA
from elforge.rpm.updateinfo import read_updateinfo
from elforge.security.model import FixedPackage
from elforge.security.versions import majors_of


@dataclass
class Shipped:
    packages: dict[str, list[FixedPackage]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def add(self, pkg: FixedPackage) -> None:
        self.packages.setdefault(pkg.name, []).append(pkg)

    def majors(self) -> set[int]:
        return majors_of(b.release for builds in self.packages.values() for b in builds)

    def __len__(self) -> int:
        return sum(len(v) for v in self.packages.values())


def _from_primary(repo: Path, shipped: Shipped) -> None:
    import createrepo_c as cr

    repomd_path = repo / "repodata" / "repomd.xml"
    try:
        repomd = cr.Repomd(str(repomd_path))
    except Exception as exc:
        raise FormatError(f"cannot read repomd.xml: {exc}", subject=repomd_path) from None
    primary = next((r for r in repomd.records if r.type == "primary"), None)
    if primary is None:
        raise FormatError("repomd.xml names no primary metadata", subject=repomd_path)
    path = repo / primary.location_href

    def on_package(pkg: object) -> bool:
        shipped.add(
            FixedPackage(
                pkg.name,  # type: ignore[attr-defined]
                int(pkg.epoch or 0),  # type: ignore[attr-defined]
                pkg.version,  # type: ignore[attr-defined]
                pkg.release,  # type: ignore[attr-defined]
                pkg.arch,  # type: ignore[attr-defined]
            )
        )
        return True

    try:
        cr.xml_parse_primary(str(path), pkgcb=on_package, do_files=False)
    except Exception as exc:
        raise FormatError(f"cannot parse primary metadata: {exc}", subject=path) from None


def _from_rpms(folder: Path, shipped: Shipped) -> None:
    for rpm in sorted(folder.rglob("*.rpm")):
        n = read_header(rpm).nevra  # FormatError names the RPM
        shipped.add(FixedPackage(n.name, n.epoch, n.version, n.release, n.arch))


def _from_list(path: Path, shipped: Shipped) -> None:
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            n = NEVRA.parse(text.rsplit("/", 1)[-1])
        except FormatError as exc:
            raise FormatError(f"line {lineno}: {exc.problem}", subject=path) from None
        shipped.add(FixedPackage(n.name, n.epoch, n.version, n.release, n.arch))


def load_shipped(repos: list[Path]) -> Shipped:
    """Everything the given REPOs ship."""
    shipped = Shipped()
    for repo in repos:
        if not repo.exists():
            raise FormatError("no such repository, folder or file", subject=repo)
        if repo.is_dir() and (repo / "repodata" / "repomd.xml").is_file():
            _from_primary(repo, shipped)
        elif repo.is_dir():
            _from_rpms(repo, shipped)
        elif "updateinfo" in repo.name:
            info = read_updateinfo(repo)
            if info.errors and not info.updates:
                raise info.errors[0]
            for u in info.updates:
                for p in u.packages:
                    shipped.add(FixedPackage(p.name, p.epoch, p.version, p.release, p.arch))
        else:
            _from_list(repo, shipped)
        shipped.sources.append(str(repo))
    return shipped
