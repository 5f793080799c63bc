"""``elforge status``: each package's latest outcome per stage, and the last run."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from elforge.engine.pipeline import ALL_STAGES
from elforge.report.model import Finding, ReportDocument, Severity, Table
from elforge.store.db import open_store
from elforge.store.models import PipelineRun, StageRun
from elforge.workspace.workspace import Workspace


def status_document(ws: Workspace) -> ReportDocument:
    """The workspace's state from the store, as an ``elforge.status/1`` report."""
    store = open_store(ws.store_url)
    try:
        with store.session() as session:
            rows = session.scalars(select(StageRun).order_by(StageRun.updated, StageRun.id)).all()
            last = session.scalars(select(PipelineRun).order_by(PipelineRun.id.desc())).first()
            latest: dict[str, dict[str, StageRun]] = {}
            for row in rows:
                latest.setdefault(row.subject, {})[row.stage] = row
            last_run = None
            if last is not None:
                last_run = {
                    "id": last.id,
                    "status": last.status if last.finished else "interrupted or running",
                    "started": last.started.isoformat(),
                    "finished": last.finished.isoformat() if last.finished else None,
                    "executor": last.executor,
                }
    finally:
        store.close()
    configured = [p.name for p in ws.config.packages]
    packages: list[dict[str, Any]] = []
    for name in [*configured, *sorted(set(latest) - set(configured) - {"*"})]:
        stages_now = latest.get(name, {})
        packages.append(
            {
                "name": name,
                "stages": {
                    s: {"status": r.status, "input_hash": r.input_hash, "error": r.error}
                    for s, r in stages_now.items()
                },
                "nvr": next(
                    (
                        stages_now[s].output.get("nvr")
                        for s in ("build", "patch", "import")
                        if s in stages_now and stages_now[s].output.get("nvr")
                    ),
                    None,
                ),
            }
        )
    publish = latest.get("*", {}).get("publish")
    data = {
        "workspace": str(ws.root),
        "last_run": last_run,
        "packages": packages,
        "publish": {"status": publish.status, "output": publish.output} if publish else None,
    }
    table = Table("Packages", ["package", "nvr", *ALL_STAGES[:4], "problem"])
    findings = []
    for pkg in packages:
        st = pkg["stages"]
        errors = [f"{s}: {v['error']}" for s, v in st.items() if v["error"]]
        table.rows.append(
            [
                pkg["name"],
                pkg["nvr"] or "",
                *(st.get(s, {}).get("status", "-") for s in ALL_STAGES[:4]),
                errors[0] if errors else "",
            ]
        )
        if any(v["status"] in ("failed", "drifted") for v in st.values()):
            findings.append(
                Finding(
                    Severity.BAD,
                    "status.package-problem",
                    pkg["name"],
                    errors[0] if errors else "failed",
                    layer="pipeline",
                )
            )
    summary: list[tuple[str, Any]] = [("packages", len(packages))]
    if last_run:
        summary += [("last run", f"#{last_run['id']} {last_run['status']}")]
    doc = ReportDocument(
        "elforge.status/1",
        "elforge status",
        data,
        findings=findings,
        summary=summary,
        tables=[table],
    )
    return doc
