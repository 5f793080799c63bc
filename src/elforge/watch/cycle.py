"""One watch cycle: poll every upstream, rebuild the changed packages, publish, write the
advisories that became publishable, record the timeline, notify the webhook.

The pipeline runs through its public entry point (``run_pipeline`` with the package filter
and every stage but publish); publishing is the engine's publish stage, called from
``watch.publishing`` because a cycle publishes again after it wrote advisories.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elforge.errors import ElforgeError
from elforge.security.errata_workspace import GenerateRequest, generate_in_workspace
from elforge.store.db import Store
from elforge.watch.poll import UpstreamState, poll_all
from elforge.watch.publishing import publish_workspace
from elforge.watch.timeline import Seen, last_seen, record_noticed, record_outcome
from elforge.watch.webhook import WEBHOOK_SCHEMA, Delivery, deliver
from elforge.workspace.workspace import Workspace

SCHEMA = "elforge.watch/1"
PIPELINE_STAGES = ["import", "patch", "build", "verify"]


@dataclass
class WatchOptions:
    jobs: int = 16
    timeout: float = 60
    references: list[Path] = field(default_factory=list)  # empty: [errata] reference
    webhook: str | None = None
    attempts: int = 5
    backoff: float = 1.0
    rebuild: bool = True  # False: only poll and report (the bench)


@dataclass
class WatchEvent:
    event_id: str
    package: str
    url: str
    ref: str | None
    old_token: str | None
    new_token: str
    old_nvr: str | None
    new_nvr: str | None = None
    commit_time: datetime | None = None
    noticed: datetime | None = None
    published: datetime | None = None
    stages: dict[str, str | None] = field(default_factory=dict)
    advisories: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(vars(self))
        for key in ("commit_time", "noticed", "published"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


@dataclass
class CycleReport:
    started: datetime
    duration: float = 0.0
    polled: int = 0
    unchanged: int = 0
    events: list[WatchEvent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    run_id: int | None = None
    errata_changed: list[str] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "started": self.started.isoformat(),
            "duration": round(self.duration, 3),
            "polled": self.polled,
            "unchanged": self.unchanged,
            "changed": [e.package for e in self.events],
            "events": [e.to_json() for e in self.events],
            "run_id": self.run_id,
            "errata_changed": self.errata_changed,
            "deliveries": [d.to_json() for d in self.deliveries],
            "errors": self.errors,
        }


def _changed(states: list[UpstreamState], seen: dict[str, Seen]) -> list[UpstreamState]:
    return [
        s
        for s in states
        if s.token is not None and s.token != seen.get(s.package, Seen(None, None)).token
    ]


def _mirror_commit_time(ws: Workspace, name: str, ref: str | None) -> datetime | None:
    """The upstream commit time the importer wrote on its mirror commit (git upstreams)."""
    from elforge.sources.gitops import git
    from elforge.sources.importer import mirror_path

    mirror = mirror_path(ws, name)
    if ref is None or not (mirror / "HEAD").is_file():
        return None
    try:
        out = git(
            f"--git-dir={mirror}", "log", "-1", "--format=%ct", f"refs/heads/{ref}", subject=name
        )
    except ElforgeError:
        return None
    return datetime.fromtimestamp(int(out.strip()), tz=UTC) if out.strip().isdigit() else None


def _rebuild(ws: Workspace, events: list[WatchEvent], report: CycleReport) -> None:
    """Run the pipeline over the changed packages and note each one's stage results."""
    from elforge.engine.pipeline import RunOptions, run_pipeline

    try:
        summary = run_pipeline(
            ws, RunOptions(stages=list(PIPELINE_STAGES), packages=[e.package for e in events])
        )
    except ElforgeError as exc:
        report.errors.append(f"pipeline: {exc}")
        for e in events:
            e.error = f"pipeline did not run: {exc.problem}"[:300]
        return
    report.run_id = summary.get("run_id")
    rows = {row["name"]: row for row in summary.get("packages", [])}
    for e in events:
        row = rows.get(e.package, {})
        e.stages = {s: row.get(s) for s in PIPELINE_STAGES}
        e.new_nvr = row.get("nvr")
        e.error = row.get("error")


