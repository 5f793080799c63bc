"""``elforge run``, ``elforge status`` and ``elforge build``: the pipeline from the command line."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.progress import Progress

from elforge.build.artifacts import ArtifactStore
from elforge.build.builders import BuilderName, BuildOptions, build_tree, check_builder
from elforge.cli.common import OPTIONS, FormatOption, OutputOption, emit, progress_bar, stderr
from elforge.engine.pipeline import ALL_STAGES, RunOptions, run_pipeline, summary_document
from elforge.engine.protocol import PackageResult, StageOutcome
from elforge.engine.status import status_document
from elforge.report.model import Finding, ReportDocument, Severity, Table
from elforge.workspace.options import BuildOverrides
from elforge.workspace.workspace import Workspace

WorkspaceOption = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace folder (default: here or above)."),
]
JobsOption = Annotated[int | None, typer.Option("--jobs", "-j", help="Parallel packages.")]
ArchOption = Annotated[
    str | None, typer.Option("--arch", "--target", help="Build for ARCH (rpmbuild --target).")
]
TimeoutOption = Annotated[int | None, typer.Option("--timeout", help="Per-build timeout, s.")]

# exit codes of `elforge run` and `elforge build`
EXIT_PROBLEMS = 3  # some package failed, drifted or came out ABI-incompatible


class RichRunObserver:
    """One bar for the packages (with ETA) and one line per stage with its counts."""

    def __init__(self) -> None:
        self._bar: Progress | None = None
        self._tasks: dict[str, Any] = {}
        self._counts: dict[str, Counter[str]] = {}

    def start(self, packages: list[str], stages: list[str]) -> None:
        self._bar = progress_bar("{task.description:<10}", transient=False)
        self._bar.start()
        self._tasks["packages"] = self._bar.add_task("packages", total=len(packages), note="")
        for stage in stages:
            total = 1 if stage == "publish" else len(packages)
            self._tasks[stage] = self._bar.add_task(stage, total=total, note="")
            self._counts[stage] = Counter()

    def _note(self, stage: str, status: str, reused: bool) -> None:
        assert self._bar is not None
        self._counts[stage][f"{status} (reused)" if reused else status] += 1
        note = " · ".join(f"{n} {s}" for s, n in sorted(self._counts[stage].items()))
        self._bar.update(self._tasks[stage], advance=1, note=note)

    def package_done(self, result: PackageResult) -> None:
        if self._bar is None:
            return
        for stage in self._counts:
            outcome = result.get(stage)
            if outcome is not None:
                self._note(stage, outcome.status, outcome.reused)
            elif stage != "publish":
                self._note(stage, "not reached", False)
        self._bar.update(self._tasks["packages"], advance=1, note=result.package)

    def stage_done(self, outcome: StageOutcome) -> None:
        if self._bar is not None and outcome.stage in self._counts:
            self._note(outcome.stage, outcome.status, outcome.reused)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _observer() -> RichRunObserver | None:
    return None if OPTIONS.quiet or not stderr.is_terminal else RichRunObserver()


def _exit_code(summary: dict[str, Any]) -> int:
    counts = summary["totals"]  # a reused failure is still a failure
    bad = counts["failed"] or counts["drifted"] or summary["abi"].get("incompatible", 0)
    return EXIT_PROBLEMS if bad else 0


def run(
    workspace: WorkspaceOption = None,
    stages: Annotated[
        str, typer.Option("--stages", help=f"Comma-separated subset of {','.join(ALL_STAGES)}.")
    ] = ",".join(ALL_STAGES),
    package: Annotated[
        list[str] | None, typer.Option("--package", "-p", help="Only this package (repeatable).")
    ] = None,
    jobs: JobsOption = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Run on Dask: tcp://HOST:PORT.")
    ] = None,
    arch: ArchOption = None,
    timeout: TimeoutOption = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Run failed stages again with equal inputs.")
    ] = False,
    fmt: FormatOption = "text",  # type: ignore[assignment]
    output: OutputOption = None,
) -> None:
    """Run import → patch → build → verify per package, then publish; incremental."""
    ws = Workspace.open(workspace)
    opts = RunOptions(
        stages=[s.strip() for s in stages.split(",") if s.strip()],
        packages=package or None,
        jobs=jobs,
        scheduler=scheduler,
        build=BuildOverrides(arch=arch, timeout=timeout),
        retry_failed=retry_failed,
    )
    summary = run_pipeline(ws, opts, _observer())
    emit(summary_document(summary), fmt, output)
    raise typer.Exit(_exit_code(summary))


def status(
    workspace: WorkspaceOption = None,
    fmt: FormatOption = "text",  # type: ignore[assignment]
    output: OutputOption = None,
) -> None:
    """Each package's latest outcome per stage, and the last run."""
    emit(status_document(Workspace.open(workspace)), fmt, output)


