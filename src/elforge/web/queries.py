"""Read-only queries over the state store for the dashboard, the JSON API and the report.

The rest of ``elforge.web`` reads the store only through this module (and the read model it
queries, :mod:`elforge.web.readmodel`). A package's state for a stage is its most recently
written ``stage_runs`` row for that stage (the one ``elforge status`` shows). The package
table's filtering, sorting, counting and paging are SQL over the read model, so a page costs
about the same with 10 or 10,000 packages; results come back as frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from elforge.sources.provenance import result_from_row
from elforge.sources.sbom import SbomFormat, make_sbom
from elforge.store.db import Store
from elforge.store.documents import CLOSURE_KIND, PARITY_KIND
from elforge.store.models import (
    Advisory,
    Comparison,
    ErratumRow,
    Package,
    PipelineRun,
    StageRun,
    UpstreamEvent,
    UpstreamImport,
)
from elforge.web.readmodel import (
    CATEGORIES,
    GLOBAL_SUBJECT,
    PACKAGE_STAGES,
    ReadModel,
    category_of,
    kabi_verdict,
    package_state,
    reason_count,
)

PROBLEM_STATES = ("failed", "drifted", "incompatible", "skipped")
SORT_KEYS = ("name", "nvr", "category", "updated", *PACKAGE_STAGES)
MAX_PAGE = 500


@dataclass(frozen=True)
class PackageFilter:
    """What the package table asks for: all of it is applied by the database."""

    name: str = ""  # substring of the package name
    stage: str | None = None  # with ``state``: only packages whose stage is in that state
    state: str | None = None
    category: str | None = None
    problems: bool = False  # only packages with a failed, drifted or incompatible stage
    sort: str = "name"
    descending: bool = False
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True)
class PackageRow:
    name: str
    nvr: str | None
    category: str
    stages: dict[str, str]  # stage -> state, for the stages that ran
    updated: datetime | None
    problem: str | None = None  # the first error of the latest outcomes, in full


@dataclass(frozen=True)
class PackagePage:
    packages: list[PackageRow]
    total: int
    offset: int
    limit: int
    filter: PackageFilter


@dataclass(frozen=True)
class StageView:
    stage: str
    status: str
    input_hash: str
    duration: float | None
    error: str | None
    updated: datetime
    run_id: int | None
    output: dict[str, Any] = field(repr=False, compare=False)  # the engine's JSON, as stored


@dataclass(frozen=True)
class ImportView:
    nvr: str | None
    upstream_url: str
    upstream_commit: str | None
    tag: str | None
    layout: str | None
    created: datetime


@dataclass(frozen=True)
class PackageRecord:
    """Everything the store holds about one package: latest outcome per stage and history."""

    name: str
    nvr: str | None
    category: str
    latest: list[StageView]  # in pipeline order
    history: list[StageView]  # every recorded outcome, newest first
    last_import: ImportView | None


@dataclass(frozen=True)
class RunRow:
    id: int
    started: datetime
    finished: datetime | None
    status: str
    executor: str
    stages: list[str]
    recorded: int  # packages with an outcome written by this run so far
    total: int | None  # packages in the run (planned at its start; None for older runs)
    counts: dict[str, int]


@dataclass(frozen=True)
class RunRecordedPackage:
    name: str
    stages: dict[str, str]
    updated: datetime


@dataclass(frozen=True)
class RunDetail:
    run: RunRow
    packages: list[RunRecordedPackage]  # what the engine has recorded for this run
    duration: float | None
    report: str | None


@dataclass(frozen=True)
class WatchEventRow:
    """One upstream change ``elforge watch`` noticed, and what became of it."""

    event_id: str
    package: str
    old_nvr: str | None
    nvr: str | None
    commit_time: datetime | None
    noticed: datetime
    published: datetime | None
    status: str  # noticed, published, built, failed… (the watch cycle's word)
    advisories: list[str]  # the rebuild's advisories that became published with it
    error: str | None


@dataclass(frozen=True)
class ErratumView:
    """One of the rebuild's own advisories (``elforge errata generate``)."""

    advisory_id: str
    reference_id: str
    status: str  # published, pending, not_applicable
    reason: str
    kind: str
    severity: str | None
    title: str | None
    cves: list[str]
    issued: datetime | None
    updated: datetime | None
    packages: int


