"""The coordinator's side of the store: what was done before, and what a task just did.

Everything one package's task returned is written in a single transaction, so after a crash
the store holds either all of a package's new rows or none of them; a stage outcome is
unique per (package, stage, input hash), so writing the same outcome twice cannot duplicate
it.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from elforge.engine.protocol import PackageResult, StageOutcome
from elforge.store.db import Store
from elforge.store.models import (
    Artifact,
    Build,
    Comparison,
    Package,
    PatchResult,
    PipelineRun,
    StageRun,
    UpstreamImport,
    package_row,
    utcnow,
)

GLOBAL = "*"


def latest_outcomes(store: Store, subjects: list[str]) -> dict[str, dict[str, StageOutcome]]:
    """For each subject, each stage's most recently written outcome."""
    out: dict[str, dict[str, StageOutcome]] = {s: {} for s in subjects}
    with store.session() as session:
        rows = session.scalars(
            select(StageRun)
            .where(StageRun.subject.in_(subjects))
            .order_by(StageRun.updated, StageRun.id)
        )
        for row in rows:
            out[row.subject][row.stage] = StageOutcome(
                row.stage,
                row.status,
                row.input_hash,
                row.output,
                row.error,
                False,
                row.duration or 0.0,
            )
    return out


def start_run(
    store: Store, executor: str, stages: list[str], packages: list[str] | None = None
) -> int:
    """Record a run as started, with the packages it sets out to do (the dashboard's "of N")."""
    with store.session() as session, session.begin():
        run = PipelineRun(executor=executor, stages=stages, status="running", packages=packages)
        session.add(run)
        session.flush()
        return run.id


def finish_run(store: Store, run_id: int, summary: dict[str, object]) -> None:
    with store.session() as session, session.begin():
        run = session.get(PipelineRun, run_id)
        if run is not None:
            run.finished, run.status, run.summary = utcnow(), "finished", summary


def _upsert_stage(
    session: Session, pkg: Package | None, subject: str, run_id: int, outcome: StageOutcome
) -> bool:
    """Insert the outcome, or refresh the row with the same inputs; True when inserted, or
    when it replaces a failure (a retried stage records its new build, import…)."""
    row = session.scalar(
        select(StageRun).where(
            StageRun.subject == subject,
            StageRun.stage == outcome.stage,
            StageRun.input_hash == outcome.inputs_hash,
        )
    )
    fresh = row is None or (row.status == "failed" and outcome.status != "failed")
    if row is None:
        row = StageRun(
            subject=subject,
            stage=outcome.stage,
            input_hash=outcome.inputs_hash,
            package_id=pkg.id if pkg else None,
        )
        session.add(row)
    row.status, row.output, row.error = outcome.status, dict(outcome.output), outcome.error
    row.duration, row.run_id, row.updated = outcome.duration, run_id, utcnow()
    return fresh


def _domain_rows(session: Session, pkg: Package, branch: str, outcome: StageOutcome) -> None:
    """The stage's own table: imports, patch results, builds with artifacts, comparisons."""
    stage, out, key = outcome.stage, outcome.output, outcome.inputs_hash
    if stage == "import" and out.get("recorded_by") == "elforge.sources":
        pass  # the importer wrote its own provenance row
    elif stage == "import" and outcome.status != "failed":
        session.add(
            UpstreamImport(
                package_id=pkg.id,
                branch=branch,
                nvr=out.get("nvr"),
                upstream_url=out.get("url", ""),
                upstream_commit=out.get("commit"),
                tag=out.get("tag"),
                sources=out.get("sources", []),
                status=outcome.status,
                error=outcome.error,
                input_hash=key,
            )
        )
    elif stage == "patch":
        result = out.get("result") or {}
        session.add(
            PatchResult(
                package_id=pkg.id,
                branch=branch,
                nvr=out.get("nvr"),
                status=outcome.status,
                input_hash=key,
                actions=result.get("actions", []),
                diagnostics=result.get("diagnostics", []),
                commit=out.get("commit"),
                tag=out.get("tag"),
            )
        )
    elif stage == "build" and out:
        build = Build(
            package_id=pkg.id,
            nvr=out.get("nvr"),
            input_hash=key,
            builder=out.get("builder", ""),
            command=out.get("command", ""),
            log_path=out.get("log_path"),
            duration=out.get("duration"),
            status=outcome.status,
            error=outcome.error,
            buildroot=out.get("buildroot", []),
        )
        session.add(build)
        session.flush()
        for f in [out["srpm"], *out.get("rpms", [])] if out.get("srpm") else []:
            session.add(
                Artifact(
                    build_id=build.id,
                    filename=f["filename"],
                    nevra=f["nevra"],
                    sha256=f["sha256"],
                    size=f["size"],
                    path=f["path"],
                )
            )
    elif stage == "verify" and outcome.status not in ("unavailable", "no-reference"):
        session.add(
            Comparison(
                package_id=pkg.id,
                kind="abi",
                reference=out.get("reference", ""),
                candidate=out.get("candidate", ""),
                verdict=out.get("verdict") or outcome.status,
                input_hash=key,
                result=out,
            )
        )


def record_packages(store: Store, run_id: int, branch: str, results: list[PackageResult]) -> None:
    """Write packages' outcomes in one transaction (the coordinator's settled packages)."""
    with store.session() as session, session.begin():
        for result in results:
            _write_package(session, run_id, branch, result)


def _write_package(session: Session, run_id: int, branch: str, result: PackageResult) -> None:
    pkg = package_row(session, result.package)
    for outcome in result.outcomes.values():
        if not outcome.inputs_hash:
            continue
        if outcome.reused:
            _touch(session, pkg.name, run_id, outcome)
        elif _upsert_stage(session, pkg, pkg.name, run_id, outcome):
            _domain_rows(session, pkg, branch, outcome)


def _touch(session: Session, subject: str, run_id: int, outcome: StageOutcome) -> None:
    """A reused outcome is current again: ``updated`` says when a run last stood on it
    (``elforge status`` marks a stage stale when an earlier stage changed after that)."""
    session.flush()  # earlier stages' new rows get their ``created`` before this time is taken
    session.execute(
        update(StageRun)
        .where(
            StageRun.subject == subject,
            StageRun.stage == outcome.stage,
            StageRun.input_hash == outcome.inputs_hash,
        )
        .values(run_id=run_id, updated=utcnow())
    )


def record_global(store: Store, run_id: int, outcome: StageOutcome) -> None:
    if outcome.reused:
        return
    with store.session() as session, session.begin():
        _upsert_stage(session, None, GLOBAL, run_id, outcome)