def build(
    workspace: WorkspaceOption = None,
    package: Annotated[
        list[str] | None, typer.Option("--package", "-p", help="Only this package (repeatable).")
    ] = None,
    tree: Annotated[
        list[Path] | None,
        typer.Option("--tree", help="Build this package tree directly, without a workspace."),
    ] = None,
    artifacts: Annotated[
        Path, typer.Option("--artifacts", help="Artifact store for --tree builds.")
    ] = Path("artifacts"),
    builder: Annotated[
        str | None,
        typer.Option("--builder", help="rpmbuild or mock (default: [build] builder)."),
    ] = None,
    mock_config: Annotated[
        str | None, typer.Option("--mock-config", help="mock -r CONFIG (implies --builder mock).")
    ] = None,
    dist: Annotated[str | None, typer.Option("--dist", help="The %dist macro, e.g. .el9.")] = None,
    jobs: JobsOption = None,
    arch: ArchOption = None,
    timeout: TimeoutOption = None,
    fmt: FormatOption = "text",  # type: ignore[assignment]
    output: OutputOption = None,
) -> None:
    """Build packages: the workspace's (import and patch reused when done) or given trees."""
    if builder is not None and builder not in ("rpmbuild", "mock"):
        raise typer.BadParameter("--builder must be rpmbuild or mock")
    overrides = BuildOverrides(
        builder=cast(BuilderName | None, builder),
        mock_config=mock_config,
        arch=arch,
        dist=dist,
        timeout=timeout,
    )
    if not tree:
        ws = Workspace.open(workspace)
        opts = RunOptions(
            stages=["import", "patch", "build"],
            packages=package or None,
            jobs=jobs,
            build=overrides,
        )
        summary = run_pipeline(ws, opts, _observer())
        emit(summary_document(summary), fmt, output)
        raise typer.Exit(_exit_code(summary))
    bopts = overrides.apply(BuildOptions())
    check_builder(bopts)
    store = ArtifactStore(artifacts)
    with ThreadPoolExecutor(max_workers=jobs or 2) as pool:
        results = list(
            pool.map(
                lambda t: build_tree(
                    t.resolve().name, t.resolve(), store, artifacts / "logs", bopts
                ),
                tree,
            )
        )
    table = Table("Builds", ["package", "status", "nvr", "outputs", "seconds", "log"])
    findings = []
    for r in results:
        table.rows.append(
            [r.package, r.status, r.nvr or "", len(r.rpms), round(r.duration, 1), r.log_path or ""]
        )
        if r.status == "failed":
            findings.append(
                Finding(
                    Severity.BAD,
                    "build.failed",
                    r.package,
                    str(r.error),
                    location=r.log_path or "",
                    layer="build",
                )
            )
    counts = dict(Counter(r.status for r in results))
    data: dict[str, Any] = {"builds": [r.to_json() for r in results], "counts": counts}
    doc = ReportDocument(
        "elforge.build/1",
        "elforge build",
        data,
        findings=findings,
        summary=list(counts.items()),
        tables=[table],
    )
    emit(doc, fmt, output)
    raise typer.Exit(EXIT_PROBLEMS if findings else 0)
