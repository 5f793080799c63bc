"""Read-only queries over the state store for the dashboard, the JSON API and the report.

This is the only module of ``elforge.web`` that reads the store. Filtering, sorting, counting
and paging happen in SQL, so a page of the package table costs the same with 10 or 10,000
packages. A package's state for a stage is its most recently written ``stage_runs`` row for
that stage (the one ``elforge status`` shows); results come back as frozen dataclasses.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from elforge.sources.provenance import result_from_row
from elforge.sources.sbom import SbomFormat, make_sbom
from elforge.store.db import Store
from elforge.store.models import (
    Advisory,
    Comparison,
    Package,
    PipelineRun,
    StageRun,
    UpstreamImport,
)

PACKAGE_STAGES = ("import", "patch", "build", "verify")
GLOBAL_SUBJECT = "*"
# The split of the overview: a package is failed when any stage failed, else what its patch
# stage says (identical upstream, patched by the configs, drifted: configs no longer fit).
CATEGORIES = ("identical", "patched", "drifted", "failed", "pending")
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
    total: int | None  # packages in the run, once its summary is written
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
class Overview:
    packages: int
    categories: dict[str, int]  # CATEGORIES -> count
    stage_states: dict[str, dict[str, int]]  # stage -> state -> count
    reason_categories: dict[str, int]  # patch ledger: reason category -> actions
    kabi: dict[str, int]  # kABI verdict -> package pairs
    publish: StageView | None
    runs: list[RunRow]
    advisories: int


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


# --------------------------------------------------------------------------- latest outcomes


def _latest_rows() -> Any:
    """The newest ``stage_runs`` row per (subject, stage), as a subquery.

    "Newest" is the order ``elforge status`` uses (``updated`` then ``id``); the correlated
    lookup runs on the (subject, stage, input_hash) unique index.
    """
    newer = aliased(StageRun)
    is_newer = or_(
        newer.updated > StageRun.updated,
        and_(newer.updated == StageRun.updated, newer.id > StageRun.id),
    )
    shadowed = (
        select(literal(1))
        .where(newer.subject == StageRun.subject, newer.stage == StageRun.stage, is_newer)
        .exists()
    )
    return (
        select(
            StageRun.id,
            StageRun.subject,
            StageRun.stage,
            StageRun.status,
            StageRun.updated,
            StageRun.output["nvr"].as_string().label("nvr"),
        )
        .where(StageRun.subject != GLOBAL_SUBJECT, ~shadowed)
        .subquery("latest")
    )


def _category(stage_cols: dict[str, Any]) -> ColumnElement[str]:
    failed = or_(*(stage_cols[s] == "failed" for s in PACKAGE_STAGES))
    return case(
        (failed, "failed"),
        (stage_cols["patch"] == "drifted", "drifted"),
        (stage_cols["patch"] == "patched", "patched"),
        (stage_cols["patch"] == "identical", "identical"),
        else_="pending",
    )


def _pivot() -> Any:
    """One row per package: its state for each stage, its NVR, category and last update."""
    latest = _latest_rows()
    states = {
        s: func.max(case((latest.c.stage == s, latest.c.status))).label(s) for s in PACKAGE_STAGES
    }
    nvr_by = {
        s: func.max(case((latest.c.stage == s, latest.c.nvr))) for s in ("build", "patch", "import")
    }
    inner = (
        select(
            latest.c.subject.label("name"),
            *states.values(),
            func.coalesce(nvr_by["build"], nvr_by["patch"], nvr_by["import"]).label("nvr"),
            func.max(latest.c.updated).label("updated"),
        )
        .group_by(latest.c.subject)
        .subquery("pivot")
    )
    cols = {s: inner.c[s] for s in PACKAGE_STAGES}
    return select(inner, _category(cols).label("category")).subquery("packages_now")


def _filtered(pivot: Any, flt: PackageFilter) -> Select[Any]:
    query = select(pivot)
    if flt.name:
        escaped = flt.name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(pivot.c.name.like(f"%{escaped}%", escape="\\"))
    if flt.stage in PACKAGE_STAGES and flt.state:
        query = query.where(pivot.c[flt.stage] == flt.state)
    if flt.category in CATEGORIES:
        query = query.where(pivot.c.category == flt.category)
    if flt.problems:
        query = query.where(or_(*(pivot.c[s].in_(PROBLEM_STATES) for s in PACKAGE_STAGES)))
    return query


def _first_problems(session: Session, names: list[str]) -> dict[str, str]:
    """The first problem (pipeline order) among each named package's latest outcomes: a
    stage's error, else the first ABI problem of an incompatible verify."""
    if not names:
        return {}
    latest = _latest_rows()
    rows = session.execute(
        select(StageRun.subject, StageRun.stage, StageRun.error, StageRun.output)
        .join(latest, latest.c.id == StageRun.id)
        .where(
            StageRun.subject.in_(names),
            or_(StageRun.error.is_not(None), StageRun.status == "incompatible"),
        )
    ).all()
    order = {s: i for i, s in enumerate(PACKAGE_STAGES)}
    out: dict[str, str] = {}
    for subject, stage, error, output in sorted(rows, key=lambda r: order.get(r[1], 99)):
        text = error or _first_abi_problem(output)
        if text:
            out.setdefault(subject, f"{stage}: {text}")
    return out