@dataclass(frozen=True)
class ClosureGroup:
    cause: str  # "nothing provides libfoo.so.1()(64bit)", a conflict…
    needed_by: list[str]  # the packages whose own requirement it is (the first few)
    affects: int  # packages it leaves uninstallable


@dataclass(frozen=True)
class ClosureView:
    """The newest ``elforge repo closure --workspace`` result."""

    created: datetime
    repos: list[str]
    checked: int
    uninstallable: int
    groups: list[ClosureGroup]  # the largest root causes first
    group_count: int


@dataclass(frozen=True)
class Overview:
    packages: int
    categories: dict[str, int]  # CATEGORIES -> count
    stage_states: dict[str, dict[str, int]]  # stage -> state -> count
    reason_categories: dict[str, int]  # patch ledger: reason category -> actions
    kabi: dict[str, int]  # kABI verdict -> package pairs
    publish: StageView | None
    runs: list[RunRow]
    advisories: int
    errata: dict[str, int]  # the rebuild's own advisories by status
    watch: list[WatchEventRow]  # the newest upstream changes
    closure: ClosureView | None


@dataclass(frozen=True)
class AdvisoryRow:
    advisory_id: str
    source: str
    kind: str | None
    severity: str | None
    issued: datetime | None
    first_seen: datetime | None
    cves: list[str]
    related: list[str]
    title: str | None


@dataclass(frozen=True)
class ParityRow:
    """One CVE as ``elforge security parity --workspace`` decided it."""

    cve: str
    reference_id: str | None
    state: str
    reason: str
    rebuild_ids: list[str]
    severity: str | None


# --------------------------------------------------------------------------- package table


def _filtered(flt: PackageFilter) -> Select[Any]:
    table = package_state
    query = select(table)
    if flt.name:
        escaped = flt.name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(table.c.name.like(f"%{escaped}%", escape="\\"))
    if flt.stage in PACKAGE_STAGES and flt.state:
        query = query.where(table.c[flt.stage] == flt.state)
    if flt.category in CATEGORIES:
        query = query.where(table.c.category == flt.category)
    if flt.problems:
        query = query.where(or_(*(table.c[s].in_(PROBLEM_STATES) for s in PACKAGE_STAGES)))
    return query


def package_page(model: ReadModel, flt: PackageFilter) -> PackagePage:
    """One page of the package table, filtered, sorted, counted and cut by SQL."""
    limit = max(1, min(flt.limit, MAX_PAGE))
    offset = max(0, flt.offset)
    query = _filtered(flt).subquery("filtered")
    key = query.c[flt.sort] if flt.sort in SORT_KEYS else query.c.name
    order = key.desc() if flt.descending else key.asc()
    model.refresh()
    with model.lock, model.engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(query)) or 0
        rows = conn.execute(
            select(query).order_by(order.nulls_last(), query.c.name).offset(offset).limit(limit)
        ).all()
    packages = [
        PackageRow(
            name=r.name,
            nvr=r.nvr,
            category=r.category,
            stages={s: r._mapping[s] for s in PACKAGE_STAGES if r._mapping[s] is not None},
            updated=r.updated,
            problem=r.problem,
        )
        for r in rows
    ]
    return PackagePage(packages, total, offset, limit, flt)


def all_packages(model: ReadModel) -> list[PackageRow]:
    """Every package, by name (for the single-file report)."""
    rows: list[PackageRow] = []
    while True:
        page = package_page(model, PackageFilter(offset=len(rows), limit=MAX_PAGE))
        rows += page.packages
        if not page.packages or len(rows) >= page.total:
            return rows


# --------------------------------------------------------------------------- one package


def _stage_view(row: StageRun) -> StageView:
    return StageView(
        stage=row.stage,
        status=row.status,
        input_hash=row.input_hash,
        duration=row.duration,
        error=row.error,
        updated=row.updated,
        run_id=row.run_id,
        output=row.output if isinstance(row.output, dict) else {},
    )


