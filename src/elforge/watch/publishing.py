"""Publish the workspace's newest build of every package, with its stored advisories.

The pipeline's publish stage covers the packages of its own run, so a run over the changed
packages alone would drop the others from the repositories; watch therefore publishes
itself, from the newest successful build of each configured package recorded in the store.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from elforge.repo.publish import PublishResult, publish_repo
from elforge.rpm.updateinfo import UpdateRecord
from elforge.store.db import Store
from elforge.store.models import StageRun
from elforge.workspace.workspace import Workspace


def latest_built_rpms(store: Store, names: list[str]) -> list[dict[str, Any]]:
    """Binary RPMs (filename, path, sha256) of each package's newest successful build."""
    newest: dict[str, dict[str, Any]] = {}
    with store.session() as s:
        rows = s.scalars(
            select(StageRun)
            .where(
                StageRun.stage == "build", StageRun.status == "built", StageRun.subject.in_(names)
            )
            .order_by(StageRun.updated, StageRun.id)
        )
        for row in rows:
            newest[row.subject] = row.output or {}
    return [
        f
        for out in newest.values()
        for f in out.get("rpms", [])
        if not str(f.get("filename", "")).endswith(".src.rpm") and Path(f.get("path", "")).is_file()
    ]


def publish_workspace(ws: Workspace, store: Store, errata: list[UpdateRecord]) -> PublishResult:
    """Publish as ``[publish]`` says, from the newest builds, merging ``errata``."""
    cfg = ws.config.publish
    rpms = latest_built_rpms(store, [p.name for p in ws.config.packages])
    work = Path(tempfile.mkdtemp(prefix="watch-publish-", dir=ws.state_dir))
    try:
        for f in rpms:
            os.link(f["path"], work / f["filename"])
        return publish_repo(
            sorted(work.iterdir()),
            ws.root / cfg.dest,
            layout=cfg.layout or None,
            reference=cfg.reference or None,
            updateinfo=ws.root / cfg.updateinfo if cfg.updateinfo else None,
            modules=ws.root / cfg.modules if cfg.modules else None,
            sign_key=cfg.sign_key,
            errata=errata,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