def _first_abi_problem(output: Any) -> str | None:
    for pair in (output or {}).get("pairs") or []:
        problems = pair.get("problems") if isinstance(pair, dict) else None
        if problems:
            return str(problems[0])
    missing = (output or {}).get("missing_binaries") or []
    return f"missing binary package {missing[0]}" if missing else None


def package_page(store: Store, flt: PackageFilter) -> PackagePage:
    """One page of the package table, filtered and sorted by the database."""
    limit = max(1, min(flt.limit, MAX_PAGE))
    offset = max(0, flt.offset)
    pivot = _pivot()
    query = _filtered(pivot, flt).subquery("filtered")
    key = query.c[flt.sort] if flt.sort in SORT_KEYS else query.c.name
    order = key.desc() if flt.descending else key.asc()
    with store.session() as session:
        total = session.scalar(select(func.count()).select_from(query)) or 0
        rows = session.execute(
            select(query).order_by(order.nulls_last(), query.c.name).offset(offset).limit(limit)
        ).all()
        errors = _first_problems(session, [r.name for r in rows])
    packages = [
        PackageRow(
            name=r.name,
            nvr=r.nvr,
            category=r.category,
            stages={s: r._mapping[s] for s in PACKAGE_STAGES if r._mapping[s] is not None},
            updated=r.updated,
            problem=errors.get(r.name),
        )
        for r in rows
    ]
    return PackagePage(packages, total, offset, limit, flt)


def all_packages(store: Store) -> list[PackageRow]:
    """Every package, by name (for the single-file report)."""
    first = package_page(store, PackageFilter(limit=1))
    rows: list[PackageRow] = []
    while len(rows) < first.total:
        page = package_page(store, PackageFilter(offset=len(rows), limit=MAX_PAGE))
        if not page.packages:
            break
        rows += page.packages
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


def category_of(states: dict[str, str]) -> str:
    """The overview category of one package, the same rule as the SQL in :func:`_category`."""
    if any(states.get(s) == "failed" for s in PACKAGE_STAGES):
        return "failed"
    patch = states.get("patch")
    return patch if patch in ("drifted", "patched", "identical") else "pending"


# --------------------------------------------------------------------------- runs