def package_record(store: Store, name: str) -> PackageRecord | None:
    """The package's outcomes (latest and history) and its newest import, or None."""
    with store.session() as session:
        rows = session.scalars(
            select(StageRun)
            .where(StageRun.subject == name)
            .order_by(StageRun.updated.desc(), StageRun.id.desc())
        ).all()
        if not rows:
            return None
        imp = _newest_import(session, name)
        history = [_stage_view(r) for r in rows]
    latest: dict[str, StageView] = {}
    for view in history:
        latest.setdefault(view.stage, view)
    ordered = [latest[s] for s in PACKAGE_STAGES if s in latest]
    ordered += [v for s, v in latest.items() if s not in PACKAGE_STAGES]
    states = {v.stage: v.status for v in ordered}
    nvr = next(
        (latest[s].output.get("nvr") for s in ("build", "patch", "import") if s in latest), None
    )
    return PackageRecord(
        name=name,
        nvr=str(nvr) if nvr else None,
        category=category_of(states),
        latest=ordered,
        history=history,
        last_import=_import_view(imp) if imp is not None else None,
    )


def _import_view(row: UpstreamImport) -> ImportView:
    return ImportView(
        nvr=row.nvr,
        upstream_url=row.upstream_url,
        upstream_commit=row.upstream_commit,
        tag=row.tag,
        layout=row.layout,
        created=row.created,
    )


def _newest_import(session: Session, name: str) -> UpstreamImport | None:
    return session.scalars(
        select(UpstreamImport)
        .join(Package)
        .where(Package.name == name, UpstreamImport.status == "imported")
        .order_by(UpstreamImport.created.desc(), UpstreamImport.id.desc())
        .limit(1)
    ).first()


def package_sbom(store: Store, name: str, fmt: SbomFormat, *, namespace: str) -> str | None:
    """The SBOM (CycloneDX or SPDX JSON) of the package's newest import, or None."""
    with store.session() as session:
        row = _newest_import(session, name)
        if row is None or not row.nvr:
            return None
        result = result_from_row(row, name, "imported")
    return make_sbom(result, fmt, namespace=namespace)


# --------------------------------------------------------------------------- runs


def _run_row(run: PipelineRun, recorded: dict[int, int]) -> RunRow:
    summary = run.summary if isinstance(run.summary, dict) else {}
    # the summary's count once finished; before that, the packages planned at the start
    total = summary.get("packages_total")
    if not isinstance(total, int) and isinstance(run.packages, list):
        total = len(run.packages)
    return RunRow(
        id=run.id,
        started=run.started,
        finished=run.finished,
        status=run.status if run.finished else "running or interrupted",
        executor=run.executor,
        stages=[str(s) for s in run.stages or []],
        recorded=int(recorded.get(run.id, 0)),
        total=int(total) if isinstance(total, int) else None,
        counts={str(k): int(v) for k, v in (summary.get("counts") or {}).items()},
    )


def recent_runs(model: ReadModel, limit: int = 20) -> list[RunRow]:
    with model.store.session() as session:
        query = select(PipelineRun).order_by(PipelineRun.id.desc()).limit(limit)
        runs = session.scalars(query).all()
    recorded = model.recorded_counts([r.id for r in runs])
    return [_run_row(run, recorded) for run in runs]


def latest_run_id(store: Store) -> int | None:
    with store.session() as session:
        return session.scalar(select(func.max(PipelineRun.id)))


def run_detail(model: ReadModel, run_id: int) -> RunDetail | None:
    """A run and the package outcomes it has recorded so far (what the engine wrote).

    The run's row is read once (the progress stream asks for this twice a second)."""
    with model.store.session() as session:
        run = session.get(PipelineRun, run_id)
        if run is None:
            return None
        outcomes = session.execute(
            select(StageRun.subject, StageRun.stage, StageRun.status, StageRun.updated)
            .where(StageRun.run_id == run_id, StageRun.subject != GLOBAL_SUBJECT)
            .order_by(StageRun.updated, StageRun.id)
        ).all()
    row = _run_row(run, model.recorded_counts([run_id]))
    by_name: dict[str, RunRecordedPackage] = {}
    for subject, stage, status, updated in outcomes:
        known = by_name.get(subject)
        stages = {**(known.stages if known else {}), stage: status}
        by_name[subject] = RunRecordedPackage(subject, stages, updated)
    summary = run.summary if isinstance(run.summary, dict) else {}
    duration = summary.get("duration")
    report = summary.get("report")
    return RunDetail(
        run=row,
        packages=sorted(by_name.values(), key=lambda p: (p.updated, p.name)),
        duration=float(duration) if isinstance(duration, int | float) else None,
        report=str(report) if report else None,
    )


