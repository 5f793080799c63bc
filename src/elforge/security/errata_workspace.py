"""``elforge errata generate`` and ``export`` for a workspace: read the reference advisories and
the published repositories, write the rebuild's advisories to the store, and report them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from elforge.errors import ConfigError
from elforge.progress import NO_PROGRESS, Progress
from elforge.report.model import Finding, ReportDocument, Severity, Table
from elforge.rpm.release import parse_release
from elforge.rpm.updateinfo import UpdateRecord
from elforge.security.errata import SCHEMA, ErrataResult, ErrataSettings, generate
from elforge.security.errata_store import PublishTimes, date_erratum, save_errata
from elforge.security.published import read_published
from elforge.security.sources import load_sources
from elforge.store.db import Store
from elforge.workspace.workspace import Workspace


@dataclass
class GenerateRequest:
    references: list[Path] = field(default_factory=list)  # empty: [errata] reference
    repos: list[Path] = field(default_factory=list)  # empty: the workspace's [publish] dest
    since: datetime | None = None


@dataclass
class ExportRequest:
    osv: Path | None = None  # a folder: DIR/advisories/<folder>/<ID>.json
    oval: Path | None = None  # a file
    updateinfo: Path | None = None  # a file


def settings_for(ws: Workspace) -> ErrataSettings:
    cfg = ws.config.errata
    majors: frozenset[int] = frozenset()
    dist = parse_release(f"1{ws.config.workspace.dist}")
    if dist.major is not None:
        majors = frozenset({dist.major})
    return ErrataSettings(id_scheme=cfg.id_scheme, issuer=cfg.issuer, majors=majors)


def _paths(ws: Workspace, given: list[Path], configured: list[str], what: str) -> list[Path]:
    if given:
        return given
    if not configured:
        raise ConfigError(f"no {what} given and none configured", subject=ws.root / "elforge.toml")
    return [Path(p) if Path(p).is_absolute() else ws.root / p for p in configured]


def generate_in_workspace(
    ws: Workspace, store: Store, req: GenerateRequest, *, progress: Progress = NO_PROGRESS
) -> ErrataResult:
    """Generate, date and store the advisories; bad reference files become errors."""
    refs = _paths(ws, req.references, ws.config.errata.reference, "--reference")
    repos = _paths(ws, req.repos, [ws.config.publish.dest], "--repo")
    feed = load_sources(refs, progress=progress)
    index = read_published(repos)
    # generate() falls back to the published repositories' majors when the dist names none
    result = generate(list(feed.advisories.values()), index, settings_for(ws), since=req.since)
    times = PublishTimes(store)
    dated = [date_erratum(e, times) for e in result.errata]
    result.errata, result.changed = save_errata(store, dated)
    result.errors = [str(e) for e in feed.errors] + result.errors
    return result


def errata_document(
    result: ErrataResult, *, references: list[str], repos: list[str]
) -> ReportDocument:
    """The ``elforge.errata/1`` report."""
    counts = result.counts()
    findings = [
        Finding(Severity.BAD, "errata.bad-input", "input", e, layer="input") for e in result.errors
    ]
    findings += [
        Finding(
            Severity.VERIFY,
            "errata.pending",
            e.id,
            f"{e.reference_id}: {e.reason}",
            remedy="rebuild and publish the fixed package",
            layer="advisory",
        )
        for e in result.errata
        if e.status == "pending"
    ]
    data: dict[str, Any] = {
        "references": references,
        "repos": repos,
        "rebuild_majors": sorted(result.majors),
        "advisories": [e.to_json() for e in result.errata],
        "changed": result.changed,
        "summary": {"advisories": len(result.errata), **counts, "changed": len(result.changed)},
        "errors": result.errors,
    }
    table = Table(
        "Advisories",
        ["id", "reference", "status", "issued", "packages", "reason"],
        [
            [
                e.id,
                e.reference_id,
                e.status,
                e.issued.isoformat() if e.issued else "",
                len(e.packages),
                e.reason[:80],
            ]
            for e in result.errata
        ],
    )
    summary: list[tuple[str, Any]] = [("advisories", len(result.errata)), *counts.items()]
    summary.append(("changed in the store", len(result.changed)))
    return ReportDocument(SCHEMA, "Rebuild advisories", data, findings, summary, [table])


EXPORT_SCHEMA = "elforge.errata-export/1"


def export_in_workspace(ws: Workspace, store: Store, req: ExportRequest) -> ReportDocument:
    """Write the stored published advisories in the forms ``req`` asks for; the report."""
    from elforge.rpm.updateinfo import write_updateinfo
    from elforge.security.errata_export import updates_for_export, write_osv, write_oval
    from elforge.security.errata_store import load_errata

    errata = load_errata(store, status="published")
    cfg, major = ws.config.errata, ws.config.workspace.dist.lstrip(".").removeprefix("el")
    data: dict[str, Any] = {"advisories": len(errata), "osv_files": 0, "oval_definitions": 0}
    if req.osv is not None:
        folder = cfg.osv_folder or f"{ws.config.workspace.name.lower()}{major}"
        ecosystem = cfg.ecosystem or f"{ws.config.workspace.vendor}:{major}"
        data["osv_files"] = len(write_osv(errata, req.osv, folder=folder, ecosystem=ecosystem))
        data["osv_dir"] = str(req.osv / "advisories" / folder)
    if req.oval is not None:
        namespace = f"elforge.{ws.config.workspace.name.lower()}"
        data["oval_definitions"] = write_oval(
            errata, req.oval, namespace=namespace, product=ws.config.workspace.vendor
        )
        data["oval"] = str(req.oval)
    if req.updateinfo is not None:
        req.updateinfo.parent.mkdir(parents=True, exist_ok=True)
        req.updateinfo.write_text(write_updateinfo(updates_for_export(errata, cfg.issuer)))
        data["updateinfo"] = str(req.updateinfo)
    return ReportDocument(
        EXPORT_SCHEMA,
        "Advisory export",
        data,
        summary=list(data.items()),
        tables=[
            Table(
                "Advisories",
                ["id", "reference", "packages"],
                [[e.id, e.reference_id, len(e.packages)] for e in errata],
            )
        ],
    )


def stored_updates(ws: Workspace) -> list[UpdateRecord]:
    """The workspace's published advisories as updateinfo records (for ``publish``)."""
    from elforge.store.db import open_store

    store = open_store(ws.store_url)
    try:
        return published_updates(store, ws.config.errata.issuer)
    finally:
        store.close()


def published_updates(store: Store, issuer: str) -> list[UpdateRecord]:
    """The store's published advisories as updateinfo records."""
    from elforge.security.errata_export import updates_for_export
    from elforge.security.errata_store import load_errata

    return updates_for_export(load_errata(store, status="published"), issuer)
