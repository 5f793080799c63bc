"""Fixtures and helpers for the pipeline tests; the example's reference binaries are built once.

Test modules import the fixture functions (registered under the names ``reference_rpms`` and
``baseline``).
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from elforge.build.builders import BuildOptions
from elforge.engine.example import (
    EXAMPLE_BOOTSTRAP,
    REFERENCE_MACROS,
    create_example_workspace,
    materialize_upstream,
)
from elforge.engine.pipeline import run_pipeline
from elforge.engine.reference import build_reference
from elforge.store.db import open_store
from elforge.store.models import Artifact, Build, PatchResult, StageRun, UpstreamImport
from elforge.workspace.workspace import Workspace


@pytest.fixture(scope="session", name="reference_rpms")
def reference_rpms_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference vendor's binaries: the unmodified example upstream, built once."""
    for tool in ("rpmbuild", "createrepo_c"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed; run scripts/install-system-deps.sh")
    root = tmp_path_factory.mktemp("reference")
    materialize_upstream(root / "upstream")
    results = build_reference(
        root / "upstream",
        root / "rpms",
        BuildOptions(dist=".el9", macros=REFERENCE_MACROS),
        bootstrap=EXAMPLE_BOOTSTRAP,
    )
    assert all(r.status == "built" for r in results), [r.error for r in results]
    return root / "rpms"


def example_workspace(
    dest: Path, reference: Path, *, jobs: int = 2, store_url: str | None = None
) -> Workspace:
    root = create_example_workspace(dest, jobs=jobs)
    if store_url is not None:  # another store than the default SQLite file (PostgreSQL)
        cfg = root / "elforge.toml"
        cfg.write_text(cfg.read_text() + f'\n[store]\nurl = "{store_url}"\n')
    for rpm in reference.glob("*.rpm"):
        shutil.copyfile(rpm, root / "reference" / rpm.name)
    return Workspace.open(root)


@pytest.fixture(scope="session", name="baseline")
def baseline_fixture(
    tmp_path_factory: pytest.TempPathFactory, reference_rpms: Path
) -> tuple[Workspace, dict[str, Any]]:
    """One uninterrupted run of the whole pipeline on the example, with the local executor."""
    ws = example_workspace(tmp_path_factory.mktemp("baseline") / "ws", reference_rpms)
    return ws, run_pipeline(ws)


def fingerprint(ws: Workspace) -> dict[str, Any]:
    """What a run left in the store, minus what legitimately differs between two runs
    (row ids, times, absolute paths, RPM bytes and the hashes computed from them)."""
    store = open_store(ws.store_url)
    try:
        with store.session() as s:
            stages = sorted(
                (
                    r.subject,
                    r.stage,
                    r.status,
                    r.input_hash if r.stage in ("import", "patch", "build") else "",
                )
                for r in s.scalars(select(StageRun))
            )
            builds = sorted((b.nvr, b.status, b.input_hash) for b in s.scalars(select(Build)))
            artifacts = sorted((a.filename, a.nevra) for a in s.scalars(select(Artifact)))
            imports = Counter(i.input_hash for i in s.scalars(select(UpstreamImport)))
            patches = sorted((p.status, p.input_hash) for p in s.scalars(select(PatchResult)))
    finally:
        store.close()
    return {
        "stages": stages,
        "builds": builds,
        "artifacts": artifacts,
        "imports": sorted(imports.items()),
        "patches": patches,
    }