# --------------------------------------------------------------------------- overview


def _model_counts(model: ReadModel) -> tuple[dict[str, int], dict[str, dict[str, int]],
                                              dict[str, int], dict[str, int]]:  # fmt: skip
    """Categories, states per stage, ledger reasons and kABI verdicts, by SQL GROUP BY."""
    table = package_state
    model.refresh()
    with model.lock, model.engine.connect() as conn:
        categories = {c: n for c, n in conn.execute(
            select(table.c.category, func.count()).group_by(table.c.category))}  # fmt: skip
        states: dict[str, dict[str, int]] = {}
        for stage in PACKAGE_STAGES:
            column = table.c[stage]
            rows = conn.execute(
                select(column, func.count()).where(column.is_not(None)).group_by(column)
            )
            states[stage] = {str(state): int(n) for state, n in rows}
        reasons = {
            c: int(n)
            for c, n in conn.execute(
                select(reason_count.c.category, func.sum(reason_count.c.actions))
                .group_by(reason_count.c.category)
                .order_by(func.sum(reason_count.c.actions).desc())
            )
        }
        kabi = {v: int(n) for v, n in conn.execute(
            select(kabi_verdict.c.verdict, func.count()).group_by(kabi_verdict.c.verdict)
            .order_by(kabi_verdict.c.verdict))}  # fmt: skip
    return {str(c): int(n) for c, n in categories.items()}, states, reasons, kabi


def overview(model: ReadModel) -> Overview:
    """The release at a glance: categories, stage states, ledger reasons, kABI, publish, runs."""
    categories, states, reasons, kabi = _model_counts(model)
    runs = recent_runs(model, limit=5)
    with model.store.session() as session:
        publish = session.scalars(
            select(StageRun)
            .where(StageRun.subject == GLOBAL_SUBJECT, StageRun.stage == "publish")
            .order_by(StageRun.updated.desc(), StageRun.id.desc())
            .limit(1)
        ).first()
        advisories = session.scalar(select(func.count()).select_from(Advisory)) or 0
        errata = session.execute(
            select(ErratumRow.status, func.count()).group_by(ErratumRow.status)
        ).all()
    return Overview(
        packages=sum(categories.values()),
        categories={c: categories.get(c, 0) for c in CATEGORIES},
        stage_states=states,
        reason_categories=reasons,
        kabi=kabi,
        publish=_stage_view(publish) if publish is not None else None,
        runs=runs,
        advisories=int(advisories),
        errata={str(status): int(n) for status, n in errata},
        watch=watch_events(model.store, limit=5),
        closure=stored_closure(model.store),
    )


# --------------------------------------------------------------------------- advisories


def advisories(store: Store, limit: int = 20_000) -> list[AdvisoryRow]:
    """Stored advisories (reference and rebuild), newest first; only the columns shown."""
    query = (
        select(
            Advisory.advisory_id,
            Advisory.source,
            Advisory.kind,
            Advisory.severity,
            Advisory.issued,
            Advisory.first_seen,
            Advisory.cves,
            Advisory.raw["related_advisories"].label("related"),
            Advisory.raw["title"].as_string().label("title"),
        )
        .order_by(Advisory.issued.desc(), Advisory.id.desc())
        .limit(limit)
    )
    with store.session() as session:
        rows = session.execute(query).all()
    return [
        AdvisoryRow(
            advisory_id=r.advisory_id,
            source=r.source,
            kind=r.kind,
            severity=r.severity,
            issued=r.issued,
            first_seen=r.first_seen,
            cves=[str(c) for c in r.cves or []],
            related=[str(x) for x in r.related or []],
            title=r.title,
        )
        for r in rows
    ]


