"""Publish every package of the workspace, with its stored advisories.

This is the engine's publish stage itself (``stage_publish``: the store's artifact rows of
every configured package, the rebuild's published advisories merged into updateinfo), called
outside a pipeline run because watch publishes again after it wrote new advisories.
"""

from __future__ import annotations

from elforge.engine.protocol import StageOutcome
from elforge.engine.stages.publish import stage_publish
from elforge.errors import ElforgeError
from elforge.store.db import Store
from elforge.workspace.workspace import Workspace


def publish_workspace(ws: Workspace, store: Store) -> StageOutcome:
    """Publish as ``[publish]`` says; ElforgeError when the publish could not run (single
    refused RPMs stay in the outcome, as the pipeline's publish records them)."""
    names = [p.name for p in ws.config.packages]
    outcome = stage_publish(store, names, ws.options.publish, previous=None)
    if outcome.status == "failed" and not outcome.output:
        raise ElforgeError(outcome.error or "publish failed", subject=ws.options.publish.dest)
    return outcome
