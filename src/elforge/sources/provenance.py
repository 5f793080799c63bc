"""Provenance rows in the store: one ``upstream_imports`` row per import (or failure)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from elforge.sources.model import ImportResult, SourceRecord
from elforge.store.db import Store
from elforge.store.models import Package, UpstreamImport, package_row


def input_hash(result: ImportResult, tree: str | None) -> str:
    """What an import is keyed by: upstream identity and the tree it produced."""
    key = {
        "url": result.upstream_url,
        "branch": result.branch,
        "commit": result.upstream_commit,
        "srpm": result.srpm_sha256,
        "tree": tree,
    }
    if result.status == "failed":  # every failure is its own row
        key["error"] = result.error
        key["time"] = datetime.now(UTC).isoformat()
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def record(session: Session, result: ImportResult, *, tree: str | None) -> UpstreamImport:
    """Add (or refresh) the row for ``result`` in ``session``; the caller commits."""
    pkg = package_row(session, result.package)
    digest = input_hash(result, tree)
    row = session.scalar(
        select(UpstreamImport).where(
            UpstreamImport.package_id == pkg.id,
            UpstreamImport.branch == result.branch,
            UpstreamImport.input_hash == digest,
        )
    )
    if row is None:
        row = UpstreamImport(package_id=pkg.id, branch=result.branch, input_hash=digest)
        session.add(row)
    row.nvr = result.nvr
    row.upstream_url = result.upstream_url
    row.upstream_commit = result.upstream_commit
    row.tag = result.tag
    row.srpm_sha256 = result.srpm_sha256
    row.signing_key = result.signing_key
    row.sources = [s.to_json() for s in result.sources]
    row.status = result.status
    row.error = result.error
    row.layout = result.layout
    row.mirror_commit = result.mirror_commit
    row.created = datetime.now(UTC)
    session.flush()
    return row


def latest(
    store: Store, name: str, branch: str | None = None, *, status: str = "imported"
) -> UpstreamImport | None:
    """The newest row of ``name`` (on ``branch`` if given) with ``status``."""
    with store.session() as s:
        query = (
            select(UpstreamImport)
            .join(Package)
            .where(Package.name == name, UpstreamImport.status == status)
            .order_by(UpstreamImport.created.desc(), UpstreamImport.id.desc())
        )
        if branch is not None:
            query = query.where(UpstreamImport.branch == branch)
        return s.scalars(query).first()


def known_origins(store: Store, name: str) -> dict[str, str]:
    """Where each blob of ``name`` came from in earlier imports: ``hashtype/hash`` -> URL."""
    with store.session() as s:
        rows = s.scalars(
            select(UpstreamImport)
            .join(Package)
            .where(Package.name == name, UpstreamImport.status == "imported")
            .order_by(UpstreamImport.created)
        ).all()
    origins = {}
    for row in rows:
        for item in row.sources or []:
            rec = SourceRecord.from_json(item)
            if rec.kind == "lookaside":
                origins[f"{rec.hashtype}/{rec.hash}"] = rec.origin
    return origins


def result_from_row(row: UpstreamImport, name: str, status: str) -> ImportResult:
    return ImportResult(
        package=name,
        branch=row.branch,
        status=status,  # type: ignore[arg-type]
        upstream_url=row.upstream_url,
        nvr=row.nvr,
        upstream_commit=row.upstream_commit,
        srpm_sha256=row.srpm_sha256,
        signing_key=row.signing_key,
        layout=row.layout,
        tag=row.tag,
        mirror_commit=row.mirror_commit,
        sources=[SourceRecord.from_json(x) for x in row.sources or []],
    )
