"""``elforge run``: every package through import → patch → build → verify, then publish.

The coordinating process (this module) takes the workspace lock, reads what the store knows,
sends one task (:class:`PackageSpec`) per package to the executor, writes each package's
:class:`PackageResult` in one transaction as it comes back, runs the publish stage over all
built packages, and returns the run summary (``elforge.run/1``). Killing it at any point
loses at most the packages in flight: everything recorded stays, and a rerun reuses it by
input hash.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from elforge.build.builders import check_builder
from elforge.engine import record
from elforge.engine.executors import Executor, make_executor
from elforge.engine.lock import WorkspaceLock
from elforge.engine.protocol import (
    ArtifactRef,
    PackageRef,
    PackageResult,
    PackageSpec,
    StageOutcome,
)
from elforge.engine.stages import DEFAULT_STAGES, run_package, try_reuse
from elforge.engine.stages.patch import patching_engine
from elforge.engine.stages.publish import stage_publish
from elforge.engine.summary import SCHEMA, summarize, summary_document
from elforge.engine.waves import run_in_waves
from elforge.errors import ConfigError
from elforge.report.render import render_html, render_json
from elforge.rpm.header import read_header
from elforge.rpm.nevra import NEVRA
from elforge.store.db import Store, open_store
from elforge.workspace.options import BuildOverrides, WorkspaceOptions
from elforge.workspace.workspace import Workspace

__all__ = ["ALL_STAGES", "SCHEMA", "RunOptions", "run_pipeline", "summary_document"]

log = logging.getLogger(__name__)

ALL_STAGES = ("import", "patch", "build", "verify", "publish")


class RunObserver(Protocol):
    """What the CLI's progress display is told; the engine itself never prints."""

    def start(self, packages: list[str], stages: list[str]) -> None: ...

    def package_done(self, result: PackageResult) -> None: ...

    def stage_done(self, outcome: StageOutcome) -> None: ...

    def finish(self) -> None: ...


class SilentObserver:
    def start(self, packages: list[str], stages: list[str]) -> None:
        pass

    def package_done(self, result: PackageResult) -> None:
        pass

    def stage_done(self, outcome: StageOutcome) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass
class RunOptions:
    stages: list[str] = field(default_factory=lambda: list(ALL_STAGES))
    packages: list[str] | None = None  # None: every package in elforge.toml
    jobs: int | None = None
    executor: str | None = None  # "local" or "dask"; default from [executor]
    scheduler: Any = None  # address or a distributed cluster object
    build: BuildOverrides = field(default_factory=BuildOverrides)
    retry_failed: bool = False


def stage_status() -> dict[str, str]:
    """Which implementation each stage has in this build (the demo prints it)."""
    return {
        "import": "local folders; git and SRPM upstreams via elforge.sources",
        "patch": "elforge.patching" if patching_engine() else "no engine (configs not applied)",
        "build": "elforge.build (rpmbuild/mock)",
        "verify": "elforge.abi (package and ELF-symbol layers; types with debuginfo)",
        "publish": "elforge.repo (publish_repo)",
    }


def index_reference(ws: Workspace) -> dict[str, list[ArtifactRef]]:
    """Reference binary RPMs (``[verify] reference`` folders), grouped by source package."""
    files: list[Path] = []
    for folder in ws.options.verify.reference:
        if not folder.is_dir():
            raise ConfigError("reference folder does not exist", subject=folder)
        files += sorted(p for p in folder.rglob("*.rpm") if not p.name.endswith(".src.rpm"))
    grouped: dict[str, list[ArtifactRef]] = {}
    for path in files:
        header = read_header(path, digest=True)  # FormatError names a broken reference RPM
        source = NEVRA.parse_filename(header.sourcerpm or path.name).name
        ref = ArtifactRef(str(path), path.name, header.sha256 or "", str(header.nevra))
        grouped.setdefault(source, []).append(ref)
    return grouped


def _chain(stages: list[str]) -> list[str]:
    """The per-package stages to run: the asked ones plus those whose outputs they need."""
    chain = [s for s in stages if s != "publish"]
    for needed, by in (("import", "patch"), ("import", "build"), ("build", "verify")):
        if by in chain and needed not in chain:
            chain.insert(chain.index(by), needed)
    return chain


def _selected_stages(opts: RunOptions) -> list[str]:
    unknown = [s for s in opts.stages if s not in ALL_STAGES]
    if unknown:
        raise ConfigError(
            f"unknown stage(s) {', '.join(unknown)}; known: {', '.join(ALL_STAGES)}",
            subject="--stages",
        )
    return [s for s in ALL_STAGES if s in opts.stages]


def _selected_packages(ws: Workspace, wanted: list[str] | None) -> list[PackageRef]:
    entries = ws.config.packages
    if wanted:
        missing = sorted(set(wanted) - {p.name for p in entries})
        if missing:
            raise ConfigError(f"not in elforge.toml: {', '.join(missing)}", subject=ws.root)
        entries = [p for p in entries if p.name in wanted]
    return [PackageRef.from_entry(p) for p in entries]


