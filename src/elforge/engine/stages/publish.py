"""The publish stage: the workspace's builds into its repositories, once per run.

It runs in the coordinator after the per-package chains, because a repository's metadata
covers all packages. What it publishes are the store's artifact rows
(:func:`select_artifacts`), not this run's results and never a glob: the artifact store
keeps files by sha256 without their RPM names. For every package of ``elforge.toml`` that
is its current build (the input hash of its latest build outcome) when that built, else its
last successful build, so a failed rebuild does not take a package out of the repositories;
SRPMs go along (``Source/``) and so do debuginfo packages (``debug/ARCH/``).

The repositories go to ``[publish] dest`` (default ``repos/``), split by ``[publish] layout``
or ``reference``, with the last ``[publish] keep`` builds of each package;
``elforge.repo.publish`` is incremental, writes the metadata atomically and refuses to
replace a repository holding packages with an empty one. A previous publish is reused only
when its inputs are equal and every repository on disk is still what it wrote.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from elforge.engine import record
from elforge.engine.protocol import StageInputs, StageOutcome
from elforge.errors import ElforgeError
from elforge.repo.errata_merge import errata_digest
from elforge.repo.publish import PublishResult, PublishSettings, publish, repository_intact
from elforge.repo.publish_inputs import PublishInput
from elforge.rpm.updateinfo import UpdateRecord
from elforge.security.errata_workspace import published_updates
from elforge.store.db import Store
from elforge.store.models import Artifact, Build, Package
from elforge.workspace.options import PublishOptions


@dataclass
class PublishSelection:
    """The files to publish, and the packages that have nothing (or nothing left) to give."""

    inputs: list[PublishInput] = field(default_factory=list)
    unbuilt: list[str] = field(default_factory=list)  # no successful build recorded
    missing: list[str] = field(default_factory=list)  # artifact file gone from the store

    def key(self) -> list[tuple[str, str]]:
        """What the publish depends on: each file's name and content hash."""
        return sorted((i.filename, i.sha256 or "") for i in self.inputs)


def _chosen_build(builds: list[Build], current_hash: str | None) -> Build | None:
    for build in builds:
        if build.input_hash == current_hash:
            return build
    return builds[0] if builds else None


def select_artifacts(store: Store, names: list[str]) -> PublishSelection:
    """The artifact rows to publish for ``names`` (the packages of the workspace)."""
    current = record.latest_outcomes(store, names)
    out = PublishSelection()
    with store.session() as session:
        for name in names:
            latest = current[name].get("build")
            builds = list(
                session.scalars(
                    select(Build)
                    .join(Package, Build.package_id == Package.id)
                    .where(Package.name == name, Build.status == "built")
                    .order_by(Build.id.desc())
                )
            )
            build = _chosen_build(builds, latest.inputs_hash if latest else None)
            if build is None:
                out.unbuilt.append(name)
                continue
            for row in session.scalars(select(Artifact).where(Artifact.build_id == build.id)):
                path = Path(row.path)
                if not path.is_file():
                    out.missing.append(f"{row.filename} ({name})")
                    continue
                out.inputs.append(PublishInput(path, row.filename, sha256=row.sha256, source=name))
    out.inputs.sort(key=lambda i: i.filename)
    return out


def still_published(output: Any) -> bool:
    """Is every repository a previous publish recorded still what it wrote on disk?"""
    repos = output.get("repos") or []
    return bool(repos) and all(repository_intact(Path(r["path"])) for r in repos)


def publish_settings(
    opts: PublishOptions, *, allow_empty: bool = False, errata: Sequence[UpdateRecord] = ()
) -> PublishSettings:
    return PublishSettings(
        layout=opts.layout or None,
        reference=opts.reference or None,
        updateinfo=opts.updateinfo,
        modules=opts.modules,
        sign_key=opts.sign_key,
        keep=opts.keep,
        allow_empty=allow_empty,
        errata=tuple(errata),
    )


def stage_publish(
    store: Store,
    names: list[str],
    opts: PublishOptions,
    previous: StageOutcome | None,
) -> StageOutcome:
    """Publish the builds of the packages ``names``; reuse the previous publish when equal."""
    started = time.monotonic()
    selection = select_artifacts(store, names)
    errata = published_updates(store, opts.errata_issuer)  # the rebuild's own advisories
    inputs = StageInputs(
        "publish",
        {"rpms": selection.key(), "config": opts.to_json(), "errata": errata_digest(errata)},
    )
    if (
        previous is not None
        and previous.inputs_hash == inputs.hash
        and previous.status == "published"
        and still_published(previous.output)
    ):
        return previous.as_reused("publish")
    if not selection.inputs and not opts.dest.exists():
        return inputs.outcome("skipped", error="nothing built")
    try:
        settings = publish_settings(opts, errata=errata)
        result = publish(selection.inputs, opts.dest, settings=settings)
    except Exception as exc:  # recorded as a failed publish; the run's results stand
        detail = str(exc) if isinstance(exc, ElforgeError) else f"{type(exc).__name__}: {exc}"
        return inputs.outcome("failed", error=detail, started=started)
    result.failed += [(m, "artifact file missing from the store") for m in selection.missing]
    output = _record(opts, result, selection)
    if result.failed:
        error = "; ".join(f"{rpm}: {problem}" for rpm, problem in result.failed)[:2000]
        return inputs.outcome("failed", output, error=error, started=started)
    return inputs.outcome("published", output, started=started)


def _record(
    opts: PublishOptions, result: PublishResult, selection: PublishSelection
) -> dict[str, Any]:
    published = result.to_json()
    repos = [{**r, "path": str(Path(r["path"]).resolve())} for r in published["repos"]]

    def count(kind: str) -> int:
        return sum(r["packages"] for r in repos if r["kind"] == kind)

    return {
        "dest": str(opts.dest),
        "repos": repos,
        "repo": repos[0]["path"] if repos else None,
        "packages": count("binary"),
        "sources": count("source"),
        "debug": count("debug"),
        "unplaced": published["unplaced"],
        "unbuilt": selection.unbuilt,
        "failed": published["failed"],
        "signed": published["signed"],
        "publisher": "elforge.repo",
    }
