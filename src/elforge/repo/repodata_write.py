"""Write one repository's rpm-md metadata with createrepo_c's bindings, atomically.

primary, filelists and other (gzip, sha256, checksum-named), plus ``updateinfo.xml.gz`` and
``modules.yaml.gz`` when given (decompressed first, whatever they came in), go to a fresh
``.repodata.new`` folder that replaces ``repodata/`` in one rename. With a key,
``repomd.xml`` is signed (``repomd.xml.asc``) before the swap, so a published repomd.xml is
never left without its signature. :func:`old_packages` reads the previous metadata back so
unchanged packages need not be read again.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path
from typing import Any

import createrepo_c as cr

from elforge.repo.signing import sign_repomd
from elforge.rpm.remote import open_decompressed


def old_packages(repo_dir: Path) -> dict[str, Any]:
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


def _add_record(repomd: Any, type_: str, path: Path) -> None:
    record = cr.RepomdRecord(type_, str(path))
    record.fill(cr.SHA256)
    record.rename_file()
    repomd.set_record(record)


def _gzip_copy(source: Path, dest: Path) -> None:
    with (
        open_decompressed(source) as src,
        dest.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out,
    ):
        shutil.copyfileobj(src, out)


def _swap_in(repo_dir: Path, new: Path) -> None:
    old = repo_dir / "repodata"
    if old.exists():
        trash = repo_dir / ".repodata.old"
        shutil.rmtree(trash, ignore_errors=True)
        old.rename(trash)
        new.rename(old)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        new.rename(old)


def write_metadata(
    repo_dir: Path,
    pkgs: list[Any],
    *,
    updateinfo: Path | None = None,
    modules: Path | None = None,
    sign_key: str | None = None,
) -> None:
    """Replace ``repo_dir/repodata`` with metadata for ``pkgs`` (cr.Package objects)."""
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
    for type_ in files:
        _add_record(repomd, type_, new / f"{type_}.xml.gz")
    for type_, source, name in (
        ("updateinfo", updateinfo, "updateinfo.xml.gz"),
        ("modules", modules, "modules.yaml.gz"),
    ):
        if source is not None:
            _gzip_copy(source, new / name)
            _add_record(repomd, type_, new / name)
    # records were written with hrefs relative to the new folder's parent name; fix them
    xml = repomd.xml_dump().replace('href=".repodata.new/', 'href="repodata/')
    (new / "repomd.xml").write_text(xml, encoding="utf-8")
    if sign_key:
        sign_repomd(new / "repomd.xml", sign_key)
    _swap_in(repo_dir, new)