def _publish_and_errata(
    ws: Workspace, store: Store, opts: WatchOptions, events: list[WatchEvent], report: CycleReport
) -> None:
    built = [e for e in events if e.stages.get("build") == "built"]
    if not built:
        return
    try:
        publish_workspace(ws, store)
        now = datetime.now(UTC)
        for e in built:  # recorded before the errata, which date themselves from it
            e.published = now
            record_outcome(
                store, e.event_id, status="published", nvr=e.new_nvr,
                commit_time=e.commit_time, published=now, detail=e.to_json(),
            )  # fmt: skip
        if opts.references or ws.config.errata.reference:
            result = generate_in_workspace(
                ws, store, GenerateRequest(references=list(opts.references))
            )
            report.errata_changed = result.changed
            report.errors += result.errors[:20]
            if result.changed:
                publish_workspace(ws, store)
            _attach_advisories(built, result.errata, set(result.changed))
    except ElforgeError as exc:
        report.errors.append(f"publish: {exc}")


def _attach_advisories(events: list[WatchEvent], errata: list[Any], changed: set[str]) -> None:
    for e in events:
        prefix = f"{e.new_nvr}.src.rpm"
        e.advisories = sorted(
            x.id
            for x in errata
            if x.id in changed and any(p.sourcerpm == prefix for p in x.packages)
        )


def _status(e: WatchEvent, opts: WatchOptions) -> str:
    if not opts.rebuild or not e.stages:
        return "noticed"  # polled only, or the pipeline did not run: the next cycle retries
    if e.published:
        return "published"
    if e.error:
        return "failed"
    return "built" if e.stages.get("build") == "built" else "skipped"


def _event_payload(e: WatchEvent) -> dict[str, Any]:
    return {"schema": WEBHOOK_SCHEMA, **e.to_json()}


def run_cycle(ws: Workspace, store: Store, opts: WatchOptions) -> CycleReport:
    """Poll, rebuild, publish, generate, record and notify once."""
    report = CycleReport(started=datetime.now(UTC))
    t0 = time.monotonic()
    entries = list(ws.config.packages)
    states = poll_all(
        entries, ws.root, ws.config.workspace.release_branch, jobs=opts.jobs, timeout=opts.timeout
    )
    report.polled = len(states)
    report.errors += [f"{s.package}: {s.url}: {s.error}" for s in states if s.error]
    seen = last_seen(store, [e.name for e in entries])
    changed = _changed(states, seen)
    report.unchanged = sum(1 for s in states if s.token is not None) - len(changed)
    for s in changed:
        old = seen.get(s.package)
        event_id = record_noticed(store, s, old)
        report.events.append(
            WatchEvent(
                event_id,
                s.package,
                s.url,
                s.ref,
                old.token if old else None,
                s.token or "",
                old.nvr if old else None,
                commit_time=s.time,
                noticed=datetime.now(UTC),
            )
        )
    if report.events and opts.rebuild:
        _rebuild(ws, report.events, report)
        _publish_and_errata(ws, store, opts, report.events, report)
    for e in report.events:
        e.commit_time = _mirror_commit_time(ws, e.package, e.ref) or e.commit_time
        status = _status(e, opts)
        record_outcome(store, e.event_id, status=status, nvr=e.new_nvr, commit_time=e.commit_time,
                       published=e.published, detail=e.to_json())  # fmt: skip
        if opts.webhook:
            report.deliveries.append(
                deliver(
                    opts.webhook, _event_payload(e), attempts=opts.attempts, backoff=opts.backoff
                )
            )
    report.duration = time.monotonic() - t0
    return report
