"""``elforge patch`` in a workspace: the workspace's packages, found and patched the way the
pipeline finds and patches them.

The pipeline's import stage knows where each ``[[packages]]`` entry's tree is (a local
folder, or the workspace's git mirror with its lookaside blobs); its patch stage applies the
config to a copy and keeps the result as ``trees/NAME/patched-<hash>``. Rather than a
second way to find packages, the command runs those two stages (reusing what is recorded)
and reads each package's patch outcome back from the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from elforge.engine import record
from elforge.engine.pipeline import RunObserver, RunOptions, run_pipeline
from elforge.engine.protocol import StageOutcome
from elforge.patching.drift import Diagnostic
from elforge.patching.ledger import outcome_from_json
from elforge.patching.outcome import PatchOutcome
from elforge.store.db import open_store
from elforge.workspace.workspace import Workspace


def _outcome(name: str, row: dict[str, Any], recorded: Mapping[str, StageOutcome]) -> PatchOutcome:
    """This run's patch outcome of one package, as an ``elforge.patch/1`` object."""
    patched, imported = recorded.get("patch"), recorded.get("import")
    output = patched.output if patched is not None else {}
    if row.get("patch") and output.get("result"):
        outcome = outcome_from_json(dict(output["result"]), Path(name))
        outcome.tree = str(output.get("tree") or outcome.tree)
        outcome.upstream = outcome.upstream or (imported.nvr if imported else None) or ""
        return outcome
    if row.get("patch") in ("identical", "patched"):  # no config: rebuilt as upstream ships it
        return PatchOutcome(name, "identical", tree=str(output.get("tree") or ""))
    failed = PatchOutcome(name, "failed")
    problem = row.get("error") or f"patch stage: {row.get('patch') or 'not reached'}"
    failed.diagnostics.append(Diagnostic(-1, "patch", name, problem, kind="error"))
    return failed


def recorded_outcomes(
    ws: Workspace, rows: list[dict[str, Any]] | None = None
) -> list[PatchOutcome]:
    """Each package's latest recorded patch outcome: of the packages of a run's summary
    ``rows``, or (without rows) of every package that has one recorded."""
    names = [r["name"] for r in rows] if rows is not None else [p.name for p in ws.config.packages]
    store = open_store(ws.store_url)
    try:
        latest = record.latest_outcomes(store, names)
    finally:
        store.close()
    if rows is None:
        recorded = {n: latest[n]["patch"] for n in names if "patch" in latest[n]}
        rows = [{"name": n, "patch": o.status, "error": o.error} for n, o in recorded.items()]
    return [_outcome(r["name"], r, latest[r["name"]]) for r in rows]


def patch_workspace(
    ws: Workspace, packages: list[str] | None = None, observer: RunObserver | None = None
) -> list[PatchOutcome]:
    """Import (or reuse) and patch the workspace's packages; their patch outcomes."""
    summary = run_pipeline(ws, RunOptions(stages=["import", "patch"], packages=packages), observer)
    return recorded_outcomes(ws, summary["packages"])