def stored_parity(store: Store) -> list[ParityRow] | None:
    """The per-CVE states of the newest stored parity check, or None when there is none."""
    with store.session() as session:
        result = session.scalar(
            select(Comparison.result)
            .where(Comparison.kind == PARITY_KIND)
            .order_by(Comparison.created.desc(), Comparison.id.desc())
            .limit(1)
        )
    if not isinstance(result, dict):
        return None
    return [
        ParityRow(
            cve=str(c.get("cve", "")),
            reference_id=c.get("reference_id"),
            state=str(c.get("state", "")),
            reason=str(c.get("reason") or ""),
            rebuild_ids=[str(x) for x in c.get("rebuild_ids") or []],
            severity=c.get("severity"),
        )
        for c in result.get("cves") or []
        if isinstance(c, dict)
    ]


# --------------------------------------------------------------------------- watch and errata


def watch_events(store: Store, limit: int = 50) -> list[WatchEventRow]:
    """The newest upstream changes ``elforge watch`` recorded, newest first."""
    with store.session() as session:
        rows = session.scalars(
            select(UpstreamEvent)
            .order_by(UpstreamEvent.noticed.desc(), UpstreamEvent.id.desc())
            .limit(limit)
        ).all()
        return [_watch_row(r) for r in rows]


def _watch_row(row: UpstreamEvent) -> WatchEventRow:
    detail = row.detail if isinstance(row.detail, dict) else {}
    advisories = detail.get("advisories")
    error = detail.get("error")
    return WatchEventRow(
        event_id=row.event_id,
        package=row.package,
        old_nvr=row.old_nvr,
        nvr=row.nvr,
        commit_time=row.commit_time,
        noticed=row.noticed,
        published=row.published,
        status=row.status,
        advisories=[str(a) for a in advisories] if isinstance(advisories, list) else [],
        error=str(error) if error else None,
    )


ERRATA_ORDER = ("published", "pending", "not_applicable")


def own_errata(store: Store, limit: int = 20_000) -> list[ErratumView]:
    """The rebuild's own advisories: published first, then pending, then not applicable."""
    with store.session() as session:
        rows = session.scalars(
            select(ErratumRow).order_by(ErratumRow.advisory_id.desc()).limit(limit)
        ).all()
        views = [
            ErratumView(
                advisory_id=r.advisory_id,
                reference_id=r.reference_id,
                status=r.status,
                reason=r.reason,
                kind=r.kind,
                severity=r.severity,
                title=r.title,
                cves=[str(c) for c in r.cves or []],
                issued=r.issued,
                updated=r.updated,
                packages=len(r.packages or []),
            )
            for r in rows
        ]
    rank = {s: i for i, s in enumerate(ERRATA_ORDER)}
    return sorted(views, key=lambda e: rank.get(e.status, len(rank)))


# --------------------------------------------------------------------------- closure

CLOSURE_GROUPS = 5


def stored_closure(store: Store) -> ClosureView | None:
    """The newest stored closure check: its size, and its largest root-cause groups."""
    with store.session() as session:
        row = session.execute(
            select(
                Comparison.created,
                Comparison.result["repos"].label("repos"),
                Comparison.result["checked"].label("checked"),
                Comparison.result["uninstallable"].label("uninstallable"),
                Comparison.result["root_causes"].label("root_causes"),
            )
            .where(Comparison.kind == CLOSURE_KIND)
            .order_by(Comparison.created.desc(), Comparison.id.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    causes = [g for g in row.root_causes or [] if isinstance(g, dict)]
    groups = [
        ClosureGroup(
            cause=str(g.get("cause", "")),
            needed_by=[str(n) for n in (g.get("needed_by") or [])[:5]],
            affects=len(g.get("affects") or []),
        )
        for g in causes[:CLOSURE_GROUPS]
    ]
    return ClosureView(
        created=row.created,
        repos=[str(r) for r in row.repos or []],
        checked=int(row.checked or 0),
        uninstallable=len(row.uninstallable or []),
        groups=groups,
        group_count=len(causes),
    )
