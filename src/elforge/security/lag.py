"""How late the rebuild's security fixes were: first-available minus the reference fix date.

Per rebuild advisory: ``available`` is when the record first appeared in the rebuild's feed
(git history or CSV, never the record's own ``published``, which copies the reference
date) and ``reference_date`` is when the reference fixed (the CSAF vendor_fix date, else
the reference advisory's issue date, else the Security Data API release date).  When no
reference document for the advisory was given, the rebuild record's ``published`` *is* a
faithful copy of the reference date (that is what rebuilds put there), so it stands in,
marked ``reference_date_source: "rebuild-copy"``; its day precision overstates lags by up
to a day.

Lags that the history cannot measure are kept in the list but left out of the statistics:

- ``before_history``: the reference fixed before the feed's history starts, so the record
  may have been available long before its first commit;
- ``bulk_import``: the record arrived in a catch-up commit — one shared by at least
  ``bulk_threshold`` records, or by ten or more whose reference fixes lie over 90 days
  apart — whose time says when the feed caught up, not when the fix shipped;
- ``no_first_seen``, ``rebuild_only`` (no reference), ``no_reference_date``.

Per CVE: the earliest availability among the rebuild advisories naming the CVE minus the
earliest reference date of those advisories' references.

Statistics: median and p90 of ``lag_days`` (p90 by linear interpolation between order
statistics, ``statistics.quantiles(method="inclusive")``).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from elforge.errors import FormatError
from elforge.report.model import Finding, ReportDocument, Severity, Table
from elforge.security.firstseen import FirstSeen
from elforge.security.mapping import reference_ids
from elforge.security.model import Advisory
from elforge.security.sources import Feed

SCHEMA = "elforge.security-lag/1"
MEASURED = "measured"
_DAY = 86400.0
BACKFILL_SPREAD_DAYS = 90


@dataclass
class LagEntry:
    id: str
    reference_id: str | None
    reference_date: datetime | None
    reference_date_source: str | None  # "reference" or "rebuild-copy"
    available: datetime | None
    lag_days: float | None
    severity: str | None
    status: str  # measured, before_history, bulk_import, no_first_seen, rebuild_only, ...
    cves: tuple[str, ...] = ()

    @property
    def year(self) -> int | None:
        return self.reference_date.year if self.reference_date else None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reference_id": self.reference_id,
            "reference_date": _iso(self.reference_date),
            "reference_date_source": self.reference_date_source,
            "available": _iso(self.available),
            "lag_days": self.lag_days,
            "severity": self.severity,
            "status": self.status,
            "cves": list(self.cves),
        }


@dataclass
class CveLag:
    cve: str
    advisory: str
    reference_date: datetime
    available: datetime
    lag_days: float

    def to_json(self) -> dict[str, Any]:
        return {
            "cve": self.cve,
            "advisory": self.advisory,
            "reference_date": _iso(self.reference_date),
            "available": _iso(self.available),
            "lag_days": self.lag_days,
        }


@dataclass
class Stats:
    count: int
    median_days: float | None
    p90_days: float | None

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "median_days": self.median_days, "p90_days": self.p90_days}


@dataclass
class LagReport:
    entries: list[LagEntry]
    cves: list[CveLag]
    overall: Stats
    by_year: dict[str, Stats]
    by_severity: dict[str, Stats]
    cve_stats: Stats
    excluded: dict[str, int]
    history_start: datetime | None
    first_seen_source: str
    errors: list[FormatError] = field(default_factory=list)
    unknown_first_seen: list[str] = field(default_factory=list)  # first-seen keys not in feed


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def stats(values: list[float]) -> Stats:
    if not values:
        return Stats(0, None, None)
    ordered = sorted(values)
    median = statistics.median(ordered)
    p90 = (
        ordered[0]
        if len(ordered) == 1
        else statistics.quantiles(ordered, n=10, method="inclusive")[8]
    )
    return Stats(len(ordered), round(median, 2), round(p90, 2))


def _reference_dates(reference: Feed | None) -> dict[str, datetime]:
    """Fix date per reference advisory: its own date, else the earliest dated statement
    naming it (Security Data API ``affected_release``, VEX vendor_fix)."""
    if reference is None:
        return {}
    out: dict[str, datetime] = {}
    for st in reference.statements:
        if st.status == "fixed" and st.advisory and st.date is not None:
            cur = out.get(st.advisory)
            out[st.advisory] = st.date if cur is None else min(cur, st.date)
    for ref in reference.advisories.values():
        if ref.issued is not None:
            out[ref.id] = ref.issued
    return out


def _reference_date(
    adv: Advisory, ref_id: str | None, known: dict[str, datetime]
) -> tuple[datetime | None, str | None]:
    if ref_id and ref_id in known:
        return known[ref_id], "reference"
    if adv.issued is not None:
        return adv.issued, "rebuild-copy"
    return None, None


def compute_lag(
    rebuild: Feed,
    first_seen: FirstSeen,
    reference: Feed | None = None,
    *,
    kinds: tuple[str, ...] = ("security",),
    bulk_threshold: int = 100,
    include_bulk: bool = False,
) -> LagReport:
    """Lag of every rebuild advisory of ``kinds`` against its reference."""
    start = first_seen.history_start
    known = _reference_dates(reference)
    entries: list[LagEntry] = []
    for adv in sorted(rebuild.advisories.values(), key=lambda a: a.id):
        if kinds and adv.kind not in kinds:
            continue
        refs = reference_ids(adv)
        ref_id = refs[0] if refs else None
        ref_date, ref_source = _reference_date(adv, ref_id, known)
        available = first_seen.times.get(adv.id)
        if available is None and adv.path is not None:
            available = first_seen.times.get(adv.path.stem)
        lag = None
        if available is not None and ref_date is not None:
            lag = round((available - ref_date).total_seconds() / _DAY, 2)
        if ref_id is None:
            status = "rebuild_only"
        elif available is None:
            status = "no_first_seen"
        elif ref_date is None:
            status = "no_reference_date"
        elif start is not None and ref_date < start:
            status = "before_history"
        else:
            status = MEASURED
        entries.append(
            LagEntry(
                adv.id, ref_id, ref_date, ref_source, available, lag, adv.severity, status, adv.cves
            )
        )
    if not include_bulk:
        for when in _backfills(first_seen, entries, bulk_threshold):
            for e in entries:
                if e.available == when and e.status == MEASURED:
                    e.status = "bulk_import"

    measured = [e for e in entries if e.status == MEASURED and e.lag_days is not None]
    by_year: dict[str, list[float]] = {}
    by_sev: dict[str, list[float]] = {}
    for e in measured:
        assert e.lag_days is not None
        by_year.setdefault(str(e.year), []).append(e.lag_days)
        by_sev.setdefault(e.severity or "unknown", []).append(e.lag_days)

    # Per CVE: earliest availability against the earliest reference date among its advisories.
    per_cve: dict[str, tuple[datetime, datetime, str]] = {}
    for e in measured:
        assert e.available is not None and e.reference_date is not None
        for cve in e.cves:
            cur = per_cve.get(cve)
            if cur is None:
                per_cve[cve] = (e.reference_date, e.available, e.id)
            else:
                ref_d = min(cur[0], e.reference_date)
                avail, adv_id = (cur[1], cur[2]) if cur[1] <= e.available else (e.available, e.id)
                per_cve[cve] = (ref_d, avail, adv_id)
    cves = [
        CveLag(cve, adv_id, ref_d, avail, round((avail - ref_d).total_seconds() / _DAY, 2))
        for cve, (ref_d, avail, adv_id) in sorted(per_cve.items())
    ]
    excluded = Counter(e.status for e in entries if e.status != MEASURED)
    in_feed = {a.id for a in rebuild.advisories.values()} | {
        a.path.stem for a in rebuild.advisories.values() if a.path is not None
    }
    return LagReport(
        entries=entries,
        cves=cves,
        overall=stats([e.lag_days for e in measured if e.lag_days is not None]),
        by_year={y: stats(v) for y, v in sorted(by_year.items())},
        by_severity={
            s: stats(v) for s, v in sorted(by_sev.items(), key=lambda kv: _sev_rank(kv[0]))
        },
        cve_stats=stats([c.lag_days for c in cves]),
        excluded=dict(sorted(excluded.items())),
        history_start=start,
        first_seen_source=first_seen.source,
        errors=list(rebuild.errors) + list(first_seen.errors),
        unknown_first_seen=sorted(k for k in first_seen.times if k not in in_feed),
    )


def _backfills(first_seen: FirstSeen, entries: list[LagEntry], threshold: int) -> set[datetime]:
    """First-seen times that are catch-up commits rather than releases.

    A commit adding ``threshold`` records or more is an import; so is one adding at least
    ten records whose reference fixes lie more than ``BACKFILL_SPREAD_DAYS`` apart (one
    release does not fix things from months apart; a feed catching up does).
    """
    out = {t for t, n in first_seen.batch_sizes().items() if n >= threshold}
    spread: dict[datetime, list[datetime]] = {}
    for e in entries:
        if e.available is not None and e.reference_date is not None:
            spread.setdefault(e.available, []).append(e.reference_date)
    for when, dates in spread.items():
        if len(dates) >= 10 and (max(dates) - min(dates)).days > BACKFILL_SPREAD_DAYS:
            out.add(when)
    return out


def _sev_rank(name: str) -> int:
    order = ["Critical", "Important", "Moderate", "Low", "None", "unknown"]
    return order.index(name) if name in order else len(order)


def lag_document(report: LagReport, *, rebuild: str, reference: str | None) -> ReportDocument:
    """The ``elforge.security-lag/1`` report."""
    findings: list[Finding] = [
        Finding(Severity.BAD, "security.bad-input", e.subject or "input", e.problem, layer="input")
        for e in report.errors
    ]
    for key in report.unknown_first_seen:
        findings.append(
            Finding(
                Severity.INFO,
                "security.first-seen-unknown-record",
                key,
                "first-seen source names a record that the rebuild feed does not hold",
                remedy="check that the feed and the first-seen data come from the same commit",
            )
        )
    for e in report.entries:
        if e.status == "no_first_seen":
            findings.append(
                Finding(
                    Severity.INFO,
                    "security.no-first-seen",
                    e.id,
                    "no first-seen time for this advisory; its lag is unknown",
                )
            )
    data: dict[str, Any] = {
        "rebuild": rebuild,
        "reference": reference,
        "first_seen_source": report.first_seen_source,
        "history_start": _iso(report.history_start),
        "advisories": [e.to_json() for e in report.entries],
        "cves": [c.to_json() for c in report.cves],
        "summary": {
            **report.overall.to_json(),
            "advisories": len(report.entries),
            "excluded": report.excluded,
            "by_year": {y: s.to_json() for y, s in report.by_year.items()},
            "by_severity": {k: s.to_json() for k, s in report.by_severity.items()},
            "cves": report.cve_stats.to_json(),
        },
        "errors": [str(e) for e in report.errors],
    }
    year_table = Table(
        "Lag by year of the reference fix (days)",
        ["year", "advisories", "median", "p90"],
        [[y, s.count, s.median_days, s.p90_days] for y, s in report.by_year.items()],
    )
    sev_table = Table(
        "Lag by severity (days)",
        ["severity", "advisories", "median", "p90"],
        [[k, s.count, s.median_days, s.p90_days] for k, s in report.by_severity.items()],
    )
    slow = sorted(
        (e for e in report.entries if e.status == MEASURED and e.lag_days is not None),
        key=lambda e: -(e.lag_days or 0),
    )[:20]
    slow_table = Table(
        "Slowest advisories",
        ["advisory", "reference", "reference date", "available", "lag days", "severity"],
        [
            [
                e.id,
                e.reference_id,
                _iso(e.reference_date),
                _iso(e.available),
                e.lag_days,
                e.severity,
            ]
            for e in slow
        ],
    )
    summary: list[tuple[str, Any]] = [
        ("advisories", len(report.entries)),
        ("measured", report.overall.count),
        ("median lag (days)", report.overall.median_days),
        ("p90 lag (days)", report.overall.p90_days),
        ("CVEs measured", report.cve_stats.count),
        ("CVE median lag (days)", report.cve_stats.median_days),
        ("history starts", _iso(report.history_start)),
    ]
    summary += [(f"excluded: {k}", v) for k, v in report.excluded.items()]
    if report.errors:
        summary.append(("input errors", len(report.errors)))
    return ReportDocument(
        schema=SCHEMA,
        title="Security fix lag",
        data=data,
        findings=findings,
        summary=summary,
        tables=[year_table, sev_table, slow_table],
    )