def _run_rows(session: Session, where: Any = None, limit: int = 20) -> list[RunRow]:
    query = select(PipelineRun).order_by(PipelineRun.id.desc()).limit(limit)
    if where is not None:
        query = query.where(where)
    runs = session.scalars(query).all()
    ids = [r.id for r in runs]
    recorded = dict(
        session.execute(
            select(StageRun.run_id, func.count(func.distinct(StageRun.subject)))
            .where(StageRun.run_id.in_(ids), StageRun.subject != GLOBAL_SUBJECT)
            .group_by(StageRun.run_id)
        ).all()
    )
    out = []
    for run in runs:
        summary = run.summary if isinstance(run.summary, dict) else {}
        total = summary.get("packages_total")
        out.append(
            RunRow(
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
        )
    return out


def recent_runs(store: Store, limit: int = 20) -> list[RunRow]:
    with store.session() as session:
        return _run_rows(session, limit=limit)


def latest_run_id(store: Store) -> int | None:
    with store.session() as session:
        return session.scalar(select(func.max(PipelineRun.id)))


def run_detail(store: Store, run_id: int) -> RunDetail | None:
    """A run and the package outcomes it has recorded so far (what the engine wrote)."""
    with store.session() as session:
        rows = _run_rows(session, PipelineRun.id == run_id, limit=1)
        if not rows:
            return None
        outcomes = session.execute(
            select(StageRun.subject, StageRun.stage, StageRun.status, StageRun.updated)
            .where(StageRun.run_id == run_id, StageRun.subject != GLOBAL_SUBJECT)
            .order_by(StageRun.updated, StageRun.id)
        ).all()
        summary = session.scalar(select(PipelineRun.summary).where(PipelineRun.id == run_id))
    by_name: dict[str, RunRecordedPackage] = {}
    for subject, stage, status, updated in outcomes:
        known = by_name.get(subject)
        stages = {**(known.stages if known else {}), stage: status}
        by_name[subject] = RunRecordedPackage(subject, stages, updated)
    summary = summary if isinstance(summary, dict) else {}
    duration = summary.get("duration")
    report = summary.get("report")
    return RunDetail(
        run=rows[0],
        packages=sorted(by_name.values(), key=lambda p: (p.updated, p.name)),
        duration=float(duration) if isinstance(duration, int | float) else None,
        report=str(report) if report else None,
    )


# --------------------------------------------------------------------------- overview


def _stage_states(session: Session) -> dict[str, dict[str, int]]:
    latest = _latest_rows()
    rows = session.execute(
        select(latest.c.stage, latest.c.status, func.count()).group_by(
            latest.c.stage, latest.c.status
        )
    ).all()
    out: dict[str, dict[str, int]] = {s: {} for s in PACKAGE_STAGES}
    for stage, status, n in rows:
        out.setdefault(stage, {})[status] = n
    return out


def _latest_outputs(session: Session, stage: str, states: tuple[str, ...]) -> list[Any]:
    """The stored outputs of the latest ``stage`` outcomes in one of ``states``."""
    latest = _latest_rows()
    return list(
        session.scalars(
            select(StageRun.output)
            .join(latest, latest.c.id == StageRun.id)
            .where(latest.c.stage == stage, latest.c.status.in_(states))
        )
    )


def _reason_categories(outputs: list[Any]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for output in outputs:
        result = (output or {}).get("result") or {}
        for action in result.get("actions") or []:
            reason = action.get("reason") if isinstance(action, dict) else None
            if isinstance(reason, dict) and reason.get("category"):
                counts[str(reason["category"])] += 1
    return dict(counts.most_common())


def _kabi_verdicts(outputs: list[Any]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for output in outputs:
        for pair in (output or {}).get("pairs") or []:
            kabi = pair.get("kabi") if isinstance(pair, dict) else None
            if isinstance(kabi, dict) and kabi.get("verdict"):
                counts[str(kabi["verdict"])] += 1
    return dict(sorted(counts.items()))


def overview(store: Store) -> Overview:
    """The release at a glance: categories, stage states, ledger reasons, kABI, publish, runs."""
    pivot = _pivot()
    with store.session() as session:
        category_rows = session.execute(
            select(pivot.c.category, func.count()).group_by(pivot.c.category)
        ).all()
        categories = {str(c): int(n) for c, n in category_rows}
        states = _stage_states(session)
        reasons = _reason_categories(_latest_outputs(session, "patch", ("patched", "drifted")))
        kabi = _kabi_verdicts(
            _latest_outputs(session, "verify", ("identical", "compatible", "incompatible"))
        )
        publish = session.scalars(
            select(StageRun)
            .where(StageRun.subject == GLOBAL_SUBJECT, StageRun.stage == "publish")
            .order_by(StageRun.updated.desc(), StageRun.id.desc())
            .limit(1)
        ).first()
        runs = _run_rows(session, limit=5)
        advisories = session.scalar(select(func.count()).select_from(Advisory)) or 0
    return Overview(
        packages=sum(categories.values()),
        categories={c: int(categories.get(c, 0)) for c in CATEGORIES},
        stage_states=states,
        reason_categories=reasons,
        kabi=kabi,
        publish=_stage_view(publish) if publish is not None else None,
        runs=runs,
        advisories=int(advisories),
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


PARITY_KIND = "security-parity"  # elforge.security.persist writes these comparisons


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
