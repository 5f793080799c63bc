"""The publish stage: every built binary RPM into the workspace's repositories, once per run.

It runs in the coordinator after the per-package chains, because a repository's metadata
covers all packages. The repositories go to ``[publish] dest`` (default ``repos/``), split
by ``[publish] layout`` or ``reference`` when given; ``elforge.repo.publish_repo`` is
incremental and writes the metadata atomically. Its input is a folder of hard links named
like the RPMs (the artifact store names files by hash).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from elforge.engine.protocol import ArtifactRef, PackageResult, StageInputs, StageOutcome
from elforge.errors import ElforgeError
from elforge.workspace.options import PublishOptions


def built_rpms(results: Iterable[PackageResult]) -> list[ArtifactRef]:
    """The binary RPMs of every package whose build stage built (or reused a build)."""
    rpms = [
        f
        for res in results
        if (build := res.get("build")) is not None and build.status == "built"
        for f in build.rpms
    ]
    return sorted(rpms, key=lambda f: f.filename)


def _still_published(prev: StageOutcome) -> bool:
    repos = prev.output.get("repos", [])
    return all((Path(r["path"]) / "repodata" / "repomd.xml").is_file() for r in repos)


def stage_publish(
    state_dir: Path,
    opts: PublishOptions,
    results: Iterable[PackageResult],
    previous: StageOutcome | None,
) -> StageOutcome:
    started = time.monotonic()
    rpms = built_rpms(results)
    inputs = StageInputs(
        "publish", {"rpms": [(f.filename, f.sha256) for f in rpms], "config": opts.to_json()}
    )
    if (
        previous is not None
        and previous.inputs_hash == inputs.hash
        and previous.status == "published"
        and _still_published(previous)
    ):
        return previous.as_reused("publish")
    if not rpms:
        return inputs.outcome("skipped", error="nothing built")
    try:
        published = _publish(state_dir, opts, rpms)
    except Exception as exc:  # recorded as a failed publish; the run's results stand
        detail = str(exc) if isinstance(exc, ElforgeError) else f"{type(exc).__name__}: {exc}"
        return inputs.outcome("failed", error=detail, started=started)
    failed = published.get("failed", [])
    output = _record(opts, published)
    if failed:
        error = "; ".join(f"{x['rpm']}: {x['error']}" for x in failed)[:2000]
        return inputs.outcome("failed", output, error=error, started=started)
    return inputs.outcome("published", output, started=started)


def _publish(state_dir: Path, opts: PublishOptions, rpms: list[ArtifactRef]) -> dict[str, Any]:
    from elforge.repo.publish import publish_repo

    links = state_dir / "publish-input"
    shutil.rmtree(links, ignore_errors=True)
    links.mkdir(parents=True)
    try:
        for f in rpms:
            os.link(f.path, links / f.filename)
        result = publish_repo(
            sorted(links.iterdir()),
            opts.dest,
            layout=opts.layout or None,
            reference=opts.reference or None,
            updateinfo=opts.updateinfo,
            modules=opts.modules,
            sign_key=opts.sign_key,
        )
    finally:
        shutil.rmtree(links, ignore_errors=True)
    published: dict[str, Any] = result.to_json()
    return published


def _record(opts: PublishOptions, published: dict[str, Any]) -> dict[str, Any]:
    repos = [{**r, "path": str(Path(r["path"]).resolve())} for r in published.get("repos", [])]
    return {
        "dest": str(opts.dest),
        "repos": repos,
        "repo": repos[0]["path"] if repos else None,
        "packages": sum(r["packages"] for r in repos),
        "unplaced": published.get("unplaced", []),
        "failed": published.get("failed", []),
        "signed": published.get("signed", 0),
        "publisher": "elforge.repo",
    }
