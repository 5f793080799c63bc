"""The rebuild's own lag: from an upstream commit to the published package, per NVR.

``elforge watch`` records, for each upstream change it noticed, the upstream commit time,
when it noticed and when the rebuilt package was published (``upstream_events``). This
module turns those rows into three lags — commit to notice (polling delay), notice to
publish (pipeline time) and commit to publish (what users wait) — with the same median and
p90 as ``security lag``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from elforge.report.model import ReportDocument, Table
from elforge.security.lag import stats

SCHEMA = "elforge.rebuild-lag/1"


@dataclass(frozen=True)
class TimelineRow:
    package: str
    nvr: str | None
    commit_time: datetime | None
    noticed: datetime
    published: datetime | None
    status: str


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _hours(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 3600, 4)


def own_lag_document(rows: Iterable[TimelineRow]) -> ReportDocument:
    """The ``elforge.rebuild-lag/1`` report: one entry per change, and the statistics."""
    entries: list[dict[str, Any]] = []
    for r in rows:
        commit, noticed, published = _aware(r.commit_time), _aware(r.noticed), _aware(r.published)
        entries.append({
            "package": r.package, "nvr": r.nvr, "status": r.status,
            "commit_time": commit.isoformat() if commit else None,
            "noticed": noticed.isoformat() if noticed else None,
            "published": published.isoformat() if published else None,
            "commit_to_notice_hours": _hours(commit, noticed),
            "notice_to_publish_hours": _hours(noticed, published),
            "commit_to_publish_hours": _hours(commit, published),
        })  # fmt: skip
    summary: dict[str, Any] = {"changes": len(entries)}
    for key in ("commit_to_notice_hours", "notice_to_publish_hours", "commit_to_publish_hours"):
        s = stats([e[key] for e in entries if e[key] is not None])
        summary[key] = {"count": s.count, "median": s.median_days, "p90": s.p90_days}
    data = {"entries": entries, "summary": summary}
    table = Table(
        "Upstream changes",
        ["package", "nvr", "status", "commit→notice h", "notice→publish h", "commit→publish h"],
        [[e["package"], e["nvr"] or "", e["status"], e["commit_to_notice_hours"],
          e["notice_to_publish_hours"], e["commit_to_publish_hours"]] for e in entries],
    )  # fmt: skip
    head = summary["commit_to_publish_hours"]
    return ReportDocument(
        SCHEMA,
        "Rebuild lag (upstream commit to published package)",
        data,
        summary=[
            ("changes", len(entries)),
            ("median hours", head["median"]),
            ("p90 hours", head["p90"]),
        ],
        tables=[table],
    )
