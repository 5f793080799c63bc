"""``elforge import`` and ``elforge sbom``: bring upstream sources in, describe them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from elforge.cli.common import FormatOption, OutputOption, emit, info, progress, stderr
from elforge.errors import ConfigError
from elforge.report.render import OutputFormat
from elforge.sources.importer import ImportOptions, import_packages, parse_since
from elforge.sources.layout import Layout
from elforge.sources.provenance import latest, result_from_row
from elforge.sources.report import import_report
from elforge.sources.sbom import SbomFormat, make_sbom
from elforge.store.db import open_store
from elforge.workspace.config import PackageEntry
from elforge.workspace.workspace import Workspace

WorkspaceOption = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace folder (default: here or above)."),
]


def _entries(
    ws: Workspace,
    name: str | None,
    url: str | None,
    branch: str | None,
    layout: Layout | None,
    all_: bool,
) -> list[PackageEntry]:
    configured = {p.name: p for p in ws.config.packages}
    if all_:
        if name or url:
            raise typer.BadParameter("--all imports the workspace's packages; give no NAME/--from")
        if not configured:
            raise ConfigError("no [[packages]] configured", subject=ws.root / "elforge.toml")
        return list(configured.values())
    if not name:
        raise typer.BadParameter("give a package NAME (with --from URL), or --all")
    base = configured.get(name)
    if url is None and base is None:
        raise ConfigError(
            f"package {name!r} is not in [[packages]]; give --from URL",
            subject=ws.root / "elforge.toml",
        )
    return [
        PackageEntry(
            name=name,
            url=url or base.url,  # type: ignore[union-attr]
            branch=branch or (base.branch if base else None),
            layout=str(layout or (base.layout if base else Layout.auto)),
        )
    ]


def import_(
    name: Annotated[str | None, typer.Argument(help="Package to import.")] = None,
    url: Annotated[
        str | None,
        typer.Option("--from", help="Upstream: git URL (https, ssh, file) or SRPM path/URL."),
    ] = None,
    branch: Annotated[
        str | None, typer.Option("--branch", help="Upstream branch (default: release_branch).")
    ] = None,
    lookaside: Annotated[
        list[str] | None,
        typer.Option("--lookaside", help="Lookaside URL template; repeat to try several in order."),
    ] = None,
    layout: Annotated[
        Layout | None, typer.Option("--layout", help="auto, distgit, exploded or srpm.")
    ] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Import every package listed in elforge.toml.")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Skip upstreams with no commit since this ISO date."),
    ] = None,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", min=1, help="Packages imported in parallel.")
    ] = None,
    allow_unsigned: Annotated[
        bool, typer.Option("--allow-unsigned", help="Accept source RPMs without a signature.")
    ] = False,
    workspace: WorkspaceOption = None,
    fmt: FormatOption = OutputFormat.text,
    output: OutputOption = None,
) -> None:
    """Import sources into the workspace mirror: dist-git, exploded SRPM trees or SRPMs."""
    ws = Workspace.open(workspace)
    entries = _entries(ws, name, url, branch, layout, all_)
    options = ImportOptions(
        lookaside=tuple(lookaside) if lookaside else None,
        allow_unsigned=True if allow_unsigned else None,
        since=parse_since(since) if since else None,
    )
    results = import_packages(
        ws, entries, options=options, jobs=jobs or ws.config.executor.jobs, progress=progress()
    )
    for r in results:
        if r.status == "failed":
            stderr.print(f"error: {r.error}", markup=False, style="red", soft_wrap=True)
        else:
            info(f"{r.package}: {r.status} {r.nvr or ''} {r.tag or ''}".rstrip())
    emit(import_report(results), fmt, output)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


def sbom(
    package: Annotated[str, typer.Argument(help="Imported package to describe.")],
    fmt: Annotated[
        SbomFormat, typer.Option("--format", "-f", help="cyclonedx (1.6) or spdx (2.3) JSON.")
    ] = SbomFormat.cyclonedx,
    branch: Annotated[
        str | None, typer.Option("--branch", help="Import branch (default: newest import).")
    ] = None,
    workspace: WorkspaceOption = None,
    output: OutputOption = None,
) -> None:
    """Export the provenance of a package's newest import as a CycloneDX or SPDX SBOM."""
    ws = Workspace.open(workspace)
    store = open_store(ws.store_url)
    try:
        row = latest(store, package, branch)
    finally:
        store.close()
    if row is None:
        raise ConfigError("no successful import recorded (run 'elforge import')", subject=package)
    text = make_sbom(
        result_from_row(row, package, "imported"), fmt, namespace=ws.config.workspace.name
    )
    if output is None:
        typer.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    info(f"wrote {fmt.value} SBOM to {output}")
