"""``elforge plan``: the release's build order from its BuildRequires."""

from __future__ import annotations

from typing import Annotated

import typer

from elforge.build.plan import plan_report
from elforge.cli.common import FormatOption, OutputOption, emit
from elforge.cli.run import JobsOption, WorkspaceOption
from elforge.engine.planning import plan_workspace
from elforge.report.model import Severity
from elforge.report.render import OutputFormat
from elforge.workspace.workspace import Workspace

EXIT_NOT_BUILDABLE = 3  # some package is in a cycle, has an unresolved BuildRequires, or errors


def plan(
    workspace: WorkspaceOption = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
    jobs: JobsOption = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help=f"Exit {EXIT_NOT_BUILDABLE} when a package cannot be built."),
    ] = False,
) -> None:
    """Order the workspace's packages into build waves from their BuildRequires."""
    ws = Workspace.open(workspace)
    doc = plan_report(plan_workspace(ws, jobs=jobs))
    emit(doc, fmt, output)
    raise typer.Exit(EXIT_NOT_BUILDABLE if strict and doc.worst >= Severity.BAD else 0)
