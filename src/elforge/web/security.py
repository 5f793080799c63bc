"""Security parity per CVE and fix lag, from the advisories stored in the workspace.

``elforge security parity|lag --workspace`` store the reference advisories (RHSA…) and the
rebuild's (ALSA, RLSA…). A reference CVE is ``fixed`` when a rebuild advisory that rebuilds
its reference advisory (``elforge.security.mapping``) lists it, else ``missing``; CVEs of
rebuild advisories whose reference is not stored are ``fixed`` against the date the rebuild
copied. The lag of a CVE is the rebuild's first-seen time (else its issue date) minus the
reference fix date; the lag plot draws one dot per CVE, by year of the reference fix, on a log
axis, with the median per year.
"""

from __future__ import annotations

import math
import statistics
import zlib
from dataclasses import dataclass
from datetime import datetime

from elforge.security.mapping import is_reference_id, reference_ids
from elforge.security.model import Advisory
from elforge.web.queries import AdvisoryRow, ParityRow

_DAY = 86400.0


@dataclass(frozen=True)
class CveParity:
    cve: str
    state: str  # fixed | missing
    reference_id: str | None
    reference_date: datetime | None
    severity: str | None
    rebuild_ids: list[str]
    available: datetime | None
    lag_days: float | None
    reason: str = ""


@dataclass(frozen=True)
class PlotPoint:
    x: float
    y: float
    label: str  # "CVE: N days", the dot's tooltip


@dataclass(frozen=True)
class PlotTick:
    position: float
    label: str


@dataclass(frozen=True)
class LagPlot:
    """An SVG scatter plot in user units: the template draws it, nothing here is markup."""

    width: int
    height: int
    left: int
    bottom: int
    points: list[PlotPoint]
    medians: list[tuple[float, float, float]]  # x1, x2, y
    x_ticks: list[PlotTick]
    y_ticks: list[PlotTick]


@dataclass(frozen=True)
class SecurityView:
    cves: list[CveParity]
    counts: dict[str, int]
    median_lag: float | None
    plot: LagPlot | None
    advisories: int


def _model(row: AdvisoryRow) -> Advisory:
    return Advisory(id=row.advisory_id, source=row.source, related_advisories=tuple(row.related))


def _lag(reference: datetime | None, available: datetime | None) -> float | None:
    if reference is None or available is None:
        return None
    ref = reference.replace(tzinfo=None)
    return round((available.replace(tzinfo=None) - ref).total_seconds() / _DAY, 2)


def _fixed(cve: str, ref: AdvisoryRow | None, fixes: list[AdvisoryRow]) -> CveParity:
    times = [t for t in (r.first_seen or r.issued for r in fixes) if t is not None]
    available = min(times) if times else None
    ref_date = ref.issued if ref is not None else (fixes[0].issued if fixes else None)
    return CveParity(
        cve=cve,
        state="fixed" if fixes else "missing",
        reference_id=ref.advisory_id if ref is not None else None,
        reference_date=ref_date,
        severity=(ref or fixes[0]).severity if (ref or fixes) else None,
        rebuild_ids=[r.advisory_id for r in fixes],
        available=available,
        lag_days=_lag(ref_date, available),
    )


def cve_parity(rows: list[AdvisoryRow]) -> list[CveParity]:
    """Per CVE, from the stored advisories alone (when no parity check was stored)."""
    reference = {r.advisory_id: r for r in rows if is_reference_id(r.advisory_id)}
    rebuilds: dict[str, list[AdvisoryRow]] = {}
    orphans: list[AdvisoryRow] = []
    for row in rows:
        if row.advisory_id in reference:
            continue
        refs = [x for x in reference_ids(_model(row)) if x in reference]
        for ref_id in refs:
            rebuilds.setdefault(ref_id, []).append(row)
        if not refs:
            orphans.append(row)
    out: dict[str, CveParity] = {}
    for ref_id, ref in sorted(reference.items()):
        for cve in ref.cves:
            fixes = [r for r in rebuilds.get(ref_id, []) if cve in r.cves or not r.cves]
            out.setdefault(cve, _fixed(cve, ref, fixes))
    for row in orphans:  # the reference advisory is not stored: the date the rebuild copied
        for cve in row.cves:
            out.setdefault(cve, _fixed(cve, None, [row]))
    return sorted(out.values(), key=lambda c: (c.state != "missing", c.cve))


