"""``elforge status``: each package's latest outcome per stage, and the last run.

Each row shows one NVR's results. A stage's latest outcome is *stale* when an earlier stage
of the chain got a new outcome after a run last stood on it (``updated``; a run touches the
outcomes it reuses): after upstream drift, the old NVR's build and verify results are shown
as stale, not as the new NVR's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from elforge.engine.record import GLOBAL
from elforge.engine.summary import CHAIN_STAGES, drift_hint, problem_text, with_hint
from elforge.report.model import Finding, ReportDocument, Severity, Table
from elforge.store.db import open_store
from elforge.store.models import PipelineRun, StageRun
from elforge.workspace.workspace import Workspace

SCHEMA = "elforge.status/1"


@dataclass(frozen=True)
class StageState:
    status: str
    input_hash: str
    error: str | None
    nvr: str | None
    stale: bool
    did_you_mean: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status,
            "input_hash": self.input_hash,
            "error": self.error,
            "nvr": self.nvr,
            "stale": self.stale,
        }
        if self.did_you_mean:
            out["did_you_mean"] = self.did_you_mean
        return out


def package_states(rows: dict[str, StageRun]) -> dict[str, StageState]:
    """Each stage's latest row, marked stale when an earlier stage changed after it."""
    out: dict[str, StageState] = {}
    newest_before = None  # when the latest earlier stage's outcome first appeared
    for stage in CHAIN_STAGES:
        row = rows.get(stage)
        if row is None:
            continue
        stale = newest_before is not None and newest_before > row.updated
        output = row.output or {}
        out[stage] = StageState(
            row.status,
            row.input_hash,
            row.error,
            output.get("nvr"),
            stale,
            drift_hint(output) if stage == "patch" else None,
        )
        newest_before = max(filter(None, (newest_before, row.created)))
    return out


def _load(ws: Workspace) -> tuple[dict[str, dict[str, StageRun]], dict[str, Any] | None]:
    store = open_store(ws.store_url)
    try:
        with store.session() as session:
            rows = session.scalars(select(StageRun).order_by(StageRun.updated, StageRun.id)).all()
            last = session.scalars(select(PipelineRun).order_by(PipelineRun.id.desc())).first()
            latest: dict[str, dict[str, StageRun]] = {}
            for row in rows:
                latest.setdefault(row.subject, {})[row.stage] = row
            session.expunge_all()
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
    return latest, last_run


def _package(name: str, states: dict[str, StageState]) -> dict[str, Any]:
    current = [s for s in ("build", "patch", "import") if s in states and not states[s].stale]
    nvr = next((states[s].nvr for s in current if states[s].nvr), None)
    errors = [f"{s}: {v.error}" for s, v in states.items() if v.error and not v.stale]
    hint = states["patch"].did_you_mean if "patch" in states else None
    return {
        "name": name,
        "nvr": nvr,
        "stages": {s: v.to_json() for s, v in states.items()},
        "stale": sorted(s for s, v in states.items() if v.stale),
        "error": errors[0] if errors else None,
        "did_you_mean": hint,
    }


def _cell(stage: dict[str, Any] | None) -> str:
    if stage is None:
        return "-"
    return f"{stage['status']} (stale)" if stage["stale"] else str(stage["status"])


def status_document(ws: Workspace) -> ReportDocument:
    """The workspace's state from the store, as an ``elforge.status/1`` report."""
    latest, last_run = _load(ws)
    configured = [p.name for p in ws.config.packages]
    names = [*configured, *sorted(set(latest) - set(configured) - {GLOBAL})]
    packages = [_package(n, package_states(latest.get(n, {}))) for n in names]
    publish = latest.get(GLOBAL, {}).get("publish")
    data = {
        "workspace": str(ws.root),
        "last_run": last_run,
        "packages": packages,
        "publish": {"status": publish.status, "output": publish.output} if publish else None,
    }
    table = Table("Packages", ["package", "nvr", *CHAIN_STAGES, "problem"])
    findings = []
    for pkg in packages:
        st = pkg["stages"]
        cells = [_cell(st.get(s)) for s in CHAIN_STAGES]
        table.rows.append([pkg["name"], pkg["nvr"] or "", *cells, problem_text(pkg["error"])])
        current = [v for v in st.values() if not v["stale"]]
        if any(v["status"] in ("failed", "drifted") for v in current):
            message = with_hint(pkg["error"] or "failed", pkg["did_you_mean"])
            findings.append(
                Finding(
                    Severity.BAD, "status.package-problem", pkg["name"], message, layer="pipeline"
                )
            )
        if pkg["stale"]:
            findings.append(
                Finding(
                    Severity.INFO,
                    "status.stale",
                    pkg["name"],
                    f"{', '.join(pkg['stale'])}: results of an older NVR "
                    "(an earlier stage changed since)",
                    remedy="run 'elforge run' again",
                    layer="pipeline",
                )
            )
    summary: list[tuple[str, Any]] = [("packages", len(packages))]
    if last_run:
        summary += [("last run", f"#{last_run['id']} {last_run['status']}")]
    return ReportDocument(
        SCHEMA, "elforge status", data, findings=findings, summary=summary, tables=[table]
    )
