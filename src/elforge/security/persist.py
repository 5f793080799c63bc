"""Keep parsed advisories in the workspace's state database (the ``advisories`` table)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from elforge.security.firstseen import FirstSeen
from elforge.security.model import Advisory
from elforge.security.parity import ParityResult
from elforge.store.db import Store
from elforge.store.documents import PARITY_KIND, StoredDocument, save_document
from elforge.store.models import Advisory as AdvisoryRow


def save_advisories(
    store: Store, advisories: Iterable[Advisory], *, first_seen: FirstSeen | None = None
) -> int:
    """Insert or update one row per (source, advisory id); returns the rows written."""
    advs = list(advisories)
    written = 0
    with store.session() as s, s.begin():
        existing = {
            (row.source, row.advisory_id): row
            for row in s.scalars(
                select(AdvisoryRow).where(AdvisoryRow.advisory_id.in_([a.id for a in advs]))
            )
        }
        for adv in advs:
            row = existing.get((adv.source, adv.id))
            if row is None:
                row = AdvisoryRow(advisory_id=adv.id, source=adv.source)
                s.add(row)
            row.kind = adv.kind
            row.severity = adv.severity
            row.issued = adv.issued
            row.updated = adv.updated
            if first_seen is not None and adv.id in first_seen.times:
                row.first_seen = first_seen.times[adv.id]
            row.cves = list(adv.cves)
            row.packages = [p.to_json() for p in adv.packages]
            row.raw = {
                **adv.to_json(),
                "path": str(adv.path) if adv.path else None,
                "references": [{"url": r.url, "type": r.type} for r in adv.references],
            }
            written += 1
    return written


def save_parity(store: Store, result: ParityResult, *, reference: str, rebuild: str) -> None:
    """Keep the per-CVE parity states (a ``comparisons`` row of kind ``security-parity``), so
    the dashboard shows what ``elforge security parity`` decided rather than a guess."""
    cves = [r.to_json() for r in result.cve_states.values()]
    counts = result.counts()
    verdict = "missing" if counts.get("missing") else "parity"
    kept = {"cves": cves, "summary": counts}
    save_document(store, StoredDocument(PARITY_KIND, reference, rebuild, verdict, kept))
