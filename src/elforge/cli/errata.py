"""``elforge errata``: the rebuild's own advisories — generate them, export them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from elforge.cli.common import FormatOption, OutputOption, emit, info, progress
from elforge.report.render import OutputFormat

app = typer.Typer(
    name="errata",
    help="The rebuild's own advisories: generate from reference advisories, export as OSV/OVAL.",
    no_args_is_help=True,
)

WorkspaceOption = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace (default: the one here or above)."),
]


@app.command("generate")
def generate(
    reference: Annotated[
        list[Path] | None,
        typer.Option(
            "--reference",
            help="Reference advisories: CSAF/OSV folders or files, updateinfo, repositories "
            "(repeatable; default [errata] reference).",
        ),
    ] = None,
    repo: Annotated[
        list[Path] | None,
        typer.Option("--repo", help="Published repositories (default: [publish] dest)."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only reference advisories issued on or after DATE."),
    ] = None,
    workspace: WorkspaceOption = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Write the rebuild's advisory for each reference advisory into the store."""
    from elforge.rpm.updateinfo import parse_date
    from elforge.security.errata_workspace import (
        GenerateRequest,
        errata_document,
        generate_in_workspace,
    )
    from elforge.store.db import open_store
    from elforge.workspace.workspace import Workspace

    ws = Workspace.open(workspace)
    req = GenerateRequest(
        references=list(reference or []),
        repos=list(repo or []),
        since=parse_date(since, subject="--since") if since else None,
    )
    store = open_store(ws.store_url)
    try:
        result = generate_in_workspace(ws, store, req, progress=progress())
    finally:
        store.close()
    for err in result.errors[:20]:
        info(f"warning: {err}")
    doc = errata_document(
        result,
        references=[str(p) for p in req.references] or ws.config.errata.reference,
        repos=[str(p) for p in req.repos] or [ws.config.publish.dest],
    )
    emit(doc, fmt, output)
    counts = result.counts()
    info(
        f"{counts['published']} published, {counts['pending']} pending, "
        f"{counts['not_applicable']} not applicable; {len(result.changed)} changed"
    )


@app.command("export")
def export(
    osv: Annotated[
        Path | None, typer.Option("--osv", help="Write OSV records (osv-database layout) here.")
    ] = None,
    oval: Annotated[
        Path | None, typer.Option("--oval", help="Write OVAL definitions to FILE.")
    ] = None,
    updateinfo: Annotated[
        Path | None, typer.Option("--updateinfo", help="Write updateinfo.xml to FILE.")
    ] = None,
    workspace: WorkspaceOption = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Export the stored published advisories as OSV, OVAL and/or updateinfo."""
    from elforge.security.errata_workspace import ExportRequest, export_in_workspace
    from elforge.store.db import open_store
    from elforge.workspace.workspace import Workspace

    if osv is None and oval is None and updateinfo is None:
        raise typer.BadParameter("give --osv DIR, --oval FILE and/or --updateinfo FILE")
    ws = Workspace.open(workspace)
    store = open_store(ws.store_url)
    try:
        doc = export_in_workspace(ws, store, ExportRequest(osv, oval, updateinfo))
    finally:
        store.close()
    emit(doc, fmt, output)