@dataclass
class _Run:
    """One run's coordinator state: where results go as they come back."""

    ws: Workspace
    store: Store
    run_id: int
    observer: RunObserver
    results: list[PackageResult] = field(default_factory=list)

    def record(self, *results: PackageResult) -> None:
        self.record_now(*results)
        for result in results:
            self.results.append(result)
            self.observer.package_done(result)

    def record_now(self, *results: PackageResult) -> None:
        """Into the store only, in one transaction (also: stages done before a package's
        chain is complete, in a chain build)."""
        branch = self.ws.options.patched_branch
        record.record_packages(self.store, self.run_id, branch, list(results))


def run_tasks(
    on_results: Callable[..., None],
    executor: Executor,
    specs: list[PackageSpec],
    first: str,
) -> None:
    """Settle what is reusable here, send the rest to the executor, hand the results to
    ``on_results`` as they finish (the settled ones together, in one call).

    Packages go to the executor while the reuse pass is still running, so the workers start
    (and import elforge) while the coordinator hashes the remaining packages."""
    settled: list[PackageResult] = []

    def needing_work() -> Iterator[PackageSpec]:
        for spec in specs:
            done = try_reuse(spec)
            if done is None:
                yield spec
            else:
                settled.append(done)

    ran = 0
    for spec, res in executor.run(run_package, needing_work()):
        if isinstance(res, BaseException):  # the task itself died (worker lost…)
            lost = StageOutcome(
                first, "failed", "", error=f"task failed: {type(res).__name__}: {res}"
            )
            res = PackageResult(spec.name, {**spec.context, first: lost})
        on_results(res)
        ran += 1
    on_results(*settled)  # one transaction: a no-op rerun writes once, not once a package
    log.info("%d packages settled from recorded outcomes, %d ran", len(settled), ran)


def run_pipeline(
    ws: Workspace, opts: RunOptions | None = None, observer: RunObserver | None = None
) -> dict[str, Any]:
    """Run the pipeline over the workspace's packages and return the ``elforge.run/1`` dict."""
    opts = opts or RunOptions()
    observer = observer or SilentObserver()
    stages = _selected_stages(opts)
    chain = _chain(stages)
    packages = _selected_packages(ws, opts.packages)
    settings: WorkspaceOptions = ws.options.with_build(opts.build)
    if "build" in chain:
        check_builder(settings.build)
    started = time.monotonic()
    with WorkspaceLock(ws.state_dir):
        store = open_store(ws.store_url)
        executor = _executor(ws, opts)
        try:
            run_id = record.start_run(
                store, executor.description, stages, [p.name for p in packages]
            )
            run = _Run(ws, store, run_id, observer)
            previous = record.latest_outcomes(store, [*(p.name for p in packages), record.GLOBAL])
            reference = index_reference(ws) if "verify" in chain else {}
            specs = [
                PackageSpec(
                    workspace=ws.root,
                    package=p,
                    settings=settings,
                    stages=tuple((s, DEFAULT_STAGES[s]) for s in chain),
                    previous=previous.get(p.name, {}),
                    reference=tuple(reference.get(p.name, [])),
                    retry_failed=opts.retry_failed,
                )
                for p in packages
            ]
            observer.start([p.name for p in packages], stages)
            plan = None
            if "build" in chain:
                plan = run_in_waves(run.record, run.record_now, executor, specs, ws, run_tasks)
            else:
                run_tasks(run.record, executor, specs, chain[0])
            publish = None
            if "publish" in stages:
                previous_publish = previous[record.GLOBAL].get("publish")
                names = [p.name for p in ws.config.packages]  # all of them, not only -p
                publish = stage_publish(store, names, settings.publish, previous_publish)
                log.info("publish: %s in %.2f s", publish.status, publish.duration)
                record.record_global(store, run.run_id, publish)
                observer.stage_done(publish)
            observer.finish()
            summary = summarize(
                run.results,
                publish,
                run_id=run.run_id,
                executor=executor.description,
                stages=stages,
                implementations={s: v for s, v in stage_status().items() if s in stages},
                duration=time.monotonic() - started,
            )
            if plan is not None:  # the build order the run followed (elforge.plan/1)
                summary["plan"] = plan.to_document()
            _write_reports(ws, summary)
            record.finish_run(store, run.run_id, summary)
            return summary
        finally:
            executor.close()
            store.close()


def _executor(ws: Workspace, opts: RunOptions) -> Executor:
    conf = ws.options.executor
    kind = opts.executor or conf.kind
    scheduler = opts.scheduler or (conf.scheduler if kind == "dask" else None)
    return make_executor(kind, jobs=opts.jobs or conf.jobs, scheduler=scheduler)


def _write_reports(ws: Workspace, summary: dict[str, Any]) -> str:
    reports = ws.root / "reports"
    reports.mkdir(exist_ok=True)
    path = reports / f"run-{summary['run_id']}.json"
    summary["report"] = str(path)
    doc = summary_document(summary)
    for target, text in ((path, render_json(doc)), (path.with_suffix(".html"), render_html(doc))):
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    return str(path)


def dump(summary: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
