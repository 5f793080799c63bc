"""``elforge serve`` (the dashboard and JSON API) and ``elforge report`` (one HTML file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from elforge.cli.common import info
from elforge.workspace.workspace import Workspace

WorkspaceOption = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace folder (default: here or above)."),
]


def serve(
    workspace: WorkspaceOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a non-loopback --host (needs serve.token in elforge.toml).",
        ),
    ] = False,
) -> None:
    """Serve the workspace's dashboard and JSON API (read-only; OpenAPI schema at /openapi.json)."""
    from elforge.web.server import serve as run_server

    ws = Workspace.open(workspace)
    info(f"elforge dashboard for {ws.root} on http://{host}:{port}/ (Ctrl-C stops)")
    run_server(ws, host, port, allow_remote=allow_remote)


def report(
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Write the workspace's state as one self-contained HTML file (works offline)."""
    from elforge.web.sitereport import write_report

    ws = Workspace.open(workspace)
    write_report(ws, output)
    info(f"wrote {output}")