def _log_y(days: float, top: float, span: float) -> float:
    return top - (math.log10(max(days, 0.1)) + 1) / span * (top - 20)


def lag_plot(cves: list[CveParity], width: int = 720, height: int = 320) -> LagPlot | None:
    """One dot per measured CVE (lag > 0 on a log axis), grouped by year of the reference fix."""
    measured = [c for c in cves if c.lag_days is not None and c.reference_date is not None]
    if not measured:
        return None
    years = sorted({c.reference_date.year for c in measured if c.reference_date})
    left, bottom = 60, height - 40
    band = (width - left - 10) / len(years)
    top_days = max(max(c.lag_days or 0.1 for c in measured), 10.0)
    span = math.log10(top_days) + 1  # decades from 0.1 day to the largest lag
    points, medians = [], []
    for i, year in enumerate(years):
        lags = [c for c in measured if c.reference_date and c.reference_date.year == year]
        x0 = left + i * band
        for c in lags:
            # a stable horizontal jitter per CVE, so the same data draws the same picture
            jitter = (zlib.crc32(c.cve.encode()) % 1000) / 1000
            x = x0 + band * (0.2 + 0.6 * jitter)
            y = _log_y(c.lag_days or 0.1, bottom, span)
            points.append(PlotPoint(round(x, 1), round(y, 1), f"{c.cve}: {c.lag_days} days"))
        median = statistics.median(c.lag_days or 0.1 for c in lags)
        medians.append((round(x0 + band * 0.15, 1), round(x0 + band * 0.85, 1),
                        round(_log_y(median, bottom, span), 1)))  # fmt: skip
    x_ticks = [PlotTick(round(left + (i + 0.5) * band, 1), str(y)) for i, y in enumerate(years)]
    y_ticks = [
        PlotTick(round(_log_y(10.0**d, bottom, span), 1), f"{10.0**d:g}")
        for d in range(-1, math.ceil(math.log10(top_days)) + 1)
        if 10.0**d <= top_days * 1.01
    ]
    return LagPlot(width, height, left, bottom, points, medians, x_ticks, y_ticks)


def _with_stored_states(derived: list[CveParity], parity: list[ParityRow]) -> list[CveParity]:
    """The parity check's own states and reasons, with dates and lag from the advisories."""
    by_cve = {c.cve: c for c in derived}
    out = []
    for p in parity:
        known = by_cve.get(p.cve)
        out.append(
            CveParity(
                cve=p.cve,
                state=p.state,
                reference_id=p.reference_id,
                reference_date=known.reference_date if known else None,
                severity=p.severity,
                rebuild_ids=p.rebuild_ids,
                available=known.available if known and p.state == "fixed" else None,
                lag_days=known.lag_days if known and p.state == "fixed" else None,
                reason=p.reason,
            )
        )
    order = {"missing": 0, "under_investigation": 1, "not_shipped": 2, "fixed": 3}
    return sorted(out, key=lambda c: (order.get(c.state, 4), c.cve))


def security_view(rows: list[AdvisoryRow], parity: list[ParityRow] | None) -> SecurityView:
    """Per-CVE parity (the stored check's states when there is one) and the lag plot."""
    derived = cve_parity(rows)
    cves = _with_stored_states(derived, parity) if parity is not None else derived
    lags = [c.lag_days for c in derived if c.lag_days is not None]
    counts: dict[str, int] = {}
    for c in cves:
        counts[c.state] = counts.get(c.state, 0) + 1
    return SecurityView(
        cves=cves,
        counts=counts,
        median_lag=round(statistics.median(lags), 2) if lags else None,
        plot=lag_plot(derived),
        advisories=len(rows),
    )
