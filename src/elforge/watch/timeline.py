"""Per-package upstream timeline in the store (``upstream_events``): the state last seen, and
for each change the upstream commit time, when watch noticed it and when it was published.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from elforge.security.own_lag import TimelineRow
from elforge.sources import provenance
from elforge.store.db import Store
from elforge.store.models import UpstreamEvent
from elforge.watch.poll import UpstreamState


@dataclass(frozen=True)
class Seen:
    token: str | None
    nvr: str | None


def last_seen(store: Store, names: list[str]) -> dict[str, Seen]:
    """The last state recorded per package: watch's own events, else the last git import."""
    out: dict[str, Seen] = {}
    with store.session() as s:
        newest = (
            select(func.max(UpstreamEvent.id))
            .where(UpstreamEvent.package.in_(names))
            .group_by(UpstreamEvent.package)
        )
        for row in s.scalars(select(UpstreamEvent).where(UpstreamEvent.id.in_(newest))):
            if row.status == "noticed":  # a cycle that never finished: handle it again
                out[row.package] = Seen(row.old_token, row.old_nvr)
            else:
                out[row.package] = Seen(row.token, row.nvr or row.old_nvr)
    for name in names:
        if name not in out:
            imported = provenance.latest(store, name)
            if imported is not None and imported.upstream_commit:
                out[name] = Seen(imported.upstream_commit, imported.nvr)
    return out


def record_noticed(store: Store, state: UpstreamState, seen: Seen | None) -> str:
    """A new event for a changed upstream; returns its id (a repeat of a token reuses it)."""
    assert state.token is not None
    with store.session() as s, s.begin():
        row = s.scalar(
            select(UpstreamEvent).where(
                UpstreamEvent.package == state.package, UpstreamEvent.token == state.token
            )
        )
        if row is None:
            row = UpstreamEvent(
                event_id=uuid.uuid4().hex, package=state.package, token=state.token, detail={}
            )
            s.add(row)
        row.url, row.ref, row.status = state.url, state.ref, "noticed"
        row.old_token = seen.token if seen else None
        row.old_nvr = seen.nvr if seen else None
        row.noticed = datetime.now(UTC)
        row.commit_time = state.time
        return row.event_id


def record_outcome(
    store: Store,
    event_id: str,
    *,
    status: str,
    nvr: str | None,
    commit_time: datetime | None,
    published: datetime | None,
    detail: dict[str, Any],
) -> None:
    with store.session() as s, s.begin():
        row = s.scalar(select(UpstreamEvent).where(UpstreamEvent.event_id == event_id))
        if row is None:
            return
        row.status, row.nvr, row.detail = status, nvr, detail
        row.commit_time = commit_time or row.commit_time
        row.published = published


def timeline(store: Store) -> list[TimelineRow]:
    """Every recorded change, oldest first (``security lag --own``)."""
    with store.session() as s:
        return [
            TimelineRow(r.package, r.nvr, r.commit_time, r.noticed, r.published, r.status)
            for r in s.scalars(select(UpstreamEvent).order_by(UpstreamEvent.noticed))
        ]
