"""What the publish stage (and ``elforge publish -w``) publishes: the store's artifact rows.

The artifact store keeps files by sha256 without their RPM names, so a folder of artifacts
cannot be globbed for ``*.rpm``; the names are in the store (``artifacts`` rows of each
``builds`` row). For every package of ``elforge.toml`` the build published is the current
one (the input hash of its latest build outcome) when that built, else its last successful
build, so a failed rebuild does not take a package out of the repositories. Source RPMs
go along (to ``Source/``), and so do debuginfo packages (to ``debug/ARCH/``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from elforge.engine import record
from elforge.repo.publish import repository_intact
from elforge.repo.publish_inputs import PublishInput
from elforge.store.db import Store
from elforge.store.models import Artifact, Build, Package


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
    """The artifact rows to publish for ``names`` (packages of the workspace)."""
    current = record.latest_outcomes(store, names)
    out = PublishSelection()
    with store.session() as session:
        for name in names:
            latest = current[name].get("build") or {}
            builds = list(
                session.scalars(
                    select(Build)
                    .join(Package, Build.package_id == Package.id)
                    .where(Package.name == name, Build.status == "built")
                    .order_by(Build.id.desc())
                )
            )
            build = _chosen_build(builds, latest.get("input_hash"))
            if build is None:
                out.unbuilt.append(name)
                continue
            rows = session.scalars(select(Artifact).where(Artifact.build_id == build.id))
            for row in rows:
                path = Path(row.path)
                if not path.is_file():
                    out.missing.append(f"{row.filename} ({name})")
                    continue
                out.inputs.append(PublishInput(path, row.filename, sha256=row.sha256))
    out.inputs.sort(key=lambda i: i.filename)
    return out


def still_published(output: dict[str, Any]) -> bool:
    """Is every repository a previous publish recorded still what it wrote on disk?"""
    repos = output.get("repos") or []
    return bool(repos) and all(repository_intact(Path(r["path"])) for r in repos)
