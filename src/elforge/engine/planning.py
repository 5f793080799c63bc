"""A workspace's build plan: which tree each package is planned from, and the settings.

A package is planned from the newest tree the pipeline recorded for it (the debranded tree,
else the imported one); a package never imported but whose upstream is a local folder is
planned from that folder, so ``elforge plan`` works on a fresh workspace.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

from elforge.build.builders import find_spec
from elforge.build.hashing import file_sha256
from elforge.build.plan import (
    DEFAULT_HOST_PROVIDES,
    BuildPlan,
    PlanError,
    PlanPackage,
    PlanSettings,
    make_plan,
)
from elforge.engine.record import latest_outcomes
from elforge.errors import ElforgeError
from elforge.rpm.payload import extract
from elforge.sources.local import local_folder
from elforge.store.db import open_store
from elforge.workspace.workspace import Workspace


def plan_macros(ws: Workspace) -> tuple[tuple[str, str], ...]:
    """The macros the configured builder evaluates specs with (dist tag, [build] macros)."""
    return tuple(sorted(ws.options.build.all_macros().items()))


def buildroot_repository(ws: Workspace) -> Path:
    """The workspace's own buildroot repository: every RPM the chain builds has built."""
    return ws.root / "buildroot"


def external_repos(ws: Workspace) -> tuple[str, ...]:
    """``[build] buildroot_repos``, relative paths made absolute."""
    return tuple(r if "://" in r or Path(r).is_absolute() else str(ws.root / r)
                 for r in ws.config.build.buildroot_repos)  # fmt: skip


def plan_settings(ws: Workspace, *, jobs: int | None = None) -> PlanSettings:
    build = ws.config.build
    host = build.host_provides if build.host_provides is not None else DEFAULT_HOST_PROVIDES
    repos = external_repos(ws)
    own = buildroot_repository(ws)
    if (own / "repodata" / "repomd.xml").is_file():
        # what earlier runs built counts too (after the release's own future packages):
        # ``elforge run -p NAME`` builds NAME against the packages already built
        repos += (str(own),)
    return PlanSettings(
        macros=plan_macros(ws),
        arch=build.arch or "x86_64",
        buildroot_repos=repos,
        host_provides=tuple(host) if build.builder == "rpmbuild" else (),
        bootstrap=tuple(build.bootstrap),
        cache=ws.cache_dir / "plan-specdeps.json",
        repo_cache=ws.cache_dir / "buildroot-repos",
        jobs=jobs or ws.config.executor.jobs,
    )


def _recorded_trees(ws: Workspace, names: list[str]) -> dict[str, Path]:
    if not (ws.state_dir / "state.db").is_file() and ws.config.store.url is None:
        return {}
    store = open_store(ws.store_url)
    try:
        outcomes = latest_outcomes(store, names)
    finally:
        store.close()
    trees: dict[str, Path] = {}
    for name, stages in outcomes.items():
        for stage in ("patch", "import"):
            outcome = stages.get(stage)
            tree = outcome.tree if outcome is not None and not outcome.stops_chain else None
            if tree is not None and tree.is_dir():
                trees[name] = tree
                break
    return trees


def srpm_spec_tree(ws: Workspace, url: str) -> Path | None:
    """For a local ``.src.rpm`` upstream not imported yet: its spec, extracted (safely, the
    spec only) into the cache, keyed by the SRPM's content; None for anything else."""
    path = Path(url.removeprefix("file://"))
    path = path if path.is_absolute() else ws.root / path
    if not url.endswith(".src.rpm") or not path.is_file():
        return None
    dest = ws.cache_dir / "plan-srpm" / file_sha256(path)[:32]
    if not any(dest.glob("*.spec")):
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        extract(
            path, tmp, select=lambda m: m.is_reg and m.path.endswith(".spec") and "/" not in m.path
        )
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    return dest


def plan_packages(ws: Workspace) -> tuple[list[PlanPackage], list[PlanError]]:
    """Each configured package's spec and source folder, or why it cannot be planned."""
    names = [p.name for p in ws.config.packages]
    recorded = _recorded_trees(ws, names)
    packages: list[PlanPackage] = []
    errors: list[PlanError] = []
    for entry in ws.config.packages:
        try:
            tree = (
                recorded.get(entry.name)
                or local_folder(entry.url, ws.root)
                or srpm_spec_tree(ws, entry.url)
            )
        except ElforgeError as exc:
            errors.append(PlanError(entry.name, str(exc)))
            continue
        if tree is None:
            errors.append(PlanError(entry.name, "not imported yet (run 'elforge import')"))
            continue
        try:
            layout = find_spec(tree)
        except ElforgeError as exc:
            errors.append(PlanError(entry.name, str(exc)))
            continue
        packages.append(PlanPackage(entry.name, layout.spec, layout.sourcedir))
    return packages, errors


def plan_workspace(ws: Workspace, *, jobs: int | None = None) -> BuildPlan:
    packages, errors = plan_packages(ws)
    plan = make_plan(packages, plan_settings(ws, jobs=jobs))
    return replace(plan, errors=(*errors, *plan.errors)) if errors else plan
