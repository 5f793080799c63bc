"""The rebuild's advisories in the store (``errata`` table), and when each build was published.

When did the rebuild first publish a build? In order of trust:

1. ``watch``: the time ``elforge watch`` recorded publishing that NVR (``upstream_events``);
2. ``publish-record``: the first successful publish stage of the pipeline recorded after
   the build that made the file (``builds``/``artifacts`` and ``stage_runs``);
3. ``file-time``: the package file's time in the repository (primary.xml ``time file``),
   when the store knows nothing better — an upper bound of the build time, not a publish time.

An advisory is issued when its last package was first published (its fix is complete then).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import PurePosixPath

from sqlalchemy import select

from elforge.security.errata import Erratum, ErratumPackage, merge_with_stored
from elforge.security.model import Reference
from elforge.store.db import Store
from elforge.store.models import Artifact, Build, ErratumRow, StageRun, UpstreamEvent


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _source_nvr(sourcerpm: str | None) -> str | None:
    if not sourcerpm:
        return None
    return sourcerpm.removesuffix(".rpm").removesuffix(".src").removesuffix(".nosrc")


class PublishTimes:
    """First-publish times the store knows: by source NVR (watch) and by file name."""

    def __init__(self, store: Store) -> None:
        with store.session() as s:
            self.by_nvr: dict[str, datetime] = {}
            for nvr, when in s.execute(
                select(UpstreamEvent.nvr, UpstreamEvent.published).where(
                    UpstreamEvent.published.is_not(None)
                )
            ):
                stamp = _aware(when)
                if nvr and stamp and (nvr not in self.by_nvr or stamp < self.by_nvr[nvr]):
                    self.by_nvr[nvr] = stamp
            self.built: dict[str, datetime] = {}
            for filename, created in s.execute(
                select(Artifact.filename, Build.created)
                .join(Build, Artifact.build_id == Build.id)
                .where(Build.status == "built")
            ):
                made = _aware(created)
                if made and (filename not in self.built or made < self.built[filename]):
                    self.built[filename] = made
            self.publishes = sorted(
                t
                for t in (
                    _aware(x)
                    for x in s.scalars(
                        select(StageRun.created).where(
                            StageRun.stage == "publish", StageRun.status == "published"
                        )
                    )
                )
                if t is not None
            )

    def first_published(self, pkg: ErratumPackage) -> tuple[datetime | None, str]:
        nvr = _source_nvr(pkg.sourcerpm)
        if nvr and nvr in self.by_nvr:
            return self.by_nvr[nvr], "watch"
        built = self.built.get(PurePosixPath(pkg.filename).name)
        if built is not None:
            i = bisect.bisect_left(self.publishes, built)
            if i < len(self.publishes):
                return self.publishes[i], "publish-record"
        return pkg.published, "file-time"


def date_erratum(erratum: Erratum, times: PublishTimes) -> Erratum:
    """Set each package's first-publish time and the advisory's issue time from them."""
    if erratum.status != "published":
        return erratum
    packages = []
    for pkg in erratum.packages:
        when, source = times.first_published(pkg)
        packages.append(replace(pkg, published=when, published_source=source))
    dated = [p for p in packages if p.published is not None]
    last = max(dated, key=lambda p: p.published or datetime.min.replace(tzinfo=UTC), default=None)
    return replace(
        erratum,
        packages=tuple(packages),
        issued=last.published if last else None,
        issued_source=last.published_source if last else None,
    )


def _to_row(e: Erratum, row: ErratumRow) -> None:
    row.reference_id = e.reference_id
    row.status = e.status
    row.reason = e.reason
    row.kind = e.type
    row.severity = e.severity
    row.title = e.title
    row.description = e.description
    row.cves = list(e.cves)
    row.references = [{"url": r.url, "type": r.type, "id": r.id} for r in e.references]
    row.packages = [p.to_json() for p in e.packages]
    row.issued = e.issued
    row.issued_source = e.issued_source
    row.updated = e.updated
    row.reference_issued = e.reference_issued
    row.fingerprint = e.fingerprint()
    row.modified = datetime.now(UTC)


def _from_row(row: ErratumRow) -> Erratum:
    return Erratum(
        id=row.advisory_id,
        reference_id=row.reference_id,
        status=row.status,
        reason=row.reason,
        type=row.kind,
        severity=row.severity,
        title=row.title,
        description=row.description,
        cves=tuple(row.cves or ()),
        references=tuple(
            Reference(str(r.get("url", "")), r.get("type"), r.get("id"))
            for r in row.references or ()
        ),
        packages=tuple(ErratumPackage.from_json(p) for p in row.packages or ()),
        issued=_aware(row.issued),
        issued_source=row.issued_source,
        updated=_aware(row.updated),
        reference_issued=_aware(row.reference_issued),
    )


def load_errata(store: Store, *, status: str | None = None) -> list[Erratum]:
    """The stored advisories (of ``status`` when given), by id."""
    with store.session() as s:
        query = select(ErratumRow).order_by(ErratumRow.advisory_id)
        if status is not None:
            query = query.where(ErratumRow.status == status)
        return [_from_row(r) for r in s.scalars(query)]


def save_errata(store: Store, errata: Iterable[Erratum]) -> tuple[list[Erratum], list[str]]:
    """Insert or update one row per advisory id in one transaction.

    Returns the advisories as stored (an unchanged one keeps its stored dates: rerunning
    is a no-op) and the ids that changed.
    """
    now = datetime.now(UTC)
    stored: list[Erratum] = []
    changed: list[str] = []
    items = list(errata)
    with store.session() as s, s.begin():
        rows = {
            r.advisory_id: r
            for r in s.scalars(
                select(ErratumRow).where(ErratumRow.advisory_id.in_([e.id for e in items]))
            )
        }
        for new in items:
            row = rows.get(new.id)
            old = _from_row(row) if row is not None else None
            final, differs = merge_with_stored(new, old, now)
            stored.append(final)
            if not differs:
                continue
            changed.append(final.id)
            if row is None:
                row = ErratumRow(advisory_id=final.id)
                s.add(row)
            _to_row(final, row)
    return stored, changed
