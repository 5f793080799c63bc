"""Write the rebuild's advisories back out: one updateinfo.xml and one OSV file per advisory."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elforge.report.model import ReportDocument, Table
from elforge.rpm.updateinfo import (
    UpdateCollection,
    UpdatePackage,
    UpdateRecord,
    UpdateReference,
    write_updateinfo,
)
from elforge.security.model import Advisory
from elforge.security.osv import advisory_to_osv

SCHEMA = "elforge.security-export/1"


def advisory_to_update(adv: Advisory, *, release: str | None = None) -> UpdateRecord:
    """An updateinfo ``<update>`` for ``adv``; OSV ranges carry no arch, so ``src`` stands in."""
    refs = [UpdateReference(href=r.url, id=r.id, type=r.type) for r in adv.references if r.url]
    known = {r.id for r in refs}
    for cve in adv.cves:
        if cve not in known:
            refs.append(
                UpdateReference(
                    href=f"https://www.cve.org/CVERecord?id={cve}", id=cve, type="cve", title=cve
                )
            )
    by_collection: dict[tuple[str | None, str | None], list[UpdatePackage]] = {}
    for p in adv.packages:
        by_collection.setdefault((p.product, p.module), []).append(
            UpdatePackage(
                name=p.name,
                epoch=p.epoch,
                version=p.version,
                release=p.release,
                arch=p.arch or "src",
                filename=f"{p.name}-{p.version}-{p.release}.{p.arch or 'src'}.rpm",
            )
        )
    collections = tuple(
        UpdateCollection(short=product, name=product, module=None, packages=tuple(pkgs))
        for (product, _module), pkgs in by_collection.items()
    )
    kind = adv.kind if adv.kind in ("security", "bugfix", "enhancement") else "security"
    return UpdateRecord(
        id=adv.id,
        type=kind,
        status="final",
        version="1",
        title=adv.title,
        issued=adv.issued,
        updated=adv.updated,
        severity=adv.severity,
        description=adv.description,
        release=release,
        references=tuple(refs),
        collections=collections,
    )


@dataclass
class ExportResult:
    updateinfo: Path | None
    osv_dir: Path | None
    count: int
    osv_files: int


def export_advisories(
    advisories: Iterable[Advisory],
    *,
    updateinfo: Path | None,
    osv_dir: Path | None,
    ecosystem: str,
) -> ExportResult:
    advs = sorted(advisories, key=lambda a: a.id)
    if updateinfo is not None:
        updateinfo.parent.mkdir(parents=True, exist_ok=True)
        updateinfo.write_text(write_updateinfo(advisory_to_update(a) for a in advs), "utf-8")
    written = 0
    if osv_dir is not None:
        osv_dir.mkdir(parents=True, exist_ok=True)
        for adv in advs:
            doc = advisory_to_osv(adv, ecosystem=ecosystem)
            (osv_dir / f"{adv.id}.json").write_text(json.dumps(doc, indent=2) + "\n", "utf-8")
            written += 1
    return ExportResult(updateinfo, osv_dir, len(advs), written)


def export_document(result: ExportResult, *, rebuild: str, errors: list[str]) -> ReportDocument:
    data: dict[str, Any] = {
        "rebuild": rebuild,
        "advisories": result.count,
        "updateinfo": str(result.updateinfo) if result.updateinfo else None,
        "osv_dir": str(result.osv_dir) if result.osv_dir else None,
        "osv_files": result.osv_files,
        "errors": errors,
    }
    return ReportDocument(
        schema=SCHEMA,
        title="Security advisories export",
        data=data,
        summary=[("advisories", result.count), ("OSV files", result.osv_files)],
        tables=[
            Table(
                "Outputs",
                ["kind", "path"],
                [["updateinfo", data["updateinfo"]], ["osv", data["osv_dir"]]],
            )
        ],
    )
